"""The pipeline declared once (gansemble_lib/pipeline/stages.py), the dvc.yaml made from it
(pipeline/dvc_yaml.py, code deps from pipeline/code_deps.py), the notebook runner and the
readable repro log."""

from __future__ import annotations

import ast
import dataclasses

import nbformat
import pytest
import yaml

from gansemble_lib.core.config import COMMAND_SECTIONS, SECTIONS
from gansemble_lib.core.errors import DataError
from gansemble_lib.core.progress import SUMMARY_MARK
from gansemble_lib.pipeline import code_deps, dvc_yaml, inputs
from gansemble_lib.pipeline import stages as pipeline
from gansemble_lib.pipeline.repro import readable
from gansemble_lib.pipeline.runner import find_summary
from tests.conftest import REPO

NOTEBOOK_STAGES = [s for s in pipeline.STAGES if s.notebook]


def test_committed_dvc_yaml_is_the_generated_pipeline_for_the_default_spectra():
    committed = (REPO / "dvc.yaml").read_text(encoding="utf-8")
    assert committed == dvc_yaml.render_dvc_yaml("spectra"), (
        "dvc.yaml is out of date: run `gansemble pipeline --modality spectra`")
    assert " -p " not in committed  # parameters travel as a validated section, not per key


def _stages(modality: str) -> dict:
    return yaml.safe_load(dvc_yaml.render_dvc_yaml(modality))["stages"]


def test_the_image_pipeline_has_no_spectrum_gan_and_no_spectra_dependency():
    spectra, images = _stages("spectra"), _stages("images")
    assert "spectra.npz" not in dvc_yaml.render_dvc_yaml("images")
    assert "reports/figures/01_mean_images.png" in _outs(images["explore"])
    assert "reports/figures/01_mean_spectra.png" in _outs(spectra["explore"])
    assert images["prepare"]["cmd"].endswith("--modality images")
    every = REPO / "params.yaml"
    assert "train_cgan@spectrum" in pipeline.fold_stages("spectra", every)
    assert not [s for s in pipeline.fold_stages("images", every) if "spectrum" in s]
    with pytest.raises(DataError, match="unknown modality"):
        dvc_yaml.render_dvc_yaml("sounds")


def _outs(entry: dict) -> list[str]:
    return [o if isinstance(o, str) else next(iter(o)) for o in entry["outs"]]


def test_results_a_reader_needs_are_in_git_and_working_files_in_dvc():
    """Figures, tables and HTML renderings: `cache: false` (tracked by git, readable on a
    fresh clone); data, models, the folds' working files and executed notebooks: DVC cache."""
    for name, entry in _stages("spectra").items():
        for out in entry["outs"]:
            path, spec = (out, {}) if isinstance(out, str) else next(iter(out.items()))
            in_git = path.startswith(("reports/figures/", "reports/tables/", "reports/html/",
                                      "reports/report.html"))
            assert spec.get("cache", True) is not in_git, (name, path)
    assert "reports/html/06b_across_folds.html" in _outs(_stages("spectra")["evaluate"])


def test_the_learning_stages_run_inside_the_folds_stage_and_nowhere_else():
    stages = _stages("spectra")
    inner = [s for s in pipeline.STAGES if s.per_fold]
    assert {s.name for s in inner} == {"choose", "train_cgan", "train_vae", "symp_filter",
                                       "fidelity", "paper_table", "downstream"}
    assert [s.name for s in inner if s.first_fold_only] == ["paper_table"]
    assert not {s.name for s in inner} & set(stages)  # no top-level DVC stage of their own
    assert list(stages) == ["prepare", "explore", "folds", "evaluate", "report"]
    folds = stages["folds"]
    assert folds["outs"] == [{"folds": {"persist": True}}]
    assert {f"notebooks/{s.notebook}.py" for s in inner} <= set(folds["deps"])
    assert "gansemble_lib/pipeline/folds.py" in folds["deps"]
    gate_margins = ["gate.validity_share", "gate.diversity_min", "gate.null_shuffles"]
    bounds = [f"spectral_augment.{key}" for key in (
        "shift_cm", "broaden_cm", "gain_max", "baseline_max", "noise_max", "smooth_knots",
        "mix_min", "mix_max")]
    assert set(folds["params"]) == {"choose", "cgan", "vae", "symp_filter", "fidelity",
                                    "downstream", "evaluation.null_repeats",
                                    "evaluation.paper_table", "evaluation.device", *gate_margins,
                                    *bounds}
    assert stages["prepare"]["params"] == ["prepare", "evaluation.design", "evaluation.folds",
                                           "evaluation.repeats", "evaluation.replicates",
                                           "evaluation.replicate_test_min"]
    assert [s.name for s in inner if s.first_replicate_only] == ["fidelity"]
    assert stages["evaluate"]["params"] == ["evaluation", *gate_margins]


