"""`gansemble run-dataset`: the pipeline on another dataset, results kept beside the default."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import pytest

from gansemble_lib.core.errors import DataError
from gansemble_lib.core.io_utils import sha256_file
from gansemble_lib.pipeline import dataset_runs as dr
from gansemble_lib.reporting.results_md import render_results
from tests.conftest import COPY_IGNORE, REPO, run

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]


@pytest.mark.parametrize("name", ["", "Rampp", "a/b", "default", "x" * 41, "-lead"])
def test_unusable_names_are_refused_with_the_rule(name):
    with pytest.raises(DataError, match="lower-case letters"):
        dr.check_name(name)


def test_sources_are_described_by_size_and_sha256(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "b.csv").write_bytes(b"1,2\n")
    (tmp_path / "a.csv").write_bytes(b"abc")
    described = dr.describe_sources([str(tmp_path / "a.csv"), str(tmp_path / "folder")])
    assert [(d["bytes"], d["sha256"]) for d in described] == [
        (3, hashlib.sha256(b"abc").hexdigest()), (4, hashlib.sha256(b"1,2\n").hexdigest())]
    with pytest.raises(DataError, match="no such file") as error:
        dr.describe_sources([str(tmp_path / "missing.csv")])
    assert "missing.csv" in str(error.value)


def _git_repo(path):
    path.mkdir()
    (path / "tracked.txt").write_text("one\n")
    subprocess.run([*GIT, "init", "--quiet"], cwd=path, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=path, check=True)
    subprocess.run([*GIT, "commit", "--quiet", "-m", "first"], cwd=path, check=True)
    return path


def test_results_are_tied_to_a_commit_so_uncommitted_changes_are_refused(tmp_path):
    repo = _git_repo(tmp_path / "repo")
    assert len(dr.current_commit(repo)) == 40
    (repo / "untracked.txt").write_text("fine\n")
    dr.current_commit(repo)
    (repo / "tracked.txt").write_text("two\n")
    with pytest.raises(DataError, match="uncommitted changes to tracked files \\(tracked.txt\\)"):
        dr.current_commit(repo)


def test_a_clone_follows_the_commit_and_keeps_its_outputs(tmp_path):
    repo = _git_repo(tmp_path / "repo")
    dest = repo / "runs" / "x"
    first = dr.current_commit(repo)
    dr.checkout_clone(repo, dest, first)
    (dest / "output.bin").write_bytes(b"kept")
    (dest / "tracked.txt").write_text("changed by a run\n")
    (repo / "tracked.txt").write_text("two\n")
    subprocess.run([*GIT, "commit", "--quiet", "-am", "second"], cwd=repo, check=True)
    second = dr.current_commit(repo)
    dr.checkout_clone(repo, dest, second)
    assert dr.current_commit(dest) == second
    assert (dest / "tracked.txt").read_text() == "two\n"
    assert (dest / "output.bin").read_bytes() == b"kept"
    # the clone's own dvc.lock (its dataset's last run) survives a move to a new commit, so
    # DVC reruns only what changed, not every stage against the default dataset's lock
    (repo / "dvc.lock").write_text("the default dataset's lock\n")
    subprocess.run([*GIT, "add", "dvc.lock"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "--quiet", "-m", "lock"], cwd=repo, check=True)
    dr.checkout_clone(repo, dest, dr.current_commit(repo))
    assert (dest / "dvc.lock").read_text() == "the default dataset's lock\n"  # first checkout
    (dest / "dvc.lock").write_text("this dataset's last run\n")
    (repo / "tracked.txt").write_text("three\n")
    subprocess.run([*GIT, "commit", "--quiet", "-am", "third"], cwd=repo, check=True)
    dr.checkout_clone(repo, dest, dr.current_commit(repo))
    assert (dest / "tracked.txt").read_text() == "three\n"
    assert (dest / "dvc.lock").read_text() == "this dataset's last run\n"
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataError, match="not a git clone"):
        dr.checkout_clone(repo, tmp_path / "plain", second)


def test_stage_clock_times_stages_from_the_repro_output():
    clock = dr.StageClock()
    lines = [("'data.dvc' didn't change, skipping", 0.0),
             ("Stage 'prepare' didn't change, skipping", 0.5),
             ("Running stage 'explore':", 1.0), ("> jupytext ...", 2.0),
             ("Updating lock file 'dvc.lock'", 4.5), ("Running stage 'choose':", 5.0),
             ("Stage 'report' is cached - skipping run, checking out outputs", 12.0)]
    for text, now in lines:
        clock.line(text, now)
    clock.stop(13.0)
    assert clock.seconds == {"explore": 3.5, "choose": 7.0}
    assert clock.skipped == ["prepare"] and clock.restored == ["report"]


def test_collect_is_all_or_nothing(tmp_path):
    clone, out = tmp_path / "clone", tmp_path / "out"
    (out / "metrics").mkdir(parents=True)
    (out / "metrics" / "old.json").write_text("{}")
    with pytest.raises(DataError, match="the run left no"):
        dr.collect(clone, out, {})
    assert (out / "metrics" / "old.json").is_file(), "a failed collect must not touch old results"
    for src, _ in dr.KEPT:
        target = clone / src
        if "." in target.name:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(src)
        else:
            target.mkdir(parents=True, exist_ok=True)
            (target / "a.json").write_text("{}")
    (clone / "reports/metrics/stale.json").write_text("{}")  # an older version's output
    (clone / "dvc.yaml").write_text(
        "stages:\n  s:\n    cmd: x\n    metrics:\n    - reports/metrics/a.json\n"
        "    outs:\n    - reports/tables/a.json:\n        cache: false\n")
    dr.collect(clone, out, {"name": "x"})
    assert json.loads((out / dr.RUN_RECORD).read_text()) == {"name": "x"}
    assert (out / "dvc.lock").read_text() == "dvc.lock" and (out / "metrics" / "a.json").is_file()
    assert not (out / "metrics" / "old.json").exists()
    assert not (out / "metrics" / "stale.json").exists(), "only what dvc.yaml declares"
    assert (out / "tables" / "a.json").is_file()
    assert not (out / "figures" / "06_learning_curve.png").exists()  # image data: none
    curve = clone / dr.KEPT_IF_PRESENT[0][0]
    curve.write_bytes(b"png")  # spectra: the learning curve RESULTS.md links to is kept
    dr.collect(clone, out, {"name": "x"})
    assert (out / dr.KEPT_IF_PRESENT[0][1]).read_bytes() == b"png"


@pytest.mark.slow
def test_run_dataset_end_to_end_on_the_smoke_profile(tmp_path):
    """A git clone of the project, a user's CSV, the whole smoke pipeline, results collected."""
    repo = tmp_path / "project"
    shutil.copytree(REPO, repo, ignore=COPY_IGNORE)
    subprocess.run([*GIT, "init", "--quiet"], cwd=repo, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "--quiet", "-m", "copy"], cwd=repo, check=True)
    own = tmp_path / "own"
    run([sys.executable, "-m", "gansemble_lib", "simulate", "--out", str(own), "--seed", "3"],
        tmp_path)
    result = run([sys.executable, "-m", "gansemble_lib", "run-dataset", "mine",
                  str(own / "spectra.csv"), "--format", "wide_wavenumber", "--profile", "smoke"],
                 repo)
    assert "imported 210 spectra in 10 classes" in result.stdout
    out = repo / "reports" / "datasets" / "mine"
    record = json.loads((out / dr.RUN_RECORD).read_text())
    assert record["commit"] == dr.current_commit(repo) and record["profile"] == "smoke"
    assert set(record["stage_seconds"]) >= {"prepare", "folds", "evaluate", "report"}
    assert record["sources"][0]["sha256"] == sha256_file(own / "spectra.csv")
    assert "md5" in record["data_dvc"]["outs"][0]
    downstream = json.loads((out / "metrics" / "06_downstream.json").read_text())
    assert "real only" in downstream["rows"]
    assert "origin: imported" in (out / "dataset.yaml").read_text()
    assert (out / "report.html").stat().st_size > 10_000
    assert "### Dataset `mine`" in render_results(repo / "reports" / "metrics",
                                                  repo / "reports" / "datasets")
    # The user's checkout is untouched apart from the new result folder.
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    assert status and all(line.startswith("?? reports/datasets/mine/") for line in status), status


