"""`gansemble verify`: a rerun agrees with the committed results within their own spread."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from gansemble_lib import verify as vf
from tests.conftest import REPO

METRICS = REPO / "reports" / "metrics"


def _copy(tmp_path, name="committed"):
    target = tmp_path / name
    shutil.copytree(METRICS, target)
    return target


def _edit(folder, name, change):
    path = folder / name
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_a_result_set_agrees_with_itself(tmp_path):
    checks = vf.verify_against(_copy(tmp_path, "mine"), _copy(tmp_path))
    assert checks and all(c.agrees for c in checks)
    assert any(c.metric.startswith("statement: verdict of") for c in checks)


def test_a_metric_moved_outside_its_tolerance_fails_and_inside_it_passes(tmp_path):
    committed, mine = _copy(tmp_path), _copy(tmp_path, "mine")
    rows = json.loads((committed / "06_downstream.json").read_text())["rows"]
    row = next(r for r, v in rows.items() if v.get("macro_f1_sd"))
    sd, folds = rows[row]["macro_f1_sd"], json.loads(
        (committed / "06_downstream.json").read_text())["folds"]
    tol = max(vf.Z * sd / folds ** 0.5, 1 / 210)

    def move(by):
        def change(d):
            d["rows"][row]["macro_f1_mean"] = rows[row]["macro_f1_mean"] + by
        return change

    _edit(mine, "06_downstream.json", move(0.5 * tol))
    assert all(c.agrees for c in vf.verify_against(mine, committed))
    _edit(mine, "06_downstream.json", move(1.5 * tol))
    bad = [c for c in vf.verify_against(mine, committed) if not c.agrees]
    assert [c.metric for c in bad] == [f"06_downstream.json:rows/{row}/macro_f1_mean"]
    assert bad[0].tolerance == pytest.approx(tol)


def test_a_changed_verdict_or_chosen_strategy_is_a_disagreement(tmp_path):
    committed, mine = _copy(tmp_path), _copy(tmp_path, "mine")
    rows = json.loads((committed / "06_downstream.json").read_text())["rows"]
    row = next(r for r, v in rows.items() if v.get("verdict") == "undecided")
    oracle = json.loads((committed / "06_downstream.json").read_text())["oracle"]
    fold = next(iter(oracle["best_generator"]))

    def change(d):
        d["rows"][row].update(verdict="practically equivalent")
        d["oracle"]["best_generator"][fold].update(name="another generator")

    _edit(mine, "06_downstream.json", change)
    _edit(mine, "02_chosen.json",
          lambda d: next(iter(d["per_fold"].values())).update(strategy="15: everything"))
    bad = {c.metric for c in vf.verify_against(mine, committed) if not c.agrees}
    assert f"statement: verdict of {row}" in bad
    assert f"statement: best generator in {fold}" in bad  # the learning curve's pick
    assert any(m.startswith("statement: chosen in") for m in bad)


def test_a_generator_that_passes_the_gate_in_one_run_and_fails_in_the_other_disagrees(tmp_path):
    committed, mine = _copy(tmp_path), _copy(tmp_path, "mine")
    gates = json.loads((committed / "03_generators.json").read_text())["gate"]
    name = next(iter(gates))
    _edit(mine, "03_generators.json",
          lambda d: d["gate"][name].update(status="flipped for the test"))
    bad = {c.metric for c in vf.verify_against(mine, committed) if not c.agrees}
    assert f"statement: gate of {name}" in bad


def test_counts_must_be_equal(tmp_path):
    committed, mine = _copy(tmp_path), _copy(tmp_path, "mine")
    _edit(mine, "01_explore.json", lambda d: d.update(n_samples=d["n_samples"] + 1))
    bad = [c for c in vf.verify_against(mine, committed) if not c.agrees]
    assert [c.metric for c in bad] == ["01_explore.json:n_samples"]
    assert bad[0].tolerance is None


def test_the_command_prints_the_table_and_exits_non_zero_on_disagreement(tmp_path):
    committed, mine = _copy(tmp_path), _copy(tmp_path, "mine")
    project = tmp_path / "project"
    (project / "reports").mkdir(parents=True)
    shutil.copytree(mine, project / "reports" / "metrics")
    command = [sys.executable, "-m", "gansemble_lib", "verify", "--committed", str(committed)]
    agree = subprocess.run(command, cwd=project, capture_output=True, text=True)
    assert agree.returncode == 0, agree.stdout + agree.stderr
    assert "verify: AGREES" in agree.stdout and "still hold" in agree.stdout
    _edit(project / "reports" / "metrics", "05_fidelity.json",
          lambda d: d["overall"]["vae/none"].update(fid_mean=d["overall"]["vae/none"][
              "fid_mean"] + 100))
    disagree = subprocess.run(command, cwd=project, capture_output=True, text=True)
    assert disagree.returncode == 1
    assert "| 05_fidelity.json:overall/vae/none/fid_mean |" in disagree.stdout
    assert "| NO |" in disagree.stdout and "verify: DISAGREES" in disagree.stdout
    assert "Traceback" not in disagree.stderr


def test_the_committed_results_agree_with_git():
    """verify reads the committed side from git: on a checkout whose metrics are the committed
    ones it finds every file and every number (a broken `git show` would report them missing)."""
    dirty = subprocess.run(["git", "status", "--porcelain", "reports/metrics"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout
    if dirty:
        pytest.skip("reports/metrics differ from HEAD in this working tree (a rerun)")
    checks = vf.verify_metrics(METRICS, ref="HEAD", root=REPO)
    assert len(checks) > 100 and all(c.agrees for c in checks)
    assert not [c for c in checks if "missing" in (c.committed, c.reproduced)]


def test_a_committed_file_the_rerun_did_not_write_is_a_disagreement(tmp_path):
    committed, mine = _copy(tmp_path), _copy(tmp_path, "mine")
    (mine / "04_filter.json").unlink()
    bad = [c for c in vf.verify_against(mine, committed) if not c.agrees]
    assert [(c.metric, c.committed, c.reproduced) for c in bad] == [
        ("04_filter.json", "present", "missing")]
