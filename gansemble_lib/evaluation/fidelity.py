"""Stage 05: FID, KID, IS and precision/recall through torch-fidelity, honest about small N.

Every number comes from ``torch_fidelity.calculate_metrics`` on in-memory uint8 image sets
(cache off, so nothing stale is ever read back) with the extractor chosen by
:func:`extractors.resolve_extractor`, and carries that extractor's name and weights hash.

Small samples are the normal case here (a class may have one test image), so each metric is
computed only where it is defined and the result says what was adapted or left out:

* FID needs two images per side and is flagged as unreliable below
  ``max(50, 2 x feature dimension)`` images on either side: with fewer, the covariance
  estimates are rank-deficient and FID is dominated by its small-sample bias.
* KID draws subsets of ``min(n_generated, n_reference, requested)`` images (at least 2).
* IS uses ``min(splits, n_generated)`` splits, so no split is empty.
* Precision/recall use k-nearest-neighbour balls, so both sides need more than k images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch_fidelity
from torch.utils.data import Dataset

from ..core.constants import (
    CLASS_INDEX,
    EXTRACTOR,
    FID,
    FIDELITY_METRICS,
    IS_MEAN,
    IS_SPLITS,
    IS_STD,
    KID_MEAN,
    KID_STD,
    KID_SUBSET_SIZE,
    LABEL,
    N_GENERATED,
    N_REFERENCE,
    NOTE,
    PRECISION,
    RECALL,
    WEIGHTS_SHA256,
)
from .extractors import Extractor

SOURCE, FILTER = "source", "filter"
FID_MIN_SAMPLES = 50
_KEYS = {"frechet_inception_distance": FID, "kernel_inception_distance_mean": KID_MEAN,
         "kernel_inception_distance_std": KID_STD, "inception_score_mean": IS_MEAN,
         "inception_score_std": IS_STD, "precision": PRECISION, "recall": RECALL}


class ImageSet(Dataset):
    """uint8 (N, C, H, W) images as torch-fidelity reads them, one CxHxW tensor per item.

    ``channels=3`` repeats a grey channel, because Inception-v3 accepts RGB only.
    """

    def __init__(self, images: np.ndarray, channels: int | None = None) -> None:
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError(f"expected uint8 (N, C, H, W) images, got {images.dtype} "
                             f"{images.shape}")
        self.images = torch.from_numpy(np.ascontiguousarray(images))
        if channels is not None and self.images.shape[1] != channels:
            if self.images.shape[1] != 1:
                raise ValueError(f"cannot turn {self.images.shape[1]} channels into {channels}")
            self.images = self.images.expand(-1, channels, -1, -1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


@dataclass(frozen=True, kw_only=True)
class MetricSettings:
    """torch-fidelity knobs; defaults are torch-fidelity's own (KID 100 x 1000, IS 10 splits)."""

    kid_subsets: int = 100
    kid_subset_size: int = 1000
    isc_splits: int = 10
    prc_neighborhood: int = 3
    batch_size: int = 64
    seed: int = 0
    device: str = "cpu"


def fid_is_reliable(n_generated: int, n_reference: int, feature_dim: int) -> bool:
    """The module's rule: both sides have at least max(50, 2 x feature dimension) images."""
    return min(n_generated, n_reference) >= max(FID_MIN_SAMPLES, 2 * feature_dim)


def _plan(n_gen: int, n_ref: int, extractor: Extractor, settings: MetricSettings, *,
          isc: bool) -> tuple[dict, list[str]]:
    """Which metrics can be computed at these sizes, with what settings, and notes on the rest."""
    flags = {"isc": isc and n_gen >= 1, "fid": min(n_gen, n_ref) >= 2,
             "kid": min(n_gen, n_ref) >= 2,
             "prc": min(n_gen, n_ref) > settings.prc_neighborhood}
    notes = []
    if not flags["fid"]:
        notes.append("FID/KID not computed: fewer than 2 images on a side")
    elif not fid_is_reliable(n_gen, n_ref, extractor.feature_dim):
        notes.append(f"FID unreliable: N={min(n_gen, n_ref)} < max({FID_MIN_SAMPLES}, 2 x "
                     f"{extractor.feature_dim} features)")
    kid_size = min(n_gen, n_ref, settings.kid_subset_size)
    if flags["kid"] and kid_size < settings.kid_subset_size:
        notes.append(f"KID subsets of {kid_size} (not {settings.kid_subset_size})")
    splits = max(1, min(settings.isc_splits, n_gen))
    if flags["isc"] and splits < settings.isc_splits:
        notes.append(f"IS over {splits} splits (not {settings.isc_splits})")
    if isc and not flags["isc"]:
        notes.append("IS not computed: no images")
    if not flags["prc"]:
        notes.append(f"precision/recall not computed: needs more than "
                     f"{settings.prc_neighborhood} images per side")
    plan = dict(flags, kid_subset_size=max(kid_size, 2), isc_splits=splits)
    return plan, notes


