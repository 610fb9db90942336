"""`gansemble verify`: a rerun agrees with the committed results within the noise a rerun can
have, says "nothing was rerun" (exit 2) when the metrics are the committed ones, and calls a
statement near its threshold borderline.

Every test works from the committed metrics (``git show HEAD:reports/metrics/...``) or from
data it builds itself, so none depends on whether this working tree was rerun.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest

from gansemble_lib.core.config import GateParams
from gansemble_lib.core.errors import DataError
from gansemble_lib.reporting import verify as vf
from gansemble_lib.reporting import verify_numbers as vn
from gansemble_lib.reporting import verify_statements as vs
from tests.conftest import REPO

METRICS = "reports/metrics"


def _git(*args, cwd):
    return subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.org",
                           "-c", "commit.gpgsign=false", *args], cwd=cwd, capture_output=True,
                          text=True, check=True)


def _committed_metrics(target):
    """The committed metrics files (HEAD), written to ``target``; a checkout without git
    history (a tarball) falls back to the working tree's copies."""
    target.mkdir(parents=True)
    listed = subprocess.run(["git", "ls-tree", "--name-only", f"HEAD:{METRICS}"], cwd=REPO,
                            capture_output=True, text=True)
    names = [n for n in listed.stdout.split() if n.endswith(".json")]
    if listed.returncode != 0 or not names:
        for path in (REPO / METRICS).glob("*.json"):
            shutil.copy(path, target / path.name)
        return target
    for name in names:
        text = _git("show", f"HEAD:{METRICS}/{name}", cwd=REPO).stdout
        (target / name).write_text(text, encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def committed_source(tmp_path_factory):
    return _committed_metrics(tmp_path_factory.mktemp("head") / "metrics")


@pytest.fixture
def pair(tmp_path, committed_source):
    """(committed, mine): two copies of the committed metrics, without the committed rerun
    noise (tests that calibrate write their own)."""
    committed, mine = tmp_path / "committed", tmp_path / "mine"
    shutil.copytree(committed_source, committed)
    shutil.copytree(committed_source, mine)
    for folder in (committed, mine):
        (folder / vn.NOISE_FILE).unlink(missing_ok=True)
    return committed, mine


def _load(folder, name):
    return json.loads((folder / name).read_text(encoding="utf-8"))


def _edit(folder, name, change):
    data = _load(folder, name)
    change(data)
    (folder / name).write_text(json.dumps(data), encoding="utf-8")


def _m(checks):
    """How many numbers were compared with a tolerance: the family of the family-wise z."""
    return sum(c.sigma is not None for c in checks)


def _disagreeing(checks):
    return [c for c in checks if c.disagrees]


# ----------------------------------------------------------------------- the family-wise z

def test_the_family_wise_z_keeps_the_expected_false_alarms_at_alpha():
    from scipy.stats import norm

    for m in (1, 10, 1300):
        z = vn.z_familywise(m)
        assert m * 2 * norm.sf(z) == pytest.approx(vn.ALPHA)  # expected false alarms = alpha
    assert vn.z_familywise(1) == pytest.approx(1.95996, abs=1e-4)
    assert 4.0 < vn.z_familywise(1300) < 4.2  # not the old 3 sd: ~3.5 false alarms per run


def test_a_move_of_half_the_tolerance_passes_and_one_and_a_half_fails(pair):
    """Uncalibrated (no rerun_noise.json): z_fw x the fold mean's standard error, at least one
    held-out sample."""
    committed, mine = pair
    downstream = _load(committed, "06_downstream.json")
    rows = downstream["rows"]
    row = max((r for r, v in rows.items() if v.get("macro_f1_sd")),
              key=lambda r: rows[r]["macro_f1_sd"])
    checks = vf.verify_against(mine, committed)
    z = vn.z_familywise(_m(checks))
    assert z > 3.9  # the family-wise correction over ~1,000 numbers, not a fixed 3
    folds = downstream["folds"] * downstream["repeats"]
    n = _load(committed, "01_explore.json")["n_samples"]
    tol = max(z * rows[row]["macro_f1_sd"] / math.sqrt(folds), 1 / n)
    assert tol > 1 / n  # the spread, not the floor, sets it here

    def move(by):
        return lambda d: d["rows"][row].update(macro_f1_mean=rows[row]["macro_f1_mean"] + by)

    _edit(mine, "06_downstream.json", move(0.5 * tol))
    assert not _disagreeing(vf.verify_against(mine, committed))
    _edit(mine, "06_downstream.json", move(1.5 * tol))
    bad = _disagreeing(vf.verify_against(mine, committed))
    assert [c.metric for c in bad] == [f"06_downstream.json:rows/{row}/macro_f1_mean"]
    assert bad[0].tolerance == pytest.approx(tol)
    assert bad[0].basis == vn.UNCALIBRATED


def test_a_calibrated_tolerance_comes_from_the_rerun_noise_file(pair):
    """With rerun_noise.json: z_fw x sqrt(2) x sigma_unit / sqrt(K) for a mean over K folds,
    whatever the spread between folds."""
    committed, mine = pair
    kind = "06_downstream.json:rows/*/macro_f1_mean"
    sigma_unit = 0.02
    (committed / vn.NOISE_FILE).write_text(json.dumps({"sigma_unit": {kind: sigma_unit}}))
    downstream = _load(committed, "06_downstream.json")
    rows, folds = downstream["rows"], downstream["folds"] * downstream["repeats"]
    row = next(r for r, v in rows.items() if v.get("macro_f1_sd"))
    z = vn.z_familywise(_m(vf.verify_against(mine, committed)))
    tol = z * math.sqrt(2) * sigma_unit / math.sqrt(folds)
    assert tol != pytest.approx(z * rows[row]["macro_f1_sd"] / math.sqrt(folds))

    def move(by):
        return lambda d: d["rows"][row].update(macro_f1_mean=rows[row]["macro_f1_mean"] + by)

    _edit(mine, "06_downstream.json", move(0.5 * tol))
    checks = vf.verify_against(mine, committed)
    assert not _disagreeing(checks)
    assert vn.NOISE_FILE not in {c.metric.split(":")[0] for c in checks}  # not a metrics file
    _edit(mine, "06_downstream.json", move(1.5 * tol))
    bad = _disagreeing(vf.verify_against(mine, committed))
    assert [c.metric for c in bad] == [f"06_downstream.json:rows/{row}/macro_f1_mean"]
    assert bad[0].tolerance == pytest.approx(tol) and bad[0].basis == vn.CALIBRATED


# ----------------------------------------------------------------------- estimating the noise

def _result_set(folder, scores, *, folds):
    """A tiny result set: per row its per-fold scores, their mean and sd (ddof 1)."""
    folder.mkdir(parents=True)
    names = [f"r0f{k}" for k in range(folds)]
    rows = {f"row {i}": {"macro_f1_mean": float(s.mean()), "macro_f1_sd": float(s.std(ddof=1))}
            for i, s in enumerate(scores)}
    per_fold = {f"row {i}": dict(zip(names, map(float, s), strict=True))
                for i, s in enumerate(scores)}
    (folder / "06_downstream.json").write_text(json.dumps(
        {"folds": folds, "repeats": 1, "rows": rows, "per_fold_score": per_fold}))


def test_estimate_rerun_noise_recovers_a_known_sigma_per_unit(tmp_path):
    rng = np.random.default_rng(7)
    folds, sigma, rows = 5, 0.01, 400
    base = rng.uniform(0.6, 0.9, size=(rows, 1)) + rng.normal(0, 0.05, size=(rows, folds))
    _result_set(tmp_path / "a", base + rng.normal(0, sigma, base.shape), folds=folds)
    _result_set(tmp_path / "b", base + rng.normal(0, sigma, base.shape), folds=folds)
    out = tmp_path / vn.NOISE_FILE
    noise = vn.estimate_rerun_noise(tmp_path / "a", tmp_path / "b", out=out)["sigma_unit"]
    assert set(noise) == {"06_downstream.json:rows/*/macro_f1_mean",
                          "06_downstream.json:rows/*/macro_f1_sd",
                          "06_downstream.json:per_fold_score/*"}
    # a mean over 5 folds moves by sigma/sqrt(5), one fold by sigma: both speak for one fold
    assert noise["06_downstream.json:rows/*/macro_f1_mean"]["sigma"] == pytest.approx(sigma,
                                                                                      rel=0.1)
    assert noise["06_downstream.json:per_fold_score/*"]["sigma"] == pytest.approx(sigma,
                                                                                 rel=0.1)
    assert noise["06_downstream.json:rows/*/macro_f1_sd"]["sigma"] == pytest.approx(sigma,
                                                                                   rel=0.15)
    assert noise["06_downstream.json:rows/*/macro_f1_mean"]["pairs"] == rows
    # verify reads the file it wrote: a third honest rerun agrees with the first
    shutil.copy(out, tmp_path / "a" / vn.NOISE_FILE)
    _result_set(tmp_path / "c", base + rng.normal(0, sigma, base.shape), folds=folds)
    pending = vf._pending(["06_downstream.json"], vn.read_folder(tmp_path / "a"),
                          vn.read_folder(tmp_path / "c"), folds=folds, resolution=1e-9,
                          noise=vn.Noise.from_json(json.loads(out.read_text())))
    checks = pending.checks(vn.z_familywise(pending.m))
    assert all(c.basis == vn.CALIBRATED for c in checks if c.sigma is not None)
    assert not _disagreeing(checks)
    # ... and a rerun whose noise is ten times larger does not
    _result_set(tmp_path / "d", base + rng.normal(0, 10 * sigma, base.shape), folds=folds)
    pending = vf._pending(["06_downstream.json"], vn.read_folder(tmp_path / "a"),
                          vn.read_folder(tmp_path / "d"), folds=folds, resolution=1e-9,
                          noise=vn.Noise.from_json(json.loads(out.read_text())))
    assert len(_disagreeing(pending.checks(vn.z_familywise(pending.m)))) > rows


def test_a_second_pair_of_runs_pools_with_the_first_by_its_pairs(tmp_path):
    rng = np.random.default_rng(11)
    folds, rows = 5, 300
    base = rng.uniform(0.6, 0.9, size=(rows, 1)) + rng.normal(0, 0.05, size=(rows, folds))
    for name, sigma in (("a", 0.01), ("b", 0.01), ("c", 0.03), ("d", 0.03)):
        _result_set(tmp_path / name, base + rng.normal(0, sigma, base.shape), folds=folds)
    kind = "06_downstream.json:rows/*/macro_f1_mean"
    first = vn.estimate_rerun_noise(tmp_path / "a", tmp_path / "b")
    second = vn.estimate_rerun_noise(tmp_path / "c", tmp_path / "d")
    pooled = vn.estimate_rerun_noise(tmp_path / "c", tmp_path / "d", pool_with=first)
    s1, s2 = first["sigma_unit"][kind]["sigma"], second["sigma_unit"][kind]["sigma"]
    assert s2 == pytest.approx(3 * s1, rel=0.2)  # the two pairs saw different noise
    entry = pooled["sigma_unit"][kind]
    assert entry["pairs"] == 2 * rows
    assert entry["sigma"] == pytest.approx(((s1 ** 2 + s2 ** 2) / 2) ** 0.5, rel=1e-9)
    assert pooled["runs"] == [str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "c"),
                              str(tmp_path / "d")]


