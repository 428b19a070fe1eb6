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


def plot_latent_grid(layout: dict, path: str | os.PathLike | None = None, title: str = "") -> Figure:
    """Each object slot's 2-D latent: single states coloured by the cell of the object the slot follows, and the mean
    latent of every cell joined to its grid neighbours (a learned world lays them out as the grid).

    ``layout`` is :func:`cogmap.worldmodels.objects.latent_grid`'s result.
    """
    slots, width = layout["slots"], layout["width"]
    fig, axes = subplots(1, len(slots), figsize=(2.6 * len(slots), 2.9), squeeze=False, layout="constrained")
    for ax, (i, slot) in zip(axes[0], enumerate(slots)):
        points = np.asarray(slot["latents"])
        cells = np.asarray(slot["cells"])
        ax.scatter(points[:, 0], points[:, 1], c=cells // width + (cells % width) / width, cmap="viridis", s=4,
                   alpha=0.4, linewidths=0)
        means = np.asarray(slot["cell_means"], dtype=float)  # (width, width, 2), nan where a cell was never seen
        for r in range(width):
            ax.plot(means[r, :, 0], means[r, :, 1], color="black", linewidth=0.7)  # along a row
            ax.plot(means[:, r, 0], means[:, r, 1], color="grey", linewidth=0.7)  # down a column
        ax.set_title(f"slot {i}: object {slot['object']} ({100 * slot['explained']:.0f}% explained)", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal", adjustable="datalim")
    fig.suptitle(title or "each slot's latent by its object's cell (black: along rows, grey: down columns)",
                 fontsize=9)
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
                image = np.asarray(images[c])
                if image.ndim == 3:  # RGB, channels first
                    ax.imshow(np.moveaxis(image, 0, -1).clip(0, 1))
                else:
                    ax.imshow(image, cmap="gray", vmin=0, vmax=1)
                if c < len(names):
                    ax.set_title(names[c], fontsize=7)
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def plot_misses(scores: dict, path: str | os.PathLike | None = None, title: str = "") -> Figure:
    """Left: Hits@1 against the number of candidates each truth competes with. Right: each missed prediction,
    the distance from its true state to the nearest test state (x) against the distance to the state ranked
    first in its place (y), in degrees of turn or grid cells; on the diagonal, a miss to the nearest candidate
    (the candidates are denser than the model is precise), far above it, a confusion of distinct states.

    ``scores`` is :func:`cogmap.worldmodels.train.evaluate`'s result.
    """
    candidates, misses = scores["candidates"], scores["misses"]
    fig, (left, right) = subplots(1, 2, figsize=(9, 3.6), layout="constrained")
    sizes = candidates["sizes"]
    for key, miss in misses.items():
        horizon = key.split("_")[0]
        values = [100 * candidates[f"hits@1_{horizon}_step"][str(s)] for s in sizes]
        label = f"{horizon} step" + ("s" if horizon != "1" else "")
        (line,) = left.plot(sizes, values, marker="o", label=label)
        if miss["count"]:
            right.scatter(miss["each"]["nearest"], miss["each"]["rival"], s=10, alpha=0.6,
                          color=line.get_color(), label=f"{label}: {miss['count']} misses")
    left.set_xscale("log")
    left.set_xlabel("candidates per truth")
    left.set_ylabel("Hits@1 (%)")
    left.legend(fontsize=8)
    unit = next(iter(misses.values()))["unit"]
    top = max([60.0 if unit == "deg" else 4.0]
              + [max(m["each"]["rival"] + m["each"]["nearest"]) for m in misses.values() if m["count"]])
    right.plot([0, top], [0, top], color="grey", linewidth=0.8, linestyle="--")
    right.set_xlabel(f"nearest test state ({unit})")
    right.set_ylabel(f"state ranked first instead ({unit})")
    if any(m["count"] for m in misses.values()):
        right.legend(fontsize=8)
    else:
        right.text(0.5, 0.5, "no misses", ha="center", va="center", transform=right.transAxes)
    fig.suptitle(title or "how dense the candidates are, and what each miss was taken for", fontsize=9)
    return save_figure(fig, path)
