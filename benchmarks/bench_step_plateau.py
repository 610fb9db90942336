"""Is the classifier's step budget on the plateau? Inner-validation macro-F1 against steps.

Usage (after `make reproduce`): python benchmarks/bench_step_plateau.py [--fold r0f0]
    [--steps 50,100,200,300,500,800] [--seeds 2] [--row "vae (no filter)"]

Stage 06 trains every row for the same number of optimiser steps (`downstream.steps`), and the
chooser of stage 02 does the same with `choose.steps`. A fixed budget is fair between rows only
if it is long enough that more steps would not change the comparison. This script trains the
stage-06 classifier with the downstream settings on one fold's training part, for real-only and
for one synthetic row (real + that fold's filtered synthetic set), at several step budgets,
and scores each on the fold's **inner validation** split (the outer test part is not read).
It writes `benchmarks/results/step_plateau.{csv,md}` and prints the table; one thread.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from gansemble_lib.core.constants import MACRO_F1, TRAIN, VAL  # noqa: E402
from gansemble_lib.core.params_io import load_params  # noqa: E402
from gansemble_lib.data.dataset import load_prepared  # noqa: E402
from gansemble_lib.evaluation import downstream as ds  # noqa: E402
from gansemble_lib.evaluation.classifiers import TrainSettings, classification_scores  # noqa: E402
from gansemble_lib.evaluation.filter_sets import load_sets  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fold", default="r0f0")
    parser.add_argument("--steps", default="50,100,200,300,500,800")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--row", default="vae (no filter)",
                        help="synthetic row: SOURCE (no filter) or SOURCE + FILTER filter")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    params = load_params("params.yaml", "downstream")
    root = Path("folds") / args.fold
    data = load_prepared(root / "data/prepared")
    train, val = data.subset(TRAIN), data.subset(VAL)
    sets = load_sets(root / "data/synthetic", data.classes)
    names = {ds.set_row_name(*key): key for key in sets}
    if args.row not in names:
        raise SystemExit(f"no set {args.row!r} in {root}/data/synthetic; one of: "
                         + ", ".join(sorted(names)))
    rows = [ds.Row(ds.REAL_ONLY), ds.Row(args.row, *sets[names[args.row]])]
    n_classes = len(data.classes)
    records = []
    for steps in [int(s) for s in args.steps.split(",")]:
        settings = TrainSettings(epochs=params.epochs, batch_size=params.batch_size,
                                 lr=params.lr, steps=steps)
        started = time.perf_counter()
        predictions = ds.run_rows(rows, train.images, train.labels, val.images, val.labels,
                                  seeds=list(range(args.seeds)), classifier=params.classifier,
                                  size=params.classifier_size, settings=settings,
                                  n_classes=n_classes, device=torch.device("cpu"),
                                  progress=False)
        for (row, seed), g in predictions.groupby([ds.ROW, ds.SEED], sort=False):
            score = classification_scores(g[ds.Y_TRUE].to_numpy(), g[ds.Y_PRED].to_numpy(),
                                          n_classes)[MACRO_F1]
            records.append({"steps": steps, "row": row, "seed": seed, MACRO_F1: score})
        print(f"{steps} steps: {time.perf_counter() - started:.0f} s", flush=True)
    frame = pd.DataFrame(records)
    table = frame.groupby(["steps", "row"], sort=False)[MACRO_F1].agg(["mean", "std"]).unstack()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "step_plateau.csv", index=False)
    header = (f"Inner-validation macro-F1 (mean, sd over {args.seeds} seeds) against optimiser "
              f"steps; fold {args.fold}, {len(train.labels)} train / {len(val.labels)} "
              f"validation images, classifier {params.classifier}, batch {params.batch_size}; "
              f"the pipeline uses downstream.steps = {params.steps}.\n\n")
    (out / "step_plateau.md").write_text(header + table.round(3).to_markdown() + "\n",
                                          encoding="utf-8")
    print(header + table.round(3).to_string())
    assert np.isfinite(frame[MACRO_F1]).all()


if __name__ == "__main__":
    main()
