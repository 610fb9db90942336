"""Smoke test: the DVC pipeline on the smoke profile in a throw-away copy of the project."""

import json
import sys

import pytest

from tests.conftest import run


@pytest.mark.slow
def test_dvc_repro_runs_then_is_a_no_op(project_copy):
    run([sys.executable, "-m", "gansemble_lib", "fetch-data"], project_copy)
    run([sys.executable, "-m", "gansemble_lib", "profile", "smoke"], project_copy)
    first = run([sys.executable, "-m", "dvc", "repro"], project_copy)
    assert "Running stage 'prepare'" in first.stdout
    assert "Running stage 'explore'" in first.stdout
    assert "Running stage 'choose'" in first.stdout
    chosen = json.loads((project_copy / "reports/metrics/02_chosen.json").read_text())
    assert chosen["strategy"] in (0, 7) and chosen["n"] == 8 and chosen["candidates"] == 2
    assert (project_copy / "data/augmented/images.npy").is_file()
    for stage in ("train_cgan@mpcgan_aug", "train_vae", "symp_filter", "fidelity", "downstream",
                  "report"):
        assert f"Running stage '{stage}'" in first.stdout
    downstream = json.loads((project_copy / "reports/metrics/06_downstream.json").read_text())
    assert "real only" in downstream["rows"] and downstream["conclusion"]
    fidelity = json.loads((project_copy / "reports/metrics/05_fidelity.json").read_text())
    assert "extractor" in json.dumps(fidelity)
    assert (project_copy / "reports/report.html").stat().st_size > 10_000
    metrics = json.loads((project_copy / "reports/metrics/01_explore.json").read_text())
    assert metrics["n_classes"] == 10 and metrics["n_samples"] == 210
    assert metrics["imbalance_ratio"]["total"] == pytest.approx(38 / 5)
    executed = json.loads(
        (project_copy / "reports/notebooks/01_explore_imbalance.ipynb").read_text())
    injected = [c for c in executed["cells"] if "injected-parameters" in c["metadata"].get(
        "tags", [])]
    assert injected and "images_per_class = 2" in "".join(injected[0]["source"])
    second = run([sys.executable, "-m", "dvc", "repro"], project_copy)
    assert "Running stage" not in second.stdout
    status = run([sys.executable, "-m", "dvc", "status"], project_copy)
    assert "up to date" in status.stdout
