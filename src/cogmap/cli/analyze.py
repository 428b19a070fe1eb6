"""``cogmap analyze``: what the hidden states of a trained path integrator encode."""

from __future__ import annotations

import json
from pathlib import Path

from cogmap.cli.common import (
    add_output_arguments,
    check_count,
    create_output_dir,
    output_dir,
    set_threads,
    source_label,
    write_text_atomic,
)

HELP = "PCA, t-SNE, tuning curves and a linear probe of a trained model's hidden states"
DESCRIPTION = """\
Run a checkpoint on fresh validation trajectories (200 by default, its own data settings),
then: PCA of the hidden states (spectrum, cumulative variance, components for 95%,
participation ratio); 2-D PCA and t-SNE scatters coloured by the true state (each joint's
rotation angle and axis on SO(3), its angles on tori, its position in a box); single-trajectory
paths; tuning curves of the most selective units; and the held-out R^2 of a linear probe of
the states (rotation matrices on SO(3)). Figures and summary.json go to --out (default
runs/analyze/<checkpoint name>). About 15 s at the defaults on 2 CPU cores (t-SNE is most of
it; --tsne-points 0 skips it).
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("analyze", help=HELP, description=DESCRIPTION)
    p.add_argument("checkpoint", type=Path, help="a .ckpt written by cogmap train (or in pretrained/)")
    p.add_argument("--trajectories", type=int, default=200, help="validation trajectories (default 200)")
    p.add_argument("--tsne-points", dest="tsne_points", type=int, default=4000,
                   help="points embedded by t-SNE (default 4000; 0 skips t-SNE)")
    p.add_argument("--seed", type=int, default=0, help="seed of the t-SNE subsample, the probe split and t-SNE")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    add_output_arguments(p, "runs/analyze/<checkpoint name>")
    p.add_argument("--workers", type=int, help="CPU threads to use")
    p.set_defaults(run=run)


def run(args) -> int:
    from tqdm.auto import tqdm

    from cogmap.devices import resolve_device
    from cogmap.pathint.analyze import analyze_model, check_tsne_points
    from cogmap.pathint.model import load_path_integrator
    from cogmap.viz import plots

    set_threads(args.workers)
    check_count("--trajectories", args.trajectories)
    check_tsne_points(args.tsne_points, "--tsne-points")
    model = load_path_integrator(args.checkpoint, resolve_device(args.device, "--device"))
    out = output_dir(args.out, Path("runs/analyze") / source_label(args.checkpoint), args.force)
    with tqdm(total=2, desc="analysing hidden states", unit="stage") as bar:
        result = analyze_model(model, model.generation, args.trajectories, args.tsne_points, seed=args.seed)
        bar.update()
        name = f"{args.checkpoint.name} ({model.hparams.cell.upper()}, {model.hparams.hidden} units)"
        n, steps = result.hidden.shape[:2]
        flat = result.flat_features
        first = next(iter(result.features))
        figures = {
            "pca_spectrum": plots.plot_pca_spectrum(result.pca, title=name),
            "pca_scatter": plots.plot_scatter_by_features(result.pca_points, flat,
                                                          title=f"{name}: PCA of {n * steps} hidden states"),
            "single_trajectories": plots.plot_single_trajectories(
                result.pca_points.reshape(n, steps, 2), result.features[first],
                title=f"{name}: single trajectories in PCA space", label=first),
        }
        if result.tsne_points is not None:
            figures["tsne_scatter"] = plots.plot_scatter_by_features(
                result.tsne_points, {k: v[result.tsne_index] for k, v in flat.items()}, size=3,
                title=f"{name}: t-SNE of {len(result.tsne_index)} hidden states")
        if result.tuning:
            figures["tuning_curves"] = plots.plot_tuning_curves(result.tuning, title=f"{name}: most selective units")
        bar.update()
    create_output_dir(out, args.force)
    for figure_name, figure in figures.items():
        plots.save_figure(figure, out / f"{figure_name}.png")
    summary = result.to_json()
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=1))
    print(f"{n} trajectories x {steps} steps, {summary['units']} units")
    print(f"PCA: 95% of variance in {summary['pca']['components_for_95_percent']} components, "
          f"participation ratio {summary['pca']['participation_ratio']:.1f}")
    print("linear probe R^2 (the states, held-out trajectories): "
          + ", ".join(f"{k} {v:.3f}" for k, v in summary["linear_probe_r2"].items()))
    print(f"wrote {out / 'summary.json'} and figures in {out}")
    return 0
