"""The compendium's own conventions, checked so they cannot quietly erode."""

import ast
import re
import tomllib

import pytest
import yaml

from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.py"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_thin_sources(notebook):
    source = notebook.read_text(encoding="utf-8")
    tree = ast.parse(source)
    defined = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    assert not defined, f"move {defined} into gansemble_lib"
    assert "outputs" not in source and "execution_count" not in source


def test_no_ipynb_sources_with_outputs():
    assert not list((REPO / "notebooks").glob("*.ipynb")), "sources are jupytext .py files"


def _pins(lines):
    return {re.split("==", x)[0].lower(): x for x in lines if "==" in x}


def test_environment_yml_has_the_same_pins_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    expected = _pins(project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _pins(pip_section) == expected
    assert "python=3.11" in env["dependencies"]


def test_readme_leads_with_the_two_commands_and_ci_runs_the_tests():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme.index("make reproduce") < readme.index("##", readme.index("make reproduce"))
    assert "make test" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


# Stages that make training decisions must never read the real test split.
NO_TEST_ACCESS = ["gansemble_lib/evaluation/chooser.py", "gansemble_lib/augment/images.py",
                  "notebooks/02_choose_augmentation.py",
                  *[f"gansemble_lib/{m}.py" for m in (
                      "generators/cgan", "generators/cgan_models", "evaluation/cgan_stage",
                      "augment/diffaugment", "generators/gan_training", "evaluation/gan_checks",
                      "generators/spectrum_gan")],
                  "notebooks/03_train_cgan.py"]


@pytest.mark.parametrize("path", NO_TEST_ACCESS)
def test_decision_stages_never_read_the_test_split(path):
    source = (REPO / path).read_text(encoding="utf-8")
    assert "test_for_evaluation" not in source
    assert "TEST" not in re.findall(r"\bTEST\b", source)