def test_the_metric_kind_pools_rows_and_folds_not_sections():
    assert vn.metric_kind("06_downstream.json", "rows/vae (no filter)/macro_f1_mean") == \
        "06_downstream.json:rows/*/macro_f1_mean"
    assert vn.metric_kind("06_downstream.json", "oracle/rows/real only/diff_mean") == \
        "06_downstream.json:oracle/rows/*/diff_mean"
    assert vn.metric_kind("04_filter.json", "kept/vae/strong/r0f3") == "04_filter.json:kept/*"
    # a simulated replicate is a unit too: its values pool with the other replicates'
    assert vn.metric_kind("04_filter.json", "kept/vae/strong/rep03") == "04_filter.json:kept/*"
    assert vn.metric_kind("02_chosen.json", "per_fold/rep01/val_macro_f1") == \
        "02_chosen.json:per_fold/*/val_macro_f1"
    assert vn.metric_kind("02_chosen.json", "per_fold/r0f1/val_macro_f1") == \
        "02_chosen.json:per_fold/*/val_macro_f1"


# ----------------------------------------------------------------------- statements

def test_a_verdict_near_its_threshold_that_flips_is_borderline_one_far_from_it_disagrees(pair):
    committed, mine = pair
    rows = _load(committed, "06_downstream.json")["rows"]
    probs = ("p_better", "p_equivalent", "p_worse")
    far = [r for r, v in rows.items() if v.get("verdict") == "undecided"
           and max(v[p] for p in probs) < 0.8]
    near, flipped = far[0], far[1]

    def committed_side(d):  # P(equivalent) 0.01 below the 0.95 decision: undecided
        d["rows"][near].update(p_equivalent=0.94, p_better=0.03, p_worse=0.03)

    def rerun_side(d):  # the rerun crosses it; the other row flips with its p far from it
        d["rows"][near].update(p_equivalent=0.955, p_better=0.025, p_worse=0.02,
                               verdict="practically equivalent")
        d["rows"][flipped].update(verdict="better")

    _edit(committed, "06_downstream.json", committed_side)
    _edit(mine, "06_downstream.json", rerun_side)
    checks = {c.metric: c for c in vf.verify_against(mine, committed)}
    borderline = checks[f"statement: verdict of {near}"]
    assert not borderline.agrees and borderline.borderline and not borderline.disagrees
    assert "P(equiv.) 0.940 vs 0.95" in borderline.basis
    changed = checks[f"statement: verdict of {flipped}"]
    assert changed.disagrees and not changed.borderline
    assert [c.metric for c in checks.values() if c.disagrees] == [changed.metric]


