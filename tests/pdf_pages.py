"""How full each page of a PDF printed by Chromium is (a test helper, not a PDF library).

Chromium (Skia) writes plain PDF objects with Flate-compressed content streams, text drawn
with ``Tm``/``Td`` and images with ``Do`` under ``cm`` transforms. Following those few
operators gives, per page, the vertical span between the first and the last thing drawn:
a page whose content spans a sliver of its height holds a line or two.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

_TOKEN = re.compile(rb"<[0-9A-Fa-f\s]*>|\[|\]|/[^\s/\[\]<>()]+|\((?:\\.|[^\\)])*\)|[^\s\[\]<>()/]+")


def _objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    objects = {}
    for m in re.finditer(rb"(\d+) 0 obj\b(.*?)endobj", data, re.S):
        head, _, rest = m.group(2).partition(b"stream")
        stream = None
        if rest:
            length = int(re.search(rb"/Length (\d+)", head).group(1))
            raw = rest.lstrip(b"\r\n")[:length]
            stream = zlib.decompress(raw) if b"/FlateDecode" in head else raw
        objects[int(m.group(1))] = (head, stream)
    return objects


def _multiply(m, c):
    a, b, cc, d, e, f = m
    A, B, C, D, E, F = c
    return (a * A + b * C, a * B + b * D, cc * A + d * C, cc * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _y(ctm, x, y):
    return ctm[1] * x + ctm[3] * y + ctm[5]


def _drawn_heights(content: bytes) -> list[float]:
    """The page heights (points from the bottom) at which text and images are drawn."""
    ctm, stack, operands, ys = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), [], [], []
    line = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    for token in _TOKEN.findall(content):
        if token[:1].isalpha() or token in (b"'", b'"'):
            op = token
            if op == b"q":
                stack.append(ctm)
            elif op == b"Q" and stack:
                ctm = stack.pop()
            elif op == b"cm" and len(operands) >= 6:
                ctm = _multiply(tuple(float(v) for v in operands[-6:]), ctm)
            elif op == b"Tm" and len(operands) >= 6:
                line = tuple(float(v) for v in operands[-6:])
            elif op == b"Td" and len(operands) >= 2:
                line = _multiply((1.0, 0.0, 0.0, 1.0, float(operands[-2]), float(operands[-1])), line)
            elif op in (b"Tj", b"TJ", b"'", b'"'):
                ys.append(_y(ctm, line[4], line[5]))
            elif op == b"Do":
                ys += [_y(ctm, 0, 0), _y(ctm, 0, 1)]
            operands = []
        elif token not in (b"[", b"]"):
            try:
                operands.append(float(token))
            except ValueError:
                operands.append(token)
    return ys


def page_fill(path: str | Path) -> list[float]:
    """For each page, the share of its height between the first and last thing drawn."""
    objects = _objects(Path(path).read_bytes())
    fills = []
    for head, _ in (objects[k] for k in sorted(objects)):
        if not re.search(rb"/Type /Page\b(?!s)", head):
            continue
        box = [float(v) for v in re.search(rb"/MediaBox \[([^\]]*)\]", head).group(1).split()]
        refs = re.search(rb"/Contents\s*(\[[^\]]*\]|\d+ 0 R)", head).group(1)
        content = b"".join(objects[int(r)][1] or b"" for r in re.findall(rb"(\d+) 0 R", refs))
        ys = _drawn_heights(content)
        fills.append((max(ys) - min(ys)) / (box[3] - box[1]) if ys else 0.0)
    return fills
