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
from cogmap.errors import CogmapError

HELP = "PCA, t-SNE, tuning curves and a linear probe of a trained model's hidden states"
DESCRIPTION = """\
Run a checkpoint on fresh validation trajectories (200 by default, its own data settings),
then: PCA of the hidden states (spectrum, cumulative variance, components for 95%,
participation ratio); 2-D PCA and t-SNE scatters coloured by the true state (each joint's
rotation angle and axis on SO(3), its angles on tori, its position in a box); single-trajectory
paths; tuning curves of the most selective units; and the held-out R^2 of a linear probe of
the states (rotation matrices on SO(3)). Figures and summary.json go to --out (default
runs/analyze/<checkpoint name>). About 15 s at the defaults on 2 CPU cores for these (t-SNE is
most of it; --tsne-points 0 skips it), plus about a minute for the SO(3) analyses below (0 skips
each) or 15 s for the grid analysis.

Models on SO(3) also get the harmonic analysis (harmonics.png, summary.json's "harmonics"):
each unit's variance per degree of the Wigner harmonics up to --harmonics-degree, as a function
of each joint's rotation and of both joints together (up to degree 2), the fraction of units
peaking at degree 1 (smooth, place-like) or at 2 or more (periodic), beside an untrained network
of the same shape and the place-cell code itself.

They also get the symmetry test (symmetry.png, summary.json's "symmetry"): each joint's whole
trajectory turned by a random rotation on the left (--symmetry-elements of them), which leaves the
network's inputs unchanged and moves only its start; a linear map rho(g) from the states of the
original runs to those of the turned runs is fitted on 1,000 trajectories and tested on 300 others:
equivariance error, distance-invariance error and the change rho leaves unexplained, beside the
poses themselves, the place-cell code and an untrained network.

With ripser installed (pip install 'cogmap[topology]') they get the persistent homology of
their states (topology.png, summary.json's "topology"), one joint moving and the other still:
--topology-trajectories states (one per trajectory) reduced to 9 principal components, their
densest 90%, --topology-landmarks max-min landmarks, Rips persistence in H1-H3 with Z/2 and Z/3
coefficients; a class counts when it stands above a clear gap and outlives the longest bar of a
coordinate-shuffled copy. Beside the raw states: their tuning map (each state averaged over
the 20 nearest poses, as a rate map averages over visits), an untrained network's tuning map,
the poses (RP^3: 1, 1, 1 classes with Z/2, 0, 0, 1 with Z/3) and the place-cell code. About
2 minutes for two joints; --arm-landmarks adds the whole arm (H1 only).

Models of one position in a box or one joint on the 2-torus also get the grid-cell analysis
(Banino et al. 2018): every hidden unit's rate map over --grid-trajectories fresh trajectories
(--bins a side, the mean activity per bin), its spatial autocorrelogram and grid scores
(60 and 90 degrees, the reference's annuli), the most grid-like units (grid_units.png), the
score histograms (grid_scores.png), and the position decoded from the predicted place cells
(mean of the 3 most active centres) against holding the start position and guessing the
arena's centre (position_error.png); summary.json's "grid" section has the numbers.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("analyze", help=HELP, description=DESCRIPTION)
    p.add_argument("checkpoint", type=Path, help="a .ckpt written by cogmap train (or in pretrained/)")
    p.add_argument("--trajectories", type=int, default=200, help="validation trajectories (default 200)")
    p.add_argument("--tsne-points", dest="tsne_points", type=int, default=4000,
                   help="points embedded by t-SNE (default 4000; 0 skips t-SNE)")
    p.add_argument("--seed", type=int, default=0, help="seed of the t-SNE subsample, the probe split and t-SNE")
    p.add_argument("--grid-trajectories", dest="grid_trajectories", type=int, default=5000,
                   help="trajectories for the rate maps of box and torus models (default 5000)")
    p.add_argument("--bins", type=int, default=20, help="rate-map bins per side (default 20, the reference's)")
    p.add_argument("--harmonics-degree", dest="harmonics_degree", type=int, default=4,
                   help="highest Wigner degree fitted per joint for SO(3) models (default 4; 0 skips the analysis)")
    p.add_argument("--harmonics-trajectories", dest="harmonics_trajectories", type=int, default=12_000,
                   help="trajectories for the harmonic fits, one independent pose each (default 12000)")
    p.add_argument("--symmetry-elements", dest="symmetry_elements", type=int, default=4,
                   help="random rotations for the symmetry test of SO(3) models (default 4; 0 skips it)")
    p.add_argument("--topology-landmarks", dest="topology_landmarks", type=int, default=None,
                   help="landmarks of the persistent-homology clouds of SO(3) models (default 100 when ripser is "
                        "installed, else skipped with a note; 0 skips)")
    p.add_argument("--topology-trajectories", dest="topology_trajectories", type=int, default=3000,
                   help="trajectories (one state each) of the topology clouds (default 3000)")
    p.add_argument("--arm-landmarks", dest="arm_landmarks", type=int, default=0,
                   help="landmarks of the whole arm's clouds, H1 only (default 0 skips: SO(3) x SO(3) needs "
                        "over 1000, minutes each)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    add_output_arguments(p, "runs/analyze/<checkpoint name>")
    p.add_argument("--workers", type=int, help="CPU threads to use")
    p.set_defaults(run=run)


def ripser_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ripser") is not None


def run(args) -> int:
    from tqdm.auto import tqdm

    from cogmap.devices import resolve_device
    from cogmap.pathint.analyze import analyze_model, check_tsne_points
    from cogmap.pathint.harmonics import harmonic_analysis
    from cogmap.pathint.model import load_path_integrator
    from cogmap.pathint.spatial import spatial_analysis
    from cogmap.pathint.symmetry import symmetry_errors
    from cogmap.pathint.topology import progress_steps, topology_analysis
    from cogmap.viz import plots

    set_threads(args.workers)
    check_count("--trajectories", args.trajectories)
    check_count("--grid-trajectories", args.grid_trajectories)
    check_count("--harmonics-trajectories", args.harmonics_trajectories)
    if args.bins < 2:
        raise CogmapError(f"--bins must be at least 2, got {args.bins}")
    if args.symmetry_elements < 0:
        raise CogmapError(f"--symmetry-elements must be 0 (skip) or more, got {args.symmetry_elements}")
    if not 0 <= args.harmonics_degree <= 8:
        raise CogmapError(f"--harmonics-degree must be between 0 (skip) and 8, got {args.harmonics_degree}")
    check_tsne_points(args.tsne_points, "--tsne-points")
    check_count("--topology-trajectories", args.topology_trajectories)
    topology_landmarks = args.topology_landmarks
    for flag, value in (("--topology-landmarks", topology_landmarks), ("--arm-landmarks", args.arm_landmarks)):
        if value is not None and not 0 <= value <= args.topology_trajectories:
            raise CogmapError(f"{flag} must be 0 (skip) to --topology-trajectories ({args.topology_trajectories}), "
                              f"got {value}")
    if topology_landmarks is None:
        topology_landmarks = 100 if ripser_available() else 0
        if not topology_landmarks:
            print("topology skipped: persistent homology needs ripser (pip install 'cogmap[topology]')")
    model = load_path_integrator(args.checkpoint, resolve_device(args.device, "--device"))
    out = output_dir(args.out, Path("runs/analyze") / source_label(args.checkpoint), args.force)
    generation = model.generation
    spatial = generation.joints == 1 and generation.manifold in ("box", "torus2")
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
    harmonics = None
    if generation.manifold == "so3" and args.harmonics_degree > 0:
        with tqdm(total=args.harmonics_trajectories, desc="harmonics on SO(3)", unit="traj") as bar:
            harmonics = harmonic_analysis(model, n_trajectories=args.harmonics_trajectories, max_degree=args.harmonics_degree,
                                          joint_degree=min(2, args.harmonics_degree), seed=args.seed, progress=bar)
        figures["harmonics"] = plots.plot_harmonic_spectra(harmonics, title=name)
    symmetry = None
    if generation.manifold == "so3" and args.symmetry_elements > 0:
        with tqdm(total=args.symmetry_elements, desc="symmetry test", unit="rotation") as bar:
            symmetry = symmetry_errors(model, elements=args.symmetry_elements, seed=args.seed, progress=bar)
        figures["symmetry"] = plots.plot_symmetry_errors(symmetry, title=name)
    topology = None
    if generation.manifold == "so3" and (topology_landmarks or args.arm_landmarks):
        total = progress_steps(generation.joints, topology_landmarks > 0, args.arm_landmarks > 0)
        with tqdm(total=total, desc="persistent homology", unit="cloud") as bar:
            topology = topology_analysis(model, n_trajectories=args.topology_trajectories,
                                         landmarks=topology_landmarks, arm_landmarks=args.arm_landmarks,
                                         seed=args.seed, progress=bar)
        figures["topology"] = plots.plot_persistence_barcodes(topology, title=name)
    grid = None
    if spatial:
        with tqdm(total=args.grid_trajectories, desc="rate maps", unit="traj") as bar:
            grid = spatial_analysis(model, n_trajectories=args.grid_trajectories, bins=args.bins, progress=bar)
        figures.update(grid_figures(grid, name))
    create_output_dir(out, args.force)
    for figure_name, figure in figures.items():
        plots.save_figure(figure, out / f"{figure_name}.png")
    summary = result.to_json()
    if grid is not None:
        summary["grid"] = grid.to_json()
    if harmonics is not None:
        summary["harmonics"] = harmonics.to_json()
    if symmetry is not None:
        summary["symmetry"] = symmetry.to_json()
    if topology is not None:
        summary["topology"] = topology.to_json()
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=1))
    print(f"{n} trajectories x {steps} steps, {summary['units']} units")
    print(f"PCA: 95% of variance in {summary['pca']['components_for_95_percent']} components, "
          f"participation ratio {summary['pca']['participation_ratio']:.1f}")
    print("linear probe R^2 (the states, held-out trajectories): "
          + ", ".join(f"{k} {v:.3f}" for k, v in summary["linear_probe_r2"].items()))
    if harmonics is not None:
        for joint, table in harmonics.model.items():
            peaks = harmonics.peaks(table)
            control = harmonics.peaks(harmonics.untrained[joint])
            periodic = summary["harmonics"]["model"][joint]["periodicity"]["fraction_of_tuned_above_0.1"]
            print(f"harmonics, {joint}: {100 * peaks['degree 1']:.0f}% of units peak at degree 1, "
                  f"{100 * peaks['degree >= 2']:.0f}% at 2 or more, {100 * peaks['untuned']:.0f}% untuned "
                  f"(untrained: {100 * control['degree 1']:.0f}%, {100 * control['degree >= 2']:.0f}%, "
                  f"{100 * control['untuned']:.0f}%); periodicity score above 0.1: "
                  + ("no tuned units" if periodic is None else f"{100 * periodic:.0f}% of the tuned units"))
    if symmetry is not None:
        print("symmetry (held out; unexplained change, equivariance error): " + ", ".join(
            f"{name} {symmetry.unexplained_change[name].mean():.3f}, {symmetry.equivariance[name].mean():.3f}"
            for name in symmetry.equivariance))
    if topology is not None:
        for joint, clouds in {**topology.joints, **({"whole arm": topology.arm} if topology.arm else {})}.items():
            print(f"topology, {joint} moving (classes in H1, H2, H3 with Z/2 | Z/3; RP^3 is 1 1 1 | 0 0 1): " + "; ".join(
                f"{cloud} " + " | ".join(" ".join(str(c) for c in h.classes.values()) for h in table.values())
                for cloud, table in clouds.items()))
    if grid is not None:
        g = summary["grid"]
        print(f"grid scores: {100 * g['fraction_score_60_above_0.3']:.1f}% of {g['units']} units above 0.3, "
              f"{100 * g['fraction_above_shuffled_95th']:.1f}% above the shuffled maps' 95th percentile "
              f"({g['shuffled_95th_percentile']:.2f}; 60 degrees; median {g['median_score_60']:.2f})")
        print(f"decoded position error {g['position_error']:.1f} "
              f"{g['unit_of_length']} (start held: {g['stay_still_error']:.1f}, arena centre: {g['centre_error']:.1f})")
    print(f"wrote {out / 'summary.json'} and figures in {out}")
    return 0


def grid_figures(grid, name: str) -> dict:
    """The grid analysis's figures: the most grid-like units, the score histograms, the position errors."""
    from cogmap.pathint.spatial import GRID_THRESHOLD
    from cogmap.viz import grid as grid_plots

    arena = grid.arena
    errors = {"model": grid.position_error, "start held": grid.stay_still_error, "arena centre": grid.centre_error}
    return {
        "grid_units": grid_plots.plot_grid_units(
            grid.rate_maps, grid.scores, grid.scores.best(16), unit=arena.unit, scale=arena.scale,
            title=f"{name}: the 16 units with the highest 60-degree grid scores (rate map, autocorrelogram)"),
        "grid_scores": grid_plots.plot_grid_score_histogram(grid.scores, GRID_THRESHOLD, title=name, null=grid.null_scores),
        "position_error": grid_plots.plot_position_error(
            errors, arena.unit, title=f"{name}: decoded position error, {grid.samples} positions"),
    }
