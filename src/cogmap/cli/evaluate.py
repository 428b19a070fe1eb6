"""``cogmap evaluate``: score a checkpoint per time step, next to chance, stay-still and the decoding floor."""

from __future__ import annotations

import json
from pathlib import Path

from cogmap.cli.common import set_threads, write_text_atomic
from cogmap.errors import CogmapError

HELP = "evaluate a trained path integrator against chance, stay-still and the decoding floor"
DESCRIPTION = """\
Evaluate a checkpoint on fresh validation trajectories of its own data settings, at the
training length and at --long steps (generalisation in time). Writes metrics.json and
per-step figures to <checkpoint>_evaluation/ beside the checkpoint and prints a summary.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help=HELP, description=DESCRIPTION)
    p.add_argument("checkpoint", type=Path, help="a .ckpt written by cogmap train")
    p.add_argument("--n", type=int, default=5000, help="validation trajectories (default 5000)")
    p.add_argument("--seq-len", dest="seq_len", type=int, help="steps at 'training length' (default: the model's)")
    p.add_argument("--long", type=int, default=None, help="steps of the long evaluation (default 5x training; 0 to skip)")
    p.add_argument("--decode", type=int, default=256, help="trajectories whose poses are decoded (default 256)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--out", type=Path, help="output folder (default <checkpoint>_evaluation)")
    p.add_argument("--workers", type=int, help="CPU threads to use")
    p.set_defaults(run=run)


def load_checkpoint(path: Path, device: str = "cpu"):
    from cogmap.pathint.model import StateEstimationModel

    if not path.is_file():
        raise CogmapError(f"{path}: no such checkpoint")
    try:
        return StateEstimationModel.load_from_checkpoint(path, map_location=device).eval()
    except (RuntimeError, KeyError, EOFError, ValueError) as error:
        raise CogmapError(f"{path}: not a cogmap checkpoint ({error.__class__.__name__})") from None


def run(args) -> int:
    from cogmap.pathint.data import GenerationConfig
    from cogmap.pathint.evaluate import check_finite_results, evaluate, table
    from cogmap.viz.plots import plot_evaluation

    set_threads(args.workers)
    model = load_checkpoint(args.checkpoint, args.device)
    generation = GenerationConfig.from_dict(model.hparams.generation)
    out = args.out or args.checkpoint.with_name(args.checkpoint.stem + "_evaluation")
    lengths = {"train_length": args.seq_len or generation.seq_len}
    long = generation.seq_len * 5 if args.long is None else args.long
    if long:
        lengths["long"] = long
    report = {"checkpoint": str(args.checkpoint)}
    for name, steps in lengths.items():
        results = evaluate(model, generation, n=args.n, seq_len=steps, n_decode=args.decode)
        check_finite_results(results)
        report[name] = results
        print(f"-- {name}: {steps} steps\n{table(results)}")
        plot_evaluation(results, out / f"{name}.png", title=f"{args.checkpoint.name}: {steps} steps")
    write_text_atomic(out / "metrics.json", json.dumps(report, indent=1))
    print(f"wrote {out / 'metrics.json'} and figures in {out}")
    return 0
