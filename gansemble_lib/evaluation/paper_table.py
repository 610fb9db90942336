"""Stage 05b: the paper's baseline table in the paper's layout, from this compendium's chooser.

The paper trained MPcGAN on five training sets - the data as given, random resampling, and its
chooser's top three strategies - and reported FID and IS of each generator, without and with
SYMP-Filter. This module rebuilds those five sets from *this* run's chooser ranking (the fold's
``02_chooser_scores``), so the table answers the paper's question on the data at hand:

- ``as given``: the real train split;
- ``random resampling``: every class topped up to the chooser's N by duplicates (strategy 0);
- ``Aug #1..#3``: the three best distinct strategies of the ranking (none excluded), each at
  its best N; whether each keeps the meaning of a polar spectrum is recorded beside it.

Scoring follows the paper's protocol (:func:`fidelity.paper_protocol`): class-mix samples of
the real class counts, ``repeats`` fresh draws, IS over ``isc_splits`` splits, mean and sd.
"With SYMP" draws pools of ``pool_size`` per class and keeps the ``keep`` lowest-ink images of
each pool, as stage 04 does, until the class count is met. Each generator's gate
(:mod:`gate`) stands beside its numbers, because an FID says nothing of a generator that
ignores its labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..augment.images import oversample, preserves_meaning, strategy_name
from ..augment.spectra import SpectralSource

AS_GIVEN, RESAMPLING = "as given", "random resampling"
SET, STRATEGY, N, KEEPS_LABEL = "training set", "strategy", "n", "keeps_label"


@dataclass(frozen=True)
class TrainingSet:
    name: str
    strategy: int | None  # None: the train split as given
    n: int | None
    images: np.ndarray
    labels: np.ndarray


def top_strategies(scores: pd.DataFrame, *, metric: str, top: int) -> list[tuple[int, int]]:
    """The ``top`` best distinct strategies of the chooser's ranking (strategy 0, no
    augmentation, excluded), each with the N at which it scored best: [(strategy, N)]."""
    ranked = scores[(scores["strategy"] != 0) & (scores["failed"] == 0)].sort_values(
        [f"{metric}_mean", "strategy", "n"], ascending=[False, True, True], kind="mergesort")
    best = ranked.drop_duplicates("strategy")
    return [(int(s), int(n)) for s, n in zip(best["strategy"], best["n"], strict=True)][:top]


def training_sets(images: np.ndarray, labels: np.ndarray, *, ranking: list[tuple[int, int]],
                  resample_n: int, seed: int, source: SpectralSource | None) -> list[TrainingSet]:
    """The paper's five training sets (see the module docstring)."""
    def topped(strategy: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        x, y, _ = oversample(images, labels, target=n, strategy=strategy, source=source,
                             seed=np.random.SeedSequence([seed, strategy, n]))
        return x, y

    sets = [TrainingSet(AS_GIVEN, None, None, images, labels),
            TrainingSet(RESAMPLING, 0, resample_n, *topped(0, resample_n))]
    for rank, (strategy, n) in enumerate(ranking, start=1):
        sets.append(TrainingSet(f"Aug #{rank}: {strategy_name(strategy)}", strategy, n,
                                *topped(strategy, n)))
    return sets


def set_key(index: int) -> str:
    """A file-system name for the i-th training set's model folder."""
    return f"set{index}"


def symp_generate(generate: Callable[[int, int, int], np.ndarray], *, pool_size: int,
                  keep: int, region: str, corner_fraction: float, direction: str
                  ) -> Callable[[int, int, int], np.ndarray]:
    """A ``generate(class, n, seed)`` that returns SYMP-filtered samples: pools of
    ``pool_size`` fresh images, the ``keep`` best of each, until ``n`` are kept."""
    from .symp_filter import KEPT, Pool, pool_seed, symp_filter

    def filtered(class_index: int, n: int, seed: int) -> np.ndarray:
        rounds = max(1, math.ceil(n / keep))
        images = np.concatenate([generate(class_index, pool_size, pool_seed(seed, class_index, r))
                                 for r in range(rounds)])
        pool = Pool(images, np.full(len(images), class_index),
                    np.repeat(np.arange(rounds), pool_size))
        table = symp_filter(pool, keep=keep, region=region, corner_fraction=corner_fraction,
                            direction=direction)
        return images[table[KEPT].to_numpy()][:n]

    return filtered


def set_record(training_set: TrainingSet) -> dict:
    """What identifies a training set in the table."""
    strategy = training_set.strategy
    return {SET: training_set.name, STRATEGY: strategy, N: training_set.n,
            "n_images": int(len(training_set.labels)),
            KEEPS_LABEL: True if strategy is None else preserves_meaning(strategy)}


def layout(rows: list[dict]) -> pd.DataFrame:
    """The paper's layout: one line per training set; FID and IS (mean ± sd over draws)
    without and with SYMP-Filter, the gate and the extractor beside them."""
    table = pd.DataFrame(rows).set_index(SET)
    order = [SET, STRATEGY, N, "n_images", KEEPS_LABEL]
    metric_columns = [f"{m}_{f}_{s}" for f in ("without_symp", "with_symp")
                      for m in ("fid", "is") for s in ("mean", "sd")]
    rest = [c for c in table.columns if c not in order + metric_columns]
    return table[[c for c in order[1:] if c in table] + metric_columns + rest]
