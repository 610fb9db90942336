"""The compendium's own conventions, checked so they cannot quietly erode."""

import ast
import re
import tomllib

import pytest
import yaml

from tests.conftest import REPO

DVC = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.py"))


def _substitute(value, key: str, item: dict):
    """``${key}`` and ``${item.x}`` filled in, as DVC does for each entry of a foreach."""
    if isinstance(value, str):
        value = value.replace("${key}", key)
        return re.sub(r"\$\{item\.(\w+)\}", lambda m: str(item[m.group(1)]), value)
    if isinstance(value, list):
        return [_substitute(v, key, item) for v in value]
    if isinstance(value, dict):
        return {_substitute(k, key, item): _substitute(v, key, item) for k, v in value.items()}
    return value


def _expand(stages: dict) -> dict:
    """Every stage by name, a foreach stage as one ``name@key`` stage per entry."""
    out = {}
    for name, stage in stages.items():
        if "foreach" not in stage:
            out[name] = stage
            continue
        for key, item in stage["foreach"].items():
            out[f"{name}@{key}"] = _substitute(stage["do"], key, item)
    return out


STAGES = _expand(DVC["stages"])


def _parameters_cell(source: str) -> str:
    match = re.search(r'# %% tags=\["parameters"\]\n(.*?)\n# %%', source, re.S)
    assert match, "no cell tagged 'parameters'"
    return match.group(1)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_thin_sources(notebook):
    source = notebook.read_text(encoding="utf-8")
    tree = ast.parse(source)
    defined = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    assert not defined, f"move {defined} into gansemble_lib"
    assert "outputs" not in source and "execution_count" not in source


def test_no_ipynb_sources_with_outputs():
    assert not list((REPO / "notebooks").glob("*.ipynb")), "sources are jupytext .py files"


@pytest.mark.parametrize("name", [n for n, s in STAGES.items() if "papermill" in s["cmd"]])
def test_stage_parameters_are_declared_and_exist(name):
    stage = STAGES[name]
    cmd = stage["cmd"]
    notebook = re.search(r"(notebooks/\S+\.py)", cmd).group(1)
    cell = _parameters_cell((REPO / notebook).read_text(encoding="utf-8"))
    declared = {line.split(":")[0].strip() for line in cell.splitlines() if ":" in line}
    passed = set(re.findall(r"-[pr] (\w+) ", cmd))
    assert passed == declared, f"papermill -p keys {passed} != parameters cell {declared}"
    templated = set(re.findall(r"\$\{([\w.]+)\}", cmd))
    assert templated <= set(stage.get("params", [])), "every ${...} must be listed in params"
    assert notebook in stage["deps"]


def test_stage_dependencies_exist():
    """Source dependencies must exist; data/, models/ and reports/ are pipeline outputs."""
    for name, stage in STAGES.items():
        for dep in stage.get("deps", []):
            if not dep.startswith(("data/", "models/", "reports/", "${")):
                assert (REPO / dep).exists(), f"stage {name}: dependency {dep} is missing"


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
NO_TEST_ACCESS = ["gansemble_lib/chooser.py", "gansemble_lib/augment.py",
                  "notebooks/02_choose_augmentation.py",
                  *[f"gansemble_lib/{m}.py" for m in ("cgan", "cgan_models", "cgan_stage",
                                                      "diffaugment", "gan_training", "gan_checks",
                                                      "spectrum_gan")],
                  "notebooks/03_train_cgan.py"]


@pytest.mark.parametrize("path", NO_TEST_ACCESS)
def test_decision_stages_never_read_the_test_split(path):
    source = (REPO / path).read_text(encoding="utf-8")
    assert "test_for_evaluation" not in source
    assert "TEST" not in re.findall(r"\bTEST\b", source)


# Modules every stage uses for plumbing only (messages, file writing, names, the parameter
# schema whose values DVC already tracks through params.yaml): not listed as stage deps.
PLUMBING = {"__init__", "config", "constants", "errors", "io_utils"}
LIB = REPO / "gansemble_lib"


def _lib_imports(path) -> set[str]:
    """gansemble_lib modules a file imports (relative or absolute, at any depth in the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.level == 1 or (
                node.module or "").startswith("gansemble_lib")):
            parts = (node.module or "").split(".")
            parts = parts[1:] if parts[0] == "gansemble_lib" else parts
            found |= {parts[0]} if parts and parts[0] else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names
                      if a.name.startswith("gansemble_lib.")}
    return {m for m in found if (LIB / f"{m}.py").is_file()}


def _closure(modules: set[str]) -> set[str]:
    seen, todo = set(), list(modules)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += _lib_imports(LIB / f"{module}.py")
    return seen


def _stage_modules(stage: dict) -> set[str]:
    """Every library module a stage's code can run, including generators loaded by kind."""
    from gansemble_lib.generators import KINDS

    notebook = re.search(r"(notebooks/\S+\.py)", stage["cmd"])
    if notebook:
        entry = REPO / notebook.group(1)
        modules = _closure(_lib_imports(entry))
    else:  # python -m gansemble_lib <command>: the command's module
        command = re.search(r"gansemble_lib (\w+)", stage["cmd"]).group(1)
        entry = LIB / f"{command}.py"
        modules = _closure({command})
    callers = [entry] + [LIB / f"{m}.py" for m in modules - {"generators"}]
    if any("load_generator(" in p.read_text(encoding="utf-8") for p in callers):
        modules |= _closure({name.split(".")[1] for name in KINDS.values()})
    return modules - PLUMBING


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_list_exactly_the_library_code_the_stage_runs(name):
    """A stale dvc.lock must not hide a code change: every module a stage imports (transitively)
    is a dependency, and no module it never imports is (that would rerun it needlessly)."""
    stage = STAGES[name]
    listed = {dep.removeprefix("gansemble_lib/").removesuffix(".py")
              for dep in stage["deps"] if dep.startswith("gansemble_lib/")}
    needed = _stage_modules(stage)
    assert not needed - listed, f"add to {name}.deps: {sorted(needed - listed)}"
    assert not listed - needed, f"{name} never imports {sorted(listed - needed)}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_parameters_cover_their_config_section(notebook):
    """``from_notebook(section, globals())`` needs every field of the section in the cell."""
    import dataclasses

    from gansemble_lib.config import SECTIONS

    source = notebook.read_text(encoding="utf-8")
    sections = re.findall(r'from_notebook\("(\w+)", globals\(\)\)', source)
    declared = {line.split(":")[0].strip() for line in _parameters_cell(source).splitlines()
                if ":" in line}
    for section in sections:
        fields = {f.name for f in dataclasses.fields(SECTIONS[section])}
        assert fields <= declared, f"{notebook.name}: declare {sorted(fields - declared)}"
