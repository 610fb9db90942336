"""Each stage's code dependencies: the import closure of its notebook (or command) within
``gansemble_lib``, plus the generator modules ``load_generator`` imports by kind.

Modules are named by their dotted path below ``gansemble_lib`` (``evaluation.chooser``).
"""

from __future__ import annotations

import ast
from pathlib import Path

from .stages import Stage

LIB = Path(__file__).resolve().parents[1]
ROOT = LIB.parent
# Modules every stage uses for plumbing only (messages, file writing, names, the parameter
# schema whose values DVC already tracks through params.yaml, the pipeline's declaration and
# the notebooks' input reader, package files): not deps.
PLUMBING = frozenset({"__init__", "core.config", "core.params_io", "core.constants", "core.errors",
                      "core.io_utils", "core.progress", "pipeline.stages", "pipeline.inputs",
                      "pipeline.dvc_yaml",
                      "pipeline.code_deps"}
                     | {f"{p.parent.name}.__init__" for p in LIB.glob("*/__init__.py")})
# The module behind each non-notebook stage's command.
COMMAND_MODULES = {"prepare": "data.prepare"}


def module_path(module: str) -> Path:
    """The file of a dotted module below gansemble_lib (``evaluation.chooser``)."""
    return LIB.joinpath(*module.split(".")).with_suffix(".py")


def _is_module(module: str) -> bool:
    return bool(module) and module_path(module).is_file()


def _lib_imports(path: Path, package: str | None = None) -> set[str]:
    """gansemble_lib modules a file imports (relative or absolute, at any depth in the file).

    ``package``: the file's own package below gansemble_lib (``"evaluation"``; ``""`` at the
    top), needed to resolve relative imports; None for a file outside the library.
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level and package is not None:
                parts = package.split(".") if package else []
                base = parts[:len(parts) - (node.level - 1)] + (
                    node.module.split(".") if node.module else [])
            elif not node.level and (node.module or "").startswith("gansemble_lib"):
                base = node.module.split(".")[1:]
            else:
                continue
            target = ".".join(base)
            if _is_module(target):
                found.add(target)
            else:  # ``from .package import module``
                found |= {f"{target}.{a.name}" if target else a.name for a in node.names
                          if _is_module(f"{target}.{a.name}" if target else a.name)}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".", 1)[1] for a in node.names
                      if a.name.startswith("gansemble_lib.")
                      and _is_module(a.name.split(".", 1)[1])}
    return found


def module_closure(modules: set[str]) -> set[str]:
    """The modules given and every gansemble_lib module they import, transitively.

    Plumbing modules are not followed: what they import (this declaration reads the prepared
    data's modality, for instance) is not code the stage runs on its data.
    """
    seen, todo = set(), list(modules)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            if module not in PLUMBING:
                todo += _lib_imports(module_path(module), module.rpartition(".")[0])
    return seen


def code_modules(stage: Stage) -> set[str]:
    """Every library module a stage's code can run, including generators loaded by kind."""
    from ..generators.interface import KINDS

    if stage.notebook:
        entry = ROOT / "notebooks" / f"{stage.notebook}.py"
        modules = module_closure(_lib_imports(entry))
    else:
        entry = module_path(COMMAND_MODULES[stage.command])
        modules = module_closure({COMMAND_MODULES[stage.command]})
    callers = [entry] + [module_path(m) for m in modules - PLUMBING]
    if any("load_generator(" in p.read_text(encoding="utf-8") for p in callers):
        modules |= module_closure({name.split(".", 1)[1] for name in KINDS.values()})
    return modules - PLUMBING
