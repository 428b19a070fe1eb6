"""``cogmap equivariance``: world models of a rotating object with symmetric embeddings (seed 004)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cogmap.cli.common import ArgumentParser, add_config_arguments, check_count, create_output_dir, output_dir, overrides

HELP = "world models of a rotating object: symmetric embeddings and an equivariant transition (seed 004)"
DESCRIPTION = """\
  train    render (observation, action, next observation) of the teapot-like rigid object
           turned by fixed rotations about the world's axes, and train an encoder with an
           equivariant transition (transition=matmul, the SEN of Park et al. 2022) or an MLP
           transition (transition=none, the baseline) by C-SWM's contrastive loss; writes
           config.yaml, metrics.csv and model.pt to --out.
  evaluate next-state prediction on fresh trajectories of all six actions: Hits@k and MRR
           at 1 and --steps steps (ties counted against the model, and by the published
           rule), the encoder's equivariance error (EE) and the distance-invariance error
           (DIE); evaluation.json and a figure of the latents to --out.
Load a trained model in Python with cogmap.worldmodels.load_world_model(RUN_DIR or model.pt).
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("equivariance", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(title="actions", metavar="ACTION", parser_class=ArgumentParser)
    t = sub.add_parser("train", help="train a world model of the rotating object",
                       description="Train a world model. Settings from --config (a YAML mapping of WorldModelConfig "
                                   "fields, e.g. configs/equivariance/teapot_sen.yaml) and KEY=VALUE overrides.")
    add_config_arguments(t, "transition=none epochs=5", "YAML file of world-model settings")
    t.add_argument("--seed", type=int, help="seed of the run (overrides the config's)")
    t.add_argument("--out", type=Path, help="run folder (default runs/equivariance/<config name>/seed<seed>)")
    t.add_argument("--force", action="store_true", help="replace a run already in --out")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(run=run_train)
    e = sub.add_parser("evaluate", help="Hits@k, MRR, EE and DIE of a trained world model",
                       description="Evaluate a trained world model (its run folder or model.pt) on fresh trajectories.")
    e.add_argument("source", type=Path, metavar="RUN_OR_MODEL", help="a run folder of equivariance train, or model.pt")
    e.add_argument("--trajectories", type=int, default=1000, help="test trajectories (default 1000)")
    e.add_argument("--steps", type=int, default=10, help="actions per test trajectory (default 10)")
    e.add_argument("--seed", type=int, default=12_345, help="seed of the test trajectories (default 12345)")
    e.add_argument("--out", type=Path, help="output folder (default: the run folder's evaluation/)")
    e.add_argument("--force", action="store_true", help="replace an earlier evaluation in --out")
    e.set_defaults(run=run_evaluate)


def run_train(args) -> int:
    from cogmap.worldmodels.train import evaluate, load_world_model_config, summary_line, train

    words = overrides(args) + ([f"seed={args.seed}"] if args.seed is not None else [])
    config = load_world_model_config(args.config, words)
    if args.quiet:
        config.progress = False
    name = args.config.stem if args.config is not None else f"teapot_{config.transition}"
    out = output_dir(args.out, Path("runs/equivariance") / name / f"seed{config.seed}", args.force)
    create_output_dir(out, args.force)
    model = train(config, out)
    model.config = config
    print("quick check on 200 fresh trajectories: " + summary_line(evaluate(model.eval(), 200, 10), 10))
    print(f"wrote config.yaml, metrics.csv and model.pt in {out}")
    return 0


def run_evaluate(args) -> int:
    import json

    from cogmap.files import write_text_atomic
    from cogmap.viz.worldmodels import plot_latent_rotations
    from cogmap.worldmodels.train import evaluate, latent_rotations, load_world_model, summary_line

    check_count("--trajectories", args.trajectories, 2)
    check_count("--steps", args.steps)
    model = load_world_model(args.source)
    default = (args.source if args.source.is_dir() else args.source.parent) / "evaluation"
    out = output_dir(args.out, default, args.force)
    result = evaluate(model, args.trajectories, args.steps, args.seed)
    create_output_dir(out, args.force)
    write_text_atomic(out / "evaluation.json", json.dumps(result, indent=1))
    plot_latent_rotations(latent_rotations(model, seed=args.seed), out / "latent_rotations.png")
    print(summary_line(result, args.steps))
    print(f"wrote evaluation.json and latent_rotations.png in {out}")
    return 0
