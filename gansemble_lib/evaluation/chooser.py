"""The data chooser (stage 02): score every augmentation strategy x oversampling size N.

For each candidate the train split is topped up to N images per class with that strategy, a
scoring classifier is trained on it and evaluated on the validation split, over several
seeds. The paper picked its strategy by hand; here a documented rule picks it (:func:`select`).
Only train and validation data enter this module: the test split is never seen.
"""

from __future__ import annotations

import time
import traceback

import numpy as np
import pandas as pd
import torch

from ..augment.images import base_count, oversample, preserves_meaning, strategy_name
from ..augment.spectra import SpectralSource, is_spectral
from ..core.config import ChooseParams
from ..core.constants import MACRO_RECALL, SCORES
from ..core.errors import DataError
from ..core.numerics import resolve_device
from ..core.progress import bar as progress_bar
from .classifiers import (
    TrainSettings,
    classification_scores,
    make_classifier,
    predict,
    to_tensor,
    train_classifier,
)

STRATEGY, NAME, N, REPEAT, SECONDS, STATUS = "strategy", "name", "n", "repeat", "seconds", "status"
N_BASE = "n_base"
FAMILY, KEEPS_LABEL = "family", "keeps_label"
IMAGE, SPECTRAL = "image", "spectral"
OK = "ok"


def candidate_seed(params: ChooseParams, strategy: int, n: int,
                   repeat: int) -> np.random.SeedSequence:
    """Augmentation draws: distinct per candidate and repeat, reproducible from the base seed."""
    return np.random.SeedSequence([params.seed, repeat, strategy, n])


def score_candidate(train_x: np.ndarray, train_y: np.ndarray, val: torch.Tensor,
                    val_y: np.ndarray, *, strategy: int, n: int, repeat: int,
                    params: ChooseParams, n_classes: int, device: torch.device,
                    source: SpectralSource | None = None) -> dict:
    images, labels, _ = oversample(train_x, train_y, target=n, strategy=strategy,
                                   seed=candidate_seed(params, strategy, n, repeat),
                                   source=source)
    x = to_tensor(images, params.classifier_size)
    torch.manual_seed(params.seed + repeat)  # same initial weights for every candidate
    model = make_classifier(params.classifier, in_channels=x.shape[1], n_classes=n_classes,
                            size=params.classifier_size)
    settings = TrainSettings(epochs=params.epochs, batch_size=params.batch_size,
                             optimizer=params.optimizer, lr=params.lr, momentum=params.momentum,
                             steps=params.steps)
    train_classifier(model, x, labels, settings=settings, seed=params.seed + repeat,
                     device=device)
    return classification_scores(val_y, predict(model, val, device=device), n_classes)


def run_search(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray,
               *, params: ChooseParams, n_classes: int, progress: bool = True,
               source: SpectralSource | None = None, device: str = "auto") -> pd.DataFrame:
    """One row per (strategy, N, repeat) with the validation scores, time and status.

    ``source`` holds the train spectra for the spectral strategies (16-18); without it (image
    data) those strategies are left out. A candidate that raises stops the search with a
    :class:`DataError` naming the candidate (a bug in one strategy would otherwise change the
    choice silently). With ``params.skip_failed`` it is instead recorded with status
    ``failed: ...`` and NaN scores, left out of the choice, and counted in ``chosen.json``.
    """
    device = resolve_device(device)
    val = to_tensor(val_x, params.classifier_size)
    strategies = [s for s in params.strategies if source is not None or not is_spectral(s)]
    jobs = [(s, n, r) for s in strategies for n in params.n_grid
            for r in range(params.repeats)]
    rows = []
    for strategy, n, repeat in progress_bar(jobs, desc="chooser", unit="run",
                                               disable=not progress):
        started = time.perf_counter()
        row = {STRATEGY: strategy, NAME: strategy_name(strategy), N_BASE: base_count(strategy),
               FAMILY: SPECTRAL if is_spectral(strategy) else IMAGE,
               KEEPS_LABEL: preserves_meaning(strategy), N: n, REPEAT: repeat}
        try:
            row.update(score_candidate(train_x, train_y, val, val_y, strategy=strategy, n=n,
                                       repeat=repeat, params=params, n_classes=n_classes,
                                       device=device, source=source))
            row[STATUS] = OK
        except Exception as exc:  # noqa: BLE001 - stops the stage unless skipping is asked for
            last = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{type(exc).__name__}: {exc} ({last.filename}:{last.lineno})"
            if not params.skip_failed:
                raise DataError(f"chooser candidate {strategy} ({strategy_name(strategy)}) at "
                                f"N = {n}, repeat {repeat} failed: {where}",
                                fix="fix the strategy; or set choose.skip_failed: true in "
                                    "params.yaml to record it as failed and choose among the "
                                    "others") from exc
            row.update({metric: np.nan for metric in SCORES})
            row[STATUS] = f"failed: {where}"
        row[SECONDS] = time.perf_counter() - started
        rows.append(row)
    return pd.DataFrame(rows)


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over repeats per candidate, plus mean seconds and how many repeats failed."""
    keys = [STRATEGY, NAME, N_BASE, FAMILY, KEEPS_LABEL, N]
    grouped = runs.groupby(keys, sort=True)
    summary = grouped[list(SCORES)].agg(["mean", "std"])
    summary.columns = [f"{metric}_{stat}" for metric, stat in summary.columns]
    summary[f"{SECONDS}_mean"] = grouped[SECONDS].mean()
    summary["failed"] = grouped[STATUS].agg(lambda s: int((s != OK).sum()))
    return summary.reset_index()


def select(summary: pd.DataFrame, *, metric: str, tie_tolerance: float = 0.0) -> pd.Series:
    """The chosen candidate.

    Rule: among candidates with no failed repeat, the highest mean ``metric``; candidates
    within ``tie_tolerance`` of it are tied, and ties go to the higher mean macro recall, then
    to the simpler candidate (fewer base strategies, then smaller N, then lower number).
    """
    eligible = summary[summary["failed"] == 0]
    if eligible.empty:
        raise RuntimeError("every chooser candidate failed; see the status column of the runs")
    best = eligible[f"{metric}_mean"].max()
    tied = eligible[eligible[f"{metric}_mean"] >= best - tie_tolerance - 1e-12]
    ranked = tied.sort_values([f"{MACRO_RECALL}_mean", N_BASE, N, STRATEGY],
                              ascending=[False, True, True, True], kind="mergesort")
    return ranked.iloc[0]


def overlapping(summary: pd.DataFrame, chosen: pd.Series, *, metric: str) -> pd.DataFrame:
    """Candidates whose mean ± sd interval of ``metric`` overlaps the chosen one's."""
    mean, sd = f"{metric}_mean", f"{metric}_std"
    low = chosen[mean] - np.nan_to_num(chosen[sd])
    others = summary[(summary[STRATEGY] != chosen[STRATEGY]) | (summary[N] != chosen[N])]
    reach = others[mean] + others[sd].fillna(0)
    return others[reach >= low].sort_values(mean, ascending=False)


