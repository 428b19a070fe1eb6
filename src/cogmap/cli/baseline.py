"""``cogmap baseline``: the scores a path integrator must beat, on the same trajectories it is judged on."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import torch

from cogmap.cli.common import set_threads, write_text_atomic
from cogmap.errors import CogmapError
from cogmap.cli.generate import add_generation_arguments, resolve
from cogmap.pathint.data import GenerationConfig, TrajectoryFile, iter_generate
from cogmap.pathint.metrics import accuracy, kl_divergence, stay_still_prediction

_GENERATION_KEYS = [f.name for f in dataclasses.fields(GenerationConfig)] + ["n_train", "n_val"]

HELP = "scores of chance and of the 'stay still' predictor on validation trajectories"
DESCRIPTION = """\
Score the trivial predictors on validation trajectories: chance (1/C) and 'stay still', which
outputs the initial place-cell code at every step and so never integrates. Trajectories are
generated from the flags (the seed's settings by default) or read with --data. Prints the
scores overall and at a few time steps; --json writes them all, per step.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("baseline", help=HELP, description=DESCRIPTION)
    add_generation_arguments(p)
    p.add_argument("--data", type=Path, help="read this trajectory file instead of generating")
    p.add_argument("--split", choices=["train", "val"], default="val", help="split to score (default val)")
    p.add_argument("--json", type=Path, help="also write the scores, per time step, to this JSON file")
    p.add_argument("--workers", type=int, help="CPU threads to use")
    p.set_defaults(run=run)


def _batches(args):
    if args.data is not None:
        given = [k for k in _GENERATION_KEYS if getattr(args, k, None) is not None] + (["config"] if args.config else [])
        if given:
            raise CogmapError(f"--data reads a file's own parameters; drop --{given[0].replace('_', '-')}")
        data = TrajectoryFile(args.data)
        split = data.split(args.split)
        n = len(split)
        for start in range(0, n, 1024):
            yield data.config, split.trajectories(slice(start, min(n, start + 1024)))
        return
    config, sizes = resolve(args)
    n = sizes["n_val"] if args.split == "val" else sizes["n_train"]
    for chunk in iter_generate(config, n, args.split):
        yield config, chunk


def run(args) -> int:
    set_threads(args.workers)
    total, count = None, 0
    for config, chunk in _batches(args):
        steps = chunk.velocities.shape[1]
        stay = stay_still_prediction(chunk.initial_code, steps)
        kl = kl_divergence(chunk.targets, torch.log(stay), config.joints).sum(0)
        acc = accuracy(chunk.targets, stay, config.joints).sum(0)
        start = chunk.initial_states[:, None].expand_as(chunk.states)
        error = config.space.distance(start, chunk.states).mean(-1).sum(0)
        part = torch.stack([kl, acc, error]).double()
        total = part if total is None else total + part
        count += len(chunk)
    kl, acc, error = (total / count).unbind(0)
    chance = 1.0 / config.cells
    scores = {
        "trajectories": count, "steps": steps, "split": args.split, "config": config.to_dict(),
        "chance_accuracy": chance,
        "stay_still": {"accuracy": float(acc.mean()), "kl": float(kl.mean()),
                       "geodesic_error_deg": float(error.mean()) * 180 / math.pi,
                       "accuracy_per_step": acc.tolist(), "kl_per_step": kl.tolist(),
                       "geodesic_error_deg_per_step": (error * 180 / math.pi).tolist()},
    }
    print(f"{count} {args.split} trajectories of {steps} steps on {config.manifold} x{config.joints}, "
          f"{config.cells} {config.kernel} cells per joint")
    print(f"chance accuracy: {chance:.4f}")
    print(f"stay still: accuracy {scores['stay_still']['accuracy']:.4f}, KL {scores['stay_still']['kl']:.4f}, "
          f"geodesic error {scores['stay_still']['geodesic_error_deg']:.1f} deg (means over all steps)")
    for t in sorted({1, steps // 4, steps // 2, steps}):
        if t >= 1:
            print(f"  step {t:>4}: accuracy {float(acc[t - 1]):.4f}, KL {float(kl[t - 1]):.4f}, "
                  f"geodesic error {float(error[t - 1]) * 180 / math.pi:.1f} deg")
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(scores, indent=2))
        print(f"wrote {args.json}")
    return 0
