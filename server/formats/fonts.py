"""The font files Kring's PDFs are set in: the Regular of each, made once at set-up.

Noto Sans and Noto Sans Arabic come from PyPI as variable fonts (every width and weight in
one file). A copy prints only their default instance, Regular, yet with the variable file
each copy parsed and subset all of it: a plan copy took 0.21 s of CPU and weighed 43 KB.
``python -m server.formats.fonts`` (run by ``make setup``, ``make run`` and ``make test``)
writes that Regular instance of each into ``server/formats/build/`` once, with fontTools'
instancer (about 6 s): a plan copy then takes 0.10 s and weighs 17 KB, and the letters are
the same. Without those files (a checkout where it was not run, a font package upgraded
since, a file damaged) the copies are set in the variable fonts, as before, and a warning
says how to make them; ``--if-needed`` makes them only then (what the Makefile runs).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path

log = logging.getLogger("kring.formats")

BUILD = Path(__file__).parent / "build"
STAMP = BUILD / "fonts.json"  # what each file was made from (its source's name and hash), its hash

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
    return {"source": source.name, "source_sha256": _sha256(source)}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _made(family: str, source: Path) -> Path | None:
    """The Regular made from ``source``, whole, if it is there."""
    made = BUILD / f"{family}.ttf"
    try:
        stamp = json.loads(STAMP.read_text()).get(family)
        whole = stamp["sha256"] == _sha256(made)
        current = {k: stamp[k] for k in ("source", "source_sha256")} == _made_from(source)
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None
    return made if whole and current else None


@cache
def font_file(family: str, package: str, name: str) -> Path:
    """The Regular instance made at set-up, if it was made from the installed font and is
    whole; else the installed variable font (with a warning, once per process)."""
    source = variable_file(package, name)
    made = _made(family, source)
    if made is not None:
        return made
    log.warning(
        "PDF copies are set in the variable font %s, which makes them slower and larger: "
        "run `python -m server.formats.fonts` (or `make setup`) once",
        name,
    )
    return source


def make(*, if_needed: bool = False) -> list[str]:
    """Write the Regular instance of each font into BUILD, with the stamp; one line each.
    ``if_needed``: only those missing, damaged or made from another version of the font."""
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    BUILD.mkdir(exist_ok=True)
    try:
        stamp = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        stamp = None
    if not isinstance(stamp, dict):  # none yet, or damaged: made again whole
        stamp = {}
    said = []
    for family, package, name in FONTS:
        source = variable_file(package, name)
        made = BUILD / f"{family}.ttf"
        if if_needed and _made(family, source) is not None:
            continue
        font = TTFont(source)
        regular = {axis.axisTag: axis.defaultValue for axis in font["fvar"].axes}
        instancer.instantiateVariableFont(font, regular, inplace=True, static=True)
        _replace_with(made, font.save)
        stamp[family] = {**_made_from(source), "sha256": _sha256(made)}
        said.append(
            f"{made}: {source.stat().st_size // 1024} KB -> {made.stat().st_size // 1024} KB"
        )
    if said or not STAMP.exists():
        _replace_with(STAMP, lambda part: Path(part).write_text(json.dumps(stamp, indent=2) + "\n"))
    font_file.cache_clear()
    return said


def _replace_with(path: Path, write: Callable[[str], object]) -> None:
    """Write ``path`` whole or not at all (two set-ups at once each write a file of their own,
    then the last one to finish stands)."""
    fd, part = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(part)
        os.chmod(part, 0o644)  # read by the server's own user, whoever ran the set-up
        os.replace(part, path)
    finally:
        if os.path.exists(part):
            os.unlink(part)


if __name__ == "__main__":
    for line in make(if_needed="--if-needed" in sys.argv[1:]):
        print(line, file=sys.stderr)
