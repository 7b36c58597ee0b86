"""The plot: each figure as a share of its target, drawn without a plotting library.

matplotlib is not among the project's dependencies, so the chart is drawn on a pixel grid with
a 3x5 bitmap font and written as a PNG with zlib: one horizontal bar per figure on a log
scale from 1/100 to 10 times the target, a line at the target, green when met, red when not.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

from bench.figures import Figure

Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)
BLACK: Color = (30, 30, 30)
GREY: Color = (200, 200, 200)
GREEN: Color = (60, 160, 80)
RED: Color = (200, 60, 50)
SCALE = 2
ROW = 26
LABEL_WIDTH = 330
BAR_WIDTH = 420
LOW, HIGH = -2.0, 1.0  # log10 of the share of target at the left and right edges

_GLYPHS = {
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001010010010",
    "8": "111101111101111",
    "9": "111101111001111",
    "A": "010101111101101",
    "B": "110101110101110",
    "C": "011100100100011",
    "D": "110101101101110",
    "E": "111100110100111",
    "F": "111100110100100",
    "G": "011100101101011",
    "H": "101101111101101",
    "I": "111010010010111",
    "J": "001001001101010",
    "K": "101101110101101",
    "L": "100100100100111",
    "M": "101111111101101",
    "N": "110101101101101",
    "O": "010101101101010",
    "P": "110101110100100",
    "Q": "010101101110011",
    "R": "110101110101101",
    "S": "011100010001110",
    "T": "111010010010010",
    "U": "101101101101111",
    "V": "101101101101010",
    "W": "101101111111101",
    "X": "101101010101101",
    "Y": "101101010010010",
    "Z": "111001010100111",
    ".": "000000000000010",
    ",": "000000000010100",
    ":": "000010000010000",
    "/": "001001010100100",
    "-": "000000111000000",
    "%": "101001010100101",
    "(": "010100100100010",
    ")": "010001001001010",
    "=": "000111000111000",
    "_": "000000000000111",
    "→": "000001111001000",
    "{": "011010110010011",
    "}": "110010011010110",
    "?": "111001010000010",
    " ": "000000000000000",
}


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = [bytearray(WHITE * width) for _ in range(height)]

    def rect(self, x: int, y: int, w: int, h: int, color: Color) -> None:
        for row in range(max(y, 0), min(y + h, self.height)):
            left, right = max(x, 0), min(x + w, self.width)
            if right > left:
                self.pixels[row][left * 3 : right * 3] = bytes(color) * (right - left)

    def text(self, x: int, y: int, text: str, color: Color = BLACK) -> None:
        for char in text.upper():
            glyph = _GLYPHS.get(char, _GLYPHS["?"])
            for index, bit in enumerate(glyph):
                if bit == "1":
                    col, row = index % 3, index // 3
                    self.rect(x + col * SCALE, y + row * SCALE, SCALE, SCALE, color)
            x += 4 * SCALE

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(row) for row in self.pixels)
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def plot(figures: Sequence[Figure], path: Path) -> bool:
    """Write the chart of the figures that have a target; False when none has one."""
    shown = [f for f in figures if f.share_of_target is not None]
    if not shown:
        return False
    width = LABEL_WIDTH + BAR_WIDTH + 200
    canvas = Canvas(width, ROW * (len(shown) + 2))
    canvas.text(8, 8, "SHARE OF TARGET (LOG SCALE, 0.01 TO 10)")
    for tick in (-2, -1, 0, 1):
        x = LABEL_WIDTH + _x(10.0**tick)
        canvas.rect(x, ROW, 1, ROW * len(shown), GREY if tick else BLACK)
        canvas.text(x - 8, ROW * (len(shown) + 1) + 6, ("0.01", "0.1", "1", "10")[tick + 2])
    for index, figure in enumerate(shown):
        y = ROW * (index + 1)
        share = figure.share_of_target or 0.0
        canvas.text(8, y + 8, figure.name[:40])
        canvas.rect(LABEL_WIDTH, y + 4, _x(share), ROW - 8, GREEN if figure.met else RED)
        canvas.text(LABEL_WIDTH + BAR_WIDTH + 8, y + 8, f"{share:.2f}  {figure.value_text()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(canvas.png())
    return True


def _x(share: float) -> int:
    position = (math.log10(max(share, 10.0**LOW)) - LOW) / (HIGH - LOW)
    return round(min(max(position, 0.0), 1.0) * BAR_WIDTH)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
