"""Checks of the code base itself: lint-clean, and lower layers never import higher ones."""

import ast
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "cogmap"

# Each package and what it may import from cogmap (DESIGN.md: data flows one way).
BASE = {"errors", "files", "typed", "devices", "trainer"}
ALLOWED = {
    "geometry": BASE | {"geometry"},
    "motion": BASE | {"geometry", "motion"},
    "cells": BASE | {"geometry", "cells"},
    "analysis": BASE | {"analysis"},
    "pathint": BASE | {"geometry", "motion", "cells", "analysis", "pathint"},
    "treeworld": BASE | {"geometry", "motion", "cells", "analysis", "treeworld"},
    # The reaching arm (issue 20) moves on SO(3) and observes a pretrained path integrator's state.
    "control": BASE | {"geometry", "pathint", "analysis", "control"},
    "worldmodels": BASE | {"geometry", "analysis", "worldmodels"},
    "viz": BASE | {"viz"},
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
        for module in sorted((SOURCE / package).rglob("*.py")):
            for imported in cogmap_imports(module) - allowed:
                wrong.append(f"{module.relative_to(SOURCE)} imports cogmap.{imported}")
    for module in (SOURCE / name for name in ("errors.py", "files.py", "typed.py", "devices.py", "trainer.py")):
        wrong += [f"{module.name} imports cogmap.{i}" for i in cogmap_imports(module) - BASE]
    assert not wrong, "\n".join(wrong)


def test_the_layer_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from cogmap.cli.main import main\n    import cogmap.viz.plots\n")
    assert cogmap_imports(module) == {"cli", "viz"}


def test_code_is_lint_clean():
    root = SOURCE.parents[1]
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks", "experiments"], cwd=root,
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
