"""The folds stage keeps folds/ between runs only while the data and parameters stay the same."""

from __future__ import annotations

import shutil

import yaml

from gansemble_lib.pipeline import folds
from tests.conftest import REPO


def _setting(tmp_path, change=None):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    if change:
        change(params)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return folds.settings_fingerprint("spectra", path, tmp_path / "prepared")


def test_the_fingerprint_follows_the_per_fold_settings_only(tmp_path):
    (tmp_path / "prepared").mkdir()
    (tmp_path / "prepared" / "folds.csv").write_text("sample_id,r0f0\n1,train\n")
    base = _setting(tmp_path)
    assert _setting(tmp_path) == base
    assert _setting(tmp_path, lambda p: p["cgan"].update(steps=7)) != base
    assert _setting(tmp_path, lambda p: p["evaluation"].update(null_repeats=9)) != base
    # a stage outside the folds (stage 01's figures) does not touch the per-fold results
    assert _setting(tmp_path, lambda p: p["explore"].update(
        {next(iter(p["explore"])): "changed"})) == base
    (tmp_path / "prepared" / "folds.csv").write_text("sample_id,r0f0\n1,test\n")
    assert _setting(tmp_path) != base


def test_files_of_other_settings_are_removed_before_a_run_and_kept_for_the_same(tmp_path):
    root = tmp_path / "folds"
    assert not folds.start_clean_if_settings_changed("a" * 64, root)  # nothing there yet
    (root / "r0f4" / "models").mkdir(parents=True)
    (root / "r0f4" / "models" / "old.pt").write_bytes(b"x")
    assert not folds.start_clean_if_settings_changed("a" * 64, root)  # same: resume
    assert (root / "r0f4" / "models" / "old.pt").is_file()
    assert folds.start_clean_if_settings_changed("b" * 64, root)  # other settings: emptied
    assert sorted(p.name for p in root.iterdir()) == [folds.SETTINGS_FILE]
    shutil.rmtree(root)
    (root / "r0f0").mkdir(parents=True)  # files of unknown settings (no fingerprint)
    assert folds.start_clean_if_settings_changed("b" * 64, root)
