"""Templates and static files: Jinja2 for pages, WhiteNoise (through a2wsgi) for web/static."""

from __future__ import annotations

import json
import logging
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from a2wsgi import WSGIMiddleware
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp
from whitenoise import WhiteNoise

from server import i18n
from server.clock import time_zone

WEB = Path(__file__).resolve().parents[2] / "web"
STATIC = WEB / "static"
MANIFEST = STATIC / "build" / "manifest.json"
# esbuild names bundles "app-<hash>.js" (and the scanner's decoder "assets/…-<hash>.wasm");
# those never change and may be cached for a year.
_HASHED = re.compile(r"^build/.+-[A-Z0-9]{8,}\.(js|css|wasm)(\.map|\.gz|\.br)?$")

log = logging.getLogger("kring.assets")

# Every page knows its language (``current_language``, for <html lang>) and translates with
# ``{{ _("...") }}`` / ``{% trans %}`` into it: see server/i18n.py.
templates = Jinja2Templates(
    directory=str(WEB / "templates"), context_processors=[i18n.template_context]
)
templates.env.autoescape = True
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
i18n.install_jinja(templates.env)


def local_time(value: datetime | date | str, style: str = "datetime") -> str:
    """The one way pages show a time: a stored moment (or a day, or a moment as ISO text) as
    the reader's language writes it, on the instance's clock (KRING_TIMEZONE).
    ``{{ row.at | local }}`` 31-12-2026 19:54, ``| local("time")``, ``| local("date")``,
    ``| local("day")`` (donderdag 31 december 2026)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return i18n.format_moment(value, time_zone(), style)


templates.env.filters["local"] = local_time


def load_manifest() -> dict[str, str]:
    """Logical bundle names -> hashed file names, as written by web/build.mjs."""
    try:
        manifest: dict[str, str] = json.loads(MANIFEST.read_text())
    except FileNotFoundError:
        log.warning(
            "web assets are not built (%s missing): run `make run` or "
            "`npm --prefix web ci && npm --prefix web run build`",
            MANIFEST,
        )
        return {}
    return manifest


def static_url_for(manifest: dict[str, str]) -> Any:
    def static(name: str) -> str:
        return "/static/" + manifest.get(name, name)

    return static


def _not_found(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"Not found"]


def static_app() -> ASGIApp:
    """web/static, compressed variants preferred, hashed bundles cached for a year."""
    whitenoise = WhiteNoise(
        _not_found,
        root=str(STATIC),
        prefix="/",
        max_age=3600,
        immutable_file_test=lambda _path, url: bool(_HASHED.match(url.lstrip("/"))),
    )
    return WSGIMiddleware(whitenoise)  # type: ignore[return-value]
