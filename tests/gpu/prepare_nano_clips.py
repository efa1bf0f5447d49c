#!/usr/bin/env python3
"""Data preparation for `lipar train` on the GPU machine (no FFmpeg there): decodes each clip with
OpenCV, scales it so that its short side is SHORT (area filter) and writes it as .y4m.
    prepare_nano_clips.py OUT_DIR SHORT CLIP [CLIP ...]
"""
import os
import sys

import cv2


def convert(path, out_dir, short):
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    name = os.path.splitext(os.path.basename(path))[0] + ".y4m"
    frames = 0
    with open(os.path.join(out_dir, name), "wb") as f:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            h, w = bgr.shape[:2]
            s = short / min(h, w)
            if s < 1.0:
                nw, nh = int(round(w * s / 2)) * 2, int(round(h * s / 2)) * 2
                bgr = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_AREA)
            h, w = bgr.shape[:2]
            if frames == 0:
                f.write(b"YUV4MPEG2 W%d H%d F%d:1000 Ip A1:1 C420jpeg\n" % (w, h, int(fps * 1000)))
            f.write(b"FRAME\n" + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
            frames += 1
    print(f"{name}: {frames} frames {w}x{h}")


def main():
    out_dir, short = sys.argv[1], int(sys.argv[2])
    os.makedirs(out_dir, exist_ok=True)
    for path in sys.argv[3:]:
        convert(path, out_dir, short)


if __name__ == "__main__":
    main()
