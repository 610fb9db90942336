"""The colophon says "+dirty" only when code differs from the commit, not the run's outputs."""

from __future__ import annotations

import subprocess

from gansemble_lib.reporting.colophon import git_commit


def _git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_dirty_means_code_not_the_runs_own_outputs(tmp_path):
    _git(tmp_path, "init", "-q")
    for name in ("code.py", "README.md"):
        (tmp_path / name).write_text("a\n")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "table.md").write_text("a\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x")
    head = git_commit(tmp_path)
    assert not head.endswith("+dirty")
    (tmp_path / "reports" / "table.md").write_text("b\n")  # a rerun rewrote its outputs
    (tmp_path / "README.md").write_text("b\n")
    assert git_commit(tmp_path) == head
    (tmp_path / "code.py").write_text("b\n")  # the code that ran is not HEAD's
    assert git_commit(tmp_path) == head + "+dirty"
