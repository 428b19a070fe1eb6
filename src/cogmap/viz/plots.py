"""Static figures (matplotlib).

Every plot function returns its :class:`~matplotlib.figure.Figure` and saves it when given a
path. Figures are made without pyplot (:func:`subplots` here), so nothing changes matplotlib's
global state: a notebook keeps its backend, and nothing needs closing.
"""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cogmap.files import atomic_path


def new_figure(figsize=None, layout=None) -> Figure:
    """An empty figure that pyplot does not manage (add axes with ``fig.add_subplot``)."""
    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)  # renders to files and animations without any interactive backend
    return fig


def subplots(nrows: int = 1, ncols: int = 1, *, figsize=None, layout=None, **options):
    """``(figure, axes)`` as ``pyplot.subplots`` gives them, on a figure pyplot does not manage."""
    fig = new_figure(figsize, layout)
    return fig, fig.subplots(nrows, ncols, **options)


def save_figure(fig: Figure, path: str | os.PathLike | None) -> Figure:
    """Save atomically (temporary file, then rename) when ``path`` is given; returns the figure."""
    if path is not None:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight", format=Path(path).suffix.lstrip(".") or "png")
    return fig


def plot_effective_cells(rows: list[dict], n_cells: int, path: str | os.PathLike | None = None, title: str = "") -> Figure:
    """Effective number of active cells against kernel width, one line per kernel.

    vMF rows are drawn at ``sigma = 1 / sqrt(kappa)``, the width of the Gaussian that
    ``exp(kappa cos d) ~ exp(kappa) exp(-kappa d^2 / 2)`` matches near a centre.
    """
    fig, ax = subplots(figsize=(5.5, 3.8))
    by_kernel: dict[str, list[tuple[float, dict]]] = {}
    for row in rows:
        x = row["kappa"] ** -0.5 if row["kernel"] == "vmf" else row["sigma"]
        by_kernel.setdefault(row["kernel"], []).append((x, row))
    for kernel, items in by_kernel.items():
        items.sort(key=lambda item: item[0])
        label = "vmf, at sigma = 1/sqrt(kappa)" if kernel == "vmf" else kernel
        ax.errorbar([x for x, _ in items], [r["effective_mean"] for _, r in items],
                    yerr=[r["effective_std"] for _, r in items], marker="o", capsize=2, label=label,
                    ls="--" if kernel == "vmf" else "-")
    ax.axhline(n_cells, color="grey", lw=0.8, ls=":", label=f"uniform code ({n_cells})")
    ax.set_xlabel("kernel width sigma")
    ax.set_ylabel("effective number of active cells")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_evaluation(result, path: str | os.PathLike | None = None, title: str = "") -> Figure:
    """Accuracy, KL and geodesic error per time step: the model against its references (an ``Evaluation``)."""
    fig, axes = subplots(1, 3, figsize=(13, 3.6))
    steps = range(1, result.steps + 1)
    styles = {"model": ("model", "C0", "-"), "stay_still": ("stay still", "C1", "--"),
              "chance": ("chance", "grey", ":"), "exact_code_decoding": ("exact code", "k", "-.")}
    unit = result.generation.distance_unit
    for ax, metric, label in zip(axes, ("accuracy_per_step", "kl_per_step", "geodesic_error_deg_per_step"),
                                 ("accuracy (top-1 cell per joint)", "KL(target || prediction)",
                                  f"geodesic error ({unit})")):
        for key, (name, colour, style) in styles.items():
            values = getattr(getattr(result, key), metric)
            if values is not None:
                ax.plot(steps, values, color=colour, ls=style, label=name)
        ax.set_xlabel("time step")
        ax.set_ylabel(label)
    axes[1].set_yscale("symlog", linthresh=1e-3)
    fig.subplots_adjust(wspace=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_pca_spectrum(pca, path: str | os.PathLike | None = None, title: str = "") -> Figure:
    fig, (a, b) = subplots(1, 2, figsize=(9, 3.4))
    k = min(50, len(pca.explained_variance_ratio))
    a.bar(range(1, k + 1), pca.explained_variance_ratio[:k])
    a.set_xlabel("component")
    a.set_ylabel("explained variance ratio")
    b.plot(range(1, len(pca.cumulative) + 1), pca.cumulative)
    b.axhline(0.95, color="grey", ls=":")
    b.axvline(pca.n_components_95, color="grey", ls=":")
    b.set_xscale("log")
    b.set_xlabel("components")
    b.set_ylabel("cumulative")
    fig.suptitle(f"{title}  (95% in {pca.n_components_95} components, participation ratio "
                 f"{pca.participation_ratio:.1f})")
    return save_figure(fig, path)


def plot_scatter_by_features(points, features: dict, path: str | os.PathLike | None = None, title: str = "", size: float = 1.0) -> Figure:
    """One panel per colouring variable of the same 2-D embedding."""
    names = list(features)
    cols = 4
    rows = -(-len(names) // cols)
    fig, axes = subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        cmap = "twilight" if name.endswith("angle") else "coolwarm"
        sc = ax.scatter(points[:, 0], points[:, 1], c=features[name], s=size, cmap=cmap, rasterized=True)
        fig.colorbar(sc, ax=ax, shrink=0.8)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_single_trajectories(points, colour, path: str | os.PathLike | None = None, n: int = 6, title: str = "", label: str = "") -> Figure:
    """``points (trajectories, steps, 2)`` drawn as paths, coloured by ``colour (trajectories, steps)``.

    The first ``n`` trajectories (all of them when there are fewer)."""
    n = min(n, len(points))
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = subplots(rows, cols, figsize=(3.4 * cols, 3.0 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for i, ax in enumerate(axes.flat[:n]):
        ax.plot(points[i, :, 0], points[i, :, 1], color="lightgrey", lw=0.8, zorder=0)
        sc = ax.scatter(points[i, :, 0], points[i, :, 1], c=colour[i], s=6, cmap="viridis")
        ax.plot(points[i, 0, 0], points[i, 0, 1], "k*", ms=8)
        fig.colorbar(sc, ax=ax, shrink=0.8, label=label)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title + "  (star: start)")
    return save_figure(fig, path)


def plot_tuning_curves(curves_by_name: dict, path: str | os.PathLike | None = None, per_variable: int = 4, title: str = "") -> Figure:
    names = list(curves_by_name)
    fig, axes = subplots(len(names), per_variable, figsize=(3 * per_variable, 2.6 * len(names)), squeeze=False)
    for row, name in zip(axes, names):
        curves = curves_by_name[name]
        for ax, unit in zip(row, curves.most_selective(per_variable)):
            ax.plot(curves.bin_centres, curves.means[unit], marker=".")
            ax.set_title(f"unit {unit}: eta^2 {curves.selectivity[unit]:.2f}", fontsize=9)
            ax.set_xlabel(f"{name} (rad)", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_harmonic_spectra(analysis, path: str | os.PathLike | None = None, title: str = "") -> Figure:
    """Per joint, the population's variance fraction per degree on SO(3) for the model, an untrained
    twin and the place-cell code; and the model's fractions over both joints' degrees."""
    import numpy as np

    joints = list(analysis.model)
    fig, axes = subplots(1, len(joints) + 1, figsize=(4.2 * (len(joints) + 1), 3.4), squeeze=False)
    degrees = np.arange(analysis.max_degree + 1)
    for ax, joint in zip(axes[0], joints):
        for offset, (label, table, colour) in enumerate((("trained", analysis.model, "tab:blue"),
                                                         ("untrained", analysis.untrained, "tab:gray"),
                                                         ("place-cell code", analysis.code, "tab:orange"))):
            ax.bar(degrees + (offset - 1) * 0.27, analysis.population(table[joint]), width=0.27, label=label,
                   color=colour)
        peaks = analysis.peaks(analysis.model[joint])
        ax.set_title(f"{joint}: units peaking at l=1 {100 * peaks['degree 1']:.0f}%, "
                     f"l>=2 {100 * peaks['degree >= 2']:.0f}%, untuned {100 * peaks['untuned']:.0f}%", fontsize=9)
        ax.set_xlabel("degree l on SO(3)")
        ax.set_ylabel("mean fraction of a unit's variance")
        ax.set_xticks(degrees)
        ax.legend(fontsize=7)
    ax = axes[0, -1]
    joint = analysis.joint.mean(axis=0)
    image = ax.imshow(joint, origin="lower", cmap="viridis")
    for (i, j), value in np.ndenumerate(joint):
        ax.annotate(f"{value:.2f}", (j, i), ha="center", va="center", fontsize=8, color="w")
    ax.set_xlabel("degree on joint 2")
    ax.set_ylabel("degree on joint 1")
    ax.set_title("trained, both joints at once", fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle(title + f"  ({analysis.samples} states; fractions of each unit's variance)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_symmetry_errors(errors, path: str | os.PathLike | None = None, title: str = "") -> Figure:
    """Held-out equivariance error, distance-invariance error and unexplained change of each representation
    (mean and sd over the group elements)."""
    import numpy as np

    measures = (("equivariance error", errors.equivariance), ("distance-invariance error", errors.distance_invariance),
                ("unexplained change", errors.unexplained_change))
    fig, axes = subplots(1, 3, figsize=(13, 3.4))
    for ax, (label, table) in zip(axes, measures):
        names = list(table)
        means = [table[n].mean() for n in names]
        ax.bar(np.arange(len(names)), means, yerr=[table[n].std() for n in names], color="tab:blue", capsize=3)
        ax.set_xticks(np.arange(len(names)))
        ax.set_xticklabels(names, rotation=20, fontsize=8, ha="right")
        ax.set_title(label, fontsize=9)
    fig.suptitle(title + f"  (rho fitted on {errors.fit_trajectories} trajectories, tested on {errors.test_trajectories})",
                 fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_persistence_barcodes(topology, path: str | os.PathLike | None = None, title: str = "", bars: int = 8) -> Figure:
    """The longest bars (first coefficient) of each cloud per homology dimension, one row per moving
    joint and cloud, the shuffled clouds' longest bar dashed; the classes counted with every
    coefficient in each panel's corner (RP^3: 1, 1, 1 with Z/2; 0, 0, 1 with Z/3)."""
    import numpy as np

    rows = [(joint, cloud, table) for joint, clouds in topology.joints.items() for cloud, table in clouds.items()]
    rows += [("whole arm", cloud, table) for cloud, table in topology.arm.items()]
    dims = sorted({d for _, _, table in rows for d in next(iter(table.values())).lifetimes})
    fig, axes = subplots(len(rows), len(dims), figsize=(3.2 * len(dims), 0.95 * len(rows) + 0.8), squeeze=False)
    for r, (joint, cloud, table) in enumerate(rows):
        first = next(iter(table.values()))
        for c, d in enumerate(dims):
            ax = axes[r, c]
            if d not in first.lifetimes:  # the whole arm is computed up to H1 only
                ax.axis("off")
                continue
            life = first.lifetimes[d][:bars]
            ax.barh(np.arange(len(life)), life, color="tab:blue", height=0.7)
            ax.axvline(first.null[d], color="k", ls="--", lw=1)
            ax.set_xlim(0, 1.05 * max(first.null[d], life[0] if len(life) else 0.0) or 1.0)
            counts = ", ".join(f"Z/{k}: {h.classes[d]}" for k, h in table.items())
            ax.text(0.98, 0.1, counts, transform=ax.transAxes, ha="right", fontsize=7,
                    bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1})
            ax.set_yticks([])
            ax.invert_yaxis()
            ax.tick_params(labelsize=7)
            if r == 0:
                ax.set_title(f"H{d}: longest bars (Z/{first.coeff})", fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{joint}\n{cloud}", fontsize=7, rotation=0, ha="right", va="center")
            if r == len(rows) - 1:
                ax.set_xlabel("lifetime (dashed: shuffled cloud)", fontsize=7)
    fig.suptitle(title + "\nrows: one joint moving, the other still (RP^3: classes 1, 1, 1 with Z/2 and 0, 0, 1 with Z/3)"
                 + ("; the whole arm, H1 only" if topology.arm else ""), fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_baseline(result, path: str | os.PathLike | None = None) -> Figure:
    """The stay-still predictor's accuracy and geodesic error per step, beside chance (a ``Baseline``)."""
    fig, axes = subplots(1, 2, figsize=(9, 3.4))
    steps = range(1, result.steps + 1)
    axes[0].plot(steps, result.stay_still.accuracy_per_step, label="stay still")
    axes[0].axhline(result.chance_accuracy, color="grey", ls=":", label="chance")
    axes[0].set_ylabel("accuracy")
    axes[1].plot(steps, result.stay_still.geodesic_error_deg_per_step, label="stay still")
    axes[1].set_ylabel(f"geodesic error ({result.generation.distance_unit})")
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    fig.suptitle(f"{result.trajectories} {result.split} trajectories, {result.generation.manifold} x{result.generation.joints}",
                 fontsize=10)
    return save_figure(fig, path)
