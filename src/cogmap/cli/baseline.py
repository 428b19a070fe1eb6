"""``cogmap baseline``: the scores a path integrator must beat, on the same trajectories it is judged on."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from cogmap.cli.common import check_file_output, set_threads, write_text_atomic
from cogmap.cli.generate import DataFileSpec, add_generation_arguments, resolve
from cogmap.errors import CogmapError

HELP = "scores of chance and of the 'stay still' predictor on validation trajectories"
DESCRIPTION = """\
Score the trivial predictors on validation trajectories: chance (1/C) and 'stay still', which
outputs the initial place-cell code at every step and so never integrates. Trajectories are
generated from the flags (the reference settings by default) or read with --data. Prints the
scores overall and at a few time steps; --json writes them all, per step.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("baseline", help=HELP, description=DESCRIPTION)
    add_generation_arguments(p)
    p.add_argument("--data", type=Path, help="read this trajectory file instead of generating")
    p.add_argument("--split", choices=["train", "val"], default="val", help="split to score (default val)")
    p.add_argument("--json", type=Path, help="also write the scores, per time step, to this JSON file")
    p.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    p.add_argument("--workers", type=int, help="CPU threads to use")
    p.set_defaults(run=run)


def _source(args):
    """The config and the batches to score, from --data or from the generation settings."""
    from cogmap.pathint.data import TrajectoryFile, iter_generate

    if args.data is not None:
        given = [f"--{f.name.replace('_', '-')}" for f in dataclasses.fields(DataFileSpec) if getattr(args, f.name, None) is not None]
        given += (["--config"] if args.config else []) + [*args.overrides, *args.set]
        if given:
            raise CogmapError(f"--data reads a file's own parameters; drop {given[0]}")
        if args.data.is_dir():
            raise CogmapError(f"--data {args.data} is a folder; give a file written by cogmap generate")
        data = TrajectoryFile(args.data)
        split = data.split(args.split)
        return data.config, (split.trajectories(slice(start, min(len(split), start + 1024)))
                             for start in range(0, len(split), 1024))
    config, sizes = resolve(args)
    return config, iter_generate(config, sizes["n_val"] if args.split == "val" else sizes["n_train"], args.split)


def run(args) -> int:
    from cogmap.pathint.evaluate import baseline

    set_threads(args.workers)
    if args.json is not None:
        check_file_output(args.json, args.force, "--json")
    config, batches = _source(args)
    result = baseline(config, batches, args.split)
    stay, unit = result.stay_still, config.distance_unit
    print(f"{result.trajectories} {args.split} trajectories of {result.steps} steps on {config.manifold} "
          f"x{config.joints}, {config.cells} {config.kernel} cells per joint")
    print(f"chance accuracy: {result.chance_accuracy:.4f}")
    print(f"stay still: accuracy {stay.accuracy:.4f}, KL {stay.kl:.4f}, geodesic error "
          f"{stay.geodesic_error_deg:.1f} {unit} (means over all steps)")
    for t in sorted({1, result.steps // 4, result.steps // 2, result.steps} - {0}):
        print(f"  step {t:>4}: accuracy {stay.accuracy_per_step[t - 1]:.4f}, KL {stay.kl_per_step[t - 1]:.4f}, "
              f"geodesic error {stay.geodesic_error_deg_per_step[t - 1]:.1f} {unit}")
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(result.to_json(), indent=2))
        print(f"wrote {args.json}")
    return 0
