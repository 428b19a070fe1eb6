"""``cogmap baseline``: the scores a path integrator must beat, on the same trajectories it is judged on."""

from __future__ import annotations

from pathlib import Path

from cogmap.cli.common import add_study_arguments, run_study
from cogmap.studies.path_integration import BaselineConfig, baseline

HELP = "scores of chance and of the 'stay still' predictor on validation trajectories"
DESCRIPTION = """\
Score the trivial predictors on validation trajectories: chance (1/C) and 'stay still', which
outputs the initial place-cell code at every step and so never integrates. Settings are keys of
BaselineConfig (cogmap.studies.path_integration): data (a file written by cogmap generate, read
with its own settings; the first word may name it), or `trajectories` fresh ones (5000) of the
section `generation` (the reference settings by default); split=val (or train). Prints the
scores overall and at a few time steps; writes config.yaml, baseline.json (every step) and
baseline.png to --out (default runs/baseline/<data or split>).
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("baseline", help=HELP, description=DESCRIPTION)
    add_study_arguments(p, BaselineConfig, "runs/baseline/<data or split>",
                        source=("data", "a trajectory file written by cogmap generate"))
    p.set_defaults(run=run)


def run(args) -> int:
    return run_study(args, baseline, lambda config: Path("runs/baseline") / (Path(config.data).stem if config.data
                                                                                else f"generated_{config.split}"))
