"""Invertible polar-coordinate rendering of spectra as images, and its decoder.

GANsemble turns each microplastic spectrum into an image by drawing it as a polar curve;
this is our own, documented version of that conversion. Conventions:

* Position ``t`` in ``[0, 1]`` along the spectrum axis (sample ``i`` of ``M`` sits at
  ``t = i / (M - 1)``) maps to the angle ``theta = start_angle + span * t``. Angles are
  measured in the usual mathematical sense as the image is *viewed*: 0 points right,
  ``pi/2`` points up, and the curve advances counter-clockwise. With the defaults the
  axis starts at twelve o'clock and runs counter-clockwise, as the angle of a polar plot.
* ``span`` is less than a full turn so that the two ends of the axis never meet: with a
  full turn the first and last samples would be drawn on one ray and could not be told
  apart by the decoder. The default leaves one degree: a pixel at the outer radius but a
  fifth of one at the inner, which is why the decoder trusts ink far from the centre more.
* Normalised intensity ``y`` in ``[0, 1]`` maps to the radius
  ``(inner + (outer - inner) * y) * size / 2`` pixels. A non-zero ``inner`` keeps the low
  intensities off the centre, where every angle would collapse onto one point (with
  ``inner == 0`` a stretch of zeros has no length and so leaves no ink).
* Pixel ``(row, col)`` has its centre at integer coordinates; the polar origin is the
  image centre ``((size - 1) / 2, (size - 1) / 2)``; rows grow downwards, hence the minus
  sign on the sine.
* The image is a dark, anti-aliased curve on a white (255) background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..core.config import PrepareParams

_STEP_PX = 0.5  # polyline sample spacing: sub-pixel, so the splatted ink is even along the line
_RAY_STEP_PX = 0.25  # radial sampling step of the decoder
_INK_FLOOR = 0.05  # a ray whose darkest sample is lighter than this saw no curve
_CHUNK_PIXELS = 1 << 18  # canvas pixels per chunk: small enough to stay in cache


@dataclass(frozen=True)
class PolarGeometry:
    """Where and how a spectrum is drawn; see the module docstring for the conventions.

    ``inner``/``outer`` are radii as fractions of half the image size, ``start_angle`` and
    ``span`` are in radians, and ``line_width`` is the stroke width in pixels.
    """

    size: int = 128
    inner: float = 0.15
    outer: float = 0.95
    start_angle: float = math.pi / 2
    span: float = 2 * math.pi * (359 / 360)
    line_width: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int | np.integer):
            raise ValueError(f"size must be an integer, got {self.size!r}")
        if self.size < 8:  # smaller images cannot hold a recognisable curve
            raise ValueError(f"size must be at least 8 pixels, got {self.size}")
        for name in ("inner", "outer", "start_angle", "span", "line_width"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)!r}")
        if not 0.0 <= self.inner < 1.0:
            raise ValueError(f"inner must be in [0, 1), got {self.inner}")
        if not self.inner < self.outer <= 1.0:
            raise ValueError(f"outer must be in (inner, 1], got {self.outer}")
        # A full turn (or more) would put both ends of the axis on the same ray.
        if not 0.0 < self.span < 2 * math.pi:
            raise ValueError(f"span must be in (0, 2*pi), got {self.span}")
        if not 0.0 < self.line_width <= 8.0:
            raise ValueError(f"line_width must be in (0, 8] pixels, got {self.line_width}")

    @property
    def half(self) -> float:
        return self.size / 2

    @property
    def centre(self) -> float:
        return (self.size - 1) / 2

    def radius_px(self, values: np.ndarray) -> np.ndarray:
        """Radius in pixels of normalised intensities."""
        return (self.inner + (self.outer - self.inner) * values) * self.half


def key(axis_start: float, axis_stop: float, geometry: PolarGeometry = PolarGeometry()) -> str:
    """One line a figure of polar images can carry as its key: what angle and radius mean."""
    clock = {math.pi / 2: "twelve o'clock", 0.0: "three o'clock", math.pi: "nine o'clock",
             3 * math.pi / 2: "six o'clock"}.get(geometry.start_angle,
                                                  f"{math.degrees(geometry.start_angle):.0f} deg")
    return (f"Polar images: angle = wavenumber, {axis_start:g} cm$^{{-1}}$ at {clock}, rising "
            f"counter-clockwise to {axis_stop:g} cm$^{{-1}}$; distance from the centre = "
            "normalised intensity; dark curve on white.")


def angular_resolution(geometry: PolarGeometry = PolarGeometry()) -> int:
    """Number of angular samples the image resolves: the outer arc's length in pixels.

    At the outer radius neighbouring samples are one pixel apart along the arc, about the
    finest detail a one-pixel anti-aliased line can carry. Inside that radius the arc is
    shorter, so low intensities are resolved more coarsely; we pick the outer arc because
    peaks, which carry the information, live there. Defaults: 381 at size 128, 190 at 64.
    """
    return max(2, round(geometry.span * geometry.outer * geometry.half))


def resample_to(spectra: np.ndarray, points: int) -> np.ndarray:
    """Linearly resample spectra sampled at ``linspace(0, 1, M)`` to ``points`` positions.

    Accepts ``(M,)`` or ``(N, M)`` and returns the same number of dimensions.
    """
    if points < 2:
        raise ValueError(f"points must be at least 2, got {points}")
    x = np.asarray(spectra, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[-1] < 1:
        raise ValueError(f"spectra must have shape (M,) or (N, M), got {x.shape}")
    m = x.shape[-1]
    pos = np.linspace(0.0, m - 1.0, points)
    left = np.clip(pos.astype(np.int64), 0, max(m - 2, 0))
    right = np.minimum(left + 1, m - 1)
    frac = pos - left
    return x[..., left] * (1.0 - frac) + x[..., right] * frac


def _as_spectra(spectra: np.ndarray) -> np.ndarray:
    x = np.asarray(spectra, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"spectra must have shape (M,) or (N, M) with M >= 2, got {x.shape}")
    if np.isnan(x).any():
        raise ValueError("spectra contain NaN; impute or drop them before rendering")
    # Clipping (rather than rescaling) keeps the radius of in-range values meaningful.
    return np.clip(x, 0.0, 1.0)


def _stroke_offsets(line_width: float) -> tuple[np.ndarray, float]:
    """Normal offsets (px) of the parallel one-pixel strokes making up a line, and their ink.

    A line of width w is a box of width w blurred by the splatting tent; ceil(w) copies
    spread evenly over the box, each with w / ceil(w) ink, keep the ink across it equal to w.
    """
    copies = max(1, math.ceil(line_width - 1e-9))
    return (np.arange(copies) - (copies - 1) / 2) * (line_width / copies), line_width / copies


def _sample_polyline(
    x: np.ndarray, geometry: PolarGeometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Dense samples of a batch's polar polylines: (batch index, row, col, ink, normal).

    Between two spectrum samples angle and radius are interpolated linearly. Each segment
    is cut into enough equal pieces to be at most ``_STEP_PX`` long and sampled at the
    piece midpoints, each sample carrying ink equal to its piece's length, so that ink per
    unit length of curve is the same on flat stretches and on steep flanks. ``normal`` is
    the unit normal in (col, row) image axes, used only for strokes wider than a pixel.
    Coordinates are float32: a 1e-5 px error is invisible, and numpy's float32 sin/cos are
    SIMD-vectorised and over ten times faster than float64.
    """
    n, m = x.shape
    dtheta = np.float32(geometry.span / (m - 1))
    r = geometry.radius_px(x).astype(np.float32)
    r0 = r[:, :-1].ravel()
    dr = (r[:, 1:] - r[:, :-1]).ravel()
    seg_len = np.hypot(dr, (r0 + 0.5 * dr) * dtheta)
    counts = np.maximum(np.ceil(seg_len / _STEP_PX), 1).astype(np.int64)
    seg = np.repeat(np.arange(n * (m - 1)), counts)
    batch = np.repeat(np.arange(n), counts.reshape(n, m - 1).sum(axis=1))
    # Sample j of a segment cut into c pieces sits at fraction (j + 0.5) / c along it.
    inv = (1.0 / counts).astype(np.float32)
    piece = (np.arange(seg.size) - (np.cumsum(counts) - counts)[seg]).astype(np.float32)
    frac = (piece + np.float32(0.5)) * inv[seg]
    rr = r0[seg] + frac * dr[seg]
    vertex = (seg - batch * (m - 1)).astype(np.float32)  # float32 keeps the trig vectorised
    theta = dtheta * (vertex + frac) + np.float32(geometry.start_angle)
    cos, sin = np.cos(theta), np.sin(theta)
    ink = (seg_len * inv)[seg]
    normal = np.empty((2, 0), dtype=np.float32)
    if geometry.line_width > 1.0:
        # Tangent d(col, row)/dt of (r(t) cos(theta), -r(t) sin(theta)); normal is it turned.
        tang_c = dr[seg] * cos - rr * dtheta * sin
        tang_r = -(dr[seg] * sin + rr * dtheta * cos)
        length = np.hypot(tang_c, tang_r) + np.float32(1e-12)
        normal = np.stack([-tang_r / length, tang_c / length])
    col = np.float32(geometry.centre) + rr * cos
    row = np.float32(geometry.centre) - rr * sin
    return batch, row, col, ink, normal


