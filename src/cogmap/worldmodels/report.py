"""Tables of evaluated world models: mean and standard deviation over seeds, one row per configuration.

Besides the ranking and equivariance measures, each joint's equivariant part
(:func:`cogmap.worldmodels.train.equivariant_part`): the residual's mean and sd, and the rank of
every seed in turn.

A run folder of ``cogmap equivariance train`` that was evaluated (``evaluation/evaluation.json``)
counts as one seed of the configuration its parent folder is named after
(``runs/equivariance/<config>/seed<k>``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

from cogmap.errors import CogmapError

# (column, where in evaluation.json, scale): percentages for ranks, raw numbers for the errors
COLUMNS = (
    ("H@1 1 step (%)", ("1_step_pessimistic", "hits@1"), 100),
    ("H@1 {T} steps (%)", ("{T}_step_pessimistic", "hits@1"), 100),
    ("MRR 1 step (%)", ("1_step_pessimistic", "mrr"), 100),
    ("MRR {T} steps (%)", ("{T}_step_pessimistic", "mrr"), 100),
    ("EE", ("ee",), 1),
    ("DIE 1 step", ("die_1_step",), 1),
    ("DIE {T} steps", ("die_{T}_step",), 1),
)


def _evaluations(paths: Iterable[str | Path]) -> list[tuple[str, Path, dict]]:
    found = []
    for path in map(Path, paths):
        if not path.exists():
            raise CogmapError(f"{path} does not exist")
        runs = [path] if (path / "evaluation" / "evaluation.json").exists() else \
            sorted(p for p in path.iterdir() if (p / "evaluation" / "evaluation.json").exists()) if path.is_dir() else []
        if not runs:
            raise CogmapError(f"{path}: no evaluated run here (run cogmap equivariance evaluate on it first)")
        for run in runs:
            file = run / "evaluation" / "evaluation.json"
            try:
                result = json.loads(file.read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                raise CogmapError(f"{file}: not a readable evaluation ({error})") from None
            steps = result.get("steps") if isinstance(result, dict) else None
            if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1 or "ee" not in result:
                raise CogmapError(f"{file}: not an evaluation of a world model")
            found.append((run.resolve().parent.name, run, result))
    return found


def _value(result: dict, keys: tuple, steps: int):
    value = result
    for key in keys:
        value = value.get(key.format(T=steps)) if isinstance(value, dict) else None
    return value


def _mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1; 0 for one value)."""
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0


def summarize(paths: Iterable[str | Path]) -> list[dict]:
    """One row per configuration: its seeds and, per column, the mean and standard deviation (n - 1) over them."""
    groups: dict[str, list[dict]] = {}
    for name, _, result in _evaluations(paths):
        groups.setdefault(name, []).append(result)
    rows = []
    for name, results in groups.items():
        steps = results[0]["steps"]
        if any(r["steps"] != steps for r in results):
            raise CogmapError(f"{name}: its runs were evaluated over different numbers of steps")
        row = {"config": name, "runs": len(results), "steps": steps, "trajectories": results[0].get("trajectories")}
        for column, keys, scale in COLUMNS:
            values = [_value(r, keys, steps) for r in results]
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in values):
                raise CogmapError(f"{name}: an evaluation lacks {'/'.join(keys).format(T=steps)} or it is not a number")
            row[column.format(T=steps)] = _mean_sd([scale * float(v) for v in values])
        parts = [r.get("equivariant_part") for r in results]
        if all(parts):
            try:
                residuals_by_joint = {joint: [float(p[joint]["residual"]) for p in parts] for joint in parts[0]}
                ranks_by_joint = {joint: [int(p[joint]["rank"]) for p in parts] for joint in parts[0]}
            except (KeyError, TypeError, ValueError):
                raise CogmapError(f"{name}: an evaluation's equivariant_part is malformed") from None
            for joint, residuals in residuals_by_joint.items():
                row[f"residual {joint}"] = _mean_sd(residuals)
                row[f"rank {joint}"] = ",".join(map(str, ranks_by_joint[joint]))
        rows.append(row)
    return rows


def markdown_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    columns = list(dict.fromkeys(c for row in rows for c in row if c not in ("config", "runs", "steps", "trajectories")))
    lines = ["| config | runs | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            if isinstance(value, tuple):
                digits = 1 if "%" in column else 3
                value = f"{value[0]:.{digits}f} ± {value[1]:.{digits}f}"
            cells.append(value)
        lines.append(f"| {row['config']} | {row['runs']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
