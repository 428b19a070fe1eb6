"""Figures of grid-cell analyses: rate maps with their autocorrelograms, score histograms, position errors."""

from __future__ import annotations

import os

import numpy as np
from matplotlib.figure import Figure

from cogmap.viz.plots import save_figure, subplots


def plot_grid_units(rate_maps, scores, units, path: str | os.PathLike | None = None, title: str = "",
                    unit: str = "cm", scale: float = 100.0) -> Figure:
    """Rate map (top row of each pair) and spatial autocorrelogram (below) of each unit in ``units``.

    Each rate map is titled with the unit's index and 60-degree score, each autocorrelogram with
    the grid spacing in ``unit`` (the bin size times ``scale``) and the best annulus drawn on it.
    """
    units = list(units)
    columns = min(8, max(1, len(units)))
    pairs = -(-len(units) // columns)
    fig, axes = subplots(2 * pairs, columns, figsize=(1.7 * columns, 3.6 * pairs), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    x, y = rate_maps.x_edges, rate_maps.y_edges
    size = scores.autocorrelograms.shape[-1]
    centre = (size - 1) / 2
    for i, u in enumerate(units):
        row, column = 2 * (i // columns), i % columns
        ax = axes[row, column]
        ax.imshow(rate_maps.maps[u], origin="lower", extent=(x[0], x[-1], y[0], y[-1]), cmap="jet",
                  interpolation="nearest")
        ax.set_title(f"unit {u}\nscore60 {scores.score_60[u]:.2f}", fontsize=8)
        ax = axes[row + 1, column]
        radius = np.hypot(*np.meshgrid(np.arange(size) - centre, np.arange(size) - centre))
        shown = np.where(radius <= (size + 1) / 2, scores.autocorrelograms[u], np.nan)
        ax.imshow(shown, origin="lower", cmap="jet", vmin=-1, vmax=1, interpolation="nearest")
        for r in scores.ring_60[u]:
            ax.add_artist(_circle((centre, centre), r))
        spacing = scores.spacing[u] * rate_maps.bin_size * scale
        ax.set_title(f"spacing {spacing:.0f} {unit}" if np.isfinite(spacing) else "no lattice", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def _circle(centre, radius):
    from matplotlib.patches import Circle

    return Circle(centre, radius, fill=False, edgecolor="k", linewidth=0.8)


def plot_grid_score_histogram(scores, threshold: float = 0.3, path: str | os.PathLike | None = None,
                              title: str = "", null=None) -> Figure:
    """Histograms of every unit's 60- and 90-degree grid scores, with the grid-cell threshold marked
    and, when ``null`` scores are given (position-shuffled maps), their histogram outlined."""
    fig, axes = subplots(1, 2, figsize=(9, 3.2))
    for ax, values, name in ((axes[0], scores.score_60, "60-degree"), (axes[1], scores.score_90, "90-degree")):
        finite = values[np.isfinite(values)]
        edges = np.histogram_bin_edges(finite, bins=40) if finite.size else 40
        ax.hist(finite, bins=edges, color="tab:blue" if name.startswith("60") else "tab:orange", label="units")
        if null is not None:
            shuffled = (null.score_60 if name.startswith("60") else null.score_90)
            ax.hist(shuffled[np.isfinite(shuffled)], bins=edges, histtype="step", color="k", label="shuffled")
            ax.legend(fontsize=7)
        ax.axvline(threshold, color="k", linestyle="--", linewidth=1)
        above = np.mean(finite > threshold) if finite.size else float("nan")
        ax.set_title(f"{name} score: {100 * above:.1f}% of {finite.size} units above {threshold}", fontsize=9)
        ax.set_xlabel("grid score")
        ax.set_ylabel("units")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_position_error(errors: dict[str, float], unit: str, path: str | os.PathLike | None = None,
                        title: str = "") -> Figure:
    """Bars of the mean decoded position error of the model and of its baselines."""
    fig, ax = subplots(figsize=(5, 3.2))
    names = list(errors)
    bars = ax.bar(names, [errors[n] for n in names], color=["tab:green"] + ["tab:gray"] * (len(names) - 1))
    for bar, name in zip(bars, names):
        ax.annotate(f"{errors[name]:.1f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                    va="bottom", fontsize=9)
    ax.set_ylabel(f"mean position error ({unit})")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
