"""The house rules of the package (issue 26), read from the source: every import runs down
the layers, the page notebooks import only from the report and the results store, and no
module or function outgrows its limit."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hashlib_core"
NOTEBOOKS = PACKAGE.parent / "notebooks"

#: the layers, bottom up: a module may import its own layer and those below
LAYERS = {
    "atomic": 0, "jsonable": 0, "scales": 0, "progress": 0, "cli_args": 0,
    "metrics": 1, "data": 1, "features": 1, "models": 1, "losses": 1, "methods": 1,
    "evaluation": 2, "preflight": 2, "engine": 2,
    "results": 3,
    "runner": 4,
    "report": 5,
    "reproduce": 6,
}
#: the one import that runs up, and why: the runner's command line builds the book after
#: its grid (``python -m hashlib_core.reproduce`` without ``--no-book``)
ALLOWED_UP = {("runner/cli.py", "hashlib_core.report.build")}
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _layer_of(path: Path) -> str:
    first = path.relative_to(PACKAGE).parts[0]
    return first.removesuffix(".py")


def _imports(tree: ast.AST):
    """Every ``hashlib_core`` module a tree imports, at any depth (function-level
    imports included), with its line."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "hashlib_core":
                yield from ((f"hashlib_core.{a.name}", node.lineno) for a in node.names)
            elif node.module.startswith("hashlib_core."):
                yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            yield from ((a.name, node.lineno) for a in node.names
                        if a.name.startswith("hashlib_core."))


def test_every_module_has_a_layer():
    missing = {_layer_of(p) for p in _modules()} - set(LAYERS) - {"__init__"}
    assert not missing, f"modules outside the layer map: {sorted(missing)}"


def test_no_import_runs_up_the_layers():
    up = []
    for path in _modules():
        mine = _layer_of(path)
        if mine == "__init__":
            continue
        for module, line in _imports(ast.parse(path.read_text())):
            target = module.split(".")[1]
            rel = str(path.relative_to(PACKAGE))
            if LAYERS.get(target, -1) > LAYERS[mine] and (rel, module) not in ALLOWED_UP:
                up.append(f"{rel}:{line} imports {module}")
    assert not up, "imports up the layers:\n" + "\n".join(up)


def test_the_results_store_does_not_import_the_engine():
    found = [f"{p.relative_to(PACKAGE)}:{line}" for p in (PACKAGE / "results").rglob("*.py")
             for module, line in _imports(ast.parse(p.read_text()))
             if module.startswith("hashlib_core.engine")]
    assert not found


def _notebook_imports(path: Path) -> set[str]:
    nb = json.loads(path.read_text())
    src = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    return {m for m, _ in _imports(ast.parse(src))}


@pytest.mark.parametrize("notebook", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")
                                            if p.name != "train_eval.ipynb"))
def test_a_page_imports_only_from_the_report_and_the_results_store(notebook):
    imports = _notebook_imports(NOTEBOOKS / notebook)
    others = sorted(m for m in imports if m.split(".")[1] not in ("report", "results", "data"))
    # hashlib_core.data: the protocols page lists the protocols the data layer defines
    assert not others, f"{notebook} imports {others}"


def test_the_training_notebook_is_the_runners():
    imports = _notebook_imports(NOTEBOOKS / "train_eval.ipynb")
    assert not any(m.startswith("hashlib_core.report") for m in imports)


def test_no_module_or_function_outgrows_its_limit():
    too_long = []
    for path in _modules():
        text = path.read_text()
        rel = path.relative_to(PACKAGE)
        if text.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{rel}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    too_long.append(f"{rel}:{node.lineno} {node.name}: {n} lines")
    assert not too_long, "\n".join(too_long)


def test_every_module_says_what_it_is():
    silent = [str(p.relative_to(PACKAGE)) for p in _modules()
              if p.stat().st_size and not ast.get_docstring(ast.parse(p.read_text()))]
    assert not silent, f"modules without a docstring: {silent}"
