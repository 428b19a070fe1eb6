"""``cogmap equivariance``: world models of rotating bodies with symmetric embeddings (Park et al. 2022)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cogmap.cli.common import (
    ArgumentParser,
    add_config_arguments,
    add_study_arguments,
    run_study,
    settings_epilog,
    trainer_config,
)
from cogmap.files import write_text_atomic
from cogmap.runs import check_run_folder, process_rank
from cogmap.studies.world_models import AmbiguityConfig, EvaluationConfig, SamplesConfig
from cogmap.worldmodels.train import WorldModelConfig

HELP = ("world models of rotating bodies and of pushed objects: symmetric embeddings and an equivariant transition "
        "(Park et al. 2022)")
DESCRIPTION = """\
  train    render (observation, action, next observation) of a domain's body (domain=teapot:
           a rigid object on SO(3); arm: the two-joint arm on SO(3) x SO(3); planar_arm: on
           SO(2) x SO(2)) turned one joint at a time by fixed rotations, and train an encoder
           with an equivariant transition (transition=matmul, the SEN of Park et al. 2022) or
           an MLP transition (transition=none, the baseline) by C-SWM's contrastive loss;
           writes config.yaml, metrics.csv and checkpoints/ (model.pt) to --out; --resume continues.
           domain=shapes or cubes: C-SWM's grid world of pushed objects (2-D shapes, 3-D cubes),
           an object-slot model whose encoder and graph transition are equivariant to the grid's
           quarter turns (transition=matmul, SEN), not at all (none, C-SWM) or from the pixels
           on (full); train_actions=[up] for the unseen-action test.
  evaluate next-state prediction on fresh trajectories of all the domain's actions: Hits@k
           and MRR at 1 and --steps steps (ties counted against the model, and by the
           published rule), the encoder's equivariance error (EE), the distance-invariance
           error (DIE) and each joint's equivariant part (the residual and rank of the best
           equivariant map z = M R^T); evaluation.json and a figure of the latents to --out
           (default: the run folder's evaluation/). actions=[...] restricts the test actions (push
           directions in the grid world); Hits@1 is broken down by the first action. A grid-world
           model's EE and DIE are under a quarter turn of the world, its figure each slot's latent
           by its object's cell.
  table    mean and standard deviation over seeds of evaluated runs, one row per config
           (runs/equivariance/<config>/seed<k>), as a Markdown table.
  samples  a figure of one random trajectory of each domain (samples.png), the grid world's too.
  ambiguity how often a domain's pose renders more like a far pose than like itself turned a
           little (the identifiability of its images).
Load a trained model in Python with cogmap.load(RUN_DIR or model.pt): it takes the images its domain renders.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("equivariance", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(title="actions", metavar="ACTION", parser_class=ArgumentParser)
    t = sub.add_parser("train", help="train a world model of a rotating body",
                       description="Train a world model. Settings from --config (a YAML mapping of WorldModelConfig "
                                   "fields, e.g. configs/equivariance/teapot_sen.yaml) and KEY=VALUE overrides. "
                                   "Writes config.yaml, metrics.csv, checkpoints/resume.ckpt after every epoch and "
                                   "checkpoints/model.pt at the end; --resume continues an interrupted run (epochs "
                                   "may be raised) to the bytes an uninterrupted one gives.")
    add_config_arguments(t, "transition=none epochs=5", "YAML file of world-model settings")
    t.add_argument("--out", type=Path, help="run folder (default runs/equivariance/<config name>/seed<seed>)")
    t.add_argument("--force", action="store_true", help="replace a run already in --out")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last epoch")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(run=run_train, settings=WorldModelConfig)
    t.epilog = settings_epilog(WorldModelConfig)
    e = sub.add_parser("evaluate", help="Hits@k, MRR, EE and DIE of a trained world model",
                       description="Evaluate a trained world model (its run folder or model.pt) on fresh trajectories. "
                                   "Settings are keys of EvaluationConfig (cogmap.studies.world_models): "
                                   "trajectories=1000, steps=10, seed=12345, device=cpu. Writes config.yaml, "
                                   "evaluation.json and latent_rotations.png.")
    add_study_arguments(e, EvaluationConfig, "the run folder's evaluation/",
                        source=("source", "a run folder of equivariance train, or model.pt"))
    e.set_defaults(run=run_evaluate)
    b = sub.add_parser("table", help="mean and sd over seeds of evaluated runs, one row per config",
                       description="Tabulate evaluated runs: each RUN is a run folder or a folder of seed folders.")
    b.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="run folders, or config folders holding them")
    b.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    b.set_defaults(run=run_table)
    f = sub.add_parser("samples", help="a figure of a random trajectory of each domain",
                       description="Draw one random trajectory of every domain, frame by frame. Settings are keys of "
                                   "SamplesConfig: domains=[teapot,arm,planar_arm], size=32, steps=7, seed=3. Writes "
                                   "config.yaml, samples.json and samples.png.")
    add_study_arguments(f, SamplesConfig, "runs/equivariance_samples")
    f.set_defaults(run=run_samples)
    a = sub.add_parser("ambiguity", help="how identifiable a domain's poses are from its images",
                       description="For random poses: is some pose more than `far` degrees away rendered closer to it "
                                   "than `ratio` times the pose itself turned by `near` degrees? Settings are keys of "
                                   "AmbiguityConfig: domain=teapot (or arm, planar_arm), size=32, queries=500, "
                                   "references=20000, near=10, far=45, ratio=0.5, seed=0. Writes config.yaml and "
                                   "ambiguity.json.")
    add_study_arguments(a, AmbiguityConfig, "runs/equivariance_ambiguity/<domain>",
                        source=("domain", "teapot, arm or planar_arm"))
    a.set_defaults(run=run_ambiguity)


def run_train(args) -> int:
    from cogmap.worldmodels.train import evaluate, summary_line, train

    config = trainer_config(args, WorldModelConfig)
    if args.quiet:
        config.progress = False
    name = args.config.stem if args.config is not None else f"{config.domain}_{config.transition}"
    out = args.out or Path("runs/equivariance") / name / f"seed{config.seed}"
    if process_rank() > 0:  # a later process of a multi-process run: it trains its share in rank 0's folder
        train(config, out, force=args.force, resume=args.resume)
        return 0
    check_run_folder(out, args.force, args.resume)
    model = train(config, out, force=args.force, resume=args.resume)
    model.config = config
    print("quick check on 200 fresh trajectories: " + summary_line(evaluate(model.eval(), 200, 10), 10))
    print(f"wrote config.yaml, metrics.csv and checkpoints/model.pt in {out}")
    return 0


def run_evaluate(args) -> int:
    from cogmap.studies.world_models import default_evaluation_folder, evaluate

    return run_study(args, evaluate, lambda config: default_evaluation_folder(config.source))


def run_table(args) -> int:
    from cogmap.worldmodels.report import markdown_table, summarize

    table = markdown_table(summarize(args.runs))
    print(table, end="")
    if args.out is not None:
        write_text_atomic(args.out, table)
    return 0


def run_ambiguity(args) -> int:
    from cogmap.studies.world_models import ambiguity

    return run_study(args, ambiguity, lambda config: Path("runs/equivariance_ambiguity") / config.domain)


def run_samples(args) -> int:
    from cogmap.studies.world_models import samples

    return run_study(args, samples, lambda config: Path("runs/equivariance_samples"))
