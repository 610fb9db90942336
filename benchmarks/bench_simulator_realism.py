"""Is the calibrated simulator realistic? Simulated against real RaMPP spectra, per polymer.

Usage: python benchmarks/bench_simulator_realism.py [--rampp ../shared/data/rampp]

Needs the RaMPP folder (CC BY 4.0; read in place, never copied); without it the script says so
and exits. For the 8 polymers the paper's classes share with RaMPP, and for both simulator
models (``literature``: the band tables and nuisance settings of `simulate.py`;
``calibrated``: `simulator_calibration.json`), it reports:

- a **classifier two-sample test** per polymer: logistic regression told to separate the real
  spectra of the polymer from as many simulated ones, scored by stratified 5-fold
  cross-validation; accuracy near 0.5 means it cannot tell them apart (95 % Wilson interval);
- the **correlation to the reference** spectrum of real and simulated spectra (after the same
  baseline removal), whose distributions should overlap;
- **train on simulated, test on real**: logistic regression trained on 30 simulated spectra of
  each of the 8 polymers, tested on every real RaMPP spectrum of them (macro-F1), beside the
  same classifier cross-validated on the real spectra alone, and on a simulated dataset of the
  paper's 10 classes (how hard the default data would be for it).

The calibration uses every RaMPP spectrum, so the two-sample test and the train-on-simulated
score against the same spectra are optimistic; the ``held out`` rows calibrate on the
freshwater file only and test against the seawater spectra, which the calibration never saw.
Every spectrum is preprocessed as `prepare` does (ALS baseline, min-max). Writes
`benchmarks/results/simulator_realism.{csv,md,png}`.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

RESULTS = Path("benchmarks/results")
SHARED = ("PA", "PE", "PET", "POM", "PP", "PS", "PU", "PVC")
TSTR_PER_CLASS = 30
CORRELATION_DRAWS = 200  # simulated spectra per polymer for the correlation distributions


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def prepared(x: np.ndarray) -> np.ndarray:
    from gansemble_lib.data.preprocess import normalise, remove_baseline

    return normalise(remove_baseline(np.atleast_2d(x), "als"), "minmax")


def simulated(model: str, label: str, n: int, *, seed: int, calibration: dict | None
              ) -> np.ndarray:
    from gansemble_lib.data import simulate as sim

    grid = sim.wavenumber_axis(sim.SimulationConfig())
    cfg = sim.SimulationConfig(seed=seed)
    rows = []
    for i in range(n):
        rng = sim._stream(seed, label, 10_000 + i)  # indices no dataset uses
        rows.append(sim._calibrated_spectrum(rng, grid, label, calibration) if model == "calibrated"
                    else sim._one_spectrum(rng, grid, sim._CLASSES[label], cfg))
    return np.array(rows)


def two_sample(real: np.ndarray, fake: np.ndarray) -> tuple[float, float, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x = np.vstack([real, fake])
    y = np.r_[np.zeros(len(real)), np.ones(len(fake))]
    folds = StratifiedKFold(min(5, len(real)), shuffle=True, random_state=0)
    predicted = cross_val_predict(LogisticRegression(max_iter=2000), x, y, cv=folds)
    hits = int((predicted == y).sum())
    low, high = wilson(hits, len(y))
    return hits / len(y), low, high


def telling_regions(real: np.ndarray, fake: np.ndarray, grid: np.ndarray, top: int = 3
                    ) -> str:
    """Where real and simulated spectra of a polymer differ most: the wavenumber windows
    (50 cm^-1) of largest mean absolute difference of their mean spectra, with the sign
    (+: real higher). A lead to the nuisance the simulator still misses."""
    diff = real.mean(0) - fake.mean(0)
    edges = np.arange(grid[0], grid[-1] + 50, 50)
    windows = [(lo, diff[(grid >= lo) & (grid < lo + 50)]) for lo in edges[:-1]]
    scored = sorted(((np.abs(d).mean(), lo, d.mean()) for lo, d in windows if len(d)),
                    reverse=True)[:top]
    return ", ".join(f"{lo:.0f}-{lo + 50:.0f} ({'+' if m > 0 else '-'}{abs(m):.2f})"
                     for _, lo, m in scored)


HARD_FOLDS, HARD_REPEATS = 5, 5


def cross_validated(name: str, x: np.ndarray, y: np.ndarray) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    row = {"data": name, "spectra": len(y)}
    for label, model in (("logistic regression", LogisticRegression(max_iter=3000)),
                         ("1-NN", KNeighborsClassifier(1))):
        scores = [f1_score(y, cross_val_predict(
            model, x, y, cv=StratifiedKFold(HARD_FOLDS, shuffle=True, random_state=r)),
            average="macro") for r in range(HARD_REPEATS)]
        row[f"{label} macro-F1"] = round(float(np.mean(scores)), 3)
        row[f"{label} sd over shuffles"] = round(float(np.std(scores)), 3)
    return row


def correlation(x: np.ndarray, template: np.ndarray) -> np.ndarray:
    a = x - x.mean(1, keepdims=True)
    b = template - template.mean()
    return a @ b / (np.linalg.norm(a, axis=1) * np.linalg.norm(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rampp", default="../shared/data/rampp")
    args = parser.parse_args()
    if not Path(args.rampp).is_dir():
        print(f"no RaMPP folder at {args.rampp}: nothing to compare against (the benchmark "
              "needs the real spectra; see ../shared/data/rampp/README.md)")
        sys.exit(0)
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from gansemble_lib.data import calibration as cal

    calibration = cal.load_calibration()
    held_out = cal.calibrate(args.rampp, files=(cal.VARIANTS[0],))  # freshwater only
    references, variants = cal.load_rampp(args.rampp)
    _, seawater = cal.load_rampp(args.rampp, files=(cal.VARIANTS[1],))
    rows, correlations = [], []
    for label in SHARED:
        real = prepared(np.array([y for p, y in variants if p == label]))
        sea = prepared(np.array([y for p, y in seawater if p == label]))
        template = prepared(references[label])[0]
        correlations += [{"polymer": label, "source": "real RaMPP", "r": r}
                         for r in correlation(real, template)]
        for model, calib, against, name in (
                ("literature", None, real, "literature"),
                ("calibrated", calibration, real, "calibrated"),
                ("calibrated", held_out, sea, "calibrated on FW, vs SW (held out)")):
            if len(against) < 3:  # too few real spectra to cross-validate: said, not scored
                rows.append({"polymer": label, "model": name, "n_real": len(against),
                             "c2st_accuracy": None, "ci_low": None, "ci_high": None})
                continue
            fake = prepared(simulated(model, label, len(against), seed=1, calibration=calib))
            accuracy, low, high = two_sample(against, fake)
            rows.append({"polymer": label, "model": name, "n_real": len(against),
                         "c2st_accuracy": round(accuracy, 3), "ci_low": round(low, 3),
                         "ci_high": round(high, 3),
                         "largest differences (cm^-1, mean real - simulated)":
                             telling_regions(against, fake, cal.axis())})
            if name != "calibrated on FW, vs SW (held out)":
                # the distribution from many draws: a few spectra pick few records, whose
                # pigment load then decides the median
                many = prepared(simulated(model, label, CORRELATION_DRAWS, seed=4,
                                          calibration=calib))
                correlations += [{"polymer": label, "source": f"simulated ({name})", "r": r}
                                 for r in correlation(many, template)]
    table = pd.DataFrame(rows)
    # train on simulated, test on real (the 8 shared polymers)
    test_x = prepared(np.array([y for p, y in variants if p in SHARED]))
    test_y = np.array([p for p, _ in variants if p in SHARED])
    tstr = []
    for model, calib in (("literature", None), ("calibrated", calibration)):
        train_x = prepared(np.vstack([simulated(model, p, TSTR_PER_CLASS, seed=2,
                                                calibration=calib) for p in SHARED]))
        train_y = np.repeat(SHARED, TSTR_PER_CLASS)
        predicted = LogisticRegression(max_iter=2000).fit(train_x, train_y).predict(test_x)
        tstr.append({"trained on": f"simulated ({model}), {TSTR_PER_CLASS} per polymer",
                     "tested on": f"{len(test_y)} real RaMPP spectra",
                     "macro_f1": round(f1_score(test_y, predicted, average="macro"), 3)})
    # the same without optimism: calibrated on the freshwater spectra, tested on the seawater
    sea_x = prepared(np.array([y for p, y in seawater if p in SHARED]))
    sea_y = np.array([p for p, _ in seawater if p in SHARED])
    train_x = prepared(np.vstack([simulated("calibrated", p, TSTR_PER_CLASS, seed=2,
                                            calibration=held_out) for p in SHARED]))
    predicted = LogisticRegression(max_iter=2000).fit(
        train_x, np.repeat(SHARED, TSTR_PER_CLASS)).predict(sea_x)
    tstr.append({"trained on": f"simulated (calibrated on FW only), {TSTR_PER_CLASS} per polymer",
                 "tested on": f"{len(sea_y)} real seawater spectra (held out)",
                 "macro_f1": round(f1_score(sea_y, predicted, average="macro"), 3)})
    tstr = pd.DataFrame(tstr)
    # how hard each dataset is: the same classifiers cross-validated on real RaMPP spectra of
    # the shared polymers, on simulated ones in the same numbers, and on the paper's 10 classes
    from gansemble_lib.data.simulate import SimulationConfig, simulate

    counts = {p: int((test_y == p).sum()) for p in SHARED}
    same_counts = {
        model: (prepared(np.vstack([simulated(model, p, n, seed=3, calibration=calib)
                                    for p, n in counts.items()])),
                np.repeat(list(counts), list(counts.values())))
        for model, calib in (("literature", None), ("calibrated", calibration))}
    hardness = [("real RaMPP, the 8 shared polymers", test_x, test_y)]
    hardness += [(f"simulated ({m}), the 8 shared polymers in RaMPP's numbers", *xy)
                 for m, xy in same_counts.items()]
    for model in ("literature", "calibrated"):
        _, x, labels = simulate(SimulationConfig(model=model))
        hardness.append((f"simulated ({model}), the paper's 10 classes and counts "
                         "(the default dataset's recipe)", prepared(x), np.array(labels)))
    hard = pd.DataFrame([cross_validated(name, x, y) for name, x, y in hardness])
    corr = pd.DataFrame(correlations)
    summary = corr.groupby(["polymer", "source"])["r"].median().unstack().round(3)
    RESULTS.mkdir(parents=True, exist_ok=True)
    table.to_csv(RESULTS / "simulator_realism.csv", index=False, lineterminator="\n")
    (RESULTS / "simulator_realism.md").write_text(
        "Classifier two-sample test, real RaMPP vs simulated spectra of one polymer "
        "(accuracy of logistic regression, stratified 5-fold; 0.5 = indistinguishable; "
        "95 % Wilson interval):\n\n" + table.to_markdown(index=False)
        + "\n\nMedian correlation to the polymer's reference spectrum:\n\n"
        + summary.to_markdown() + "\n\nTrain on simulated, test on real:\n\n"
        + tstr.to_markdown(index=False)
        + f"\n\nHow hard: macro-F1 of stratified {HARD_FOLDS}-fold cross-validation, mean "
          f"over {HARD_REPEATS} shuffles (logistic regression and 1-NN on the prepared spectra):"
          "\n\n" + hard.to_markdown(index=False) + "\n")
    plot(corr)
    print((RESULTS / "simulator_realism.md").read_text())


def plot(corr: pd.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sources = list(dict.fromkeys(corr["source"]))
    fig, ax = plt.subplots(figsize=(11, 4))
    for i, source in enumerate(sources):
        part = corr[corr["source"] == source]
        x = [SHARED.index(p) + (i - 1) * 0.25 for p in part["polymer"]]
        ax.scatter(x, part["r"], s=10, label=source, alpha=0.7)
    ax.set_xticks(range(len(SHARED)), SHARED)
    ax.set(ylabel="correlation with the reference", title="real vs simulated spectra")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "simulator_realism.png", dpi=120)


if __name__ == "__main__":
    main()
