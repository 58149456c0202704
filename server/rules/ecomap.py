"""Drawing the network map (an ecomap) as SVG: pure string building, no I/O.

``server/rules/networkmap.py`` reads the map and calls :func:`draw` (through its
``map_svg``) with the words in the reader's language; the map page's editor
(web/src/networkmap.js) draws the same picture with the same sizes (:data:`GEOMETRY`, given
to it by ``networkmap.schema()``), so what is printed is what was on the screen.

The picture: the client in the middle, three rings (1 closest), each person on their ring at
their angle (degrees clockwise from the top) with one line to the client drawn as practice
reads it (solid: strong, dashed: tenuous, jagged: stressful) with arrows for the way support
flows; a fill per kind, circles for people and rounded squares for organisations; grey and
crossed out for someone no longer around, a dotted circle with "?" for a gap; a legend below.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from html import escape as escape_html
from typing import Any, Protocol

# What XML 1.0 cannot hold (another Yjs client may write it into a name): left out, so the
# drawing stays a well-formed document (the compass PDF parses it).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    return escape_html(_NOT_XML.sub("", text))


# The drawing, in SVG user units: the page's editor draws with the same numbers.
GEOMETRY: dict[str, Any] = {
    "size": 800,  # the map is a square; the legend goes below it
    "rings": [135, 218, 298],  # radius of ring 1, 2, 3
    "person": 28,  # radius of a person
    "client": 52,  # radius of the client in the middle
}

# The fill of each kind; people are circles, organisations (school, work, professional) are
# rounded squares, so the kinds differ in print without colour too.
FILLS = {
    "family": "#f6c6a8",
    "friend": "#b8dcb0",
    "neighbour": "#f3e39a",
    "school": "#b9d3f0",
    "work": "#d5c4ec",
    "professional": "#c9ced6",
}
SQUARE_KINDS = frozenset({"school", "work", "professional"})
TIE_DASH = {"strong": "", "tenuous": "10 8", "stressful": ""}
INK = "#1f2933"
GONE_INK = "#8a939d"
LEGEND_HEIGHT = 250
SHOWN_NAME_CHARS = 18


class Drawn(Protocol):
    """What the drawing needs of an entry (``networkmap.MapEntry``)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def shown_name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def ring(self) -> int: ...
    @property
    def angle(self) -> float: ...
    @property
    def tie(self) -> str: ...
    @property
    def flow(self) -> str: ...
    @property
    def gone(self) -> bool: ...
    @property
    def gap(self) -> bool: ...


def position(ring: int, angle: float) -> tuple[float, float]:
    """Where on the map a person on ``ring`` at ``angle`` (clockwise from the top) is."""
    size = GEOMETRY["size"]
    radius = GEOMETRY["rings"][ring - 1]
    rad = math.radians(angle)
    return size / 2 + radius * math.sin(rad), size / 2 - radius * math.cos(rad)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _short(text: str) -> str:
    return text if len(text) <= SHOWN_NAME_CHARS else text[: SHOWN_NAME_CHARS - 1] + "…"