def test_a_calibrated_band_comes_from_the_tolerance_of_the_difference(pair):
    """A verdict's band is how far its probabilities move when diff_mean and diff_sd move by
    their (calibrated) tolerances: little noise, no borderline at 0.01 from the threshold;
    much noise, borderline."""
    committed, mine = pair
    downstream = _load(committed, "06_downstream.json")
    row = next(r for r, v in downstream["rows"].items() if v.get("p_better") is not None)
    n, runs, rope = downstream["rows"][row]["folds_scored"], downstream["repeats"], \
        downstream["rope"]
    independent = downstream.get("design") == "replicates"
    sd = 0.15
    from scipy.stats import t

    from gansemble_lib.evaluation.crossval import posterior_scale

    scale = posterior_scale(sd, n, runs=runs, independent=independent)
    mean = rope + scale * t.ppf(0.96, n - 1)  # P(better) 0.96: 0.01 above the threshold
    worse, equivalent, better = vs.posterior(mean, sd, n=n, runs=runs, rope=rope,
                                             independent=independent)
    assert better == pytest.approx(0.96)
    for folder in (committed, mine):
        _edit(folder, "06_downstream.json", lambda d: d["rows"][row].update(
            diff_mean=mean, diff_sd=sd, p_worse=worse, p_equivalent=equivalent,
            p_better=better, verdict="better"))

    def statement(sigma):
        kinds = {f"06_downstream.json:rows/*/{k}": sigma for k in ("diff_mean", "diff_sd")}
        (committed / vn.NOISE_FILE).write_text(json.dumps({"sigma_unit": kinds}))
        return {c.metric: c for c in vf.verify_against(mine, committed)}[
            f"statement: verdict of {row}"]

    quiet, loud = statement(1e-4), statement(0.05)
    assert not quiet.borderline
    assert loud.borderline and "band from the tolerances of diff_mean and diff_sd" in loud.basis


