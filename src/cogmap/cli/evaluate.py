"""``cogmap evaluate``: score a checkpoint per time step, next to chance, stay-still and the decoding floor."""

from __future__ import annotations

import json
from pathlib import Path

from cogmap.cli.common import add_output_arguments, create_output_dir, output_dir, set_threads, source_label, write_text_atomic

HELP = "evaluate a trained path integrator against chance, stay-still and the decoding floor"
DESCRIPTION = """\
Evaluate a checkpoint on fresh validation trajectories of its own data settings, at the
training length and at --long steps (generalisation in time). Writes metrics.json and
per-step figures to --out (default runs/evaluate/<checkpoint name>) and prints a summary.
About 75 s at the defaults on 2 CPU cores (decoding poses is most of it).
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help=HELP, description=DESCRIPTION)
    p.add_argument("checkpoint", type=Path, help="a .ckpt written by cogmap train (or in pretrained/)")
    p.add_argument("--n", type=int, default=5000, help="validation trajectories (default 5000)")
    p.add_argument("--seq-len", dest="seq_len", type=int, help="steps at 'training length' (default: the model's)")
    p.add_argument("--long", type=int, default=None, help="steps of the long evaluation (default 5x training; 0 to skip)")
    p.add_argument("--decode", type=int, default=256, help="trajectories whose poses are decoded (default 256)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    add_output_arguments(p, "runs/evaluate/<checkpoint name>")
    p.add_argument("--workers", type=int, help="CPU threads to use")
    p.set_defaults(run=run)


def run(args) -> int:
    from cogmap.devices import resolve_device
    from cogmap.pathint.evaluate import check_evaluation_arguments, evaluate
    from cogmap.pathint.model import load_path_integrator
    from cogmap.viz.plots import plot_evaluation, save_figure

    set_threads(args.workers)
    check_evaluation_arguments(args.n, args.seq_len, args.long, args.decode,
                               {"n": "--n", "seq_len": "--seq-len", "long": "--long", "n_decode": "--decode"})
    model = load_path_integrator(args.checkpoint, resolve_device(args.device, "--device"))
    out = output_dir(args.out, Path("runs/evaluate") / source_label(args.checkpoint), args.force)
    generation = model.generation
    lengths = {"train_length": args.seq_len or generation.seq_len}
    long = generation.seq_len * 5 if args.long is None else args.long
    if long:
        lengths["long"] = long
    report = {"checkpoint": str(args.checkpoint)}
    figures = {}
    for name, steps in lengths.items():
        result = evaluate(model, generation, n=args.n, seq_len=steps, n_decode=args.decode, progress=True)
        report[name] = result.to_json()
        print(f"-- {name}: {steps} steps\n{result.table()}", flush=True)
        figures[name] = plot_evaluation(result, title=f"{args.checkpoint.name}: {steps} steps")
    create_output_dir(out, args.force)
    for name, figure in figures.items():
        save_figure(figure, out / f"{name}.png")
    write_text_atomic(out / "metrics.json", json.dumps(report, indent=1))
    print(f"wrote {out / 'metrics.json'} and figures in {out}")
    return 0