def _splat(
    batch: np.ndarray, row: np.ndarray, col: np.ndarray, ink: np.ndarray, n: int, side: int
) -> np.ndarray:
    """Accumulate ink bilinearly into an ``(n, side, side)`` canvas with one bincount."""
    r0 = np.floor(row)
    c0 = np.floor(col)
    fr = row - r0
    fc = col - c0
    idx = np.empty((4, row.size), dtype=np.int64)
    np.add((batch * side + r0.astype(np.int64)) * side, c0.astype(np.int64), out=idx[0])
    np.add(idx[0], 1, out=idx[1])
    np.add(idx[0], side, out=idx[2])
    np.add(idx[0], side + 1, out=idx[3])
    w_bot = ink * fr
    w_top = ink - w_bot
    weights = np.empty((4, row.size), dtype=np.float32)
    np.multiply(w_top, fc, out=weights[1])
    np.subtract(w_top, weights[1], out=weights[0])
    np.multiply(w_bot, fc, out=weights[3])
    np.subtract(w_bot, weights[3], out=weights[2])
    canvas = np.bincount(idx.ravel(), weights=weights.ravel(), minlength=n * side * side)
    return canvas.reshape(n, side, side)


def _render_chunk(x: np.ndarray, geometry: PolarGeometry) -> np.ndarray:
    n = x.shape[0]
    size = geometry.size
    # The canvas is padded so that no splat can fall off it, even with outer == 1.
    pad = math.ceil(geometry.line_width / 2) + 2
    side = size + 2 * pad
    batch, row, col, ink, normal = _sample_polyline(x, geometry)
    offsets, share = _stroke_offsets(geometry.line_width)
    # Ink is counted in grey levels so that the inversion below is a single subtraction.
    ink = ink * np.float32(255.0 * share)
    layers = []
    for offset in offsets.astype(np.float32):
        shift_r, shift_c = (offset * normal[1], offset * normal[0]) if offset else (0, 0)
        layers.append(_splat(batch, row + shift_r + pad, col + shift_c + pad, ink, n, side))
    canvas = layers[0] if len(layers) == 1 else np.sum(layers, axis=0)
    grey = canvas[:, pad : pad + size, pad : pad + size].astype(np.float32)
    np.minimum(grey, 255.0, out=grey)
    np.subtract(255.5, grey, out=grey)  # +0.5 rounds to nearest on the cast
    return grey.astype(np.uint8)


