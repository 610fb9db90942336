"""What only a simulator can do: more real data on demand (stage 06, simulated data only).

When the prepared data come from :mod:`gansemble_lib.data.simulate` (``info.json`` then holds the
simulator's settings), the very process that made the data can make more of it. Stage 06 uses
that three ways:

- **oracle rows**: real-only training plus ``k`` fresh simulated spectra per class. They are
  what more *real* data would buy, so every augmentation row's gain can be stated as "worth
  +x real spectra per class" (:func:`worth`).
- a **learning curve**: macro-F1 against real spectra per class for real-only training, the
  best baseline (the chooser's pick, selected on validation) and the best generator (the one
  with the highest held-in gate validity among those that passed), each with ``k`` added.
- a **large fresh test set**: every image row is also scored on thousands of spectra the
  simulator has never shown anyone, which takes the test-set noise out of the comparison.

Fresh spectra come from stream indices far beyond any dataset's (``simulate.FRESH_START`` for
training, :data:`TEST_START` for the test set), so none of them is one of the dataset's spectra,
in any fold; :func:`check_unseen` proves it at run time. None of this exists for real data:
there, more real data cannot be drawn, and the rows are simply absent (the record says why).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import DataError
from .downstream import Row
from .rows import REAL_ONLY
from .worth import BEST_BASELINE, BEST_GENERATOR, NOT_SIMULATED, record, row_name

TEST_START = 1_500_000  # fresh test spectra: disjoint from the fresh training ones


def simulation_of(info: dict):
    """The simulator's settings the prepared data were made with, or None for other data."""
    from ..data.simulate import SimulationConfig

    settings = info.get("simulation")
    return SimulationConfig.from_dict(settings) if settings else None


@dataclass(frozen=True)
class FreshSet:
    """Fresh simulated data prepared exactly like the dataset: ``per_class`` of every class,
    class by class; the first ``k`` of each class form the set for ``k`` (nested sets)."""

    images: np.ndarray
    labels: np.ndarray
    spectra: np.ndarray
    per_class: int

    def take(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k > self.per_class:
            raise ValueError(f"asked for {k} per class, drew {self.per_class}")
        within = np.arange(len(self.labels)) % max(self.per_class, 1)
        keep = within < k
        return self.images[keep], self.labels[keep]


def fresh_set(data, per_class: int, *, first: int, seed: int | None = None) -> FreshSet:
    """``per_class`` fresh spectra of every class of ``data`` (a PreparedData from the
    simulator), preprocessed and rendered as the prepare stage did; ``seed`` (default: the
    simulator's own) picks the random stream, so each unit can draw its own."""
    from ..core.records import Spectrum
    from ..data.dataset import prepare_params_from_info
    from ..data.polar import render_spectra
    from ..data.preprocess import preprocess
    from ..data.simulate import fresh_spectra, wavenumber_axis

    config = simulation_of(data.info)
    if config is None:
        raise DataError(NOT_SIMULATED, path=Path(data.root) / "info.json")
    if seed is not None:
        config = replace(config, seed=int(seed))
    params = prepare_params_from_info(data.info)
    axis = wavenumber_axis(config)
    drawn = fresh_spectra(config, data.classes, per_class, first=first)
    labels = np.repeat(np.arange(len(data.classes)), per_class)
    raw = [Spectrum(data.classes[c], axis, y, f"fresh:{data.classes[c]}:{first + i % per_class}")
           for i, (c, y) in enumerate(zip(labels, drawn, strict=True))]
    if not raw:
        return FreshSet(np.empty((0, *data.images.shape[1:]), np.uint8), labels,
                        np.empty((0, len(data.axis))), per_class)
    _, spectra = preprocess(raw, start=float(data.axis[0]), stop=float(data.axis[-1]),
                            points=len(data.axis), baseline=params.baseline,
                            normalisation=params.normalisation, lam=params.baseline_lambda,
                            p=params.baseline_p)
    return FreshSet(render_spectra(spectra, params), labels, spectra.astype(np.float32),
                    per_class)


def check_unseen(fresh: np.ndarray, seen: np.ndarray, *, what: str) -> None:
    """Refuse fresh spectra that repeat any of ``seen`` (to 4 decimals): the run-time proof
    that the oracle's data are new, so no test-fold spectrum ever enters training."""
    known = {row.tobytes() for row in np.round(np.asarray(seen, np.float32), 4)}
    repeats = sum(row.tobytes() in known for row in np.round(np.asarray(fresh, np.float32), 4))
    if repeats:
        raise RuntimeError(f"{repeats} fresh simulated spectra repeat spectra of {what}: the "
                           "oracle would not be fresh data")


def best_generator(metrics_dir: str | Path, generators: list[str]) -> tuple[str | None, str]:
    """The generator with the highest held-in gate validity among those that passed in this
    fold, and why (stage 03's records; nothing here reads the test part)."""
    from . import gate

    passed = {}
    for name in generators:
        path = Path(metrics_dir) / ("03b_vae.json" if name == "vae" else f"03_{name}.json")
        if not path.is_file():
            continue
        record = json.loads(path.read_text(encoding="utf-8")).get("gate") or {}
        if record.get(gate.STATUS) == gate.PASSED:
            passed[name] = float(record[gate.VALIDITY])
    if not passed:
        return None, "no generator passed the gate in this fold: no generator curve"
    best = max(passed, key=passed.get)
    return best, (f"{best}: highest held-in gate validity ({passed[best]:.3f}) of the "
                  f"generators that passed ({', '.join(sorted(passed))})")


def rows(fresh: FreshSet, ks: tuple[int, ...], *, chosen: dict,
         generator_set: tuple[np.ndarray, np.ndarray] | None,
         curves: tuple[str, ...] = ("real_only", "best_baseline", "best_generator")) -> list:
    """Stage 06's oracle rows: each curve at each k (real-only's k = 0 is its own row).

    The best baseline is the chooser's pick (ordinary augmentation, chosen on validation data);
    the best generator's curve adds its unfiltered samples (``generator_set``), when one passed.
    ``curves`` (``downstream.oracle_curves``) says which curves are trained besides real-only.
    """
    out = []
    for k in (0, *ks):
        extra_x, extra_y = fresh.take(k)
        if k:
            out.append(Row(row_name(REAL_ONLY, k), extra_x, extra_y,
                           info=record(REAL_ONLY, k)))
        if "best_baseline" in curves:
            out.append(Row(row_name(BEST_BASELINE, k), extra_x, extra_y,
                           augment_strategy=int(chosen["strategy"]),
                           augment_target=int(chosen["n"]), info=record(BEST_BASELINE, k)))
        if generator_set is not None and "best_generator" in curves:
            out.append(Row(row_name(BEST_GENERATOR, k),
                           np.concatenate([generator_set[0], extra_x]),
                           np.concatenate([generator_set[1], extra_y]),
                           info=record(BEST_GENERATOR, k)))
    return out


def simulated_test_table(records: list[dict]) -> pd.DataFrame:
    """Per row: macro-F1 on the fresh simulated test set (mean over seeds) and its difference
    from real-only (paired by seed)."""
    frame = pd.DataFrame(records)
    if frame.empty:
        return pd.DataFrame(columns=["macro_f1", "diff"])
    wide = frame.pivot(index="seed", columns="row", values="macro_f1")
    order = list(dict.fromkeys(frame["row"]))
    return pd.DataFrame({"macro_f1": wide[order].mean(),
                         "diff": (wide[order].sub(wide[REAL_ONLY], axis=0)).mean()},
                        index=pd.Index(order, name="row"))