def compute(generated: np.ndarray, reference: np.ndarray, *, extractor: Extractor,
            settings: MetricSettings = MetricSettings(), isc: bool = True,
            reference_cache: tuple[str, str] | None = None) -> dict:
    """Fidelity of ``generated`` against ``reference`` (IS: of ``generated`` alone).

    Metrics that the sample sizes do not allow are NaN and explained in the ``note`` field.
    ``reference_cache`` = (folder, name) lets torch-fidelity keep the reference's features in
    ``folder`` under ``name`` between calls (the caller owns the folder and must change the
    name with the reference); the generated side is never cached.
    """
    n_gen, n_ref = len(generated), len(reference)
    plan, notes = _plan(n_gen, n_ref, extractor, settings, isc=isc)
    result = dict.fromkeys(FIDELITY_METRICS, float("nan"))
    wanted = {k: plan[k] for k in ("isc", "fid", "kid", "prc")}
    if any(wanted.values()):
        raw = torch_fidelity.calculate_metrics(
            input1=ImageSet(generated, extractor.channels),
            input2=ImageSet(reference, extractor.channels) if n_ref else None,
            **wanted, feature_extractor=extractor.name,
            feature_extractor_weights_path=extractor.weights_path,
            cuda=torch.device(settings.device).type == "cuda", batch_size=settings.batch_size,
            kid_subsets=settings.kid_subsets, kid_subset_size=plan["kid_subset_size"],
            isc_splits=plan["isc_splits"], prc_neighborhood=settings.prc_neighborhood,
            rng_seed=settings.seed, verbose=False,
            **({"cache": True, "cache_root": reference_cache[0],
                "input2_cache_name": reference_cache[1]} if reference_cache and n_ref
               else {"cache": False}),
            # one process: in-memory sets are small, and worker start-up costs more than it saves
            save_cpu_ram=True)
        result.update({_KEYS[k]: float(v) for k, v in raw.items() if k in _KEYS})
    result.update({
        KID_SUBSET_SIZE: plan["kid_subset_size"] if plan["kid"] else 0,
        IS_SPLITS: plan["isc_splits"] if plan["isc"] else 0,
        N_GENERATED: n_gen, N_REFERENCE: n_ref, EXTRACTOR: extractor.name,
        WEIGHTS_SHA256: extractor.weights_sha256, NOTE: "; ".join(notes)})
    return result


