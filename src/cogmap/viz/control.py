"""Figures of a controller's learning-dynamics study (seed 002, panels b-e)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cogmap.viz.plots import plt, save_figure


def plot_policy_landscapes(landscapes: list[tuple[str, np.ndarray]], angles: np.ndarray, speeds: np.ndarray,
                           path: str | os.PathLike) -> Path:
    """Torque over (angle, velocity) at several checkpoints; a curve over angle when there is one speed."""
    fig, axes = plt.subplots(1, len(landscapes), figsize=(3.6 * len(landscapes), 3.2), squeeze=False, layout="constrained")
    for ax, (label, torque) in zip(axes[0], landscapes):
        if torque.shape[0] == 1:
            ax.plot(angles, torque[0])
            ax.set_ylim(-2.1, 2.1)
            ax.set_ylabel("torque")
        else:
            image = ax.pcolormesh(angles, speeds, torque, cmap="coolwarm", vmin=-2, vmax=2, shading="auto")
            ax.set_ylabel("angular velocity")
            fig.colorbar(image, ax=ax, shrink=0.8)
        ax.set_xlabel("angle (0 = upright)")
        ax.set_title(label, fontsize=9)
    return save_figure(fig, path)


def plot_hidden_pca(hidden: np.ndarray, angles: np.ndarray, path: str | os.PathLike, title: str = "") -> Path:
    """The first two principal components of hidden states, coloured by the pendulum's angle."""
    centred = hidden - hidden.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    pcs = centred @ vt[:2].T
    fig, ax = plt.subplots(figsize=(4.5, 4))
    points = ax.scatter(pcs[:, 0], pcs[:, 1], c=angles, cmap="twilight", s=3, vmin=-np.pi, vmax=np.pi)
    fig.colorbar(points, ax=ax, label="angle")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def plot_learning_dynamics(studies: list[dict], correlation: dict, path: str | os.PathLike) -> Path:
    """Return, stable-fixed-point distance vs reward-to-go, the slowest timescale of every run and
    the top timescales of the first run over training (99% intervals over expansion points)."""
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8), layout="constrained")
    for s in studies:
        rows = s["rows"]
        updates = [r["update"] for r in rows]
        label = Path(s["run_dir"]).name
        axes[0].plot(updates, [r["eval_return"] for r in rows], marker="o", ms=3, label=label)
        pairs = [(r["distance_to_final"], r["reward_to_go"]) for r in rows if r["distance_to_final"] is not None]
        if pairs:
            axes[1].scatter(*zip(*pairs), s=12, label=label)
        slowest = np.array([r["timescale_mean"][0] for r in rows])
        low = np.array([r["timescale_lower"][0] for r in rows])
        high = np.array([r["timescale_upper"][0] for r in rows])
        line = axes[2].plot(updates, slowest, label=label)[0]
        axes[2].fill_between(updates, low, high, color=line.get_color(), alpha=0.2)
    axes[0].set_xlabel("update")
    axes[0].set_ylabel("evaluation return")
    axes[1].set_xlabel("distance of the stable fixed point to its final location")
    axes[1].set_ylabel("reward-to-go")
    r = correlation.get("r")
    axes[1].set_title(f"r = {r:.2f}, p = {correlation['p']:.1e}, n = {correlation['n']}" if r is not None else
                      "too few stable fixed points for a correlation", fontsize=9)
    axes[2].set_xlabel("update")
    axes[2].set_ylabel("slowest timescale (steps), 99% interval")
    axes[2].set_yscale("log")
    rows = studies[0]["rows"]
    updates = [r["update"] for r in rows]
    for k in range(len(rows[-1]["timescale_mean"])):
        line = axes[3].plot(updates, [r["timescale_mean"][k] for r in rows], label=f"mode {k + 1}")[0]
        axes[3].fill_between(updates, [r["timescale_lower"][k] for r in rows], [r["timescale_upper"][k] for r in rows],
                             color=line.get_color(), alpha=0.15)
    axes[3].set_xlabel("update")
    axes[3].set_ylabel("timescale (steps), 99% interval")
    axes[3].set_title(f"{Path(studies[0]['run_dir']).name}: modes by |eigenvalue|", fontsize=9)
    axes[3].set_yscale("log")
    for ax in axes:
        ax.legend(fontsize=7)
    return save_figure(fig, path)
