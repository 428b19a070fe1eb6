"""Checks of the code base itself: lint-clean, and lower layers never import higher ones."""

import ast
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "cogmap"

# Each package and what it may import from cogmap (DESIGN.md: data flows one way).
BASE = {"errors", "files", "config", "typed", "devices", "trainer", "runs"}
ALLOWED = {
    "geometry": BASE | {"geometry"},
    "motion": BASE | {"geometry", "motion"},
    "cells": BASE | {"geometry", "cells"},
    "analysis": BASE | {"analysis"},
    "pathint": BASE | {"geometry", "motion", "cells", "analysis", "pathint"},
    "treeworld": BASE | {"geometry", "motion", "cells", "analysis", "treeworld"},
    # The reaching arm moves on SO(3) and observes a pretrained path integrator's state.
    "envs": BASE | {"geometry", "pathint", "envs"},
    "rl": BASE | {"geometry", "envs", "rl"},
    # Studies sit above every package they study and draw their own figures; only the CLI is above them.
    "studies": BASE | {"geometry", "cells", "analysis", "envs", "rl", "pathint", "treeworld", "worldmodels", "loading",
                       "viz", "studies"},
    "control": BASE | {"envs", "rl"},  # the names of the package before its split, re-exported
    "worldmodels": BASE | {"geometry", "analysis", "worldmodels"},
    "viz": BASE | {"viz"},
    "loading.py": BASE | {"loading", "pathint", "rl", "worldmodels"},  # cogmap.load: above every trainer
}


def cogmap_imports(path: Path) -> set[str]:
    """The cogmap packages a module imports (``cogmap.x.y`` -> ``x``), at any depth of the module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "cogmap" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_lower_layers_never_import_higher_ones():
    wrong = []
    for package, allowed in ALLOWED.items():
        modules = [SOURCE / package] if package.endswith(".py") else sorted((SOURCE / package).rglob("*.py"))
        for module in modules:
            for imported in cogmap_imports(module) - allowed:
                wrong.append(f"{module.relative_to(SOURCE)} imports cogmap.{imported}")
    for module in (SOURCE / name for name in ("errors.py", "files.py", "config.py", "typed.py", "devices.py", "trainer.py", "runs.py")):
        wrong += [f"{module.name} imports cogmap.{i}" for i in cogmap_imports(module) - BASE]
    assert not wrong, "\n".join(wrong)


def module_graph() -> dict[str, set[str]]:
    """Every module of cogmap and the cogmap modules it imports (at any depth: inside functions too).

    ``from cogmap.a import b`` is an edge to ``cogmap.a.b`` when that is a module, else to
    ``cogmap.a`` (its ``__init__``).
    """
    def name_of(path: Path) -> str:
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    modules = {name_of(path): path for path in SOURCE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name.startswith("cogmap.")}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("cogmap"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    edges.add(full if full in modules else node.module)
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan): the import circles."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_in_a_circle():
    # An import inside a function to dodge a circle is still a circle: the graph counts those too.
    assert circles(module_graph()) == []


def test_the_circle_check_finds_circles_and_nothing_else():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []
    assert sorted(circles({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}})) == [["a", "b"], ["c", "d"]]


def test_the_layer_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from cogmap.cli.main import main\n    import cogmap.viz.plots\n")
    assert cogmap_imports(module) == {"cli", "viz"}


def test_code_is_lint_clean():
    root = SOURCE.parents[1]
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks"], cwd=root,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_library_leaves_matplotlib_and_warnings_as_it_found_them():
    # A notebook's backend and warning filters must survive importing and using cogmap's figures.
    script = """
import sys, warnings, matplotlib
matplotlib.use("svg")
import numpy as np, scipy.stats, sklearn.linear_model, torch, tqdm.auto  # these add filters of their own
filters = list(warnings.filters)
from cogmap.viz import control, plots, treeworld
from cogmap.analysis import pca_summary
plots.plot_pca_spectrum(pca_summary(np.random.default_rng(0).normal(size=(50, 4))))
treeworld.plot_survival({"a": np.linspace(1, 0, 10)})
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert "matplotlib.pyplot" not in sys.modules
assert warnings.filters == filters
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
