"""The README's numbers are the pipeline's numbers."""

import json

from gansemble_lib.readme_results import readme_section, render_results, update_readme
from tests.conftest import REPO


def test_readme_results_match_the_committed_metrics():
    assert readme_section(REPO / "README.md") == render_results(REPO / "reports" / "metrics"), (
        "README results differ from reports/metrics: run `gansemble update-readme`")


def test_a_changed_metric_changes_the_section(tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    chosen = {"name": "7: roll+flip + discs+bars mask", "n": 30, "candidates": 5,
              "overlapping_candidates": 2, "scores": {"macro_f1_mean": 0.5, "macro_f1_std": 0.1}}
    (metrics / "02_chosen.json").write_text(json.dumps(chosen))
    readme = tmp_path / "README.md"
    readme.write_text((REPO / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    assert update_readme(readme, metrics)
    assert "at N = 30 (validation macro-F1 0.500 ± 0.100" in readme_section(readme)
    assert not update_readme(readme, metrics)
