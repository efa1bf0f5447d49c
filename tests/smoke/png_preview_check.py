#!/usr/bin/env python3
"""Checks that a lipar-studio screenshot shows non-blank preview panes (stdlib only).

usage: png_preview_check.py SCREENSHOT.png STUDIO_STDOUT.txt [MIN_PANES]

STUDIO_STDOUT holds lipar-studio's scripted-run report with lines like
  lipar-studio: pane 0 "Baseline  3.1 fps" at X Y W H
Each pane's rectangle (shrunk by a margin, away from its label and the overlay) must have real
pixel variation: a blank, black or single-colour preview fails.
"""
import re
import struct
import sys
import zlib


def read_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = header
    channels = {2: 3, 6: 4, 0: 1, 4: 2}.get(colour)
    if depth != 8 or channels is None or interlace != 0:
        raise SystemExit(f"{path}: unsupported PNG (depth {depth}, colour type {colour}, "
                         f"interlace {interlace})")
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def region_stats(rows, channels, x0, y0, x1, y1):
    values, colours = [], set()
    for y in range(y0, y1, 2):
        row = rows[y]
        for x in range(x0, x1, 2):
            r, g, b = row[x * channels:x * channels + 3]
            values.append(0.299 * r + 0.587 * g + 0.114 * b)
            colours.add((r >> 3, g >> 3, b >> 3))
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / len(values)
    return mean, variance, len(colours)


def main():
    png, report = sys.argv[1], sys.argv[2]
    min_panes = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    width, height, channels, rows = read_png(png)
    panes = re.findall(r'^lipar-studio: pane (\d+) "([^"]*)" at (-?\d+) (-?\d+) (\d+) (\d+)$',
                       open(report).read(), re.M)
    print(f"{png}: {width}x{height}, {len(panes)} pane(s)")
    if len(panes) < min_panes:
        raise SystemExit(f"expected at least {min_panes} preview panes, the report has "
                         f"{len(panes)}")
    for index, label, x, y, w, h in panes:
        x, y, w, h = int(x), int(y), int(w), int(h)
        # Skip the label strip at the top and the overlay at the bottom left.
        x0, x1 = max(0, x + w // 8), min(width, x + w - w // 8)
        y0, y1 = max(0, y + h // 4), min(height, y + h - h // 3)
        if x1 - x0 < 8 or y1 - y0 < 8:
            raise SystemExit(f"pane {index} is too small in the screenshot: {w}x{h}")
        mean, variance, colours = region_stats(rows, channels, x0, y0, x1, y1)
        print(f"pane {index} '{label}' at {x},{y} {w}x{h}: mean {mean:.1f}, "
              f"variance {variance:.1f}, {colours} distinct colours")
        if variance < 20.0 or colours < 16:
            raise SystemExit(f"pane {index} ('{label}') looks blank: variance {variance:.1f}, "
                             f"{colours} colours")
    print("preview is not blank")


if __name__ == "__main__":
    main()
