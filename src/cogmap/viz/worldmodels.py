"""Figures of the world models (Park et al. 2022)."""

from __future__ import annotations

import math
import os

import numpy as np
from matplotlib.figure import Figure

from cogmap.viz.plots import save_figure, subplots


def plot_latent_rotations(turns: dict, path: str | os.PathLike | None = None, title: str = "") -> Figure:
    """For one full turn about each axis of each joint: the latent's rotation angle against the joint's, and what it misses.

    ``turns`` is :func:`cogmap.worldmodels.train.latent_rotations`'s result.
    """
    fig, (left, right) = subplots(1, 2, figsize=(10, 4), layout="constrained")
    truth = None
    for name, values in turns.items():
        true = np.degrees(np.asarray(values["true_angle"]))
        folded = np.degrees(np.minimum(np.asarray(values["true_angle"]), 2 * math.pi - np.asarray(values["true_angle"])))
        left.plot(true, np.degrees(values["latent_angle"]), marker=".", label=name)
        line, = right.plot(true, 100 * np.asarray(values["turn_error"]), marker=".", label=f"{name}: |z - z0 G^T| / |z0|")
        right.plot(true, 100 * np.asarray(values["residual"]), linestyle=":", color=line.get_color(),
                   label=f"{name}: Kabsch residual")
        truth = (true, folded)
    if truth is not None:
        left.plot(*truth, color="black", linewidth=0.8, linestyle="--", label="equivariant")
    left.set_xlabel("joint turned by (deg)")
    left.set_ylabel("latent turned by (deg)")
    left.legend(fontsize=8)
    right.set_xlabel("joint turned by (deg)")
    right.set_ylabel("% of the latent's norm")
    right.legend(fontsize=7)
    fig.suptitle(title or "how the latent turns when a joint turns", fontsize=10)
    return save_figure(fig, path)


def plot_trajectories(rows: dict, path: str | os.PathLike | None = None, title: str = "",
                      captions: dict | None = None) -> Figure:
    """Rows of rendered frames: a label -> ``(frames, S, S)`` images in [0, 1]; ``captions`` a label -> a title per frame."""
    frames = max(len(images) for images in rows.values())
    fig, axes = subplots(len(rows), frames, figsize=(1.3 * frames, 1.5 * len(rows)), squeeze=False,
                         layout="constrained")
    for r, (label, images) in enumerate(rows.items()):
        names = (captions or {}).get(label, [])
        for c in range(frames):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(images):
                ax.imshow(np.asarray(images[c]), cmap="gray", vmin=0, vmax=1)
                if c < len(names):
                    ax.set_title(names[c], fontsize=7)
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
