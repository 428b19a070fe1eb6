"""Static figures (matplotlib, headless)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cogmap.files import atomic_path  # noqa: E402


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Save atomically (temporary file, then rename) and close the figure."""
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight", format=Path(path).suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return Path(path)


def plot_effective_cells(rows: list[dict], n_cells: int, path, title: str = "") -> Path:
    """Effective number of active cells against kernel width, one line per kernel.

    vMF rows are drawn at ``sigma = 1 / sqrt(kappa)``, the width of the Gaussian that
    ``exp(kappa cos d) ~ exp(kappa) exp(-kappa d^2 / 2)`` matches near a centre.
    """
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
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


def plot_evaluation(results: dict, path, title: str = "") -> Path:
    """Accuracy, KL and geodesic error per time step: the model against its references."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    steps = range(1, results["steps"] + 1)
    styles = {"model": ("model", "C0", "-"), "stay_still": ("stay still", "C1", "--"),
              "chance": ("chance", "grey", ":"), "exact_code_decoding": ("exact code", "k", "-.")}
    for ax, metric, label in zip(axes, ("accuracy_per_step", "kl_per_step", "geodesic_error_deg_per_step"),
                                 ("accuracy (top-1 cell per joint)", "KL(target || prediction)", "geodesic error (deg)")):
        for key, (name, colour, style) in styles.items():
            values = results[key][metric]
            if values is not None:
                ax.plot(steps, values, color=colour, ls=style, label=name)
        ax.set_xlabel("time step")
        ax.set_ylabel(label)
    axes[1].set_yscale("symlog", linthresh=1e-3)
    fig.subplots_adjust(wspace=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)
