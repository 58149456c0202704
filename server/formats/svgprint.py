"""An SVG drawing made ready for fpdf2, which draws SVG into a PDF but not all of it.

What fpdf2 2.8 leaves out or draws otherwise, and what :func:`for_print` does about it:

- ``<marker>`` (arrowheads on a line's ends) is ignored: each ``marker-start`` and
  ``marker-end`` on a ``<line>`` or a straight-ended ``<path>`` becomes a filled triangle of
  the line's colour, pointing the way the line runs there (as ``orient="auto-start-reverse"``
  draws it: outwards at both ends), its size a multiple of the line's width like a marker's.
- A font family is taken as one of the PDF's own fonts, or a built-in font without most
  letters: every ``font-family`` becomes ``font`` (a family the PDF embedded), and
  ``font-weight`` goes (the embedded fonts have one weight); text is passed through
  ``clean`` so that it holds only characters that font can print.
- A text's halo (a white ``stroke`` under it, ``paint-order="stroke"``) is drawn over the
  letters: the stroke goes, the letters stay.
- ``<title>``, ``<desc>`` and ``<defs>`` go (fpdf2 warns about each).

Pure: a string in, a string out. The input is Kring's own drawing (``rules/networkmap.py``),
parsed without entities or external references.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from xml.etree import ElementTree

SVG = "http://www.w3.org/2000/svg"
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_DROPPED = {f"{{{SVG}}}{tag}" for tag in ("title", "desc", "defs", "marker")}
_TEXT = {f"{{{SVG}}}text", f"{{{SVG}}}tspan"}
_MARKER_SIZE = 5.0  # a marker's width in line widths (markerWidth with markerUnits strokeWidth)
_MARKER_TIP = 0.2  # how far past the line's end its tip lies, as part of its length (refX 8/10)


def for_print(svg: str, font: str, clean: Callable[[str], str]) -> bytes:
    """``svg`` as fpdf2 draws it faithfully (see the module's text), UTF-8 encoded."""
    ElementTree.register_namespace("", SVG)
    if "<!ENTITY" in svg or "<!DOCTYPE" in svg:
        raise ValueError("an SVG with a document type or entities is not drawn")
    # Kring's own drawing, every name escaped; without a DTD no entity can be declared, so
    # no expansion (what defusedxml guards against) can happen.
    root = ElementTree.fromstring(svg)  # noqa: S314
    _walk(root, font, clean)
    return bytes(ElementTree.tostring(root, encoding="utf-8"))


def _walk(parent: ElementTree.Element, font: str, clean: Callable[[str], str]) -> None:
    for child in list(parent):
        if child.tag in _DROPPED:
            parent.remove(child)
            continue
        heads = _arrowheads(child)
        for head in heads:
            parent.insert(list(parent).index(child) + 1, head)
        _walk(child, font, clean)
    if "font-family" in parent.attrib:
        parent.set("font-family", font)
    parent.attrib.pop("font-weight", None)
    if parent.tag in _TEXT:
        for name in ("stroke", "stroke-width", "paint-order"):
            parent.attrib.pop(name, None)
        parent.text = clean(parent.text) if parent.text else parent.text
    if parent.tail:
        parent.tail = clean(parent.tail) if parent.tag in _TEXT else parent.tail


def _points(element: ElementTree.Element) -> list[tuple[float, float]]:
    """The points a line or a path of straight segments (M, L, absolute) runs through."""
    if element.tag == f"{{{SVG}}}line":
        values = [float(element.get(name, "0")) for name in ("x1", "y1", "x2", "y2")]
        return [(values[0], values[1]), (values[2], values[3])]
    if element.tag == f"{{{SVG}}}path":
        numbers = [float(n) for n in _NUMBER.findall(element.get("d", ""))]
        return list(zip(numbers[0::2], numbers[1::2], strict=False))
    return []


def _arrowheads(element: ElementTree.Element) -> list[ElementTree.Element]:
    """Triangles for the element's markers (none when it has none); the markers go."""
    ends = [end for end in ("marker-start", "marker-end") if element.attrib.pop(end, None)]
    points = _points(element)
    if not ends or len(points) < 2:
        return []
    width = float(element.get("stroke-width", "1"))
    colour = element.get("stroke", "#000000")
    heads = []
    for end in ends:
        # from the point before the end to the end: the way the line runs out there
        (x0, y0), (x1, y1) = points[:2][::-1] if end == "marker-start" else points[-2:]
        heads.append(_triangle(x0, y0, x1, y1, width, colour))
    return heads


def _triangle(
    x0: float, y0: float, x1: float, y1: float, width: float, colour: str
) -> ElementTree.Element:
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    size = _MARKER_SIZE * width
    tip = (x1 + ux * size * _MARKER_TIP, y1 + uy * size * _MARKER_TIP)
    back = (tip[0] - ux * size, tip[1] - uy * size)
    half = size / 2
    corners = [
        tip,
        (back[0] - uy * half, back[1] + ux * half),
        (back[0] + uy * half, back[1] - ux * half),
    ]
    d = "M" + " L".join(f"{x:.2f},{y:.2f}" for x, y in corners) + " Z"
    return ElementTree.Element(f"{{{SVG}}}path", {"d": d, "fill": colour, "class": "arrowhead"})
