"""Drawing the demo pictures: shapes on textured backgrounds (see :mod:`nst_det.data.synthetic`).

Every function draws from the ``numpy.random.Generator`` it is given, so a picture is a function of
its generator's seed alone; :func:`encode_jpeg` uses fixed options, so the same pixels give the same bytes.
"""
from __future__ import annotations

import io
import math
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw

CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "cross", "ring")

# Fixed JPEG options: same pixels in, same bytes out (4:4:4 keeps colour edges sharp).
_JPEG_OPTIONS = dict(format="JPEG", quality=90, subsampling=0, optimize=False, progressive=False)

_SUPERSAMPLE = 4           # shapes are drawn at 4x and box-filtered down: anti-aliased edges
_MIN_CONTRAST = 60.0       # least RGB distance between an object's fill and the background under it
_MIN_VISIBLE = 0.7         # an object may be covered by later ones, keeping >= 70 % of its pixels
DET_OBJECT_SIZE = (24, 120)  # object diameter range in detection scenes, pixels
DET_MIN_SIDE = 64
CLS_MIN_SIZE = 32


class Box(NamedTuple):
    """One object: class index into :data:`CLASSES` and pixel-edge box (x1, y1 exclusive)."""

    label: int
    x0: int
    y0: int
    x1: int
    y1: int


