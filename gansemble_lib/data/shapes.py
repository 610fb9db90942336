"""A small class-per-folder image set of drawn shapes, for trying and testing the image path.

``gansemble shapes OUT`` writes ``OUT/<class>/<n>.png``: gray outlines of circles, squares,
triangles, crosses and rings on white, each drawn at a random size, position, rotation and
stroke width, with a little paper-like noise, in imbalanced class counts. They are not polar
spectra on purpose: the image path must work for any picture set, and shapes whose class is
visible at a glance make a generator that did or did not learn its classes easy to see.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..core.io_utils import atomic_dir

CLASS_COUNTS = {"circle": 24, "square": 16, "triangle": 12, "cross": 8, "ring": 6}


def _polygon(cx: float, cy: float, radius: float, corners: int, angle: float):
    return [(cx + radius * math.cos(angle + 2 * math.pi * k / corners),
             cy + radius * math.sin(angle + 2 * math.pi * k / corners)) for k in range(corners)]


def draw_shape(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One ``size`` x ``size`` uint8 gray image of ``kind``, dark strokes on white."""
    canvas = Image.new("L", (size, size), 255)
    pen = ImageDraw.Draw(canvas)
    radius = size * rng.uniform(0.22, 0.38)
    cx, cy = size / 2 + rng.uniform(-0.08, 0.08, size=2) * size
    angle = rng.uniform(0, 2 * math.pi)
    width = max(1, round(size * rng.uniform(0.03, 0.06)))
    ink = int(rng.integers(0, 70))
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    if kind == "circle":
        pen.ellipse(box, outline=ink, width=width)
    elif kind == "ring":
        pen.ellipse(box, outline=ink, width=width)
        inner = radius * rng.uniform(0.4, 0.6)
        pen.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), outline=ink, width=width)
    elif kind in ("square", "triangle"):
        corners = 4 if kind == "square" else 3
        points = _polygon(cx, cy, radius, corners, angle)
        pen.line([*points, points[0]], fill=ink, width=width, joint="curve")
    elif kind == "cross":
        for k in range(2):
            a = angle + k * math.pi / 2
            dx, dy = radius * math.cos(a), radius * math.sin(a)
            pen.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=ink, width=width)
    else:
        raise ValueError(f"unknown shape {kind!r}; known: {', '.join(CLASS_COUNTS)}")
    pixels = np.asarray(canvas, dtype=np.float64) + rng.normal(0, 6, (size, size))
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def write_shapes(out: str | Path, *, size: int = 96, seed: int = 0,
                 counts: dict[str, int] | None = None, overwrite: bool = False) -> Path:
    """Write the shape set to ``out`` (class folders of PNG files), all at once."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True (--overwrite) to replace it")
    rng = np.random.default_rng(seed)
    with atomic_dir(out) as tmp:
        for kind, n in (counts or CLASS_COUNTS).items():
            (tmp / kind).mkdir()
            for i in range(n):
                Image.fromarray(draw_shape(kind, size, rng)).save(tmp / kind / f"{i:03d}.png")
    return out