def test_the_posterior_is_the_one_the_verdicts_were_made_with(committed_source):
    downstream = _load(committed_source, "06_downstream.json")
    judged = [v for v in downstream["rows"].values() if v.get("p_better") is not None]
    assert judged
    for v in judged:
        again = vs.posterior(v["diff_mean"], v["diff_sd"], n=v["folds_scored"],
                             runs=downstream["repeats"], rope=downstream["rope"],
                             independent=downstream.get("design") == "replicates")
        assert again == pytest.approx((v["p_worse"], v["p_equivalent"], v["p_better"]),
                                      abs=1e-9)


def test_a_changed_verdict_or_chosen_strategy_is_a_disagreement(pair):
    committed, mine = pair
    downstream = _load(committed, "06_downstream.json")
    rows = downstream["rows"]
    row = next(r for r, v in rows.items() if v.get("verdict") == "undecided"
               and max(v[p] for p in ("p_better", "p_equivalent", "p_worse")) < 0.8)
    fold = next(iter(downstream["oracle"]["best_generator"]))

    def change(d):
        d["rows"][row].update(verdict="practically equivalent")
        d["oracle"]["best_generator"][fold].update(name="another generator")

    _edit(mine, "06_downstream.json", change)
    _edit(mine, "02_chosen.json",
          lambda d: next(iter(d["per_fold"].values())).update(strategy="15: everything"))
    bad = {c.metric for c in _disagreeing(vf.verify_against(mine, committed))}
    assert f"statement: verdict of {row}" in bad
    assert f"statement: best generator in {fold}" in bad  # the learning curve's pick
    assert any(m.startswith("statement: chosen in") for m in bad)