def fidelity_tables(sets: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]],
                    reference: tuple[np.ndarray, np.ndarray], classes: tuple[str, ...], *,
                    extractor: Extractor, settings: MetricSettings = MetricSettings()
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Overall and per-class metrics of every (source, filter) set against the reference.

    IS is reported overall only: within one class a good generator *should* be confidently
    one class, so a per-class IS near 1 says nothing about quality.
    """
    ref_images, ref_labels = reference
    overall, per_class = [], []
    for (source, filt), (images, labels) in sets.items():
        row = compute(images, ref_images, extractor=extractor, settings=settings)
        overall.append({SOURCE: source, FILTER: filt, **row})
        for k, name in enumerate(classes):
            part = compute(images[labels == k], ref_images[ref_labels == k],
                           extractor=extractor, settings=settings, isc=False)
            per_class.append({SOURCE: source, FILTER: filt, CLASS_INDEX: k, LABEL: name, **part})
    return pd.DataFrame(overall), pd.DataFrame(per_class)


STANDARD_METRICS = (FID, KID_MEAN, KID_STD, PRECISION, RECALL)


def standard_table(sets: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]],
                   reference: np.ndarray, *, extractor: Extractor,
                   settings: MetricSettings = MetricSettings()) -> pd.DataFrame:
    """FID, KID and precision/recall of every set (overall) with the standard Inception-v3.

    No IS: the fetched network has no classification layer (:mod:`.inception`). The
    reference's features are computed once, in a folder deleted afterwards.
    """
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory(prefix="gansemble-fidelity-") as cache:
        for (source, filt), (images, _) in sets.items():
            row = compute(images, reference, extractor=extractor, settings=settings, isc=False,
                          reference_cache=(cache, "reference"))
            rows.append({SOURCE: source, FILTER: filt,
                         **{k: row[k] for k in (*STANDARD_METRICS, N_GENERATED, N_REFERENCE,
                                                EXTRACTOR, WEIGHTS_SHA256, NOTE)}})
    return pd.DataFrame(rows).set_index([SOURCE, FILTER])


def absent_table(metrics: tuple[str, ...], why: str) -> pd.DataFrame:
    """A table with ``metrics`` as columns and one row saying why it holds no numbers."""
    index = pd.MultiIndex.from_tuples([("-", "-")], names=[SOURCE, FILTER])
    return pd.DataFrame({**{m: [float("nan")] for m in metrics}, NOTE: [why]}, index=index)


def class_mix(generate: Callable[[int, int, int], np.ndarray], counts: np.ndarray, *,
              seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``counts[k]`` fresh images of every class k from a generator interface, in class order."""
    images = [generate(k, int(n), seed + 7919 * k) for k, n in enumerate(counts) if n > 0]
    labels = [np.full(int(n), k) for k, n in enumerate(counts) if n > 0]
    return np.concatenate(images), np.concatenate(labels)


def paper_protocol(generate: Callable[[int, int, int], np.ndarray], counts: np.ndarray,
                   reference: np.ndarray, *, extractor: Extractor, repeats: int = 5,
                   settings: MetricSettings = MetricSettings(), isc: bool = True
                   ) -> pd.DataFrame:
    """The paper's protocol: real-class-mix samples, ``repeats`` draws, IS over 10 splits.

    Each repeat draws a fresh set (seed ``settings.seed + repeat``); one row per repeat, so
    the spread across repeats is visible and :func:`summarise_repeats` gives mean and sd.
    """
    rows = []
    for repeat in range(repeats):
        images, _ = class_mix(generate, counts, seed=settings.seed + repeat)
        rows.append({"repeat": repeat, **compute(images, reference, extractor=extractor,
                                                 settings=settings, isc=isc)})
    return pd.DataFrame(rows)


_REPEATED = {FID: "fid", KID_MEAN: "kid", IS_MEAN: "is", PRECISION: "precision",
             RECALL: "recall"}
REPEAT_COLUMNS = [f"{short}_{stat}" for short in _REPEATED.values() for stat in ("mean", "sd")]


def summarise_repeats(runs: pd.DataFrame) -> dict:
    """Mean and sd over repeats of each metric, e.g. ``fid_mean``, ``kid_sd`` (sd NaN if 1)."""
    out = {}
    for metric, short in _REPEATED.items():
        out[f"{short}_mean"] = float(runs[metric].mean())
        out[f"{short}_sd"] = float(runs[metric].std(ddof=1)) if len(runs) > 1 else float("nan")
    return out


def paper_protocol_table(sources: dict[str, object], counts: np.ndarray, reference: np.ndarray,
                         *, extractor: Extractor, repeats: int,
                         settings: MetricSettings = MetricSettings()) -> pd.DataFrame:
    """:func:`paper_protocol` for every source (anything with ``generate``), indexed by source.

    No sources or no repeats give an empty table with the same columns.
    """
    rows = []
    for name, source in sources.items() if repeats > 0 else ():
        runs = paper_protocol(source.generate, counts, reference, extractor=extractor,
                              repeats=repeats, settings=settings)
        rows.append({SOURCE: name, "repeats": repeats, N_GENERATED: int(runs[N_GENERATED][0]),
                     **summarise_repeats(runs), EXTRACTOR: extractor.name,
                     WEIGHTS_SHA256: extractor.weights_sha256, NOTE: runs[NOTE][0]})
    columns = [SOURCE, "repeats", N_GENERATED, *REPEAT_COLUMNS, EXTRACTOR, WEIGHTS_SHA256, NOTE]
    return pd.DataFrame(rows, columns=columns).set_index(SOURCE)