def _zigzag(x1: float, y1: float, x2: float, y2: float) -> str:
    """A jagged path from (x1, y1) to (x2, y2), straight at both ends (where arrows sit)."""
    length = math.hypot(x2 - x1, y2 - y1)
    if length < 1:
        return f"M{_n(x1)},{_n(y1)} L{_n(x2)},{_n(y2)}"
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    px, py = -uy, ux
    end = 14.0
    step, amplitude = 12.0, 7.0
    points = [(x1, y1), (x1 + ux * end, y1 + uy * end)]
    teeth = max(1, int((length - 2 * end) // step))
    pitch = (length - 2 * end) / (teeth + 1)
    for i in range(1, teeth + 1):
        along = end + pitch * i
        side = amplitude if i % 2 else -amplitude
        points.append((x1 + ux * along + px * side, y1 + uy * along + py * side))
    points += [(x2 - ux * end, y2 - uy * end), (x2, y2)]
    head, *rest = points
    return f"M{_n(head[0])},{_n(head[1])} " + " ".join(f"L{_n(x)},{_n(y)}" for x, y in rest)


def _tie(entry: Drawn) -> str:
    """The line between the client and one person: its style is the tie, its arrows the
    flow (drawn from the person to the client: an arrow at the end points at the client)."""
    size = GEOMETRY["size"]
    cx = cy = size / 2
    px, py = position(entry.ring, entry.angle)
    length = math.hypot(px - cx, py - cy) or 1.0
    ux, uy = (cx - px) / length, (cy - py) / length
    start = GEOMETRY["person"] + 6
    stop = GEOMETRY["client"] + 6
    x1, y1 = px + ux * start, py + uy * start
    x2, y2 = cx - ux * stop, cy - uy * stop
    colour = GONE_INK if entry.gone else INK
    marker = "arrow-gone" if entry.gone else "arrow"
    attributes = [
        f'class="tie tie-{entry.tie}"',
        f'data-entry="{escape(entry.id)}"',
        f'stroke="{colour}"',
        'stroke-width="3"',
        'fill="none"',
        'stroke-linejoin="round"',
    ]
    if TIE_DASH[entry.tie]:
        attributes.append(f'stroke-dasharray="{TIE_DASH[entry.tie]}"')
    if entry.flow in ("to_client", "both"):
        attributes.append(f'marker-end="url(#{marker})"')
    if entry.flow in ("from_client", "both"):
        attributes.append(f'marker-start="url(#{marker})"')
    joined = " ".join(attributes)
    if entry.tie == "stressful":
        return f'<path d="{_zigzag(x1, y1, x2, y2)}" {joined}/>'
    return f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" {joined}/>'


def _shape(kind: str, x: float, y: float, r: float, style: str) -> str:
    if kind in SQUARE_KINDS:
        side = r * 1.7
        return (
            f'<rect x="{_n(x - side / 2)}" y="{_n(y - side / 2)}" width="{_n(side)}" '
            f'height="{_n(side)}" rx="{_n(side / 6)}" {style}/>'
        )
    return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}" {style}/>'


def _person(entry: Drawn, words: Mapping[str, str]) -> str:
    x, y = position(entry.ring, entry.angle)
    r = GEOMETRY["person"]
    parts = [f'<g class="person kind-{entry.kind}" data-entry="{escape(entry.id)}">']
    described = [words.get(f"kind.{entry.kind}", entry.kind)]
    if entry.gap:
        described.append(words.get("mark.gap", ""))
    if entry.gone:
        described.append(words.get("mark.gone", ""))
    full = entry.shown_name
    parts.append(f"<title>{escape(full)} ({escape(', '.join(d for d in described if d))})</title>")
    if entry.gap:
        style = f'fill="#ffffff" stroke="{INK}" stroke-width="2.5" stroke-dasharray="2 5"'
        parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}" class="gap" {style}/>')
        parts.append(
            f'<text x="{_n(x)}" y="{_n(y + 10)}" text-anchor="middle" font-size="30" '
            f'font-weight="700" fill="{INK}">?</text>'
        )
    else:
        fill = "#e4e7eb" if entry.gone else FILLS[entry.kind]
        stroke = GONE_INK if entry.gone else INK
        parts.append(
            _shape(entry.kind, x, y, r, f'fill="{fill}" stroke="{stroke}" stroke-width="2"')
        )
        if entry.gone:
            d = r * 0.6
            parts.append(
                f'<path class="gone" d="M{_n(x - d)},{_n(y - d)} L{_n(x + d)},{_n(y + d)} '
                f'M{_n(x + d)},{_n(y - d)} L{_n(x - d)},{_n(y + d)}" stroke="{GONE_INK}" '
                'stroke-width="3" stroke-linecap="round"/>'
            )
    if entry.name or not entry.gap:
        ink = GONE_INK if entry.gone else INK
        parts.append(
            f'<text class="name" x="{_n(x)}" y="{_n(y + r + 18)}" text-anchor="middle" '
            f'font-size="15" fill="{ink}" stroke="#ffffff" stroke-width="4" '
            f'paint-order="stroke">{escape(_short(full))}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _legend(words: Mapping[str, str], top: float) -> str:
    size = GEOMETRY["size"]
    out = [
        f'<g class="legend" font-size="14" fill="{INK}">',
        f'<line x1="20" y1="{_n(top)}" x2="{size - 20}" y2="{_n(top)}" stroke="#c9ced6"/>',
        f'<text x="20" y="{_n(top + 28)}" font-size="16" font-weight="700">'
        f"{escape(words.get('legend', ''))}</text>",
    ]
    y = top + 58
    # the ties, each with a sample of its line
    for i, tie in enumerate(TIE_DASH):
        yy = y + i * 30
        ink = f'stroke="{INK}" stroke-width="3" fill="none"'
        if tie == "stressful":
            line = f'<path d="{_zigzag(20, yy, 90, yy)}" {ink}/>'
        else:
            dash = f' stroke-dasharray="{TIE_DASH[tie]}"' if TIE_DASH[tie] else ""
            line = f'<line x1="20" y1="{yy}" x2="90" y2="{yy}" {ink}{dash}/>'
        out.append(line)
        out.append(f'<text x="100" y="{yy + 5}">{escape(words.get(f"tie.{tie}", tie))}</text>')
    # the flows
    for i, flow in enumerate(("to_client", "from_client", "both")):
        yy = y + (i + 3) * 30
        ends = ""
        if flow in ("to_client", "both"):
            ends += ' marker-end="url(#arrow)"'
        if flow in ("from_client", "both"):
            ends += ' marker-start="url(#arrow)"'
        out.append(
            f'<line x1="24" y1="{yy}" x2="86" y2="{yy}" stroke="{INK}" stroke-width="3"{ends}/>'
            f'<circle cx="96" cy="{yy}" r="5" fill="{INK}"/>'
            f'<text x="110" y="{yy + 5}">{escape(words.get(f"flow.{flow}", flow))}</text>'
        )
    # the kinds
    for i, kind in enumerate(FILLS):
        yy = y + i * 30
        style = f'fill="{FILLS[kind]}" stroke="{INK}" stroke-width="1.5"'
        out.append(_shape(kind, 310, yy, 11, style))
        out.append(f'<text x="332" y="{yy + 5}">{escape(words.get(f"kind.{kind}", kind))}</text>')
    # the marks
    yy = y
    out.append(
        f'<circle cx="540" cy="{yy}" r="11" fill="#e4e7eb" stroke="{GONE_INK}" stroke-width="1.5"/>'
        f'<path d="M533,{yy - 7} L547,{yy + 7} M547,{yy - 7} L533,{yy + 7}" '
        f'stroke="{GONE_INK}" stroke-width="2.5"/>'
        f'<text x="562" y="{yy + 5}">{escape(words.get("mark.gone", ""))}</text>'
    )
    yy = y + 30
    out.append(
        f'<circle cx="540" cy="{yy}" r="11" fill="#ffffff" stroke="{INK}" stroke-width="2" '
        f'stroke-dasharray="2 4"/><text x="540" y="{yy + 5}" text-anchor="middle" '
        f'font-weight="700">?</text>'
        f'<text x="562" y="{yy + 5}">{escape(words.get("mark.gap", ""))}</text>'
    )
    out.append("</g>")
    return "".join(out)


def draw(
    entries: Iterable[Drawn], client_name: str, words: Mapping[str, str], description: str
) -> str:
    """The map as a standalone SVG document (for print, the export and the PDF copy): the
    client in the middle, three rings, each person on their ring with one line to the client
    (solid strong, dashed tenuous, jagged stressful; arrows for the flow), a fill and shape
    per kind, crossed out and grey when no longer around, a dotted "?" for a gap, and a
    legend below. Every name is escaped. ``words``: the map's words by key (``kind.family``,
    ``tie.strong``, ``flow.both``, ``ring.1``, ``mark.gone``, ``title``, ``legend``, ``empty``);
    ``description``: the whole map in words, for the SVG's ``desc``."""
    entries = list(entries)
    size = GEOMETRY["size"]
    height = size + LEGEND_HEIGHT
    centre = size / 2
    title = f"{words.get('title', '')}: {client_name}"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {height}" '
        f'width="{size}" height="{height}" role="img" aria-labelledby="map-title map-desc" '
        'font-family="Noto Sans, DejaVu Sans, Arial, sans-serif">',
        f'<title id="map-title">{escape(title)}</title>',
        f'<desc id="map-desc">{escape(description)}</desc>',
        "<defs>",
        f'<marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="5" '
        f'markerHeight="5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{INK}"/></marker>',
        f'<marker id="arrow-gone" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="5" '
        f'markerHeight="5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{GONE_INK}"/></marker>',
        "</defs>",
        f'<rect width="{size}" height="{height}" fill="#ffffff"/>',
    ]
    for ring, radius in enumerate(GEOMETRY["rings"], start=1):
        out.append(
            f'<circle class="ring" cx="{_n(centre)}" cy="{_n(centre)}" r="{radius}" '
            'fill="none" stroke="#c9ced6" stroke-width="1.5"/>'
            f'<text x="{_n(centre - radius * math.sqrt(0.5) - 4)}" '
            f'y="{_n(centre + radius * math.sqrt(0.5) + 16)}" text-anchor="end" font-size="13" '
            f'fill="#535d68">{escape(words.get(f"ring.{ring}", ""))}</text>'
        )
    out.extend(_tie(entry) for entry in entries if not entry.gap)
    out.append(
        f'<circle class="client" cx="{_n(centre)}" cy="{_n(centre)}" r="{GEOMETRY["client"]}" '
        f'fill="#ffffff" stroke="{INK}" stroke-width="4"/>'
        f'<text x="{_n(centre)}" y="{_n(centre + 6)}" text-anchor="middle" font-size="17" '
        f'font-weight="700" fill="{INK}">{escape(_short(client_name))}</text>'
    )
    out.extend(_person(entry, words) for entry in entries)
    if not entries:
        out.append(
            f'<text x="{_n(centre)}" y="{_n(centre + GEOMETRY["client"] + 40)}" '
            f'text-anchor="middle" font-size="16" fill="#535d68">'
            f"{escape(words.get('empty', ''))}</text>"
        )
    out.append(_legend(words, size))
    out.append("</svg>")
    return "\n".join(out)