def test_a_gate_flip_far_from_its_thresholds_disagrees_one_near_them_is_borderline(pair):
    committed, mine = pair
    gates = _load(committed, "03_generators.json")["gate"]
    DIVERSITY_MIN = GateParams().diversity_min  # noqa: N806 (the committed run's margin)

    # far: validity and diversity well above their thresholds in every fold it may have
    far = max(gates, key=lambda g: min(gates[g]["validity_mean"] - 0.55,
                                       gates[g]["diversity_mean"] - DIVERSITY_MIN))
    # near: diversity within the declared band of DIVERSITY_MIN (made so in both runs)
    near = next(g for g in gates if g != far)
    for folder in (committed, mine):  # its validity far above the bar, as in every fold
        _edit(folder, "03_generators.json", lambda d: d["gate"][near].update(
            diversity_mean=DIVERSITY_MIN + vn.GATE_BAND / 2, validity_mean=0.99,
            validity_sd=0.0))
    _edit(mine, "03_generators.json", lambda d: (
        d["gate"][far].update(status="flipped for the test"),
        d["gate"][near].update(status="flipped for the test")))
    checks = {c.metric: c for c in vf.verify_against(mine, committed)}
    assert checks[f"statement: gate of {far}"].disagrees
    assert checks[f"statement: gate of {near}"].borderline
    assert not checks[f"statement: gate of {near}"].disagrees
    assert "diversity" in checks[f"statement: gate of {near}"].basis


def test_counts_must_be_equal(pair):
    committed, mine = pair
    _edit(mine, "01_explore.json", lambda d: d.update(n_samples=d["n_samples"] + 1))
    bad = _disagreeing(vf.verify_against(mine, committed))
    assert [c.metric for c in bad] == ["01_explore.json:n_samples"]
    assert bad[0].tolerance is None


def test_a_committed_file_the_rerun_did_not_write_is_a_disagreement(pair):
    committed, mine = pair
    (mine / "04_filter.json").unlink()
    bad = _disagreeing(vf.verify_against(mine, committed))
    assert [(c.metric, c.committed, c.reproduced) for c in bad] == [
        ("04_filter.json", "present", "missing")]


# ----------------------------------------------------------------------- the command

def _project(tmp_path, committed_source, *, git=True):
    """A folder with reports/metrics = the committed metrics, committed to a new git repo."""
    project = tmp_path / "project"
    shutil.copytree(committed_source, project / METRICS)
    if git:
        _git("init", "-q", cwd=project)
        _git("add", "-A", cwd=project)
        _git("commit", "-q", "-m", "committed results", cwd=project)
    return project


def _verify_cli(project, *args):
    return subprocess.run([sys.executable, "-m", "gansemble_lib", "verify", *args],
                          cwd=project, capture_output=True, text=True)


