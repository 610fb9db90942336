"""Smoke tests: the whole DVC pipeline on the smoke profile in a throw-away copy of the project,
on the default spectra and on a drawn-shapes image set."""

import json
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from gansemble_lib.core.config import GateParams
from gansemble_lib.core.constants import VAL
from gansemble_lib.data.dataset import load_prepared
from gansemble_lib.evaluation import cgan_stage, gate
from gansemble_lib.evaluation import rows as row_kinds
from tests.conftest import run

NOISE = ("papermill", "TCP without encryption", "git add", "dvc push", "Running stage",
         "not specified with any extension", "Traceback")
# The smoke chooser's candidates and whether each keeps the meaning of a polar spectrum, as
# declared in augment.MEANING: no augmentation and spectral jitter keep every band where it
# is; strategy 7 rolls and flips the image, which moves bands to other wavenumbers.
KEEPS_LABEL = {0: True, 7: False, 16: True}
GENERATORS = {"mpcgan_noaug", "mpcgan_aug", "mpcgan_faithful", "mpcgan_ac", "mpcgan_proj",
              "modern_aug",
              "modern_spec", "spectrum", "vae"}
GATE_STATUSES = {gate.PASSED, gate.NO_CLASSES, gate.COLLAPSED,
                 f"{gate.NO_CLASSES}; {gate.COLLAPSED}", gate.NOT_MEASURABLE}
ROUNDED = 1e-4  # gate records keep 4 decimals
MARGINS = GateParams()  # the smoke profile keeps params.yaml's gate section at its defaults


def _status_by_the_rules(record: dict) -> str | None:
    """The status gate.py's declared rules give a record's numbers, spelled out here (None
    when a number sits within rounding of its threshold: the record cannot decide it)."""
    validity, q95, diversity = (record[gate.VALIDITY], record[gate.NULL_Q95],
                                record[gate.DIVERSITY])
    share, minimum = MARGINS.validity_share, MARGINS.diversity_min
    bar = record[gate.NULL] + share * (record[gate.REFERENCE] - record[gate.NULL])
    if min(abs(validity - bar), abs(validity - q95), abs(diversity - minimum)) < ROUNDED:
        return None
    learnt, diverse = validity >= bar and validity > q95, diversity >= minimum
    failures = [text for ok, text in ((learnt, gate.NO_CLASSES), (diverse, gate.COLLAPSED))
                if not ok]
    return "; ".join(failures) or gate.PASSED


def _check_gate_records(project, folds: list[str], across: dict) -> dict[str, dict]:
    """Every trained generator has a gate record in every fold and one across folds, each
    status in the vocabulary and following from its numbers by the gate's rules; real
    validation data gated as if generated pass. Returns {fold: {generator: validity}} of the
    generators that passed in that fold."""
    per_fold, passed_in_fold = {}, {}
    for fold in folds:
        root = project / "folds" / fold
        trained = {p.parent.name for p in root.glob("models/cgan/*/checkpoint.pt")}
        trained |= {"vae"} if (root / "models/vae/vae.pt").is_file() else set()
        assert trained == GENERATORS, fold
        records = {}
        for name in sorted(trained):
            metrics = root / "reports/metrics" / ("03b_vae.json" if name == "vae"
                                                  else f"03_{name}.json")
            record = records[name] = json.loads(metrics.read_text())[cgan_stage.GATE]
            assert record[gate.STATUS] in GATE_STATUSES - {gate.NOT_MEASURABLE}, (fold, name)
            for key in (gate.VALIDITY, gate.NULL, gate.NULL_Q95, gate.REFERENCE):
                assert 0 <= record[key] <= 1, (fold, name, key, record)
            assert record[gate.DIVERSITY] >= 0
            expected = _status_by_the_rules(record)
            assert expected in (None, record[gate.STATUS]), (fold, name, record)
            assert record[gate.LEARNT] is (gate.NO_CLASSES not in record[gate.STATUS])
            assert record[gate.DIVERSE] is (gate.COLLAPSED not in record[gate.STATUS])
        per_fold[fold] = records
        passed_in_fold[fold] = {name: r[gate.VALIDITY] for name, r in records.items()
                                if r[gate.STATUS] == gate.PASSED}
    assert set(across) == GENERATORS  # one record across folds per trained generator
    for name, record in across.items():
        statuses = [per_fold[fold][name][gate.STATUS] for fold in folds]
        assert record["folds_gated"] == len(folds)
        assert record["folds_passed"] == statuses.count(gate.PASSED)
        assert (record[gate.STATUS] == gate.PASSED) is (statuses == [gate.PASSED] * len(folds))
        assert record[gate.STATUS].split(" (")[0] in GATE_STATUSES
        validities = [per_fold[fold][name][gate.VALIDITY] for fold in folds]
        assert record["validity_mean"] == pytest.approx(sum(validities) / len(folds), abs=1e-3)
    for fold in folds:  # positive control: the gate passes what it should pass
        data = load_prepared(project / "folds" / fold / "data/prepared")
        val = data.subset(VAL)
        real = cgan_stage.gate_record(val.images, val.labels, data, spread_ratio=1.0,
                                      margins=MARGINS, seed=0)
        assert real[gate.STATUS] == gate.PASSED, (fold, real)
    return passed_in_fold


