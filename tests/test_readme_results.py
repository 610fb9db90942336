"""The numbers in RESULTS.md and the README's answer are the pipeline's numbers."""

import json

import pytest
import yaml

from gansemble_lib.core.errors import DataError
from gansemble_lib.reporting.answer import render_answer
from gansemble_lib.reporting.dataset_origin import DEFAULT_SIMULATED
from gansemble_lib.reporting.readme import readme_section, results_section, update_readme
from gansemble_lib.reporting.results_md import render_results
from gansemble_lib.reporting.results_stages import downstream_split
from tests.conftest import REPO


def test_results_file_matches_the_committed_metrics():
    expected = render_results(REPO / "reports" / "metrics", REPO / "reports" / "datasets")
    assert results_section(REPO / "RESULTS.md") == expected, (
        "RESULTS.md differs from reports/metrics or reports/datasets: run "
        "`gansemble update-readme`")
    assert readme_section(REPO / "README.md") == expected  # found next to the README


def test_a_changed_metric_changes_the_section(tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    chosen = {"name": "7: roll+flip + discs+bars mask", "n": 30, "candidates": 5,
              "overlapping_candidates": 2, "scores": {"macro_f1_mean": 0.5, "macro_f1_std": 0.1}}
    (metrics / "02_chosen.json").write_text(json.dumps(chosen))
    readme = tmp_path / "README.md"
    readme.write_text((REPO / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    results = tmp_path / "RESULTS.md"
    results.write_text((REPO / "RESULTS.md").read_text(encoding="utf-8"), encoding="utf-8")
    assert update_readme(readme, metrics, datasets_dir=None)
    assert "at N = 30 (validation macro-F1 0.500 ± 0.100" in results_section(results)
    assert "at N = 30" not in readme.read_text(encoding="utf-8")  # the README keeps the answer
    assert not update_readme(readme, metrics, datasets_dir=None)


def test_a_missing_results_file_is_created_with_its_markers(tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "01_explore.json").write_text(json.dumps(
        {"n_samples": 12, "n_classes": 2, "imbalance_ratio": {"total": 2.0, "train": 2.0}}))
    readme = tmp_path / "README.md"
    readme.write_text("# A project\n", encoding="utf-8")
    assert update_readme(readme, metrics, datasets_dir=None, results_file="OUT.md")
    text = (tmp_path / "OUT.md").read_text(encoding="utf-8")
    assert text.startswith("# Results") and "12 samples in 2 classes" in results_section(
        tmp_path / "OUT.md")
    assert readme.read_text(encoding="utf-8") == "# A project\n"
    assert not update_readme(readme, metrics, datasets_dir=None, results_file="OUT.md")


def _row(value):
    return {"macro_f1_mean": value, "macro_f1_std": 0.01, "balanced_accuracy_mean": value,
            "diff_macro_f1": None, "ci_low": None, "ci_high": None, "excludes_zero": False}


def test_rows_follow_the_order_the_stage_recorded():
    rows = {name: _row(0.5) for name in ("zeta", "real only", "alpha", "unlisted")}
    text = "\n".join(downstream_split({"classifier": "lenet", "seeds": [0], "rows": rows,
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
    from gansemble_lib.reporting.results_md import render_dataset

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
    from gansemble_lib.reporting.answer import render_answer
    from gansemble_lib.reporting.readme import answer_section

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme.index("## The answer so far") < readme.index("## Run it on your own data")
    assert "<!-- results:start" not in readme, "the per-dataset results live in RESULTS.md"
    assert answer_section(REPO / "README.md") == render_answer(
        REPO / "reports" / "metrics", REPO / "reports" / "datasets"), (
        "the README's answer differs from the metrics: run `gansemble update-readme`")


def test_the_answer_counts_verdicts_per_family():
    from gansemble_lib.reporting.answer import _family_cell, _family_rows

    result = {"folds": 5, "synthetic_rows": ["vae (no filter)", "vae + symp filter",
                                             "TSTR: vae only"],
              "baseline_rows": ["random oversampling"],
              "rows": {"vae (no filter)": {"verdict": "better"},
                       "vae + symp filter": {"verdict": "practically equivalent"},
                       "TSTR: vae only": {"verdict": "worse"},
                       "random oversampling": {"verdict": "undecided"}}}
    result["row_order"] = ["random oversampling", "vae (no filter)", "vae + symp filter",
                           "TSTR: vae only"]
    result["row_records"] = {  # what stage 06 recorded: the family comes from here, not names
        "random oversampling": {"kind": "baseline"},
        "vae (no filter)": {"kind": "synthetic", "source": "vae", "filter": "none"},
        "vae + symp filter": {"kind": "synthetic", "source": "vae", "filter": "symp"},
        "TSTR: vae only": {"kind": "tstr", "source": "vae", "filter": "none"}}
    vae = _family_rows(result, None, ("vae",))
    assert vae == ["vae (no filter)", "vae + symp filter"]
    assert _family_cell(result, vae) == "better 1, equivalent 1"
    assert _family_cell(result, _family_rows(result, "tstr", ())) == "worse 1"
    assert _family_rows(result, "baseline", ()) == ["random oversampling"]
    with pytest.raises(DataError, match="no row records"):
        _family_rows({k: v for k, v in result.items() if k != "row_records"}, "tstr", ())
    assert _family_cell({**result, "folds": 1}, ["vae (no filter)"]) == "one split: no verdict"
    result["rows"]["spectrum (no filter)"] = {"note": "not applicable to images"}
    assert _family_cell(result, ["spectrum (no filter)"]) == "not applicable to images"


def _project(tmp_path, *, simulated, descriptor):
    """A project folder whose reports/metrics ran on data described by ``descriptor``."""
    metrics = tmp_path / "reports" / "metrics"
    metrics.mkdir(parents=True)
    rows = {"real only": {"macro_f1_mean": 0.8, "macro_f1_sd": 0.05}}
    downstream = {"folds": 5, "repeats": 1, "rope": 0.02, "decision": 0.95, "rows": rows,
                  "row_order": ["real only"], "row_records": {"real only": {"kind": "real"}},
                  "conclusion": "c.", "classifier": "lenet",
                  "seeds": [0], "budget": "300 steps"}
    if simulated is not None:
        downstream["oracle"] = {"simulated": simulated, "why_not": "none drawn in this test"}
    (metrics / "06_downstream.json").write_text(json.dumps(downstream))
    if descriptor is not None:
        raw = tmp_path / "data" / "raw"
        raw.mkdir(parents=True)
        (raw / "dataset.yaml").write_text(yaml.safe_dump(descriptor))
    return metrics


IMPORTED = {"modality": "spectra", "format": "wide_wavenumber", "files": ["my_spectra.csv"],
            "origin": "imported", "options": {}, "imported_from": ["/home/me/my_spectra.csv"]}


def test_imported_data_are_named_by_their_import_never_the_simulated_default(tmp_path):
    for case, simulated in (("recorded", False), ("older metrics", None)):
        metrics = _project(tmp_path / case, simulated=simulated, descriptor=IMPORTED)
        text = render_results(metrics, datasets_dir=None)
        answer = render_answer(metrics, datasets_dir=None)
        assert text.startswith("### Dataset `my_spectra.csv` (imported"), case
        assert DEFAULT_SIMULATED not in text and "default (simulated)" not in answer, case
        assert "| my_spectra.csv (imported) |" in answer, case


def test_only_data_the_simulator_made_are_called_the_simulated_default(tmp_path):
    simulated = {"modality": "spectra", "format": "wide_wavenumber", "files": ["spectra.csv"],
                 "origin": "simulated", "simulation": {"seed": 0}}
    metrics = _project(tmp_path / "sim", simulated=True, descriptor=simulated)
    assert render_results(metrics, None).startswith(f"### {DEFAULT_SIMULATED}")
    assert "| default (simulated) |" in render_answer(metrics, None)
    # metrics of imported data beside a data/raw that was since restored to the default
    metrics = _project(tmp_path / "stale", simulated=False, descriptor=simulated)
    assert DEFAULT_SIMULATED not in render_results(metrics, None)
    assert "default (simulated)" not in render_answer(metrics, None)
    # an imported data/raw beside metrics of the simulated default: the numbers decide
    metrics = _project(tmp_path / "new", simulated=True, descriptor=IMPORTED)
    assert render_results(metrics, None).startswith(f"### {DEFAULT_SIMULATED}")
    # nothing known: no claim either way
    metrics = _project(tmp_path / "unknown", simulated=None, descriptor=None)
    assert render_results(metrics, None).startswith("### Default dataset (`make reproduce`)")


def test_a_default_data_run_shows_its_first_look_and_leads_the_answer(tmp_path):
    """run-dataset without a source (the embedded data at another profile, e.g. 40
    replicates): its provenance names the default data, its first look is a table beside the
    verdicts over all replicates, and the answer shows both first, before the laptop run."""
    records = {"real only": {"kind": "real"},
               "SMOTE": {"kind": "baseline"},
               "vae (no filter)": {"kind": "synthetic", "source": "vae", "filter": "none"}}
    rows = {"real only": {"macro_f1_mean": 0.88, "macro_f1_sd": 0.03},
            "SMOTE": {"macro_f1_mean": 0.87, "diff_mean": -0.01, "diff_sd": 0.01,
                      "verdict": "practically equivalent"},
            "vae (no filter)": {"macro_f1_mean": 0.86, "diff_mean": -0.02, "diff_sd": 0.02,
                                "verdict": "worse"}}
    first = {"real only": {"macro_f1_mean": 0.881, "macro_f1_sd": 0.03},
             "SMOTE": {"diff_mean": -0.012, "diff_sd": 0.011, "p_better": 0.0,
                       "p_equivalent": 0.97, "p_worse": 0.03, "smallest_decidable": 0.026,
                       "verdict": "practically equivalent"},
             "vae (no filter)": {"diff_mean": -0.018, "diff_sd": 0.02, "p_better": 0.0,
                                 "p_equivalent": 0.6, "p_worse": 0.4,
                                 "smallest_decidable": 0.031, "verdict": "undecided"}}
    downstream = {"design": "replicates", "folds": 40, "repeats": 1, "rope": 0.02,
                  "decision": 0.95, "rows": rows, "row_order": list(rows),
                  "row_records": records, "conclusion": "c.", "classifier": "lenet",
                  "seeds": [0], "budget": "300 steps", "baseline": "real only",
                  "oracle": {"simulated": True, "why_not": "no oracle rows were run"},
                  "failed_generator_rows": {"vae (no filter)": "collapsed within classes"},
                  "interim": {"replicates": 20, "units": [f"rep{i:02d}" for i in range(20)],
                              "rows": first, "spectrum_classifiers": {"rows": {}}}}
    laptop = {**downstream, "folds": 5, "interim": {}}
    default, other = tmp_path / "metrics", tmp_path / "datasets" / "decisive" / "metrics"
    for folder, result in ((default, laptop), (other, downstream)):
        folder.mkdir(parents=True)
        (folder / "06_downstream.json").write_text(json.dumps(result))
    run = {"sources": [], "format": "auto", "profile": "decisive", "commit": "f" * 40,
           "command": "gansemble run-dataset decisive --profile decisive",
           "dvc_repro_seconds": 30.0, "machine": {"cpus": 2},
           "stage_seconds": {"evaluate": 22.4}, "stages_unchanged": ["folds"],
           "earlier_stage_seconds": {"folds": {"seconds": 6058.5, "commit": "a" * 40}},
           "data_dvc": {"outs": [{"md5": "0123456789abcdef.dir", "path": "data/raw"}]}}
    (other.parent / "run.json").write_text(json.dumps(run))
    text = render_results(default, tmp_path / "datasets")
    laptop_part, decisive_part = text.split("### Dataset `decisive`")
    assert "first look" not in laptop_part.lower()
    assert "embedded default (simulated) data, `data.dvc` md5 `0123456789ab…`" in decisive_part
    assert "verdicts over the first 20 of the 40 replicates" in decisive_part
    assert "When they last ran: folds 101.0 min (commit `aaaaaaaaaaaa`)." in decisive_part
    assert ("| SMOTE | -0.012 ± 0.011 | 0.00 | 0.97 | 0.03 | practically equivalent | 0.026 | "
            "practically equivalent |") in decisive_part
    assert "| vae (no filter) (**generator collapsed within classes**) | -0.018" \
        in decisive_part
    answer = render_answer(default, tmp_path / "datasets")
    header = next(line for line in answer.splitlines() if line.startswith("| method family"))
    assert header == ("| method family | default (simulated), 40 replicates (`decisive`) | "
                      "same, first 20 replicates | default (simulated) |")
    no_generator = next(line for line in answer.splitlines() if line.startswith("| no gen"))
    assert no_generator.endswith("| equivalent 1 | equivalent 1 | equivalent 1 |")
    vae = next(line for line in answer.splitlines() if line.startswith("| class VAEs"))
    assert "| worse 1 — **1 of 1" in vae and "| undecided 1 — **1 of 1" in vae
    assert "`make verify` checks" in answer

    # a result set of one split (the paper table's CPU run) has no verdicts: it is named under
    # the table, not given a column of "no verdict"
    split = tmp_path / "datasets" / "paper_cpu" / "metrics"
    split.mkdir(parents=True)
    (split / "06_downstream.json").write_text(json.dumps({**laptop, "design": "cv", "folds": 1}))
    (split.parent / "run.json").write_text(json.dumps({**run, "profile": "paper_cpu"}))
    answer = render_answer(default, tmp_path / "datasets")
    header = next(line for line in answer.splitlines() if line.startswith("| method family"))
    assert "paper_cpu" not in header and header.count("|") == 5
    assert "Result sets of one split, with no verdicts to count, are not columns: `paper_cpu`" \
        in answer


def test_the_paper_table_names_its_extractors_and_shows_the_standard_fid_when_run():
    from gansemble_lib.reporting.results_stages import paper_table

    row = {"keeps_label": True, "fid_without_symp_mean": 30.0, "fid_without_symp_sd": 0.1,
           "fid_with_symp_mean": 29.7, "fid_with_symp_sd": 0.05, "is_without_symp_mean": 1.01,
           "is_without_symp_sd": 0.0, "is_with_symp_mean": 1.01, "is_with_symp_sd": 0.0,
           "validity": 0.1, "validity_null": 0.1, "gate": "did not learn its classes"}
    result = {"fold": "split", "protocol": "2 draws",
              "extractor": {"name": "gansemble-domain", "weights_sha256": "95caf4de8526" * 4},
              "rows": {"as given": row}, "row_order": ["as given"]}
    domain_only = "\n".join(paper_table(result))
    assert "weights sha256 `95caf4de8526…`" in domain_only and "not comparable" in domain_only
    assert "Inception FID" not in domain_only
    assert ("| as given | yes | 30.000 ± 0.100 | 29.700 ± 0.050 | 1.010 ± 0.000 | "
            "1.010 ± 0.000 | 0.10 (0.10) | did not learn its classes |") in domain_only
    standard = {**result, "standard_extractor": {"name": "inception-v3-tf-torchscript",
                                                 "weights_sha256": "4f2e" * 16},
                "rows": {"as given": {**row, "fid_inception_without_symp_mean": 250.0,
                                      "fid_inception_without_symp_sd": 2.0,
                                      "fid_inception_with_symp_mean": 245.0,
                                      "fid_inception_with_symp_sd": 1.0}}}
    both = "\n".join(paper_table(standard))
    assert "standard `inception-v3-tf-torchscript` (weights sha256 `4f2e4f2e4f2e…`)" in both
    assert "| Inception FID | Inception FID + SYMP |" in both
    assert "| 29.700 ± 0.050 | 250.000 ± 2.000 | 245.000 ± 1.000 | 1.010 ± 0.000 |" in both


def test_one_split_fidelity_adds_the_standard_inception_table_only_when_it_ran():
    from gansemble_lib.reporting.results_stages import fidelity_split

    row = {"fid": 2.0, "kid_mean": 0.1, "is_mean": 1.0, "precision": 1.0, "recall": 1.0}
    result = {"extractor": {"name": "gansemble-domain", "weights_sha256": "ab" * 32,
                            "feature_dim": 64, "notice": ""},
              "overall": {"vae/none": row}, "overall_order": ["vae/none"], "standard": None}
    assert "standard" not in "\n".join(fidelity_split(result))
    result["standard"] = {"name": "inception-v3-tf-torchscript", "weights_sha256": "cd" * 32,
                          "overall": {"vae/none": {"fid": 105.0, "kid_mean": 0.05,
                                                   "precision": 0.5, "recall": 0.25}}}
    text = "\n".join(fidelity_split(result))
    assert "standard `inception-v3-tf-torchscript` (weights sha256 `cdcdcdcdcdcd…`)" in text
    assert "| vae | none | 105.000 | 0.050 | 0.500 | 0.250 |" in text
