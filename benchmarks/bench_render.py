"""Single-core speed of polar rendering: our vectorised rasteriser against matplotlib.

Usage: python benchmarks/bench_render.py [--size 128] [--n 2000] [--points 1000] [--seconds 2]

Both renderers draw the same seeded Raman-like spectra with the same geometry. The
matplotlib reference reuses one polar figure and only swaps the line's data before each
draw, the fastest fair way to use it; it is timed on fewer spectra because it is slow.
The script pins itself to one thread and one core so that the rates compare like with
like and do not depend on the machine's core count. It ends with one summary line:
``render: <ours>/s, matplotlib: <ref>/s, ratio <ours/ref>``.
"""

from __future__ import annotations

import os

# Thread pools read these when numpy is first imported, so they must be set before it.
for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from gansemble_lib.data.polar import PolarGeometry, angular_resolution, decode, render, resample_to  # noqa: E402

MATPLOTLIB_SPECTRA = 100  # enough for a stable rate at roughly a few ms per figure draw


def pin_to_one_core() -> str:
    """Restrict this process to a single CPU where the OS allows it; say which."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this OS)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def raman_like(n: int, points: int, seed: int = 0) -> np.ndarray:
    """Seeded min-max normalised spectra: Gaussian/Lorentzian peaks (FWHM 5-30 points on a
    1000-point axis, scaled with ``points``), a gentle baseline and a little noise."""
    rng = np.random.default_rng(seed)
    axis = np.arange(points, dtype=float)
    scale = points / 1000
    out = np.empty((n, points))
    for i in range(n):
        y = np.zeros(points)
        for _ in range(rng.integers(3, 15)):
            centre = rng.uniform(0, points)
            fwhm = rng.uniform(5, 30) * scale
            height = rng.uniform(0.1, 1.0)
            if rng.random() < 0.5:
                y += height * np.exp(-4 * math.log(2) * ((axis - centre) / fwhm) ** 2)
            else:
                y += height / (1 + (2 * (axis - centre) / fwhm) ** 2)
        y += rng.uniform(0, 0.2) * np.polyval(rng.normal(size=3), axis / points)
        y += rng.normal(0, 0.005, points)
        out[i] = (y - y.min()) / (y.max() - y.min())
    return out


def best_time(run: Callable[[], object], seconds: float, min_repeats: int = 3) -> float:
    """Best wall time of ``run`` over at least ``min_repeats`` runs and ``seconds`` in all.

    The best, not the mean, estimates the cost without interference from the OS.
    """
    best = math.inf
    spent = 0.0
    repeats = 0
    while repeats < min_repeats or spent < seconds:
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        spent += elapsed
        repeats += 1
    return best


def matplotlib_renderer(geometry: PolarGeometry) -> Callable[[np.ndarray], np.ndarray]:
    """A function drawing one spectrum with matplotlib into a grey uint8 image.

    Same drawing as ours: the polar axes fill a ``size``-pixel figure so that radius 1 is
    half the image, the angle convention is matplotlib's own (0 right, counter-clockwise),
    a black anti-aliased line ``line_width`` pixels wide on white, axes hidden.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dpi = 100
    fig = plt.figure(figsize=(geometry.size / dpi, geometry.size / dpi), dpi=dpi, facecolor="w")
    ax = fig.add_axes((0, 0, 1, 1), projection="polar")
    ax.set_axis_off()
    ax.set_ylim(0, 1)
    (line,) = ax.plot([], [], color="k", linewidth=geometry.line_width * 72 / dpi)

    def draw(spectrum: np.ndarray) -> np.ndarray:
        theta = geometry.start_angle + geometry.span * np.linspace(0, 1, spectrum.size)
        radius = geometry.inner + (geometry.outer - geometry.inner) * spectrum
        line.set_data(theta, radius)
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba())[:, :, 0].copy()

    return draw


def round_trip_correlation(spectra: np.ndarray, geometry: PolarGeometry) -> np.ndarray:
    """Pearson r between each decoded image and its spectrum at the image's resolution."""
    decoded = decode(render(spectra, geometry=geometry), geometry=geometry)
    target = resample_to(spectra, angular_resolution(geometry))
    a = decoded - decoded.mean(axis=1, keepdims=True)
    b = target - target.mean(axis=1, keepdims=True)
    return (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    parser.add_argument("--n", type=int, default=2000, help="spectra rendered per timed run")
    parser.add_argument("--points", type=int, default=1000, help="samples per spectrum")
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="least time spent timing each renderer"
    )
    args = parser.parse_args()

    pinning = pin_to_one_core()
    geometry = PolarGeometry(size=args.size)
    spectra = raman_like(args.n, args.points, seed=0)
    n_ref = min(MATPLOTLIB_SPECTRA, args.n)

    render(spectra[:10], geometry=geometry)  # warm caches and lazy imports before timing
    ours = args.n / best_time(lambda: render(spectra, geometry=geometry), args.seconds)

    draw = matplotlib_renderer(geometry)
    draw(spectra[0])
    reference = n_ref / best_time(lambda: [draw(s) for s in spectra[:n_ref]], args.seconds)

    r = round_trip_correlation(spectra[:500], geometry)

    print(f"polar render benchmark: size {args.size}, {args.points} points/spectrum, {pinning}")
    print(f"{'renderer':<12}{'spectra':>9}{'spectra/s':>12}")
    print(f"{'ours':<12}{args.n:>9}{ours:>12.0f}")
    print(f"{'matplotlib':<12}{n_ref:>9}{reference:>12.0f}")
    print(
        f"info: round-trip Pearson r over {r.size} spectra "
        f"(decode vs resample_to {angular_resolution(geometry)}): "
        f"mean {r.mean():.4f}, min {r.min():.4f}"
    )
    print(f"render: {ours:.0f}/s, matplotlib: {reference:.0f}/s, ratio {ours / reference:.1f}")


if __name__ == "__main__":
    main()
