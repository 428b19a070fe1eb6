"""Trained controllers on many fresh episodes of their own task (``cogmap control evaluate``).

Every run (its last checkpoint) or checkpoint file plays the same seeded start states
deterministically (:func:`cogmap.rl.episodes.score_policy`): per run the return's mean and sd
(and on the reaching tasks the success rate and final distance), then the mean, the spread and
the median over runs, as the multi-seed tables of RESULTS.md report them.
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass
from pathlib import Path

from cogmap.errors import CogmapError, check_positive_int
from cogmap.studies.base import Result, draw_figures


@dataclass(frozen=True)
class PolicyEvaluationConfig:
    """Settings of the evaluation."""

    runs: list[str] = dataclasses.field(default_factory=list)  # run folders of `cogmap control train`, or checkpoints
    episodes: int = 1000  # per run
    seed: int = 123_456  # of the start states, the same for every run

    def __post_init__(self):
        if not self.runs:
            raise CogmapError("runs is required: one or more run folders of `cogmap control train`, or checkpoints")
        check_positive_int("episodes", self.episodes)


@dataclass(frozen=True)
class PolicyEvaluationResult(Result):
    file = "evaluation.json"
    config: PolicyEvaluationConfig
    rows: tuple  # per run: {"run", "update", "return_mean", "return_sd", ...}

    def over_runs(self) -> dict | None:
        means = [row["return_mean"] for row in self.rows]
        if len(means) < 2:
            return None
        return {"runs": len(means), "mean": statistics.fmean(means), "sd": statistics.pstdev(means),
                "median": statistics.median(means)}

    def to_json(self) -> dict:
        return {"episodes": self.config.episodes, "seed": self.config.seed, "runs": list(self.rows),
                "over_runs": self.over_runs()}

    def draw(self, folder: Path) -> list[Path]:
        from cogmap.viz.control import plot_policy_returns

        return draw_figures(folder, {"returns": plot_policy_returns(self.rows, self.config.episodes)})

    def summary(self) -> str:
        lines = []
        for row in self.rows:
            reach = (f"; success {100 * row['success_rate']:.1f}%, final distance {row['final_distance_mean']:.3f} (mean)"
                     if "success_rate" in row else "")
            lines.append(f"{row['run']}: update {row['update']}, return {row['return_mean']:.1f} +- {row['return_sd']:.1f} "
                         f"over {self.config.episodes} episodes{reach}")
        over = self.over_runs()
        if over is not None:
            lines.append(f"over {over['runs']} runs: mean {over['mean']:.1f} +- {over['sd']:.1f} "
                         f"(population sd of the run means), median {over['median']:.1f}")
        return "\n".join(lines)


def run(config: PolicyEvaluationConfig, progress: bool = True) -> PolicyEvaluationResult:
    """Every run of ``config.runs`` on the same episodes; every file is checked before any episode is played."""
    from cogmap.rl.episodes import score_policy
    from cogmap.rl.policy import load_policy

    policies = [load_policy(run) for run in config.runs]
    rows = []
    for run_, policy in zip(config.runs, policies):
        rows.append({"run": str(run_), "update": policy.update,
                     **score_policy(policy, config.episodes, config.seed)})
        if progress:
            print(f"  {run_}: return {rows[-1]['return_mean']:.1f}", flush=True)
    return PolicyEvaluationResult(config=config, rows=tuple(rows))
