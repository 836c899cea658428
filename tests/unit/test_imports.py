"""The package's import graph, read from the source (ast): the house the README's layout
table describes. Every import points down the order of ROOMS; no circle; no import hidden
in a function but of an optional dependency; no function over 80 lines; no private name
imported from another module."""
import ast
import re
from pathlib import Path

import pytest

import modadd

SRC = Path(modadd.__file__).resolve().parent
README = SRC.parents[1] / "README.md"
#: The rooms, lowest first, as the README's layout table orders them: a module may import
#: from its own room and the rooms before it (and the package root, ``modadd/__init__``).
ROOMS = ("core", "cache", "analysis", "forces", "particles", "runs", "studies", "book", "plots", "widget",
         "teaching", "__main__")
#: Third-party modules that may be imported inside a function: the optional dependencies
#: (pyproject.toml's extras), imported where they are used so the core installs without them.
OPTIONAL = {"anywidget", "traitlets", "nbgrader", "nbformat", "nbclient", "jupytext", "jupyter_cache", "yaml",
            "dask", "distributed"}
MAX_LINES = 80


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def resolve(importer: str, node: ast.ImportFrom | ast.Import) -> list[tuple[str, list[str]]]:
    """(absolute module, names imported from it) for each target of an import statement."""
    if isinstance(node, ast.Import):
        return [(a.name, []) for a in node.names]
    base = node.module or ""
    if node.level:
        pkg = importer.split(".") if MODULES[importer].name == "__init__.py" else importer.split(".")[:-1]
        pkg = pkg[:len(pkg) - node.level + 1]
        base = ".".join(pkg + ([base] if base else []))
    out = [(base, [a.name for a in node.names])]
    out += [(f"{base}.{a.name}", []) for a in node.names if f"{base}.{a.name}" in MODULES]
    return out


def imports():
    """(importer, target module, names, inside a function?, line) for every import in src/."""
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        inside = set()
        for f in ast.walk(tree):
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inside |= {id(n) for n in ast.walk(f) if n is not f}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target, names in resolve(name, node):
                    yield name, target, names, id(node) in inside, node.lineno


def room(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "modadd" or len(parts) == 1:
        return None                      # another package, or the package root
    return ROOMS.index(parts[1])


def internal_edges():
    return {(a, b) for a, b, _, _, _ in imports() if b in MODULES and b != "modadd" and a != b
            and not b.startswith(a + ".")}      # a package's __init__ importing its own modules


def test_every_module_is_in_a_room_and_the_readme_names_the_rooms_in_order():
    assert {room(m) for m in MODULES if m != "modadd"} == set(range(len(ROOMS)))
    row = next(line for line in README.read_text().splitlines() if line.startswith("| `src/modadd/`"))
    found = [row.index(f"**`{r}/`**" if (SRC / r).is_dir() else f"**`{r}`**") for r in ROOMS]
    assert found == sorted(found), "the README's layout table lists the rooms in another order"


def test_imports_point_down_the_rooms():
    up = [f"{a} imports {b}" for a, b in internal_edges() if room(a) is not None and room(b) is not None
          and room(b) > room(a)]
    assert not up


def test_no_import_circle():
    graph = {}
    for a, b in internal_edges():
        graph.setdefault(a, set()).add(b)
    state, circles = {}, []

    def visit(m, path):
        state[m] = "open"
        for n in sorted(graph.get(m, ())):
            if state.get(n) == "open":
                circles.append(path[path.index(n):] + [n])
            elif n not in state:
                visit(n, path + [n])
        state[m] = "done"
    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not circles


def lazy_allowed() -> set[str]:
    """The package modules that need an optional dependency: those importing one at their
    top level, directly or through another such module (e.g. ``teaching.classroom``: nbformat).
    A function may import them (``python -m modadd sweep`` runs without the classroom's)."""
    top = [(a, b) for a, b, _, inside, _ in imports() if not inside]
    needs = {a for a, b in top if b.split(".")[0] in OPTIONAL}
    while True:
        more = {a for a, b in top if b in needs} - needs
        if not more:
            return needs
        needs |= more


def test_imports_inside_functions_are_of_optional_dependencies_only():
    allowed = lazy_allowed()
    statements = {}                       # (module, line): the statement's targets
    for a, b, _, inside, line in imports():
        if inside:
            statements.setdefault((a, line), []).append(b)
    hidden = [f"{a}:{line} imports {', '.join(bs)}" for (a, line), bs in statements.items()
              if not any(b.split(".")[0] in OPTIONAL or b in allowed for b in bs)]
    assert not hidden


def test_no_private_name_is_imported_from_another_module():
    private = [f"{a}:{line} imports {b}.{n}" for a, b, names, _, line in imports() if b.startswith("modadd")
               for n in names if n.startswith("_") and not n.startswith("__")]
    assert not private


def test_no_function_is_longer_than_80_lines():
    long = []
    for name, path in MODULES.items():
        for f in ast.walk(ast.parse(path.read_text())):
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.end_lineno - f.lineno + 1 > MAX_LINES:
                long.append(f"{name}.{f.name}: {f.end_lineno - f.lineno + 1} lines")
    assert not long


def test_the_checks_can_fail(tmp_path, monkeypatch):
    """Each rule finds a planted breach."""
    bad = tmp_path / "modadd"
    (bad / "core").mkdir(parents=True)
    (bad / "__init__.py").write_text("")
    (bad / "core" / "__init__.py").write_text("")
    (bad / "core" / "a.py").write_text("from ..plots import x\nfrom .b import _hidden\n"
                                       "def f():\n    import numpy\n" + "    pass\n" * 80)
    (bad / "core" / "b.py").write_text("from . import a\n")
    (bad / "plots.py").write_text("")
    monkeypatch.setattr(__import__(__name__), "SRC", bad)
    monkeypatch.setattr(__import__(__name__), "MODULES", {module_name(p): p for p in sorted(bad.rglob("*.py"))})
    for test in (test_imports_point_down_the_rooms, test_no_import_circle,
                 test_imports_inside_functions_are_of_optional_dependencies_only,
                 test_no_private_name_is_imported_from_another_module, test_no_function_is_longer_than_80_lines):
        with pytest.raises(AssertionError):
            test()
