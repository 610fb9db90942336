"""The downstream figures draw what they claim: panels, gate marks, the chosen confusion rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gansemble_lib.evaluation import crossval
from gansemble_lib.evaluation.rows import LOGREG_ROW, REAL_ONLY, ROW, SEED, Y_PRED, Y_TRUE
from gansemble_lib.reporting import report_figures


def _scores() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [REAL_ONLY, "smote", "gen_a (no filter)", "gen_b (no filter)", "TSTR: gen_a only",
            LOGREG_ROW, f"{LOGREG_ROW} + gen_a (no filter), decoded"]
    return pd.DataFrame([{"fold": f"rep{u:02d}", "row": r, "macro_f1": 0.8 + rng.normal(0, .02)}
                         for u in range(4) for r in rows])


def _labels(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]


def test_forest_has_a_panel_per_baseline_and_marks_failed_generators():
    panels = [
        report_figures.ForestPanel("image CNN", REAL_ONLY,
                                   ["smote", "gen_a (no filter)", "gen_b (no filter)"],
                                   {"smote": "practically equivalent"}),
        report_figures.ForestPanel("TSTR", REAL_ONLY, ["TSTR: gen_a only"], {}, scale="own"),
        report_figures.ForestPanel("logreg", LOGREG_ROW,
                                   [f"{LOGREG_ROW} + gen_a (no filter), decoded"], {}),
        report_figures.ForestPanel("empty", REAL_ONLY, [], {})]
    fig = report_figures.fold_forest(_scores(), panels, rope=0.01,
                                     failed_rows={"gen_a (no filter)": "did not learn"},
                                     unit="replicate")
    assert len(fig.axes) == 3  # the empty panel is left out
    labels = _labels(fig)
    assert "gen_a (no filter)  [no verdict]  [x gate]" in labels
    assert "smote  [practically equivalent]" in labels
    assert "against 'logistic regression (spectra)'" in fig.axes[2].get_title(loc="left")


def _predictions() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for row in (REAL_ONLY, "smote", "gen_b (no filter)"):
        true = rng.integers(0, 3, 60)
        rows.append(pd.DataFrame({ROW: row, SEED: 0, Y_TRUE: true,
                                  Y_PRED: np.where(rng.random(60) < .8, true, 0)}))
    return pd.concat(rows, ignore_index=True)


def test_confusion_rows_pick_the_best_baseline_and_the_best_passing_generator():
    verdicts = pd.DataFrame({"diff_mean": [0.0, 0.02, 0.01, 0.09, 0.05]},
                            index=[REAL_ONLY, "smote", "oversampling", "gen_a (no filter)",
                                   "gen_b (no filter)"])
    shown = crossval.confusion_rows(verdicts, synthetic_rows=["gen_a (no filter)",
                                                              "gen_b (no filter)"],
                                    baseline_rows=["smote", "oversampling"],
                                    failed_rows={"gen_a (no filter)": "collapsed"})
    assert list(shown) == [REAL_ONLY, "smote", "gen_b (no filter)"]  # gen_a failed the gate
    fig = report_figures.confusion_grid(_predictions(), ("a", "b", "c"), shown, title="t")
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_xlabel() for ax in panels] == ["predicted class"] * 3
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)  # a colour bar
    assert any(t.get_text().isdigit() for t in panels[0].texts)  # counts in the cells
    assert panels[0].get_title().endswith("(1 seed)")
    bar = next(ax for ax in fig.axes if ax.get_label() == "<colorbar>")
    assert bar.get_position().x0 > max(ax.get_position().x1 for ax in panels)  # beside them
    pooled = pd.concat([_predictions().assign(fold=f"rep0{u}", seed=10 * u)  # a unit's seed
                        for u in range(2)])
    fig = report_figures.confusion_grid(pooled, ("a", "b", "c"), shown, title="t",
                                        unit="replicate")
    assert [ax for ax in fig.axes if ax.get_title()][0].get_title().endswith(
        "(2 replicates x 1 seed)")


def test_recall_heatmap_marks_minority_classes_and_failed_rows():
    recall = pd.DataFrame({"a": [.9, .5], "b": [.7, .6]}, index=[REAL_ONLY, "gen_a (no filter)"])
    fig = report_figures.recall_heatmap(recall, minority=["b"],
                                        failed_rows={"gen_a (no filter)": "x"}, title="t")
    assert "gen_a (no filter)  [x gate]" in _labels(fig)
    assert "b *" in [t.get_text() for t in fig.axes[0].get_xticklabels()]


def test_the_report_check_finds_what_a_reader_should_not_see(tmp_path):
    import importlib

    bench = importlib.import_module("benchmarks.bench_report_screenshot")
    (tmp_path / "figure.png").write_bytes(b"png")
    good = "".join(f"<h2>{k} section</h2>" for k in range(5)) + '<a href="figure.png">f</a>'
    assert bench.problems(good, tmp_path) == []
    bad = ('<h2>only</h2><div class="jp-InputArea-editor">x</div><pre>Out[12]:</pre>'
           '<a href="missing.png">m</a>')
    found = bench.problems(bad, tmp_path)
    assert "code cells are shown" in found and "In[…]/Out[…] prompts are shown" in found
    assert "broken relative link: missing.png" in found and "only 1 section headings" in found