def test_import_options_without_a_source_are_refused_before_cloning(tmp_path):
    """No source = the embedded default data; an import option then has nothing to act on."""
    with pytest.raises(DataError, match="need\\(s\\) a file to import"):
        dr.run_dataset("decisive", [], repo=tmp_path, import_options=("--drop-small-classes",))
    assert not (tmp_path / dr.RUNS_DIR).exists()


def test_a_rerun_that_reuses_stages_keeps_what_they_cost_when_they_ran(tmp_path):
    """Only 06b changed: the rerun reuses folds; its record keeps the earlier run's seconds."""
    previous = tmp_path / "run.json"
    assert dr.earlier_seconds(previous, dr.StageClock()) == {}
    previous.write_text(json.dumps({"commit": "a" * 40, "stage_seconds": {"folds": 6058.5,
                                                                          "evaluate": 22.4},
                                    "earlier_stage_seconds": {"prepare": {
                                        "seconds": 1.2, "commit": "b" * 40}}}))
    clock = dr.StageClock(skipped=["prepare", "folds", "explore"])
    assert dr.earlier_seconds(previous, clock) == {
        "prepare": {"seconds": 1.2, "commit": "b" * 40},
        "folds": {"seconds": 6058.5, "commit": "a" * 40}}


def test_the_fetched_standard_inception_is_shared_with_the_clone_after_its_hash(tmp_path,
                                                                                monkeypatch):
    from gansemble_lib.evaluation import inception

    repo, clone = tmp_path / "repo", tmp_path / "clone"
    quiet = {"echo": lambda _: None}
    with pytest.raises(DataError, match="no standard Inception") as error:  # wanted, none
        dr.share_inception(repo, clone, **quiet)
    assert "make inception" in error.value.fix and "--standard-fid" in error.value.fix
    assert not (clone / inception.DEFAULT_PATH).exists()

    weights = repo / inception.DEFAULT_PATH
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"not the network")
    with pytest.raises(DataError, match="SHA-1") as error:
        dr.share_inception(repo, clone, **quiet)
    assert "make inception" in error.value.fix
    assert not (clone / inception.DEFAULT_PATH).exists()

    monkeypatch.setattr(inception, "SHA1", inception.sha1_file(weights))
    (clone / inception.DEFAULT_PATH).parent.mkdir(parents=True)
    (clone / inception.DEFAULT_PATH).write_bytes(b"a stale copy")
    record = dr.share_inception(repo, clone, **quiet)
    assert record == {"path": inception.DEFAULT_PATH.as_posix(), "sha1": inception.SHA1}
    assert (clone / inception.DEFAULT_PATH).read_bytes() == b"not the network"
    assert not list((clone / inception.DEFAULT_PATH).parent.glob(".*part"))

    # not asked for (the default): a clone reused from such a run loses its copy, so its
    # stage 05 scores with the domain extractor only, as the run's record says
    assert dr.share_inception(repo, clone, wanted=False, **quiet) is None
    assert not (clone / inception.DEFAULT_PATH).exists()
