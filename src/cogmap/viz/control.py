"""Figures of a controller's learning-dynamics study (seed 002, panels b-e), from :mod:`cogmap.control.study`."""

from __future__ import annotations

import os

import numpy as np
from matplotlib.figure import Figure

from cogmap.viz.plots import save_figure, subplots


def plot_policy_landscapes(landscapes, path: str | os.PathLike | None = None, title: str = "") -> Figure:
    """Torque over (angle, velocity) at several checkpoints (``PolicyLandscape``s); a curve over angle
    when there is one speed (the partially observable task)."""
    fig, axes = subplots(1, len(landscapes), figsize=(3.6 * len(landscapes), 3.2), squeeze=False,
                         layout="constrained")
    for ax, landscape in zip(axes[0], landscapes):
        if landscape.torque.shape[0] == 1:
            ax.plot(landscape.angles, landscape.torque[0])
            ax.set_ylim(-2.1, 2.1)
            ax.set_ylabel("torque")
        else:
            image = ax.pcolormesh(landscape.angles, landscape.speeds, landscape.torque, cmap="coolwarm", vmin=-2,
                                  vmax=2, shading="auto")
            ax.set_ylabel("angular velocity")
            fig.colorbar(image, ax=ax, shrink=0.8)
        ax.set_xlabel("angle (0 = upright)")
        ax.set_title(f"update {landscape.update}", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def plot_hidden_pca(hidden: np.ndarray, angles: np.ndarray, path: str | os.PathLike | None = None,
                    title: str = "") -> Figure:
    """The first two principal components of hidden states, coloured by the pendulum's angle."""
    centred = hidden - hidden.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    pcs = centred @ vt[:2].T
    fig, ax = subplots(figsize=(4.5, 4))
    points = ax.scatter(pcs[:, 0], pcs[:, 1], c=angles, cmap="twilight", s=3, vmin=-np.pi, vmax=np.pi)
    fig.colorbar(points, ax=ax, label="angle")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def plot_learning_dynamics(study, path: str | os.PathLike | None = None) -> Figure:
    """Return, stable-fixed-point distance vs reward-to-go, the slowest timescale of every run and
    the top timescales of the first run over training (99% intervals over expansion points)."""
    fig, axes = subplots(1, 4, figsize=(17, 3.8), layout="constrained")
    for run in study.runs:
        rows = run.checkpoints
        updates = [r.update for r in rows]
        axes[0].plot(updates, [r.eval_return for r in rows], marker="o", ms=3, label=run.name)
        pairs = [(r.distance_to_final, r.reward_to_go) for r in rows[:-1] if r.distance_to_final is not None]
        if pairs:
            axes[1].scatter(*zip(*pairs), s=12, label=run.name)
        line = axes[2].plot(updates, [r.timescales[0] for r in rows], label=run.name)[0]
        axes[2].fill_between(updates, [r.timescales_lower[0] for r in rows], [r.timescales_upper[0] for r in rows],
                             color=line.get_color(), alpha=0.2)
    axes[0].set_xlabel("update")
    axes[0].set_ylabel("evaluation return")
    axes[1].set_xlabel("distance of the stable fixed point to its final location")
    axes[1].set_ylabel("reward-to-go")
    c = study.correlation
    pooled = f"n = {c.n} checkpoints of {c.runs} of {len(study.runs)} runs"
    axes[1].set_title(f"r = {c.r:.2f}, p = {c.p:.1e}, {pooled}" if c.r is not None else
                      f"too few stable fixed points for a correlation ({pooled})", fontsize=9)
    axes[2].set_xlabel("update")
    axes[2].set_ylabel("slowest timescale (steps), 99% interval")
    axes[2].set_yscale("log")
    first = study.runs[0]
    updates = [r.update for r in first.checkpoints]
    for k in range(len(first.checkpoints[-1].timescales)):
        line = axes[3].plot(updates, [r.timescales[k] for r in first.checkpoints], label=f"{k + 1}. slowest")[0]
        axes[3].fill_between(updates, [r.timescales_lower[k] for r in first.checkpoints],
                             [r.timescales_upper[k] for r in first.checkpoints], color=line.get_color(), alpha=0.15)
    axes[3].set_xlabel("update")
    axes[3].set_ylabel("timescale (steps), 99% interval")
    axes[3].set_title(f"{first.name}: the slowest modes", fontsize=9)
    axes[3].set_yscale("log")
    for ax in axes:
        ax.legend(fontsize=7)
    return save_figure(fig, path)