def certainty_statement(summary: pd.DataFrame, chosen: pd.Series, *, metric: str) -> str:
    """Plain words on how sure the choice is, from the spread over repeats."""
    close = overlapping(summary, chosen, metric=metric)
    head = (f"Chosen: strategy {chosen[NAME]} at N = {int(chosen[N])}, mean {metric} "
            f"{chosen[f'{metric}_mean']:.3f} ± {np.nan_to_num(chosen[f'{metric}_std']):.3f} "
            f"(sd over repeats).")
    if close.empty:
        return head + " No other candidate's mean ± sd interval reaches it."
    share = len(close) / max(len(summary) - 1, 1)
    return (head + f" {len(close)} of {len(summary) - 1} other candidates ({share:.0%}) have "
            "mean ± sd intervals that overlap it, so the validation data cannot tell them "
            "apart reliably; the rule still picks one, but the margin is within the noise.")


def augmented_training_set(train_x: np.ndarray, train_y: np.ndarray, train_ids: np.ndarray, *,
                           strategy: int, n: int, seed: int,
                           source: SpectralSource | None = None
                           ) -> tuple[np.ndarray, pd.DataFrame]:
    """The chosen strategy applied to the whole train split: images + a manifest of origins."""
    images, labels, parents = oversample(train_x, train_y, target=n, strategy=strategy,
                                         seed=np.random.SeedSequence([seed, strategy, n]),
                                         source=source)
    real = parents < 0  # oversample() keeps the originals first, in order
    source_ids = np.concatenate([train_ids, train_ids[parents[~real]]])
    manifest = pd.DataFrame({
        "index": np.arange(len(labels)), "class_index": labels,
        "origin": np.where(real, "real", "augmented"), "source_sample_id": source_ids,
        "strategy": np.where(real, 0, strategy),
    })
    return images, manifest


def save_augmented_set(out_dir, images: np.ndarray, manifest: pd.DataFrame, chosen: dict) -> None:
    """Write the generators' training set atomically: images.npy, manifest.csv, chosen.json."""
    from ..core.io_utils import atomic_dir, write_json

    with atomic_dir(out_dir) as tmp:
        np.save(tmp / "images.npy", images, allow_pickle=False)
        manifest.to_csv(tmp / "manifest.csv", index=False, lineterminator="\n")
        write_json(tmp / "chosen.json", chosen)


def best_of_family(summary: pd.DataFrame, *, metric: str, tie_tolerance: float = 0.0,
                   family: str = SPECTRAL) -> pd.Series | None:
    """The candidate the same rule picks among one family only (None when it has none)."""
    members = summary[(summary[FAMILY] == family) & (summary["failed"] == 0)]
    return None if members.empty else select(members, metric=metric,
                                               tie_tolerance=tie_tolerance)


def family_record(best: pd.Series | None, *, metric: str) -> dict | None:
    """Strategy, N and validation score of a family's best candidate, for chosen.json."""
    if best is None:
        return None
    return {"strategy": int(best[STRATEGY]), "name": str(best[NAME]), "n": int(best[N]),
            f"{metric}_mean": float(best[f"{metric}_mean"])}


def chosen_record(chosen: pd.Series, summary: pd.DataFrame, params: ChooseParams) -> dict:
    """What was chosen, by which rule, with its scores and how many candidates it beat."""
    metric = params.select_metric
    # one repeat has no sd: recorded as null rather than a made-up zero
    scores = {f"{m}_{stat}": None if pd.isna(chosen[f"{m}_{stat}"]) else float(
        chosen[f"{m}_{stat}"]) for m in SCORES for stat in ("mean", "std")}
    return {
        "strategy": int(chosen[STRATEGY]), "name": str(chosen[NAME]), "n": int(chosen[N]),
        "keeps_label": bool(chosen[KEEPS_LABEL]),
        SPECTRAL: family_record(best_of_family(summary, metric=metric,
                                               tie_tolerance=params.tie_tolerance),
                                metric=metric),
        "scores": scores, "select_metric": metric, "tie_tolerance": params.tie_tolerance,
        "rule": f"highest mean {metric} over {params.repeats} repeat(s) on the validation split; "
                "ties -> higher mean macro recall -> fewer base strategies -> smaller N",
        "candidates": int(len(summary)), "failed_candidates": int((summary["failed"] > 0).sum()),
        "overlapping_candidates": int(len(overlapping(summary, chosen, metric=metric))),
        "classifier": params.classifier, "seed": params.seed,
    }