NULL_N = "null_n"  # real images behind a set's null (capped at the train split's size)


def real_null(train: tuple[np.ndarray, np.ndarray], reference: np.ndarray,
              sizes: list[int], *, repeats: int, extractor: Extractor,
              settings: MetricSettings = MetricSettings(), seed: int = 0) -> pd.DataFrame:
    """What each metric gives for *real* data: real train draws against the held-out reference.

    For every set size in ``sizes``, ``repeats`` draws of that many real train images,
    stratified by class, are scored against ``reference`` exactly as a synthetic set is. The
    train draws and the held-out reference are disjoint real samples, so a generator whose FID
    (KID, precision, recall) lies within this spread is as close to the held-out data as real
    data of the same size are. There are only so many real train images: a size above the
    train split's is scored with all of them, and the row says so (``n_null`` < ``n_requested``).
    Such a null is *not* what a perfect generator would get at the set's size (FID falls and
    precision/recall change as a set grows), only the best real data can do here. Returns one
    row per (size, draw) with the metrics, ``n_requested`` (the size of the set it stands in
    for) and ``n_null`` (the real images it used).
    """
    images, labels = train
    rng = np.random.default_rng([seed, 5])
    rows = []
    for size in sorted(set(sizes)):
        n = min(int(size), len(labels))
        for r in range(repeats):
            share = np.bincount(labels) / len(labels)
            per_class = np.maximum(1, np.round(share * n)).astype(int)
            pick = np.concatenate([
                rng.choice(np.flatnonzero(labels == k), min(c, (labels == k).sum()),
                           replace=False) for k, c in enumerate(per_class) if c])
            row = compute(images[pick], reference, extractor=extractor, settings=settings)
            rows.append({"n_requested": int(size), "n_null": int(len(pick)), "draw": r,
                         **row})
    return pd.DataFrame(rows)


def with_null(overall: pd.DataFrame, null: pd.DataFrame, metrics: tuple[str, ...]
              ) -> pd.DataFrame:
    """Beside each set's metrics: the real-vs-real null's mean and sd at the set's size, and
    ``null_n``, the real images the null used (fewer than the set's when the train split is
    smaller)."""
    stats = null.groupby("n_requested")[list(metrics)].agg(["mean", "std"])
    used = null.groupby("n_requested")["n_null"].max()
    out = overall.copy()
    out[NULL_N] = [float(used.get(int(n), np.nan)) if pd.notna(n) else np.nan
                   for n in out[N_GENERATED]]
    for metric in metrics:
        for stat in ("mean", "std"):
            lookup = stats[(metric, stat)]
            out[f"{metric}_null_{'sd' if stat == 'std' else stat}"] = [
                lookup.get(int(n), np.nan) if pd.notna(n) else np.nan
                for n in out[N_GENERATED]]
    return out


def reference_subset(test, n_max: int, *, seed: int):
    """``test`` (a :class:`.dataset.Subset`) cut to at most ``n_max`` samples, per class in its
    proportions (at least one of each class), when it is larger: the real reference of every
    stage-05 metric. A replicate's fresh test set has thousands of spectra; the metrics' cost
    grows with the reference while their meaning does not need it."""
    from ..data.dataset import Subset

    n = len(test.labels)
    if n <= n_max:
        return test
    rng = np.random.default_rng([seed, 11])
    keep = []
    for label in np.unique(test.labels):
        idx = np.flatnonzero(test.labels == label)
        take = max(1, int(round(len(idx) * n_max / n)))
        keep.append(rng.choice(idx, size=min(take, len(idx)), replace=False))
    keep = np.sort(np.concatenate(keep))
    return Subset(test.images[keep], test.labels[keep],
                  None if test.spectra is None else test.spectra[keep],
                  test.manifest.iloc[keep].reset_index(drop=True))
