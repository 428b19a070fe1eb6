"""``cogmap equivariance``: world models of rotating bodies with symmetric embeddings (Park et al. 2022)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cogmap.cli.common import ArgumentParser, add_config_arguments, check_count, create_output_dir, output_dir, overrides
from cogmap.errors import CogmapError

HELP = "world models of rotating bodies: symmetric embeddings and an equivariant transition (Park et al. 2022)"
DESCRIPTION = """\
  train    render (observation, action, next observation) of a domain's body (domain=teapot:
           a rigid object on SO(3); arm: the two-joint arm on SO(3) x SO(3); planar_arm: on
           SO(2) x SO(2)) turned one joint at a time by fixed rotations, and train an encoder
           with an equivariant transition (transition=matmul, the SEN of Park et al. 2022) or
           an MLP transition (transition=none, the baseline) by C-SWM's contrastive loss;
           writes config.yaml, metrics.csv and model.pt to --out.
  evaluate next-state prediction on fresh trajectories of all the domain's actions: Hits@k
           and MRR at 1 and --steps steps (ties counted against the model, and by the
           published rule), the encoder's equivariance error (EE), the distance-invariance
           error (DIE) and each joint's equivariant part (the residual and rank of the best
           equivariant map z = M R^T); evaluation.json and a figure of the latents to --out.
  table    mean and standard deviation over seeds of evaluated runs, one row per config
           (runs/equivariance/<config>/seed<k>), as a Markdown table.
  samples  a figure of one random trajectory of each domain.
  ambiguity how often a domain's pose renders more like a far pose than like itself turned a
           little (the identifiability of its images).
Load a trained model in Python with cogmap.worldmodels.load_world_model(RUN_DIR or model.pt).
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("equivariance", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(title="actions", metavar="ACTION", parser_class=ArgumentParser)
    t = sub.add_parser("train", help="train a world model of a rotating body",
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
    b = sub.add_parser("table", help="mean and sd over seeds of evaluated runs, one row per config",
                       description="Tabulate evaluated runs: each RUN is a run folder or a folder of seed folders.")
    b.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="run folders, or config folders holding them")
    b.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    b.set_defaults(run=run_table)
    f = sub.add_parser("samples", help="a figure of a random trajectory of each domain",
                       description="Draw one random trajectory of every domain (or --domains), frame by frame.")
    f.add_argument("--out", type=Path, required=True, help="the figure (.png, .pdf, .svg)")
    f.add_argument("--domains", nargs="+", default=["teapot", "arm", "planar_arm"], help="domains to draw")
    f.add_argument("--size", type=int, default=32, help="image side (default 32)")
    f.add_argument("--steps", type=int, default=7, help="actions per trajectory (default 7)")
    f.add_argument("--seed", type=int, default=3)
    f.set_defaults(run=run_samples)
    a = sub.add_parser("ambiguity", help="how identifiable a domain's poses are from its images",
                       description="For random poses: is some pose more than --far degrees away rendered closer to it "
                                   "than --ratio times the pose itself turned by --near degrees?")
    a.add_argument("domain", help="teapot, arm or planar_arm")
    a.add_argument("--size", type=int, default=32, help="image side (default 32)")
    a.add_argument("--queries", type=int, default=500, help="poses tested (default 500)")
    a.add_argument("--references", type=int, default=20_000, help="random poses searched (default 20000)")
    a.add_argument("--near", type=float, default=10.0, help="small turn, degrees (default 10)")
    a.add_argument("--far", type=float, default=45.0, help="far-away poses, degrees (default 45)")
    a.add_argument("--ratio", type=float, default=0.5,
                   help="ambiguous: a far pose renders closer than RATIO times the small turn (default 0.5)")
    a.add_argument("--seed", type=int, default=0)
    a.set_defaults(run=run_ambiguity)


def run_train(args) -> int:
    from cogmap.runs import check_run_folder
    from cogmap.worldmodels.train import evaluate, load_world_model_config, summary_line, train

    words = overrides(args) + ([f"seed={args.seed}"] if args.seed is not None else [])
    config = load_world_model_config(args.config, words)
    if args.quiet:
        config.progress = False
    name = args.config.stem if args.config is not None else f"{config.domain}_{config.transition}"
    out = check_run_folder(args.out or Path("runs/equivariance") / name / f"seed{config.seed}", args.force)
    model = train(config, out, force=args.force)
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
    ranks = ", ".join(str(j["rank"]) for j in result["equivariant_part"].values())
    plot_latent_rotations(latent_rotations(model, seed=args.seed), out / "latent_rotations.png",
                          title=f"how the latent turns when a joint turns (its equivariant part has rank {ranks}; "
                                f"a rank-1 latent leaves the Kabsch angle undetermined)")
    print(summary_line(result, args.steps))
    print(f"wrote evaluation.json and latent_rotations.png in {out}")
    return 0


def run_table(args) -> int:
    from cogmap.files import write_text_atomic
    from cogmap.worldmodels.report import markdown_table, summarize

    table = markdown_table(summarize(args.runs))
    print(table, end="")
    if args.out is not None:
        write_text_atomic(args.out, table)
    return 0


def run_ambiguity(args) -> int:
    import json
    import math

    from cogmap.worldmodels.domains import get_domain, pose_ambiguity

    domain = get_domain(args.domain)
    check_count("--size", args.size, 2)
    check_count("--queries", args.queries)
    check_count("--references", args.references)
    if not 0 < args.near < args.far:
        raise CogmapError(f"need 0 < --near < --far, got {args.near} and {args.far}")
    if not args.ratio > 0:
        raise CogmapError(f"--ratio must be positive, got {args.ratio}")
    result = pose_ambiguity(domain, args.size, args.queries, args.references, math.radians(args.near),
                            math.radians(args.far), args.seed, args.ratio)
    print(json.dumps(result))
    return 0


def run_samples(args) -> int:
    from cogmap.viz.worldmodels import plot_trajectories
    from cogmap.worldmodels.data import trajectories
    from cogmap.worldmodels.domains import get_domain

    check_count("--size", args.size, 2)
    check_count("--steps", args.steps)
    rows, captions = {}, {}
    for name in args.domains:
        domain = get_domain(name)
        data = trajectories(1, args.steps, None, size=args.size, seed=args.seed, domain=domain)
        rows[name] = data.observations[0, :, 0]
        captions[name] = ["start"] + [domain.action_names[int(a)] for a in data.actions[0]]
    plot_trajectories(rows, args.out, captions=captions,
                      title=f"{args.size} x {args.size} pixels: {args.steps} random 30-degree actions each")
    print(f"wrote {args.out}")
    return 0
