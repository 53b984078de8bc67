"""A small SVG drawing kit for the gap report's charts: rectangles, lines, dots and text on a canvas
measured in points, with whole-number axes. Drawn as text in microseconds, with no plotting library
to import, and sharp at any zoom in the PDF.

Text widths are estimated from DejaVu Sans's average advance; the canvas refuses text that would
run past its edges, so a label is never cut off silently.
"""

from __future__ import annotations

import math
from html import escape

FONT = "DejaVu Sans, Arial, sans-serif"
ADVANCE = 0.62  # DejaVu Sans's average advance, in ems: an estimate on the wide side
INK, GRID = "#333333", "#dddddd"


def text_width(text: str, size: float) -> float:
    return len(text) * size * ADVANCE


def whole_ticks(top: float, most: int = 6) -> list[int]:
    """Ticks on whole numbers from 0 to at least `top`, at most `most` + 1 of them, at a step of 1, 2
    or 5 times a power of ten."""
    top = max(1, math.ceil(top))
    for power in range(0, 10):
        for base in (1, 2, 5):
            step = base * 10**power
            if math.ceil(top / step) <= most:
                return list(range(0, math.ceil(top / step) * step + 1, step))
    raise ValueError(f"no ticks for {top}")


class Canvas:
    """An SVG picture `width` x `height` points; y grows downwards, as in SVG."""

    def __init__(self, width: float, height: float) -> None:
        self.width, self.height = width, height
        self.parts: list[str] = []

    def rect(self, x: float, y: float, w: float, h: float, fill: str, title: str | None = None) -> None:
        tip = f"<title>{escape(title)}</title>" if title else ""
        self.parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
                          f'fill="{fill}">{tip}</rect>')

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = INK, width: float = 0.6,
             dash: str | None = None) -> None:
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
                          f'stroke-width="{width}"{dashes}/>')

    def polyline(self, points: list[tuple[float, float]], stroke: str = INK, width: float = 0.8) -> None:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        self.parts.append(f'<polyline points="{path}" fill="none" stroke="{stroke}" stroke-width="{width}"/>')

    def dot(self, x: float, y: float, r: float, fill: str) -> None:
        self.parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}"/>')

    def text(self, x: float, y: float, text: str, size: float = 7, anchor: str = "start", fill: str = INK,
             bold: bool = False) -> None:
        """`text` with its baseline at `y`; refused when it would run past the canvas."""
        width = text_width(text, size)
        left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
        inside = (left >= -0.5 and left + width <= self.width + 0.5
                  and y - size >= -0.5 and y + size * 0.25 <= self.height + 0.5)
        if not inside:
            raise AssertionError(f"chart text {text!r} would be cut off at the edge")
        weight = ' font-weight="bold"' if bold else ""
        self.parts.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                          f'fill="{fill}"{weight}>{escape(text)}</text>')

    def svg(self) -> bytes:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width:.0f}pt" '
                f'height="{self.height:.0f}pt" viewBox="0 0 {self.width:.1f} {self.height:.1f}" '
                f'font-family="{FONT}">' + "".join(self.parts) + "</svg>").encode("utf-8")