# --------------------------------------------------------------------------- drawing
def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Textured background, float32 ``(height, width, 3)`` in [0, 255].

    Smooth colour noise (a random 3x3 .. 8x8 grid upsampled bicubically) blended with stripes at a
    random angle or a checkerboard at a random scale, two random colours, plus pixel noise.
    """
    grid = int(rng.integers(3, 9))
    coarse = rng.uniform(0, 255, size=(grid, grid, 3)).astype(np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC), np.float32)

    period = rng.uniform(0.06, 0.3) * min(height, width)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if rng.random() < 0.5:
        angle = rng.uniform(0, math.pi)
        phase = (xs * math.cos(angle) + ys * math.sin(angle)) / period
        pattern = (np.floor(phase) % 2).astype(np.float32)
    else:
        pattern = ((np.floor(xs / period) + np.floor(ys / period)) % 2).astype(np.float32)
    colours = rng.uniform(0, 255, size=(2, 3)).astype(np.float32)
    textured = colours[0] + pattern[..., None] * (colours[1] - colours[0])

    alpha = rng.uniform(0.2, 0.6)
    noise = rng.normal(0.0, 6.0, size=(height, width, 3)).astype(np.float32)
    return np.clip((1 - alpha) * smooth + alpha * textured + noise, 0, 255)


def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    """Rotate ``(N, 2)`` points about the origin by ``angle`` radians."""
    c, s = math.cos(angle), math.sin(angle)
    return points @ np.array([[c, s], [-s, c]], dtype=np.float64)


def _draw_shape(draw: ImageDraw.ImageDraw, label: int, rng: np.random.Generator,
                cx: float, cy: float, radius: float) -> None:
    """Draw class ``label`` (value 255) inside the circle of ``radius`` about ``(cx, cy)``."""
    name = CLASSES[label]
    if name in ("circle", "ring"):
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=255)
        if name == "ring":
            inner = radius * rng.uniform(0.45, 0.65)
            draw.ellipse([cx - inner, cy - inner, cx + inner, cy + inner], fill=0)
        return
    if name == "square":
        half = radius / math.sqrt(2)
        corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
        polygons = [_rotate(corners, rng.uniform(-0.35, 0.35))]
    elif name == "triangle":
        angles = rng.uniform(0, 2 * math.pi) + np.arange(3) * 2 * math.pi / 3
        polygons = [radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)]
    else:  # cross: two bars whose ends touch the circle
        half_w = radius * rng.uniform(0.15, 0.25)
        half_l = math.sqrt(radius ** 2 - half_w ** 2)
        bar = np.array([[-half_l, -half_w], [half_l, -half_w], [half_l, half_w], [-half_l, half_w]])
        angle = rng.uniform(-0.35, 0.35)
        polygons = [_rotate(bar, angle), _rotate(bar, angle + math.pi / 2)]
    for polygon in polygons:
        draw.polygon([(float(x + cx), float(y + cy)) for x, y in polygon], fill=255)


def _shape_alpha(label: int, rng: np.random.Generator, cx: float, cy: float, radius: float,
                 height: int, width: int) -> np.ndarray:
    """Anti-aliased coverage of one shape, float32 ``(height, width)`` in [0, 1].

    The shape lies inside the circle of ``radius`` about ``(cx, cy)``, which must lie inside
    the image.
    """
    x0, y0 = int(cx - radius) - 1, int(cy - radius) - 1
    x1, y1 = int(math.ceil(cx + radius)) + 1, int(math.ceil(cy + radius)) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    patch = Image.new("L", ((x1 - x0) * _SUPERSAMPLE, (y1 - y0) * _SUPERSAMPLE), 0)
    _draw_shape(ImageDraw.Draw(patch), label, rng, (cx - x0) * _SUPERSAMPLE,
                (cy - y0) * _SUPERSAMPLE, radius * _SUPERSAMPLE)
    patch = patch.resize((x1 - x0, y1 - y0), Image.BOX)
    alpha = np.zeros((height, width), np.float32)
    alpha[y0:y1, x0:x1] = np.asarray(patch, np.float32) / 255.0
    return alpha


def _paint(rng: np.random.Generator, canvas: np.ndarray, alpha: np.ndarray) -> None:
    """Composite a shaded random colour onto ``canvas`` (float32 ``(H, W, 3)``) through ``alpha``.

    The fill is drawn from one distribution for all classes, redrawn (up to 20 times, keeping the
    best) until it differs from the mean background under the shape by ``_MIN_CONTRAST``.
    """
    under = canvas[alpha > 0.5].mean(axis=0)
    best, best_dist = None, -1.0
    for _ in range(20):
        colour = rng.uniform(0, 255, size=3).astype(np.float32)
        dist = float(np.linalg.norm(colour - under))
        if dist > best_dist:
            best, best_dist = colour, dist
        if dist >= _MIN_CONTRAST:
            break
    height, width = alpha.shape
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (xs * math.cos(angle) + ys * math.sin(angle)) / max(height, width)
    fill = best + rng.uniform(0, 40) * (ramp - ramp.mean())[..., None]
    canvas += alpha[..., None] * (np.clip(fill, 0, 255) - canvas)


def _to_uint8(canvas: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


def encode_jpeg(image: np.ndarray) -> bytes:
    """Encode a uint8 ``(H, W, 3)`` image with the fixed JPEG options."""
    buffer = io.BytesIO()
    Image.fromarray(image, "RGB").save(buffer, **_JPEG_OPTIONS)
    return buffer.getvalue()


def classification_image(rng: np.random.Generator, label: int, size: int) -> np.ndarray:
    """One object of class ``label`` near the centre: uint8 ``(size, size, 3)``.

    The object's diameter is 40-80 % of ``size``; its centre is shifted by at most half the
    free margin, so it stays inside the image.
    """
    canvas = _background(rng, size, size)
    radius = rng.uniform(0.2, 0.4) * size
    slack = size / 2 - radius - 1
    cx, cy = size / 2 + rng.uniform(-0.5, 0.5, size=2) * slack
    _paint(rng, canvas, _shape_alpha(label, rng, cx, cy, radius, size, size))
    return _to_uint8(canvas)


def detection_scene(rng: np.random.Generator, height: int, width: int
                     ) -> tuple[np.ndarray, list[Box]]:
    """A scene of 1-4 objects: uint8 ``(height, width, 3)`` image and one :class:`Box` each.

    Objects are placed one after another; a placement is redrawn (up to 30 times, then the object
    is dropped) if it would leave an earlier object with less than ``_MIN_VISIBLE`` of its pixels.
    Boxes enclose each object's visible pixels (coverage > 0.5) and lie inside the image.
    """
    canvas = _background(rng, height, width)
    owner = np.full((height, width), -1, np.int32)  # index of the top object at each pixel
    labels: list[int] = []
    areas: list[int] = []
    max_diameter = min(DET_OBJECT_SIZE[1], min(height, width) // 2)
    for _ in range(int(rng.integers(1, 5))):
        for _attempt in range(30):
            label = int(rng.integers(len(CLASSES)))
            radius = rng.uniform(DET_OBJECT_SIZE[0], max_diameter) / 2
            cx = rng.uniform(radius + 1, width - radius - 1)
            cy = rng.uniform(radius + 1, height - radius - 1)
            alpha = _shape_alpha(label, rng, cx, cy, radius, height, width)
            covered = alpha > 0.5
            kept = np.bincount(owner[~covered & (owner >= 0)], minlength=len(labels))
            if all(kept[i] >= _MIN_VISIBLE * areas[i] for i in range(len(labels))):
                break
        else:
            continue
        _paint(rng, canvas, alpha)
        owner[covered] = len(labels)
        labels.append(label)
        areas.append(int(covered.sum()))
    boxes = []
    for index, label in enumerate(labels):
        ys, xs = np.nonzero(owner == index)
        boxes.append(Box(label, int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
    return _to_uint8(canvas), boxes
