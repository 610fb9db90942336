"""Smoke tests: the whole DVC pipeline on the smoke profile in a throw-away copy of the project,
on the default spectra and on a drawn-shapes image set."""

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from tests.conftest import run

NOISE = ("papermill", "TCP without encryption", "git add", "dvc push", "Running stage",
         "not specified with any extension", "Traceback")


def _gansemble(*args, cwd):
    return run([sys.executable, "-m", "gansemble_lib", *args], cwd)


def _set_param(project, section, key, value):
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    params[section][key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


@pytest.mark.slow
def test_dvc_repro_runs_then_is_a_no_op(project_copy):
    _gansemble("fetch-data", cwd=project_copy)
    _gansemble("profile", "smoke", cwd=project_copy)
    _set_param(project_copy, "evaluation", "folds", 2)  # the smoke profile has one split
    first = run([sys.executable, "-m", "dvc", "repro"], project_copy)
    for stage in ("prepare", "explore", "folds", "evaluate", "report"):
        assert f"Running stage '{stage}'" in first.stdout
    folds = ["r0f0", "r0f1"]  # the smoke profile's 2 outer folds
    for fold in folds:  # every per-fold stage ran in every fold, on the fold's view
        for stage in ("choose", "train_cgan@mpcgan_aug", "train_cgan@spectrum", "train_vae",
                      "symp_filter", "fidelity", "downstream"):
            assert f"[{fold}] {stage}: " in first.stdout, (fold, stage)
        root = project_copy / "folds" / fold
        chosen = json.loads((root / "reports/metrics/02_chosen.json").read_text())
        scores = pd.read_csv(root / "reports/tables/02_chooser_scores.csv")
        best = scores["macro_f1_mean"].max()
        winner = scores[(scores["strategy"] == chosen["strategy"]) & (scores["n"] == chosen["n"])]
        assert len(winner) == 1 and winner["macro_f1_mean"].item() == best  # the rule's choice
        assert chosen["candidates"] == len(scores) == 3  # 0, 7 and the spectral 16
        assert chosen["spectral"]["strategy"] == 16 and chosen["keeps_label"] in (True, False)
        assert (root / "data/augmented/images.npy").is_file()
        view = json.loads((root / "data/prepared/info.json").read_text())
        assert view["fold"] == fold
    assert "[r0f0] paper_table: " in first.stdout  # the paper's table: first fold only
    assert "[r0f1] paper_table" not in first.stdout
    paper = json.loads((project_copy / "reports/metrics/05b_paper_table.json").read_text())
    assert paper["fold"] == "r0f0" and paper["row_order"][:2] == ["as given",
                                                                 "random resampling"]
    assert {"fid_without_symp_mean", "is_with_symp_mean", "gate"} <= set(
        paper["rows"]["as given"])
    generators = json.loads((project_copy / "reports/metrics/03_generators.json").read_text())
    assert set(generators["gate"]) == {"mpcgan_noaug", "mpcgan_aug", "modern_aug",
                                       "modern_spec", "spectrum", "vae"}
    for record in generators["gate"].values():  # 4 training steps learn nothing: all marked
        assert record["status"] != "passed" and record["folds_gated"] == 2
    # the held-out parts of the folds partition the data: every sample scored once
    tested = pd.concat([pd.read_csv(project_copy / "folds" / f / "reports/tables/"
                                    "06_predictions.csv").query("row == 'real only'")
                        .drop_duplicates("sample_id") for f in folds])
    assert sorted(tested["sample_id"]) == list(range(210))
    downstream = json.loads((project_copy / "reports/metrics/06_downstream.json").read_text())
    assert downstream["folds"] == 2 and downstream["repeats"] == 1
    assert downstream["rope"] == 0.02 and downstream["conclusion"]
    assert "real only" in downstream["rows"]
    for row in downstream["synthetic_rows"]:
        values = downstream["rows"][row]
        if values["verdict"] != "missing in some folds":
            assert {"p_better", "p_equivalent", "p_worse", "p_holm"} <= set(values)
            assert values["verdict"] in ("better", "practically equivalent", "worse",
                                         "undecided")
    assert downstream["rows"]["logistic regression (spectra)"]["macro_f1_mean"] is not None
    family = downstream["spectrum_classifiers"]["rows"]
    assert {"1-D CNN (spectra)", "1-D CNN (spectra) + SMOTE spectra",
            "logistic regression (spectra) + spectrum (no filter), native",
            "logistic regression (spectra) + vae (no filter), decoded"} <= set(family)
    assert downstream["failed_generator_rows"]  # every generator failed: its rows are marked
    # the simulator's own rows: real-only + k fresh spectra per class, and a fresh test set
    oracle = downstream["oracle"]
    assert oracle["simulated"] and oracle["k"] == [1, 2]
    assert set(oracle["rows"]) == {"real only", *(f"oracle: real only + {k} fresh simulated "
                                                  "spectra per class" for k in (1, 2))}
    assert not any(r.startswith("oracle: ") for r in downstream["rows"])  # not a method
    assert set(oracle["learning_curve"]) == {"held-out folds", "fresh simulated test set"}
    curves = {(c, int(k)) for c, points in oracle["learning_curve"]["held-out folds"].items()
              for k in points}
    assert {("real only", 0), ("real only", 2), ("best baseline", 0), ("best baseline", 2)} \
        <= curves
    assert not any(c == "best generator" for c, _ in curves)  # none passed the gate
    assert all(pick["name"] is None and "no generator passed" in pick["note"]
               for pick in oracle["best_generator"].values())
    assert oracle["simulated_test_spectra"] == 30  # 3 per class
    assert oracle["simulated_test"]["real only"]["macro_f1_mean"] is not None
    assert all("worth_real_per_class" in v for v in downstream["rows"].values())
    assert (project_copy / "reports/figures/06_learning_curve.png").stat().st_size > 5_000
    assert "FAILED the gate" in downstream["conclusion"]
    fidelity = json.loads((project_copy / "reports/metrics/05_fidelity.json").read_text())
    assert "extractor" in fidelity and "fid_null_mean" in fidelity["overall"]["vae/none"]
    assert (project_copy / "reports/report.html").stat().st_size > 10_000
    # verify: the smoke result set agrees with a copy of itself, not with a moved metric
    committed = project_copy.parent / "committed_metrics"
    shutil.copytree(project_copy / "reports/metrics", committed)
    same = _gansemble("verify", "--committed", str(committed), cwd=project_copy)
    assert "verify: AGREES" in same.stdout
    moved = json.loads((committed / "06_downstream.json").read_text())
    moved["rows"]["real only"]["macro_f1_mean"] += 0.5
    (committed / "06_downstream.json").write_text(json.dumps(moved))
    differ = subprocess.run([sys.executable, "-m", "gansemble_lib", "verify", "--committed",
                             str(committed)], cwd=project_copy, capture_output=True, text=True)
    assert differ.returncode == 1 and "verify: DISAGREES" in differ.stdout
    assert "| 06_downstream.json:rows/real only/macro_f1_mean |" in differ.stdout
    metrics = json.loads((project_copy / "reports/metrics/01_explore.json").read_text())
    assert metrics["n_classes"] == 10 and metrics["n_samples"] == 210
    assert metrics["imbalance_ratio"]["total"] == pytest.approx(38 / 5)
    executed = json.loads(
        (project_copy / "reports/notebooks/01_explore_imbalance.ipynb").read_text())
    injected = [c for c in executed["cells"] if "injected-parameters" in c["metadata"].get(
        "tags", [])]
    assert injected and '"images_per_class": 2' in "".join(injected[0]["source"])
    second = run([sys.executable, "-m", "dvc", "repro"], project_copy)
    assert "Running stage" not in second.stdout
    status = run([sys.executable, "-m", "dvc", "status"], project_copy)
    assert "up to date" in status.stdout


@pytest.mark.slow
def test_an_image_folder_runs_end_to_end_with_a_readable_log(project_copy, tmp_path):
    """Drawn shapes (not polar curves): every stage runs, the spectrum-only rows say they do not
    apply, and the terminal shows one line per stage and no tool noise."""
    _gansemble("shapes", str(tmp_path / "shapes"), "--size", "48", cwd=project_copy)
    imported = _gansemble("import-data", str(tmp_path / "shapes"), "--format", "images",
                          cwd=project_copy)
    assert "dvc.yaml: rewritten as the pipeline for images" in imported.stdout
    _gansemble("profile", "smoke", cwd=project_copy)
    _set_param(project_copy, "evaluation", "paper_table", False)  # the switch, off
    first = _gansemble("repro", cwd=project_copy)
    log = first.stdout + first.stderr
    assert not [word for word in NOISE if word in log], log
    for stage in ("explore", "evaluate", "report"):
        ends = [line for line in log.splitlines()
                if line.startswith(f"{stage}: ") and line.endswith(" s)")]
        assert len(ends) == 1, f"no summary line for {stage}:\n{log}"
    for stage in ("choose", "train_cgan@mpcgan_noaug", "train_cgan@modern_aug",
                  "train_vae", "symp_filter", "fidelity", "downstream"):  # one split: "split"
        ends = [line for line in log.splitlines()
                if line.startswith(f"[split] {stage}: ") and line.endswith(" s)")]
        assert len(ends) == 1, f"no summary line for {stage}:\n{log}"
    assert "train_cgan@spectrum" not in log and "train_cgan@modern_spec" not in log
    assert "paper_table" not in log  # switched off: not run, and said so in its record
    paper = json.loads((project_copy / "reports/metrics/05b_paper_table.json").read_text())
    assert paper["enabled"] is False and "evaluation.paper_table" in paper["how"]
    generators = json.loads((project_copy / "reports/metrics/03_generators.json").read_text())
    assert generators["gate"]["modern_aug"]["judge"] == "LeNet trained on the train split"
    assert "prepare: 66 images" in log
    assert (project_copy / "reports/figures/01_mean_images.png").is_file()
    assert not (project_copy / "folds/split/models/cgan/spectrum").exists()
    downstream = json.loads((project_copy / "reports/metrics/06_downstream.json").read_text())
    for row in ("SMOTE on spectra (rendered)", "spectrum (no filter)",
                "logistic regression (spectra)"):
        assert downstream["rows"][row]["note"] == "not applicable to images"
        assert downstream["rows"][row]["macro_f1_mean"] is None
    assert downstream["rows"]["modern_aug (no filter)"]["macro_f1_mean"] is not None
    assert downstream["oracle"]["simulated"] is False  # no simulator: no oracle, and why
    assert "more real data cannot be drawn" in downstream["oracle"]["why_not"]
    fidelity = json.loads((project_copy / "reports/metrics/05_fidelity.json").read_text())
    assert fidelity["overall"]["smote/none"]["note"] == "not applicable to images"
    in_fold = json.loads((project_copy / "folds/split/reports/metrics/05_fidelity.json")
                         .read_text())
    assert in_fold["chemical_validity"] == {"chemical validity": {
        "note": "not applicable to images"}}
    report = (project_copy / "reports/report.html").read_text(encoding="utf-8")
    assert "not applicable to images" in report
    second = _gansemble("repro", cwd=project_copy)
    assert "report: unchanged, skipped" in second.stdout
    assert not [line for line in second.stdout.splitlines() if line.endswith(" s)")]
