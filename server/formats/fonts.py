"""The font files Kring's PDFs are set in: the Regular of each, made once at set-up.

Noto Sans and Noto Sans Arabic come from PyPI as variable fonts (every width and weight in
one file). A copy prints only their default instance, Regular, yet with the variable file
each copy parsed and subset all of it: a plan copy took 0.21 s of CPU and weighed 43 KB.
``python -m server.formats.fonts`` (run by ``make setup``, ``make run`` and ``make test``)
writes that Regular instance of each into ``server/formats/build/`` once, with fontTools'
instancer (about 6 s): a plan copy then takes 0.10 s and weighs 17 KB, and the letters are
the same. Without those files (a checkout where it was not run, or a font package upgraded
since) the copies are set in the variable fonts, as before, and a warning says how to make
them.
"""

from __future__ import annotations

import json
import logging
import sys
from functools import cache
from importlib import resources
from pathlib import Path

log = logging.getLogger("kring.formats")

BUILD = Path(__file__).parent / "build"
STAMP = BUILD / "fonts.json"  # what each file was made from: its source's name and size

# (name in the PDF, Python package, file in the package's "files" folder)
MAIN_FONT = ("notosans", "fontpkg_noto_sans", "NotoSans[wdth,wght].ttf")
FALLBACK_FONT = ("notosansarabic", "fontpkg_noto_sans_arabic", "NotoSansArabic[wdth,wght].ttf")
FONTS = (MAIN_FONT, FALLBACK_FONT)


def variable_file(package: str, name: str) -> Path:
    path = Path(str(resources.files(package) / "files" / name))
    if not path.is_file():
        raise FileNotFoundError(f"font {name} is missing from the installed package {package}")
    return path


def _made_from(source: Path) -> dict[str, object]:
    return {"source": source.name, "bytes": source.stat().st_size}


@cache
def font_file(family: str, package: str, name: str) -> Path:
    """The Regular instance made at set-up, if it was made from the installed font; else the
    installed variable font (with a warning, once per process)."""
    source = variable_file(package, name)
    made = BUILD / f"{family}.ttf"
    try:
        stamp = json.loads(STAMP.read_text()).get(family)
    except (OSError, ValueError, AttributeError):
        stamp = None
    if made.is_file() and stamp == _made_from(source):
        return made
    log.warning(
        "PDF copies are set in the variable font %s, which makes them slower and larger: "
        "run `make setup` (or `python -m server.formats.fonts`) once",
        name,
    )
    return source


def make() -> list[str]:
    """Write the Regular instance of each font into BUILD, with the stamp; one line each."""
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    BUILD.mkdir(exist_ok=True)
    stamp: dict[str, object] = {}
    said = []
    for family, package, name in FONTS:
        source = variable_file(package, name)
        font = TTFont(source)
        regular = {axis.axisTag: axis.defaultValue for axis in font["fvar"].axes}
        instancer.instantiateVariableFont(font, regular, inplace=True, static=True)
        made = BUILD / f"{family}.ttf"
        part = made.with_suffix(".part")
        font.save(part)
        part.replace(made)  # whole or not at all
        stamp[family] = _made_from(source)
        said.append(
            f"{made}: {source.stat().st_size // 1024} KB -> {made.stat().st_size // 1024} KB"
        )
    part = STAMP.with_suffix(".part")
    part.write_text(json.dumps(stamp, indent=2) + "\n")
    part.replace(STAMP)
    font_file.cache_clear()
    return said


if __name__ == "__main__":
    for line in make():
        print(line, file=sys.stderr)
