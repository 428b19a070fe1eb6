"""What the hidden states of a trained path integrator encode (``cogmap analyze``).

The model runs on fresh validation trajectories of its own data settings; then PCA of the hidden
states (spectrum, components for 95%, participation ratio), 2-D PCA and t-SNE scatters coloured by
the true state, single-trajectory paths, tuning curves of the most selective units and the held-out
R^2 of a linear probe of the states. By the space the model lives on:

- SO(3) joints: the Wigner-harmonic spectrum of each unit (:mod:`cogmap.pathint.harmonics`), the
  symmetry test (:mod:`cogmap.pathint.symmetry`) and, with ripser installed, the persistent
  homology of the states (:mod:`cogmap.pathint.topology`);
- one position in a box or one joint on the 2-torus: rate maps, grid scores and the decoded
  position (Banino et al. 2018; :mod:`cogmap.pathint.spatial`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cogmap.errors import CogmapError, check_positive_int
from cogmap.studies.base import Result, draw_figures


@dataclass(frozen=True)
class HiddenStatesConfig:
    """Settings of the hidden-state analysis; 0 skips an optional part."""

    checkpoint: str = ""  # the path integrator (.ckpt or run folder); required
    trajectories: int = 200  # validation trajectories for PCA, t-SNE, tuning and the probe
    tsne_points: int = 4000  # states embedded by t-SNE (0 skips it)
    seed: int = 0  # of the t-SNE subsample, the probe split and every analysis below
    grid_trajectories: int = 5000  # rate-map trajectories of box and torus models
    bins: int = 20  # rate-map bins per side (the reference's 20)
    harmonics_degree: int = 4  # highest Wigner degree per joint (SO(3) models)
    harmonics_trajectories: int = 12_000  # one independent pose each
    symmetry_elements: int = 4  # random rotations of the symmetry test (SO(3) models)
    topology_landmarks: int | None = None  # None: 100 when ripser is installed, else skipped with a note
    topology_trajectories: int = 3000  # one state each
    arm_landmarks: int = 0  # the whole arm's clouds (H1 only; SO(3) x SO(3) needs over 1000, minutes each)
    device: str = "cpu"  # cpu, cuda, cuda:N or auto

    def __post_init__(self):
        from cogmap.pathint.analyze import check_tsne_points

        if not self.checkpoint:
            raise CogmapError("checkpoint is required: the .ckpt (or run folder) to analyse")
        for key in ("trajectories", "grid_trajectories", "harmonics_trajectories", "topology_trajectories"):
            check_positive_int(key, getattr(self, key))
        if self.bins < 2:
            raise CogmapError(f"bins must be at least 2, got {self.bins}")
        if self.symmetry_elements < 0:
            raise CogmapError(f"symmetry_elements must be 0 (skip) or more, got {self.symmetry_elements}")
        if not 0 <= self.harmonics_degree <= 8:
            raise CogmapError(f"harmonics_degree must be between 0 (skip) and 8, got {self.harmonics_degree}")
        check_tsne_points(self.tsne_points)
        for key in ("topology_landmarks", "arm_landmarks"):
            value = getattr(self, key)
            if value is not None and not 0 <= value <= self.topology_trajectories:
                raise CogmapError(f"{key} must be 0 (skip) to topology_trajectories ({self.topology_trajectories}), "
                                  f"got {value}")


def ripser_available() -> bool:
    return importlib.util.find_spec("ripser") is not None


@dataclass(frozen=True)
class HiddenStatesResult(Result):
    """The analyses that apply to the model; those that do not (or were skipped) are None."""

    file = "summary.json"
    config: HiddenStatesConfig
    name: str  # the model, in words, for titles
    analysis: Any  # cogmap.pathint.analyze.HiddenStateAnalysis
    harmonics: Any = None
    symmetry: Any = None
    topology: Any = None
    grid: Any = None
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        summary = self.analysis.to_json()
        for key in ("grid", "harmonics", "symmetry", "topology"):
            if getattr(self, key) is not None:
                summary[key] = getattr(self, key).to_json()
        return summary

    def draw(self, folder: Path) -> list[Path]:
        from cogmap.viz import plots

        result, name = self.analysis, self.name
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
        if self.harmonics is not None:
            figures["harmonics"] = plots.plot_harmonic_spectra(self.harmonics, title=name)
        if self.symmetry is not None:
            figures["symmetry"] = plots.plot_symmetry_errors(self.symmetry, title=name)
        if self.topology is not None:
            figures["topology"] = plots.plot_persistence_barcodes(self.topology, title=name)
        if self.grid is not None:
            figures.update(grid_figures(self.grid, name))
        return draw_figures(folder, figures)

    def summary(self) -> str:
        summary = self.to_json()
        lines = list(self.notes)
        lines.append(f"{summary['trajectories']} trajectories x {summary['steps']} steps, {summary['units']} units")
        lines.append(f"PCA: 95% of variance in {summary['pca']['components_for_95_percent']} components, "
                     f"participation ratio {summary['pca']['participation_ratio']:.1f}")
        lines.append("linear probe R^2 (the states, held-out trajectories): "
                     + ", ".join(f"{k} {v:.3f}" for k, v in summary["linear_probe_r2"].items()))
        harmonics = self.harmonics
        if harmonics is not None:
            for joint, table in harmonics.model.items():
                peaks = harmonics.peaks(table)
                control = harmonics.peaks(harmonics.untrained[joint])
                periodic = summary["harmonics"]["model"][joint]["periodicity"]["fraction_of_tuned_above_0.1"]
                lines.append(
                    f"harmonics, {joint}: {100 * peaks['degree 1']:.0f}% of units peak at degree 1, "
                    f"{100 * peaks['degree >= 2']:.0f}% at 2 or more, {100 * peaks['untuned']:.0f}% untuned "
                    f"(untrained: {100 * control['degree 1']:.0f}%, {100 * control['degree >= 2']:.0f}%, "
                    f"{100 * control['untuned']:.0f}%); periodicity score above 0.1: "
                    + ("no tuned units" if periodic is None else f"{100 * periodic:.0f}% of the tuned units"))
        if self.symmetry is not None:
            s = self.symmetry
            lines.append("symmetry (held out; unexplained change, equivariance error): " + ", ".join(
                f"{name} {s.unexplained_change[name].mean():.3f}, {s.equivariance[name].mean():.3f}"
                for name in s.equivariance))
        if self.topology is not None:
            t = self.topology
            for joint, clouds in {**t.joints, **({"whole arm": t.arm} if t.arm else {})}.items():
                lines.append(f"topology, {joint} moving (classes in H1, H2, H3 with Z/2 | Z/3; RP^3 is 1 1 1 | 0 0 1): "
                             + "; ".join(f"{cloud} " + " | ".join(" ".join(str(c) for c in h.classes.values())
                                                                  for h in table.values())
                                         for cloud, table in clouds.items()))
        if self.grid is not None:
            g = summary["grid"]
            lines.append(f"grid scores: {100 * g['fraction_score_60_above_0.3']:.1f}% of {g['units']} units above 0.3, "
                         f"{100 * g['fraction_above_shuffled_95th']:.1f}% above the shuffled maps' 95th percentile "
                         f"({g['shuffled_95th_percentile']:.2f}; 60 degrees; median {g['median_score_60']:.2f})")
            lines.append(f"decoded position error {g['position_error']:.1f} {g['unit_of_length']} "
                         f"(start held: {g['stay_still_error']:.1f}, arena centre: {g['centre_error']:.1f})")
        return "\n".join(lines)


def run(config: HiddenStatesConfig, progress: bool = True, model=None) -> HiddenStatesResult:
    """Every analysis that applies to the model of ``config.checkpoint`` (or to ``model``, already loaded)."""
    from tqdm.auto import tqdm

    from cogmap.devices import resolve_device
    from cogmap.loading import PATH_INTEGRATOR, load
    from cogmap.pathint.analyze import analyze_model
    from cogmap.pathint.evaluate import check_trajectories_fit
    from cogmap.pathint.harmonics import harmonic_analysis
    from cogmap.pathint.spatial import spatial_analysis
    from cogmap.pathint.symmetry import symmetry_errors
    from cogmap.pathint.topology import progress_steps, topology_analysis

    notes = []
    landmarks = config.topology_landmarks
    if landmarks is None:
        landmarks = 100 if ripser_available() else 0
        if not landmarks:
            notes.append("topology skipped: persistent homology needs ripser (pip install 'cogmap[topology]')")
    if model is None:
        model = load(config.checkpoint, resolve_device(config.device), kind=PATH_INTEGRATOR)
    generation = model.generation
    so3 = generation.manifold == "so3"
    for key in ("trajectories", "grid_trajectories"):  # the analyses that hold whole trajectories at once
        check_trajectories_fit(generation, getattr(config, key), key)
    name = f"{Path(config.checkpoint).name} ({model.hparams.cell.upper()}, {model.hparams.hidden} units)"
    seed = config.seed
    analysis = analyze_model(model, generation, config.trajectories, config.tsne_points, seed=seed)
    found: dict[str, Any] = {}
    if so3 and config.harmonics_degree > 0:
        with tqdm(total=config.harmonics_trajectories, desc="harmonics on SO(3)", unit="traj", disable=not progress) as bar:
            found["harmonics"] = harmonic_analysis(
                model, n_trajectories=config.harmonics_trajectories, max_degree=config.harmonics_degree,
                joint_degree=min(2, config.harmonics_degree), seed=seed, progress=bar)
    if so3 and config.symmetry_elements > 0:
        with tqdm(total=config.symmetry_elements, desc="symmetry test", unit="rotation", disable=not progress) as bar:
            found["symmetry"] = symmetry_errors(model, elements=config.symmetry_elements, seed=seed, progress=bar)
    if so3 and (landmarks or config.arm_landmarks):
        total = progress_steps(generation.joints, landmarks > 0, config.arm_landmarks > 0)
        with tqdm(total=total, desc="persistent homology", unit="cloud", disable=not progress) as bar:
            found["topology"] = topology_analysis(
                model, n_trajectories=config.topology_trajectories, landmarks=landmarks,
                arm_landmarks=config.arm_landmarks, seed=seed, progress=bar)
    if generation.joints == 1 and generation.manifold in ("box", "torus2"):
        with tqdm(total=config.grid_trajectories, desc="rate maps", unit="traj", disable=not progress) as bar:
            found["grid"] = spatial_analysis(model, n_trajectories=config.grid_trajectories, bins=config.bins,
                                             progress=bar)
    return HiddenStatesResult(config=config, name=name, analysis=analysis, notes=tuple(notes), **found)


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