def render(
    spectra: np.ndarray, *, geometry: PolarGeometry = PolarGeometry(), channels: int = 1
) -> np.ndarray:
    """Draw normalised spectra as dark polar curves on white, ``(N, channels, S, S)`` uint8.

    ``spectra`` is ``(N, M)`` or ``(M,)`` with values already in ``[0, 1]``; values outside
    are clipped and NaN raises ``ValueError``. All channels are identical grey planes (the
    image models expect 1 or 3). The batch is rasterised without a per-spectrum loop: the
    polylines are sampled densely and their ink splatted bilinearly with one ``bincount``
    (anti-aliasing for free), then clipped at full darkness and inverted. Chunks of
    spectra only keep the canvas small enough to stay in the CPU cache.
    """
    if isinstance(channels, bool) or not isinstance(channels, int | np.integer) or channels < 1:
        raise ValueError(f"channels must be a positive integer, got {channels!r}")
    x = _as_spectra(spectra)
    size = geometry.size
    grey = np.empty((x.shape[0], size, size), dtype=np.uint8)
    chunk = max(1, _CHUNK_PIXELS // (size * size))
    for start in range(0, x.shape[0], chunk):
        grey[start : start + chunk] = _render_chunk(x[start : start + chunk], geometry)
    if channels == 1:
        return grey[:, None]
    return np.repeat(grey[:, None], channels, axis=1)


def _darkness(images: np.ndarray, size: int) -> np.ndarray:
    """``(N, H*W)`` float32 darkness in [0, 1] (0 = white), channels averaged."""
    img = np.asarray(images)
    if img.ndim not in (2, 3, 4):
        raise ValueError(f"images must be (H, W), (C, H, W) or (N, C, H, W), got {img.shape}")
    img = img.reshape((1,) * (4 - img.ndim) + img.shape)
    if img.shape[-2:] != (size, size):
        raise ValueError(f"images are {img.shape[-2:]} but geometry.size is {size}")
    grey = img.astype(np.float32).mean(axis=1)
    return ((255.0 - grey) / 255.0).reshape(img.shape[0], size * size)


def _ray_taps(geometry: PolarGeometry, points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear gather indices/weights for every (ray, radial step), and the radii sampled.

    The radial range reaches a stroke's half-width plus a pixel past ``inner``/``outer`` so
    that a curve drawn right at either limit is seen whole.
    """
    size = geometry.size
    margin = geometry.line_width / 2 + 1.0
    r_lo = max(0.0, geometry.inner * geometry.half - margin)
    r_hi = geometry.outer * geometry.half + margin
    radii = np.arange(r_lo, r_hi + 1e-9, _RAY_STEP_PX)
    theta = geometry.start_angle + geometry.span * np.linspace(0.0, 1.0, points)[:, None]
    col = np.clip(geometry.centre + radii * np.cos(theta), 0.0, size - 1.0)
    row = np.clip(geometry.centre - radii * np.sin(theta), 0.0, size - 1.0)
    c0 = np.minimum(np.floor(col), size - 2).astype(np.int64)
    r0 = np.minimum(np.floor(row), size - 2).astype(np.int64)
    fc = (col - c0).astype(np.float32)
    fr = (row - r0).astype(np.float32)
    base = r0 * size + c0
    idx = np.stack([base, base + 1, base + size, base + size + 1])
    w = np.stack([(1 - fr) * (1 - fc), (1 - fr) * fc, fr * (1 - fc), fr * fc])
    return idx, w, radii


def _fill_gaps(values: np.ndarray) -> np.ndarray:
    """Replace NaN (rays that saw no ink) by linear interpolation along the axis, in place.

    The axis is open (it does not wrap round), so gaps at either end take the nearest
    decoded value. A spectrum with no ink at all stays NaN: there is nothing to go on.
    """
    for row in np.flatnonzero(np.isnan(values).any(axis=1)):
        bad = np.isnan(values[row])
        if not bad.all():
            good = np.flatnonzero(~bad)
            values[row, bad] = np.interp(np.flatnonzero(bad), good, values[row, good])
    return values


def _ray_radius(profiles: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Radius of the curve on each ray: mean radius weighted by darkness**8 * radius**2.

    Steep flanks are the hard case. Along a narrow peak the two flanks run side by side,
    so the ray through its tip sees ink all the way from the base, and a plain
    darkness-weighted mean lands halfway and halves the peak, while a hard argmax is
    quantised and jumps between equally dark samples. The high power is a soft argmax:
    it follows the darkest ink but averages over a dark plateau, sub-pixel, and makes faint
    ink from neighbouring angles negligible. The radius factor reflects that a pixel at
    radius r spans an angle of 1/r: ink near the centre is shared by many rays (a needle's
    merged flanks, the other end of the axis across the seam) while ink far out belongs to
    this ray. Exponents 8 and 2 were chosen on held-out synthetic spectra (4..12 and 1..3
    tried); they change a constant ring's radius by under 0.1 px.
    """
    weights = profiles**8 * radii.astype(np.float32) ** 2
    radius = (weights @ radii.astype(np.float32)) / np.maximum(weights.sum(axis=-1), 1e-30)
    return np.where(profiles.max(axis=-1) >= _INK_FLOOR, radius, np.nan)


def decode(
    images: np.ndarray, *, geometry: PolarGeometry = PolarGeometry(), points: int | None = None
) -> np.ndarray:
    """Read spectra back from polar images: ``(N, points)`` floats in ``[0, 1]``.

    ``images`` is ``(N, C, H, W)``, ``(C, H, W)`` or ``(H, W)`` (channels are averaged).
    For each of ``points`` equally spaced axis positions (default
    :func:`angular_resolution`) a ray is cast from the centre, darkness is sampled along it
    every quarter pixel by bilinear interpolation, and the curve's radius is estimated by
    :func:`_ray_radius`. Rays that see no ink are filled from their neighbours
    (:func:`_fill_gaps`).
    """
    points = angular_resolution(geometry) if points is None else int(points)
    if points < 2:
        raise ValueError(f"points must be at least 2, got {points}")
    dark = _darkness(images, geometry.size)
    idx, w, radii = _ray_taps(geometry, points)
    out = np.empty((dark.shape[0], points))
    chunk = 64
    for start in range(0, dark.shape[0], chunk):
        d = dark[start : start + chunk]
        profiles = d[:, idx[0]] * w[0]
        for k in range(1, 4):
            profiles += d[:, idx[k]] * w[k]
        out[start : start + chunk] = _ray_radius(profiles, radii)
    values = (out / geometry.half - geometry.inner) / (geometry.outer - geometry.inner)
    return _fill_gaps(np.clip(values, 0.0, 1.0))


def render_spectra(spectra: np.ndarray, params: PrepareParams) -> np.ndarray:
    """Polar images of spectra as the prepare stage draws them (``prepare.image_size``,
    ``line_width``, ``channels``), each spectrum rescaled to 0..1 first (the radius needs a
    fixed range). Generated spectra go through this same function, so they are drawn exactly as
    the real ones."""
    low = spectra.min(axis=1, keepdims=True)
    span = spectra.max(axis=1, keepdims=True) - low
    unit = (spectra - low) / np.where(span > 0, span, 1.0)
    geometry = PolarGeometry(size=params.image_size, line_width=params.line_width)
    return render(unit, geometry=geometry, channels=params.channels)
