"""The library's families form layers: a module imports only from its own family and from the
families below it (docs/library.md), so a newcomer can read the tree bottom-up and a stage's
DVC code dependencies stay what it runs."""

from __future__ import annotations

import pytest

from gansemble_lib.pipeline.code_deps import LIB, _lib_imports

LAYERS = ("core", "data", "augment", "generators", "evaluation", "reporting", "pipeline")
MODULES = sorted(p.relative_to(LIB).with_suffix("").as_posix().replace("/", ".")
                 for p in LIB.glob("*/*.py"))


def test_every_module_lives_in_a_family():
    assert {p.name for p in LIB.glob("*.py")} == {"__init__.py", "__main__.py", "cli.py"}
    assert {m.split(".")[0] for m in MODULES} == set(LAYERS)


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_only_from_its_layer_and_below(module):
    family = module.split(".")[0]
    imported = _lib_imports(LIB.joinpath(*module.split(".")).with_suffix(".py"), family)
    above = {m for m in imported
             if m.split(".")[0] in LAYERS and LAYERS.index(m.split(".")[0]) > LAYERS.index(family)}
    assert not above, f"{module} imports from a higher layer: {sorted(above)}"


def test_the_checker_sees_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from ..evaluation.chooser import choose\n", encoding="utf-8")
    assert _lib_imports(bad, "data") == {"evaluation.chooser"}
