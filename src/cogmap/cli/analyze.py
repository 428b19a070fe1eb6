"""``cogmap analyze``: what the hidden states of a trained path integrator encode."""

from __future__ import annotations

import json
from pathlib import Path

from cogmap.cli.common import set_threads, write_text_atomic

HELP = "PCA, t-SNE, tuning curves and a linear probe of a trained model's hidden states"
DESCRIPTION = """\
Run a checkpoint on fresh validation trajectories (200 by default, its own data settings),
then: PCA of the hidden states (spectrum, cumulative variance, components for 95%,
participation ratio); 2-D PCA and t-SNE scatters coloured by the true rotation angle and axis
of each joint; single-trajectory paths; tuning curves of the units most selective for each
joint's rotation angle; and the held-out R^2 of a linear probe of the rotation matrices.
Figures and summary.json go to <checkpoint>_analysis/ beside the checkpoint.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("analyze", help=HELP, description=DESCRIPTION)
    p.add_argument("checkpoint", type=Path, help="a .ckpt written by cogmap train")
    p.add_argument("--trajectories", type=int, default=200, help="validation trajectories (default 200)")
    p.add_argument("--tsne-points", dest="tsne_points", type=int, default=4000, help="points embedded by t-SNE (default 4000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the t-SNE subsample, the probe split and t-SNE")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--out", type=Path, help="output folder (default <checkpoint>_analysis)")
    p.add_argument("--workers", type=int, help="CPU threads to use")
    p.set_defaults(run=run)


def run(args) -> int:
    from cogmap.cli.evaluate import load_checkpoint
    from cogmap.pathint.analyze import analyze_model
    from cogmap.pathint.data import GenerationConfig
    from cogmap.viz import plots

    set_threads(args.workers)
    model = load_checkpoint(args.checkpoint, args.device)
    generation = GenerationConfig.from_dict(model.hparams.generation)
    out = args.out or args.checkpoint.with_name(args.checkpoint.stem + "_analysis")
    result = analyze_model(model, generation, args.trajectories, args.tsne_points, seed=args.seed)
    name = f"{args.checkpoint.name} ({model.hparams.cell.upper()}, {model.hparams.hidden} units)"
    n, steps = result["hidden"].shape[:2]
    plots.plot_pca_spectrum(result["pca"], out / "pca_spectrum.png", title=name)
    plots.plot_scatter_by_features(result["pca_points"], result["flat_features"], out / "pca_scatter.png",
                                   title=f"{name}: PCA of {n * steps} hidden states")
    subset = {k: v[result["tsne_index"]] for k, v in result["flat_features"].items()}
    plots.plot_scatter_by_features(result["tsne_points"], subset, out / "tsne_scatter.png", size=3,
                                   title=f"{name}: t-SNE of {len(result['tsne_index'])} hidden states")
    plots.plot_single_trajectories(result["pca_points"].reshape(n, steps, 2), result["features"]["joint1 angle"],
                                   out / "single_trajectories.png", title=f"{name}: single trajectories in PCA space",
                                   label="joint 1 angle")
    plots.plot_tuning_curves(result["tuning"], out / "tuning_curves.png", title=f"{name}: most selective units")
    write_text_atomic(out / "summary.json", json.dumps(result["summary"], indent=1))
    s = result["summary"]
    print(f"{n} trajectories x {steps} steps, {s['units']} units")
    print(f"PCA: 95% of variance in {s['pca']['components_for_95_percent']} components, "
          f"participation ratio {s['pca']['participation_ratio']:.1f}")
    print("linear probe R^2 (rotation matrices, held-out trajectories): "
          + ", ".join(f"{k} {v:.3f}" for k, v in s["linear_probe_r2_rotation_matrices"].items()))
    print(f"wrote {out / 'summary.json'} and figures in {out}")
    return 0
