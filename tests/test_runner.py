"""Running one stage's notebook: the output is replaced only by a finished run."""

from __future__ import annotations

import shutil

import nbformat
import papermill
import pytest
from papermill.exceptions import PapermillExecutionError

from gansemble_lib.core.errors import DataError
from gansemble_lib.pipeline import runner
from tests.conftest import REPO


@pytest.fixture
def project(tmp_path, monkeypatch):
    shutil.copytree(REPO / "notebooks", tmp_path / "notebooks")
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _papermill_that(fails: bool, cells_done: int = 2):
    """A stand-in for papermill: saves the notebook cell by cell (as papermill does), then
    finishes or raises in the last cell."""
    def execute(notebook, output_path, **kwargs):
        node = nbformat.v4.new_notebook()
        for i in range(cells_done):
            node.cells.append(nbformat.v4.new_code_cell(f"step {i}"))
            nbformat.write(node, output_path)
        if fails:
            raise PapermillExecutionError(cell_index=1, exec_count=cells_done, source="x",
                                          ename="ValueError", evalue="broken", traceback=[])
        return node
    return execute


def test_a_failed_run_leaves_the_last_good_notebook_and_keeps_its_own_aside(project,
                                                                            monkeypatch):
    out = runner.executed_path("explore")
    monkeypatch.setattr(papermill, "execute_notebook", _papermill_that(fails=False))
    runner.run_notebook("explore")
    good = out.read_bytes()
    assert len(nbformat.reads(good.decode(), as_version=4).cells) == 2

    monkeypatch.setattr(papermill, "execute_notebook", _papermill_that(True, cells_done=1))
    with pytest.raises(DataError, match="failed in cell 1: ValueError: broken") as error:
        runner.run_notebook("explore")
    assert out.read_bytes() == good  # the output was never touched
    failed = runner.failed_path(out)
    assert failed.is_file() and str(failed) in str(error.value)
    assert len(nbformat.read(failed, as_version=4).cells) == 1
    assert not list(runner.FAILED_DIR.rglob("*.running.ipynb"))  # no partial left behind

    monkeypatch.setattr(papermill, "execute_notebook", _papermill_that(fails=False))
    runner.run_notebook("explore")
    assert not failed.exists()  # a later success clears the failure
