"""``cogmap evaluate``: score a checkpoint per time step, next to chance, stay-still and the decoding floor."""

from __future__ import annotations

from pathlib import Path

from cogmap.cli.common import add_study_arguments, run_study, source_label
from cogmap.studies import path_integration
from cogmap.studies.path_integration import EvaluationConfig

HELP = "evaluate a trained path integrator against chance, stay-still and the decoding floor"
DESCRIPTION = """\
Evaluate a checkpoint on fresh validation trajectories of its own data settings, at the
training length and at `long` steps (generalisation in time). Writes config.yaml, metrics.json
and per-step figures to --out (default runs/evaluate/<checkpoint name>) and prints a summary.
Settings are keys of EvaluationConfig (cogmap.studies.path_integration), as KEY=VALUE or in
--config: trajectories=5000, seq_len (the model's), long (5x training; 0 skips it), decode=256,
device=cpu. About 75 s at the defaults on 2 CPU cores (decoding poses is most of it).
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help=HELP, description=DESCRIPTION)
    add_study_arguments(p, EvaluationConfig, "runs/evaluate/<checkpoint name>",
                        source=("checkpoint", "a .ckpt written by cogmap train (or in pretrained/), or its run folder"))
    p.set_defaults(run=run)


def run(args) -> int:
    return run_study(args, path_integration.run,
                     lambda config: Path("runs/evaluate") / source_label(Path(config.checkpoint)))