def test_an_untouched_checkout_says_nothing_was_rerun_and_exits_2(tmp_path, committed_source):
    project = _project(tmp_path, committed_source)
    result = _verify_cli(project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert ("nothing was rerun: the metrics in reports/metrics are the committed ones "
            "(run `make reproduce` first)") in result.stdout
    assert "AGREES" not in result.stdout and "Traceback" not in result.stderr


def test_a_rerun_in_a_checkout_is_compared_with_git(tmp_path, committed_source, monkeypatch):
    """After a rerun (the working tree's metrics differ from HEAD), verify reads the committed
    side from git: every file found, a move within tolerance agrees (0), outside it not (1)."""
    import gansemble_lib.data.import_data

    project = _project(tmp_path, committed_source)
    monkeypatch.setattr(gansemble_lib.data.import_data, "dvc_data_clean", lambda *_: True)
    monkeypatch.setattr(vf, "params_changed", lambda *_: [])
    metrics = project / METRICS
    fid = _load(metrics, "05_fidelity.json")["overall"]["vae/none"]["fid_mean"]
    _edit(metrics, "05_fidelity.json",
          lambda d: d["overall"]["vae/none"].update(fid_mean=fid + 1e-6))
    checks = vf.verify_metrics(metrics, root=project)
    assert len(checks) > 100 and not _disagreeing(checks)
    assert not [c for c in checks if "missing" in (c.committed, c.reproduced)]
    out = io.StringIO()
    assert vf.verify(root=project, out=out) == 0
    assert "verify: AGREES" in out.getvalue() and "nothing was rerun" not in out.getvalue()
    assert "calibrated from reports/metrics/rerun_noise.json" in out.getvalue()  # committed
    _edit(metrics, "05_fidelity.json",
          lambda d: d["overall"]["vae/none"].update(fid_mean=fid + 100))
    out = io.StringIO()
    assert vf.verify(root=project, out=out) == 1
    assert "| 05_fidelity.json:overall/vae/none/fid_mean |" in out.getvalue()


def test_outside_a_git_checkout_verify_says_so_and_exits_2(tmp_path, committed_source):
    project = _project(tmp_path, committed_source, git=False)
    _edit(project / METRICS, "05_fidelity.json",
          lambda d: d["overall"]["vae/none"].update(fid_mean=1.0))  # as a rerun would
    result = _verify_cli(project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout.strip() == vf.NOT_GIT
    assert "missing" not in result.stdout and "DISAGREES" not in result.stdout


def test_the_command_prints_the_table_and_exits_by_what_it_found(tmp_path, committed_source):
    committed = tmp_path / "committed"
    shutil.copytree(committed_source, committed)
    project = _project(tmp_path, committed_source, git=False)
    metrics = project / METRICS
    same = _verify_cli(project, "--committed", str(committed))
    assert same.returncode == 2 and "nothing was rerun" in same.stdout
    fid = _load(metrics, "05_fidelity.json")["overall"]["vae/none"]["fid_mean"]
    _edit(metrics, "05_fidelity.json",
          lambda d: d["overall"]["vae/none"].update(fid_mean=fid + 1e-6))
    agree = _verify_cli(project, "--committed", str(committed))
    assert agree.returncode == 0, agree.stdout + agree.stderr
    assert "verify: AGREES" in agree.stdout and "still hold" in agree.stdout
    assert "numbers agree" in agree.stdout and "borderline" in agree.stdout
    assert "family-wise" in agree.stdout and "calibrated from" in agree.stdout  # its noise
    _edit(metrics, "05_fidelity.json",
          lambda d: d["overall"]["vae/none"].update(fid_mean=fid + 100))
    disagree = _verify_cli(project, "--committed", str(committed))
    assert disagree.returncode == 1
    assert "| 05_fidelity.json:overall/vae/none/fid_mean |" in disagree.stdout
    assert "| NO |" in disagree.stdout and "verify: DISAGREES" in disagree.stdout
    assert "reading it:" in disagree.stdout and "docs/verify.md" in disagree.stdout
    assert "reading it:" not in agree.stdout
    assert "Traceback" not in disagree.stderr


def test_the_command_estimates_the_rerun_noise(tmp_path, committed_source):
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(committed_source, a)
    shutil.copytree(committed_source, b)
    _edit(b, "05_fidelity.json", lambda d: d["overall"]["vae/none"].update(
        fid_mean=d["overall"]["vae/none"]["fid_mean"] + 1.0))
    out = tmp_path / "noise.json"
    result = _verify_cli(tmp_path, "--estimate-noise", str(a), str(b), "--noise-out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    sigma = json.loads(out.read_text())["sigma_unit"]["05_fidelity.json:overall/*/fid_mean"]
    folds = _load(a, "05_fidelity.json")["folds"] * _load(a, "05_fidelity.json")["repeats"]
    pairs = sigma["pairs"]  # one row moved by 1, the others not
    assert sigma["sigma"] == pytest.approx(math.sqrt(folds / 2 / pairs))


def test_verify_reads_its_settings_from_params_yaml(tmp_path):
    """alpha and the declared bands are params.yaml's `verify` section (one place per
    parameter); a checkout without the file, or without the section, gets the defaults."""
    assert vf.verify_settings(tmp_path) == vn.DEFAULTS
    (tmp_path / "params.yaml").write_text("evaluation:\n  rope: 0.02\n", encoding="utf-8")
    assert vf.verify_settings(tmp_path) == vn.DEFAULTS
    (tmp_path / "params.yaml").write_text("verify:\n  alpha: 0.01\n  gate_band: 0.05\n",
                                          encoding="utf-8")
    settings = vf.verify_settings(tmp_path)
    assert (settings.alpha, settings.p_band, settings.gate_band) == (0.01, 0.03, 0.05)
    assert vn.z_familywise(100, settings.alpha) > vn.z_familywise(100, vn.DEFAULTS.alpha)
    (tmp_path / "params.yaml").write_text("verify:\n  alpha: 2\n", encoding="utf-8")
    with pytest.raises(DataError, match="verify.alpha"):
        vf.verify_settings(tmp_path)


def test_a_gate_status_is_judged_against_the_margins_of_its_own_run(tmp_path):
    """The gate's margins come from the params.yaml of the run behind the metrics: a result
    set's own (reports/datasets/NAME/params.yaml), else the project's; defaults without one."""
    project = tmp_path / "project"
    default, other = project / "reports" / "metrics", project / "reports" / "datasets" / "x"
    (other / "metrics").mkdir(parents=True)
    default.mkdir(parents=True)
    assert vf.gate_margins(default) == GateParams()
    (project / "params.yaml").write_text("gate:\n  diversity_min: 0.4\n", encoding="utf-8")
    (other / "params.yaml").write_text("gate:\n  validity_share: 0.6\n", encoding="utf-8")
    assert vf.gate_margins(default).diversity_min == 0.4
    assert vf.gate_margins(other / "metrics") == GateParams(validity_share=0.6)
    record = {"validity_mean": 0.8, "validity_null_mean": 0.1, "validity_real_mean": 0.9,
              "diversity_mean": 0.45, "status": "passed"}
    data = {"folds": 1, "gate": {"g": record}}

    def margin(margins: GateParams) -> str:
        ctx = vs.StatementContext("03_generators.json", {}, vn.Noise(), 4.0, vn.DEFAULTS,
                                  margins)
        return vs._gate_margin(record, data, "gate/g", ctx)[2]

    assert "diversity 0.450 vs 0.5" in margin(GateParams())
    assert "diversity 0.450 vs 0.4," in margin(vf.gate_margins(default))


# ----------------------------------------------------------------------- discrete choices

def _choice_sets(margin: float, kept_elsewhere: int):
    """A committed and a rerun result set of two replicates in which the chooser's pick in
    rep1 changed (runner-up ``margin`` below it) and the strong filter emptied mpcgan_aug's
    set in rep1 only in the committed run (the rerun kept ``kept_elsewhere``)."""
    def chosen(pick):
        return {"folds": 2, "repeats": 1, "fold_names": ["rep0", "rep1"], "per_fold": {
            "rep0": {"strategy": "4: discs+bars mask", "n": 40, "val_macro_f1": 0.9,
                     "runner_up_margin": 0.05},
            "rep1": {"strategy": pick, "n": 40, "val_macro_f1": 0.8,
                     "runner_up_margin": margin}}}

    def filters(aug_kept, gan_kept):
        return {"folds": 2, "repeats": 1, "kept": {
            "augmentation": {"strong": {"rep0": 120, "rep1": aug_kept}},
            "mpcgan_aug": {"strong": {"rep0": 40, "rep1": gan_kept}}}}

    def downstream(best, emptied, scored):
        return {"folds": 2, "repeats": 1, "emptied_by_filter": emptied,
                "oracle": {"best_baseline": {"rep0": "ordinary augmentation: 4",
                                             "rep1": f"ordinary augmentation: {best}"}},
                "rows": {"mpcgan_aug + strong filter": {"folds_scored": scored},
                         "real only": {"folds_scored": 2}}}

    old = {"02_chosen.json": chosen("3: zoom+rot90"), "04_filter.json": filters(150, 0),
           "06_downstream.json": downstream(3, {"rep1": ["mpcgan_aug + strong filter"]}, 1)}
    new = {"02_chosen.json": chosen("10: zoom+rot90 + discs+bars mask"),
           "04_filter.json": filters(64, kept_elsewhere),
           "06_downstream.json": downstream(10, {}, 2)}
    return old, new


def _choice_checks(old, new, noise):
    pending = vf._pending(sorted(old), old.get, new.get, folds=2, resolution=0.01,
                          noise=vn.Noise.from_json(noise))
    return pending.checks(vn.z_familywise(pending.m))


NOISE = {"02_chosen.json:per_fold/*/val_macro_f1": 0.01, "04_filter.json:kept/*": 8.0}


def test_a_pick_within_noise_and_what_follows_from_it_are_borderline():
    old, new = _choice_sets(margin=0.004, kept_elsewhere=20)
    checks = {c.metric: c for c in _choice_checks(old, new, NOISE)}
    pick = checks["statement: chosen in rep1"]
    assert not pick.agrees and pick.borderline and "runner-up 0.004" in pick.basis
    for follows in ("04_filter.json:kept/augmentation/strong/rep1",
                    "06_downstream.json:oracle/best_baseline/rep1"):
        assert not checks[follows].agrees and checks[follows].borderline
        assert "borderline pick in rep1" in checks[follows].basis
    emptied = checks["statement: filters that kept nothing"]
    assert emptied.borderline and "mpcgan_aug/strong/rep1 kept 20" in emptied.basis
    scored = checks["06_downstream.json:rows/mpcgan_aug + strong filter/folds_scored"]
    assert scored.borderline and not scored.disagrees
    assert not _disagreeing(checks.values())


def test_a_pick_far_from_its_runner_up_or_a_set_far_from_empty_still_disagrees():
    old, new = _choice_sets(margin=0.2, kept_elsewhere=90)
    checks = {c.metric: c for c in _choice_checks(old, new, NOISE)}
    assert checks["statement: chosen in rep1"].disagrees  # 0.2 is far beyond 4 x 2 x 0.01
    assert checks["04_filter.json:kept/augmentation/strong/rep1"].disagrees
    assert checks["statement: filters that kept nothing"].disagrees  # 90 > the ~30 tolerance
    assert checks["06_downstream.json:rows/mpcgan_aug + strong filter/folds_scored"].disagrees
    # without calibrated noise a pick is never borderline: the uncalibrated rule cannot say
    uncalibrated = {c.metric: c for c in _choice_checks(*_choice_sets(0.004, 20), {})}
    assert uncalibrated["statement: chosen in rep1"].disagrees


def test_copies_of_a_borderline_gate_and_the_scores_of_a_set_emptied_in_the_first_unit_follow():
    from gansemble_lib.reporting.verify_numbers import Check
    from gansemble_lib.reporting.verify_statements import follow_choices

    was, now = "did not learn; collapsed (5 of 5 units)", "did not learn (5 of 5 units)"
    emptied_before = {"rep0": ["mpcgan_aug + strong filter"]}
    checks = [
        Check("statement: gate of mpcgan_aug", was, now, None, False, borderline=True),
        Check("06_downstream.json:rows/mpcgan_aug (no filter)/generator_gate", was, now, None,
              False),
        Check("06_downstream.json:rows/vae (no filter)/generator_gate", "passed", now, None,
              False),  # another change than the borderline statement's: still a disagreement
        Check("statement: filters that kept nothing", emptied_before, {}, None, False),
        Check("04_filter.json:kept/mpcgan_aug/strong/rep0", 0, 15, 30.0, True),
        Check("05_fidelity.json:overall/mpcgan_aug/strong/fid_mean", 31.0, "missing", None,
              False),
        Check("05_fidelity.json:overall/vae/strong/fid_mean", 3.0, 9.0, 1.0, False),
    ]
    data = {"02_chosen.json": ({"fold_names": ["rep0", "rep1"]}, {}),
            "04_filter.json": ({"kept": {"mpcgan_aug": {"strong": {"rep0": 0, "rep1": 40}}}},
                               {"kept": {"mpcgan_aug": {"strong": {"rep0": 15, "rep1": 40}}}})}
    out = {c.metric: c for c in follow_choices(checks, data)}
    copy = out["06_downstream.json:rows/mpcgan_aug (no filter)/generator_gate"]
    assert copy.borderline and "borderline gate of mpcgan_aug" in copy.basis
    assert out["06_downstream.json:rows/vae (no filter)/generator_gate"].disagrees
    assert out["statement: filters that kept nothing"].borderline
    score = out["05_fidelity.json:overall/mpcgan_aug/strong/fid_mean"]
    assert score.borderline and "the unit stage 05 scores" in score.basis
    assert out["05_fidelity.json:overall/vae/strong/fid_mean"].disagrees
    # the same set emptied in a later unit leaves stage 05's scores (of the first unit) judged
    later = {"04_filter.json": ({"kept": {"mpcgan_aug": {"strong": {"rep0": 40, "rep1": 0}}}},
                                {"kept": {"mpcgan_aug": {"strong": {"rep0": 40, "rep1": 15}}}}),
             "02_chosen.json": data["02_chosen.json"]}
    moved = [c if "kept/" not in c.metric else
             Check("04_filter.json:kept/mpcgan_aug/strong/rep1", 0, 15, 30.0, True)
             for c in checks]
    out = {c.metric: c for c in follow_choices(moved, later)}
    assert out["05_fidelity.json:overall/mpcgan_aug/strong/fid_mean"].disagrees
