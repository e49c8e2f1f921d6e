"""The chat status chart as PNG, drawn without an imaging library.

The picture is the status page's chart (its series and geometry come from core/charts.py,
fed by the hourly rollups): response time per hour over the last 24 hours with failed
hours as red bands, a y axis in milliseconds and hour ticks. Painting it needs ~100 lines of stdlib code
(zlib + struct for the PNG container and a 5x7 bitmap font for the axis labels), which
beats adding Pillow and its native wheels for one picture. Run it in a thread
(``asyncio.to_thread``): it is pure-Python pixel work (~20 ms).
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Sequence

from lighthouse.core.charts import HourPoint, geometry

Color = tuple[int, int, int]

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 26
BACKGROUND: Color = (255, 255, 255)
GRID: Color = (228, 231, 235)
AXIS: Color = (120, 126, 134)
LINE: Color = (37, 99, 235)
FAIL: Color = (254, 202, 202)
FAIL_MARK: Color = (220, 38, 38)
TEXT: Color = (75, 85, 99)

# 5x7 glyphs for the characters the axes need.
_FONT: dict[str, tuple[str, ...]] = {
    "0": ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),
    "1": ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),
    "2": ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),
    "3": ("11110", "00001", "00001", "01110", "00001", "00001", "11110"),
    "4": ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),
    "5": ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),
    "6": ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),
    "7": ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),
    "8": ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),
    "9": ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),
    "m": ("00000", "00000", "11010", "10101", "10101", "10101", "10101"),
    "s": ("00000", "00000", "01111", "10000", "01110", "00001", "11110"),
    "h": ("10000", "10000", "10110", "11001", "10001", "10001", "10001"),
    "k": ("10000", "10000", "10010", "10100", "11000", "10100", "10010"),
    "-": ("00000", "00000", "00000", "11111", "00000", "00000", "00000"),
    ".": ("00000", "00000", "00000", "00000", "00000", "01100", "01100"),
    " ": ("00000",) * 7,
}


class Canvas:
    def __init__(self, width: int, height: int, background: Color) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def set(self, x: int, y: int, color: Color) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            i = (y * self.width + x) * 3
            self.pixels[i:i + 3] = bytes(color)

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        x0, x1 = max(0, min(x0, x1)), min(self.width - 1, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height - 1, max(y0, y1))
        row = bytes(color) * (x1 - x0 + 1)
        for y in range(y0, y1 + 1):
            i = (y * self.width + x0) * 3
            self.pixels[i:i + len(row)] = row

    def line(self, x0: int, y0: int, x1: int, y1: int, color: Color, width: int = 1) -> None:
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            for w in range(width):
                self.set(x0, y0 + w, color)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def text(self, x: int, y: int, label: str, color: Color) -> None:
        for ch in label:
            glyph = _FONT.get(ch, _FONT[" "])
            for gy, bits in enumerate(glyph):
                for gx, bit in enumerate(bits):
                    if bit == "1":
                        self.set(x + gx, y + gy, color)
            x += 6

    def png(self) -> bytes:
        raw = bytearray()
        stride = self.width * 3
        for y in range(self.height):
            raw.append(0)
            raw += self.pixels[y * stride:(y + 1) * stride]

        def chunk(tag: bytes, data: bytes) -> bytes:
            body = tag + data
            return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                + chunk(b"IDAT", zlib.compress(bytes(raw), 6)) + chunk(b"IEND", b""))


def _ms_label(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:g}s"
    return f"{value:g}ms"


def latency_chart(points: Sequence[HourPoint]) -> bytes:
    """PNG bytes of the shared chart (core/charts.py): average response time per hour,
    hours with failed checks as red bands."""
    canvas = Canvas(WIDTH, HEIGHT, BACKGROUND)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    g = geometry(points, plot_w - 1, plot_h - 2)
    for x0, x1 in g.failures:
        canvas.rect(LEFT + round(x0), TOP, LEFT + round(x1), TOP + plot_h - 1, FAIL)
        canvas.rect(LEFT + round(x0), TOP + plot_h - 3, LEFT + round(x1), TOP + plot_h - 1,
                    FAIL_MARK)
    for y, value in g.y_ticks:  # horizontal grid and y labels
        py = TOP + 1 + round(y)
        canvas.rect(LEFT, py, LEFT + plot_w, py, GRID)
        label = _ms_label(value)
        canvas.text(LEFT - 6 - 6 * len(label), py - 3, label, TEXT)
    for x, hours_ago in g.x_ticks:  # x ticks: -23h ... 0h
        px = LEFT + round(x)
        canvas.rect(px, TOP + plot_h, px, TOP + plot_h + 3, AXIS)
        label = f"-{hours_ago}h" if hours_ago else "0h"
        canvas.text(px - 3 * len(label), TOP + plot_h + 8, label, TEXT)
    canvas.rect(LEFT, TOP, LEFT, TOP + plot_h, AXIS)
    canvas.rect(LEFT, TOP + plot_h, LEFT + plot_w, TOP + plot_h, AXIS)
    for run in g.lines:
        pts = [(LEFT + round(x), TOP + 1 + round(y)) for x, y in run]
        if len(pts) == 1:
            canvas.rect(pts[0][0] - 1, pts[0][1], pts[0][0] + 1, pts[0][1] + 1, LINE)
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            canvas.line(x0, y0, x1, y1, LINE, width=2)
    return canvas.png()
