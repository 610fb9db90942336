"""The README's numbers are the pipeline's numbers."""

import json

from gansemble_lib.readme_results import _downstream, readme_section, render_results, update_readme
from tests.conftest import REPO


def test_readme_results_match_the_committed_metrics():
    expected = render_results(REPO / "reports" / "metrics", REPO / "reports" / "datasets")
    assert readme_section(REPO / "README.md") == expected, (
        "README results differ from reports/metrics or reports/datasets: run "
        "`gansemble update-readme`")


def test_a_changed_metric_changes_the_section(tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    chosen = {"name": "7: roll+flip + discs+bars mask", "n": 30, "candidates": 5,
              "overlapping_candidates": 2, "scores": {"macro_f1_mean": 0.5, "macro_f1_std": 0.1}}
    (metrics / "02_chosen.json").write_text(json.dumps(chosen))
    readme = tmp_path / "README.md"
    readme.write_text((REPO / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    assert update_readme(readme, metrics, datasets_dir=None)
    assert "at N = 30 (validation macro-F1 0.500 ± 0.100" in readme_section(readme)
    assert not update_readme(readme, metrics, datasets_dir=None)


def _row(value):
    return {"macro_f1_mean": value, "macro_f1_std": 0.01, "balanced_accuracy_mean": value,
            "diff_macro_f1": None, "ci_low": None, "ci_high": None, "excludes_zero": False}


def test_rows_follow_the_order_the_stage_recorded():
    rows = {name: _row(0.5) for name in ("zeta", "real only", "alpha", "unlisted")}
    text = "\n".join(_downstream({"classifier": "lenet", "seeds": [0], "rows": rows,
                                   "row_order": ["real only", "zeta", "alpha"],
                                   "conclusion": "none"}))
    positions = [text.index(f"| {name} |") for name in ("real only", "zeta", "alpha", "unlisted")]
    assert positions == sorted(positions)


def test_every_dataset_folder_gets_a_section_with_its_provenance(tmp_path):
    default, other = tmp_path / "metrics", tmp_path / "datasets" / "mine" / "metrics"
    for folder, value in ((default, 0.5), (other, 0.25)):
        folder.mkdir(parents=True)
        fidelity = {"extractor": {"name": "x-net", "weights_sha256": "ab" * 32, "feature_dim": 8,
                                  "notice": None},
                    "overall": {"vae/strong": {"fid": None, "kid_mean": None, "is_mean": 1.0,
                                               "precision": None, "recall": None},
                                "real train/-": {"fid": value, "kid_mean": 0.0, "is_mean": 2.0,
                                                 "precision": 1.0, "recall": 1.0}}}
        (folder / "05_fidelity.json").write_text(json.dumps(fidelity))
        downstream = {"classifier": "lenet", "seeds": [0], "rows": {"real only": _row(value)},
                      "conclusion": "none"}
        (folder / "06_downstream.json").write_text(json.dumps(downstream))
    run = {"sources": [{"path": "../x/a b.csv", "sha256": "cd" * 32}], "format": "auto",
           "profile": "laptop", "commit": "f" * 40, "command": "gansemble run-dataset mine x",
           "dvc_repro_seconds": 90.0, "machine": {"cpus": 2}, "stage_seconds": {"prepare": 1.2}}
    (other.parent / "run.json").write_text(json.dumps(run))
    text = render_results(default, tmp_path / "datasets")
    first, second = text.split("### Dataset `mine`")
    assert first.startswith("### Default dataset")
    assert "| real train | - | 0.500 |" in first and "| real only | 0.500 ± 0.010 |" in first
    assert "| real train | - | 0.250 |" in second and "| real only | 0.250 ± 0.010 |" in second
    assert "| vae | strong |  |  | 1.000 |  |  |" in first
    assert "`a b.csv` (sha256 `cdcdcdcdcdcd…`)" in second and "1.5 min on 2 CPU cores" in second
    assert "(prepare 1 s)" in second and "x-net" in second


def test_fold_results_show_verdicts_and_the_design(tmp_path):
    from gansemble_lib.readme_results import render_dataset

    rows = {"real only": {"macro_f1_mean": 0.8, "macro_f1_sd": 0.05},
            "vae (no filter)": {"macro_f1_mean": 0.85, "macro_f1_sd": 0.04, "diff_mean": 0.05,
                                "diff_sd": 0.01, "p_better": 0.97, "p_equivalent": 0.03,
                                "p_worse": 0.0, "verdict": "better", "p_holm": 0.01,
                                "minority_recall_diff": 0.1}}
    downstream = {"folds": 5, "repeats": 1, "rope": 0.02, "decision": 0.95, "rows": rows,
                  "row_order": ["real only", "vae (no filter)"], "conclusion": "c.",
                  "classifier": "lenet", "seeds": [0, 1], "budget": "300 steps",
                  "emptied_by_filter": {"r0f3": ["vae + strong filter"]}}
    (tmp_path / "06_downstream.json").write_text(json.dumps(downstream))
    text = "\n".join(render_dataset(tmp_path))
    assert "5-fold outer cross-validation x 1 repeat(s)" in text
    assert "| vae (no filter) | 0.850 ± 0.040 | +0.050 ± 0.010 | 0.97 | 0.03 | 0.00 | better |" \
        in text
    assert "vae + strong filter (r0f3)" in text and "**Conclusion:** c." in text


def test_the_readme_opens_with_the_answer_from_the_committed_metrics():
    from gansemble_lib.readme_results import answer_section, render_answer

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme.index("## The answer so far") < readme.index("## Results")
    assert answer_section(REPO / "README.md") == render_answer(
        REPO / "reports" / "metrics", REPO / "reports" / "datasets"), (
        "the README's answer differs from the metrics: run `gansemble update-readme`")


def test_the_answer_counts_verdicts_per_family():
    from gansemble_lib.readme_results import _family_cell, _family_rows

    result = {"folds": 5, "synthetic_rows": ["vae (no filter)", "vae + symp filter",
                                             "TSTR: vae only"],
              "baseline_rows": ["random oversampling"],
              "rows": {"vae (no filter)": {"verdict": "better"},
                       "vae + symp filter": {"verdict": "practically equivalent"},
                       "TSTR: vae only": {"verdict": "worse"},
                       "random oversampling": {"verdict": "undecided"}}}
    result["row_order"] = ["random oversampling", "vae (no filter)", "vae + symp filter",
                           "TSTR: vae only"]
    assert _family_rows(result, ("vae ",)) == ["vae (no filter)", "vae + symp filter"]
    assert _family_cell(result, _family_rows(result, ("vae ",))) == "better 1, equivalent 1"
    assert _family_cell(result, _family_rows(result, ("TSTR",))) == "worse 1"
    assert _family_cell({**result, "folds": 1}, ["vae (no filter)"]) == "one split: no verdict"
    result["rows"]["spectrum (no filter)"] = {"note": "not applicable to images"}
    assert _family_cell(result, ["spectrum (no filter)"]) == "not applicable to images"