def test_a_folds_stage_task_waits_only_for_what_it_reads():
    stages = pipeline.fold_stages("spectra", None)
    needs = {name: pipeline.fold_stage_needs(name, stages) for name in stages}
    assert needs["choose"] == needs["train_vae"] == needs["train_cgan@spectrum"] == []
    assert needs["train_cgan@mpcgan_noaug"] == [] and needs["train_cgan@modern_aug"] == [
        "choose"]
    assert set(needs["symp_filter"]) == set(stages) - {"symp_filter", "fidelity", "downstream",
                                                       "paper_table"}
    assert needs["fidelity"] == needs["downstream"] == ["symp_filter"]
    assert needs["train_cgan@modern_spec"] == ["choose"]  # its spectral pick is in chosen.json
    assert needs["paper_table"] == ["choose", "fidelity"]  # the ranking, stage 05's extractor
    for name, waits in needs.items():  # the declared order is a valid order
        assert all(stages.index(w) < stages.index(name) for w in waits)


def test_per_fold_paths_lie_in_the_folds_directory():
    paths = pipeline.stage_paths("train_cgan@modern_aug", fold="r0f3")
    assert paths["model_dir"] == "folds/r0f3/models/cgan/modern_aug"
    assert paths["prepared_dir"] == "folds/r0f3/data/prepared" and paths["fold"] == "r0f3"
    assert paths["variant"] == "modern_aug"
    assert pipeline.stage_paths("explore")["prepared_dir"] == "data/prepared"


def test_every_params_section_is_tracked_by_the_stage_that_reads_it():
    stages = _stages("spectra")
    for stage in pipeline.STAGES:
        if stage.per_fold:
            entries = stages["folds"]["params"]
            assert stage.section in entries or stage.section is None, stage.name
            continue
        entry = stages[stage.name].get("do", stages[stage.name])
        expected = ([stage.section] if stage.section else []) + list(stage.borrows) + (
            [stage.switch] if stage.switch else [])
        assert entry.get("params", []) == expected, stage.name
    used = {s.section for s in pipeline.STAGES} | {
        b.split(".")[0] for s in pipeline.STAGES for b in s.borrows}
    stage_sections = set(SECTIONS) - set(COMMAND_SECTIONS)
    assert stage_sections <= used, f"sections no stage reads: {stage_sections - used}"
    assert not set(COMMAND_SECTIONS) & used  # a command's section never reruns a stage


def _attributes_read(source: str, name: str) -> set[str]:
    return {node.attr for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == name}


@pytest.mark.parametrize("stage", NOTEBOOK_STAGES, ids=lambda s: s.name)
def test_a_notebook_reads_only_its_section_and_its_declared_paths(stage):
    """What DVC tracks (the section) is all a notebook can read: ``params.x`` must be a field
    of the stage's section, ``paths.x`` a path, variant item or borrowed key it is given."""
    source = (REPO / "notebooks" / f"{stage.notebook}.py").read_text(encoding="utf-8")
    fields = {f.name for f in dataclasses.fields(SECTIONS[stage.section])} if stage.section \
        else set()
    assert _attributes_read(source, "params") <= fields
    assert _attributes_read(source, "paths") <= _declared_paths(stage)
    assert "notebook_inputs(stage, params, paths)" in source


def _declared_paths(stage: pipeline.Stage) -> set[str]:
    names = set(stage.paths) | {b.split(".")[1] for b in stage.borrows}
    if stage.per_variant:
        names |= {"variant", "architecture", "training_data"}
    if stage.per_fold:
        names.add("fold")
    if "{checkpoints}" in stage.deps:
        names.add("generators")
    return names


def test_code_deps_follow_imports_and_generator_kinds():
    choose = code_deps.code_modules(pipeline.STAGE_BY_NAME["choose"])
    assert {"evaluation.chooser", "augment.images", "evaluation.classifiers"} <= choose
    assert "evaluation.downstream" not in choose and not choose & code_deps.PLUMBING
    symp = code_deps.code_modules(pipeline.STAGE_BY_NAME["symp_filter"])
    # load_generator imports generator modules by kind at run time: they are deps too
    assert {"generators.cgan", "generators.spectrum_gan", "generators.vae",
            "evaluation.symp_filter"} <= symp
    prepare = code_deps.code_modules(pipeline.STAGE_BY_NAME["prepare"])
    assert {"data.prepare", "data.raw_data", "data.polar"} <= prepare
    assert not {m for m in prepare if not m.startswith(("data.", "core."))}


def test_stage_names_and_variants_are_checked():
    assert pipeline.split_stage_name("train_cgan@modern_aug")[1] == "modern_aug"
    for bad, message in (("train", "unknown stage"), ("train_cgan", "needs a generator variant"),
                         ("train_cgan@gpt", "needs a generator variant"),
                         ("choose@x", "has no variants")):
        with pytest.raises(DataError, match=message):
            pipeline.split_stage_name(bad)