def _check_gate_consequences(downstream: dict, across: dict, passed_in_fold: dict) -> None:
    """Stage 06/06b act on the gate as recorded: the rows of exactly the generators that
    failed are marked, each fold's best generator is the most valid of those that passed
    there (none when none did), and the conclusion speaks of failed generators when any."""
    failed = {name for name, record in across.items() if record[gate.STATUS] != gate.PASSED}
    records = row_kinds.from_json(downstream["row_records"])
    marked = {records[row].generator for row in downstream["failed_generator_rows"]}
    assert marked == failed
    oracle = downstream["oracle"]
    for fold, passed in passed_in_fold.items():
        pick = oracle["best_generator"][fold]
        if passed:
            assert pick["name"] == max(passed, key=passed.get)
        else:
            assert pick["name"] is None and "no generator passed" in pick["note"]
    curves = oracle["learning_curve"]["held-out folds"]
    assert ("best generator" in curves) is any(passed_in_fold.values())
    assert ("FAILED the gate" in downstream["conclusion"]) is bool(failed)


def _check_choice(root) -> None:
    """One fold's chooser: the rule's choice among the smoke's 3 candidates, and keeps_label
    as each strategy declares it."""
    chosen = json.loads((root / "reports/metrics/02_chosen.json").read_text())
    scores = pd.read_csv(root / "reports/tables/02_chooser_scores.csv")
    best = scores["macro_f1_mean"].max()
    winner = scores[(scores["strategy"] == chosen["strategy"]) & (scores["n"] == chosen["n"])]
    assert len(winner) == 1 and winner["macro_f1_mean"].item() == best  # the rule's choice
    assert chosen["candidates"] == len(scores) == 3  # 0, 7 and the spectral 16
    assert chosen["spectral"]["strategy"] == 16
    assert dict(zip(scores["strategy"], scores["keeps_label"], strict=True)) == KEEPS_LABEL
    assert chosen["keeps_label"] is KEEPS_LABEL[chosen["strategy"]]


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
        _check_choice(root)
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
    passed_in_fold = _check_gate_records(project_copy, folds, generators["gate"])
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
    assert oracle["simulated_test_spectra"] == 30  # 3 per class
    assert oracle["simulated_test"]["real only"]["macro_f1_mean"] is not None
    assert all("worth_real_per_class" in v for v in downstream["rows"].values())
    assert (project_copy / "reports/figures/06_learning_curve.png").stat().st_size > 5_000
    _check_gate_consequences(downstream, generators["gate"], passed_in_fold)
    fidelity = json.loads((project_copy / "reports/metrics/05_fidelity.json").read_text())
    assert "extractor" in fidelity and "fid_null_mean" in fidelity["overall"]["vae/none"]
    assert (project_copy / "reports/report.html").stat().st_size > 10_000
    # verify: against an identical copy nothing was rerun (exit 2); a moved metric disagrees
    committed = project_copy.parent / "committed_metrics"
    shutil.copytree(project_copy / "reports/metrics", committed)
    same = subprocess.run([sys.executable, "-m", "gansemble_lib", "verify", "--committed",
                           str(committed)], cwd=project_copy, capture_output=True, text=True)
    assert same.returncode == 2 and "nothing was rerun" in same.stdout, same.stdout
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
        ends = [line for line in log.splitlines()  # "  12 s  [split] choose: ... (7 s)"
                if re.match(rf"\s*\d+ s  \[split\] {re.escape(stage)}: ", line)
                and line.endswith(" s)")]
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


@pytest.mark.slow
def test_the_replicates_design_runs_end_to_end(project_copy):
    """Two simulated replicates, each a new dataset with its own fresh test set: every stage
    runs in each (fidelity in the first only), the first keeps its executed notebooks, the
    second runs without a kernel, and the verdicts use the test for independent units."""
    _gansemble("fetch-data", cwd=project_copy)
    _gansemble("profile", "smoke", cwd=project_copy)
    _set_param(project_copy, "evaluation", "design", "replicates")
    _set_param(project_copy, "evaluation", "paper_table", False)
    log = _gansemble("repro", cwd=project_copy).stdout
    units = ["rep00", "rep01"]
    seeds = set()
    for unit in units:
        root = project_copy / "folds" / unit
        view = json.loads((root / "data/prepared/info.json").read_text())
        assert view["fold"] == unit and view["design"] == "replicates"
        seeds.add(view["simulation"]["seed"])
        # the fresh test set: the dataset's proportions, its smallest class 3 spectra (smoke)
        assert view["counts"]["test"]["POM"] == 3 and view["counts"]["test"]["Silica"] == 23
        assert sum(view["counts"]["train"].values()) + sum(view["counts"]["val"].values()) \
            == 210
        for stage in ("choose", "train_vae", "symp_filter", "downstream"):
            assert f"[{unit}] {stage}: " in log, (unit, stage)
        chosen = json.loads((root / "reports/metrics/02_chosen.json").read_text())
        assert chosen["seed"] != 0  # every unit's seeds are its own
    assert len(seeds) == 2
    assert "[rep00] fidelity: " in log and "[rep01] fidelity" not in log
    assert (project_copy / "folds/rep00/reports/notebooks/06_downstream.ipynb").is_file()
    assert not (project_copy / "folds/rep01/reports/notebooks").exists()  # no kernel there
    assert "no kernel)" in log
    downstream = json.loads((project_copy / "reports/metrics/06_downstream.json").read_text())
    assert downstream["design"] == "replicates" and downstream["fold_names"] == units
    assert "independent replicates" in downstream["verdict_test"]
    assert "fresh simulated test set" in downstream["test_data"]
    for row in downstream["synthetic_rows"]:
        assert downstream["rows"][row]["smallest_decidable"] is not None
    assert downstream["oracle"]["test_part_is_fresh"] is True
    assert "worth_real_per_class" in downstream["rows"]["SMOTE on spectra (rendered)"]
    assert (project_copy / "reports/report.html").stat().st_size > 10_000