def test_notebook_inputs_validate_injected_values_and_split_borrowed_keys(tmp_path):
    params = pipeline.stage_params("fidelity", REPO / "params.yaml")
    assert "smote_neighbors" in params
    paths = {k: v for k, v in pipeline.STAGE_BY_NAME["fidelity"].paths.items()}
    section, namespace = inputs.notebook_inputs("fidelity", params, {**paths, "generators": {}})
    assert not hasattr(section, "smote_neighbors")
    assert namespace.smote_neighbors == params["smote_neighbors"]
    with pytest.raises(DataError, match="fidelity.kid_subsets = 0 is out of range"):
        inputs.notebook_inputs("fidelity", {**params, "kid_subsets": 0},
                                 {**paths, "generators": {}})
    with pytest.raises(DataError, match="needs symp_filter.smote_neighbors"):
        inputs.notebook_inputs("fidelity", {k: v for k, v in params.items()
                                              if k != "smote_neighbors"}, paths)


def test_the_runner_finds_the_summary_line():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
            "stream", name="stdout", text=f"noise\n{SUMMARY_MARK}kept 3 of 5\n")])])
    assert find_summary(notebook) == "kept 3 of 5"
    assert find_summary(nbformat.v4.new_notebook()) is None


@pytest.mark.parametrize(("line", "shown"), [
    ("Running stage 'choose':", None),
    ("> python -m gansemble_lib notebook choose", None),
    ("Updating lock file 'dvc.lock'", None),
    ("To track the changes with git, run:", None),
    ("\tgit add dvc.lock", None),
    ("Use `dvc push` to send your updates to remote storage.", None),
    ("'data.dvc' didn't change, skipping", None),
    ("Stage 'explore' didn't change, skipping", "explore: unchanged, skipped"),
    ("ERROR: failed to reproduce 'choose': output 'x' does not exist",
     "ERROR: failed to reproduce 'choose': output 'x' does not exist"),
    ("choose: chose 7 at N = 40 (12 s)", "choose: chose 7 at N = 40 (12 s)"),
])
def test_the_repro_log_drops_bookkeeping_and_keeps_errors(line, shown):
    assert readable(line + "\n") == shown


def test_prepare_refuses_data_of_the_other_modality_before_writing(tmp_path):
    from gansemble_lib.core.config import PrepareParams
    from gansemble_lib.data.import_data import import_data
    from gansemble_lib.data.prepare import prepare
    from gansemble_lib.data.shapes import write_shapes

    shapes = write_shapes(tmp_path / "shapes", size=24, counts={"circle": 3, "cross": 3})
    import_data([shapes], fmt="images", raw_dir=tmp_path / "raw", record=False)
    with pytest.raises(DataError, match="holds images but dvc.yaml is the pipeline for spectra"):
        prepare(tmp_path / "raw", tmp_path / "prepared", PrepareParams(image_size=16),
                modality="spectra")
    assert not (tmp_path / "prepared").exists()
    info = prepare(tmp_path / "raw", tmp_path / "prepared", PrepareParams(image_size=16),
                   modality="images")
    assert info["modality"] == "images" and info["n_samples"] == 6


def test_spectrum_only_rows_are_marked_for_images_and_left_alone_for_spectra():
    import pandas as pd

    from gansemble_lib.core.applicability import NOT_APPLICABLE, mark_not_applicable

    frame = pd.DataFrame({"fid": [1.5]}, index=pd.MultiIndex.from_tuples(
        [("vae", "none")], names=["source", "filter"]))
    keys = [("spectrum", "none"), ("vae", "none")]
    assert mark_not_applicable(frame, keys, modality="spectra") is frame
    marked = mark_not_applicable(frame, keys, modality="images")
    assert list(marked.index) == [("vae", "none"), ("spectrum", "none")]
    assert marked.loc[("spectrum", "none"), "note"] == NOT_APPLICABLE
    assert pd.isna(marked.loc[("spectrum", "none"), "fid"])
    assert marked.loc[("vae", "none"), "fid"] == 1.5 and marked.loc[("vae", "none"), "note"] == ""


def test_image_data_keep_a_modern_cgan_when_the_profile_selects_modern_spec(tmp_path):
    # the laptop profile leaves the modern cGAN out; the full profile trains every variant
    assert list(pipeline.variants("spectra", REPO / "params.yaml")) == [
        "mpcgan_aug", "spectrum"]
    assert list(pipeline.variants("images", REPO / "params.yaml")) == ["mpcgan_aug"]
    selected = tmp_path / "params.yaml"
    selected.write_text("cgan:\n  variants: mpcgan_aug,modern_spec,spectrum\n")
    assert list(pipeline.variants("spectra", selected)) == ["mpcgan_aug", "modern_spec",
                                                            "spectrum"]
    assert list(pipeline.variants("images", selected)) == ["mpcgan_aug", "modern_aug"]
