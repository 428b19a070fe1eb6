"""Pictures of Tree World runs: a static summary and an animation (GIF, or MP4 when ffmpeg exists)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from cogmap.errors import CogmapError
from cogmap.files import atomic_path
from cogmap.viz.plots import save_figure, subplots


def _trees(layout, index: int = 0):
    location = layout.location[index].cpu().numpy()
    poisonous = layout.poisonous[index].cpu().numpy()
    return location, poisonous


def _draw_trees(ax, location, poisonous, eat_distance: float) -> None:
    for bad, marker, colour, label in ((False, "o", "tab:green", "edible"), (True, "X", "tab:red", "poisonous")):
        chosen = poisonous == bad
        ax.scatter(location[chosen, 0], location[chosen, 1], marker=marker, c=colour, s=40, label=f"{label} tree",
                   zorder=3, edgecolors="k", linewidths=0.4)


def plot_run(layout, record: dict, config, path: str | os.PathLike | None = None, title: str = "") -> Figure:
    """Trees, the trajectory coloured by health, start and end; health over time below."""
    location = record["location"].numpy()
    health = record["health"].numpy()
    fig, (ax, ax_health) = subplots(2, 1, figsize=(6.5, 8.5), gridspec_kw={"height_ratios": [3, 1]})
    trees, poisonous = _trees(layout)
    points = ax.scatter(location[:, 0], location[:, 1], c=health, cmap="viridis", s=3, zorder=2,
                        vmin=min(0.0, health.min()), vmax=config.max_health)
    ax.plot(location[:, 0], location[:, 1], color="0.7", lw=0.5, zorder=1)
    _draw_trees(ax, trees, poisonous, config.eat_distance)
    ax.scatter(*location[0], marker="s", c="k", s=50, label="start", zorder=4)
    ax.scatter(*location[-1], marker="*", c="orange", s=140, edgecolors="k", label="end", zorder=4)
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="upper right", fontsize=8)
    fig.colorbar(points, ax=ax, label="health", shrink=0.8)
    ax.set_title(title)
    steps = np.arange(len(health))
    ax_health.plot(steps, health, color="tab:blue")
    for name, colour in (("ate", "tab:green"), ("ate_poison", "tab:red")):
        if name in record and len(record[name]):
            when = np.flatnonzero(record[name].numpy()) + 1
            ax_health.scatter(when, health[when], s=8, c=colour, label={"ate": "ate", "ate_poison": "poison"}[name])
    ax_health.axhline(0, color="k", lw=0.5)
    ax_health.set_xlabel("step")
    ax_health.set_ylabel("health")
    ax_health.legend(fontsize=8, loc="lower left")
    return save_figure(fig, path)


def plot_self_localization(layout, record: dict, agent, config, path: str | os.PathLike | None = None,
                           title: str = "") -> Figure:
    """A forager that localizes itself (:class:`SelfLocalizingForager`): the path it believes it took
    (a wide pale band) under its true path (a thin dark line), so that where they agree the line
    runs inside the band; the true trees and the trees it remembers where it believes they stand
    (crosses: green edible, red poisonous, black untasted); below, the distance between belief and
    truth over time, beside the two distances that matter: its reach (a fruit is eaten within it)
    and the matching distance (a smelled tree nearer than it to a remembered one is taken for it)."""
    truth = record["location"].numpy()
    estimate = torch.stack(agent.estimates).numpy() if agent.estimates else truth[:0]
    fig, (ax, ax_error) = subplots(2, 1, figsize=(8.5, 8.5), gridspec_kw={"height_ratios": [3, 1]})
    trees, poisonous = _trees(layout)
    _draw_trees(ax, trees, poisonous, config.eat_distance)
    ax.plot(estimate[:, 0], estimate[:, 1], color="tab:blue", lw=4, alpha=0.3, solid_capstyle="round",
            label="believed path", zorder=1)
    ax.plot(truth[:, 0], truth[:, 1], color="k", lw=0.5, label="true path", zorder=2)
    colours = {1: "tab:green", -1: "tab:red", 0: "k"}
    for status, label in ((1, "remembered: edible"), (-1, "remembered: poisonous"), (0, "remembered: untasted")):
        where = [t.location.numpy() for t in agent.forager.trees if t.status == status]
        if where:
            where = np.stack(where)
            ax.scatter(where[:, 0], where[:, 1], marker="+", s=70, c=colours[status], label=label, zorder=4)
    ax.scatter(*truth[0], marker="s", c="k", s=40, label="start", zorder=5)
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    ax.set_title(title, fontsize=10)
    ax_error.plot(np.arange(len(agent.errors)), agent.errors, color="tab:blue", lw=0.8)
    matching = getattr(agent.forager, "match_distance", None)
    for distance, label, style in ((config.eat_distance, "reach", ":"), (matching, "matching distance", "--")):
        if distance is not None and distance > 0.01:
            ax_error.axhline(distance, color="0.3", ls=style, lw=0.8)
            ax_error.annotate(f"{label} ({distance:g})", (1.0, distance), xycoords=("axes fraction", "data"),
                              xytext=(4, 0), textcoords="offset points", va="center", fontsize=7)
    ax_error.set_xlabel("step")
    ax_error.set_ylabel("localization error\n(world units)")
    return save_figure(fig, path)


def check_animation_path(path: str | os.PathLike) -> Path:
    """Refuse, before any work, an animation this machine cannot write (a .mp4 without ffmpeg)."""
    from matplotlib import animation

    path = Path(path)
    if path.suffix.lower() not in (".gif", ".mp4"):
        raise CogmapError(f"animation must be a .gif or .mp4 file, got {path.name}")
    if path.suffix.lower() == ".mp4" and not animation.writers.is_available("ffmpeg"):
        raise CogmapError("writing .mp4 needs ffmpeg on the PATH; write a .gif instead (drop --mp4)")
    return path


def plot_survival(curves: dict[str, np.ndarray], path: str | os.PathLike | None = None, title: str = "",
                  errors: dict[str, list[list[float]]] | None = None) -> Figure:
    """Fraction of worlds whose agent is alive after each step, one line per agent; with
    ``errors`` (per agent, each world's localization error every 100 steps), a second panel of
    its mean over the worlds still alive."""
    panels = 2 if errors else 1
    fig, axes = subplots(panels, 1, figsize=(6, 3.8 * panels), squeeze=False)
    ax = axes[0, 0]
    for agent, curve in curves.items():
        ax.plot(curve, label=agent)
    ax.set_xlabel("step")
    ax.set_ylabel("fraction of worlds alive")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title(title)
    if errors:
        ax = axes[1, 0]
        for agent, runs in errors.items():
            longest = max(len(r) for r in runs)
            mean = [np.mean([r[i] for r in runs if len(r) > i]) for i in range(longest)]
            ax.plot(np.arange(longest) * 100, mean, label=agent)
        ax.set_xlabel("step")
        ax.set_ylabel("localization error, mean over\nthe worlds alive (world units)")
        ax.legend(fontsize=8)
    return save_figure(fig, path)


def animate_run(layout, record: dict, config, path: str | os.PathLike, fps: int = 20, stride: int = 5,
                belief_extent: float | None = None, progress: bool = False) -> Path:
    """An animation of the run, every ``stride`` steps: trees, trail, agent and heading.

    ``.gif`` is written with Pillow; ``.mp4`` needs ffmpeg. With a ``belief`` entry in the
    record (a location-belief map per step) and its ``belief_extent`` (half-width in world
    units), the belief is drawn underneath, with the belief's mean as a cross when the record
    holds an ``estimate`` entry.
    """
    from matplotlib import animation

    path = check_animation_path(path)
    suffix = path.suffix.lower()
    location, heading = record["location"].numpy(), record["heading"].numpy()
    health = record["health"].numpy()
    belief = record.get("belief")
    frames = list(range(0, len(location), max(1, stride)))
    trees, poisonous = _trees(layout)
    fig, ax = subplots(figsize=(5.5, 5.5))
    everything = np.concatenate([location, trees] + ([record["estimate"].numpy()] if "estimate" in record else []))
    low, high = everything.min(0) - 50, everything.max(0) + 50
    image = None
    if belief is not None and len(belief) and belief_extent is not None:
        image = ax.imshow(belief[0].numpy(), origin="lower", cmap="Blues", alpha=0.8,
                          extent=(-belief_extent, belief_extent, -belief_extent, belief_extent), zorder=0)
    _draw_trees(ax, trees, poisonous, config.eat_distance)
    (trail,) = ax.plot([], [], color="0.5", lw=0.8)
    (agent,) = ax.plot([], [], "o", color="tab:blue", ms=7, zorder=5, label="true position")
    estimate = record.get("estimate")
    (guess,) = ax.plot([], [], "+", color="tab:purple", ms=12, mew=2, zorder=6,
                       label="belief mean" if estimate is not None else None)
    (arrow,) = ax.plot([], [], color="tab:blue", lw=1.5, zorder=5)
    label = ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", fontsize=9)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=7)

    def draw(t):
        trail.set_data(location[: t + 1, 0], location[: t + 1, 1])
        agent.set_data([location[t, 0]], [location[t, 1]])
        tip = location[t] + heading[t] * config.max_sense_distance / 3
        arrow.set_data([location[t, 0], tip[0]], [location[t, 1], tip[1]])
        label.set_text(f"step {t}   health {health[t]:.0f}")
        if estimate is not None:
            e = estimate[min(t, len(estimate) - 1)]
            guess.set_data([float(e[0])], [float(e[1])])
        if image is not None:  # belief t is about where observation t was made: location t
            image.set_data(belief[min(t, len(belief) - 1)].numpy())
            image.set_clim(0, float(belief[min(t, len(belief) - 1)].max()))
        return trail, agent, arrow, label

    movie = animation.FuncAnimation(fig, draw, frames=frames, interval=1000 / fps, blit=False)
    with tqdm(total=len(frames), desc=f"writing {path.name}", unit="frame", disable=not progress) as bar:
        with atomic_path(path) as tmp:
            writer = animation.PillowWriter(fps=fps) if suffix == ".gif" else animation.FFMpegWriter(fps=fps)
            movie.save(str(tmp), writer=writer, progress_callback=lambda i, n: bar.update(1))
    return path


def plot_localization(results, path: str | os.PathLike | None = None, title: str = "") -> Figure:
    """Localization error (belief mean and mode vs truth, and the localizer's own sd per axis,
    dashed), loss and memory weight over time, per experiment (``Localization`` results)."""
    fig, axes = subplots(3, 1, figsize=(7, 8), sharex=True)
    for result in results:
        steps = np.arange(1, len(result.error_mean) + 1)
        line = axes[0].plot(steps, result.error_mean.numpy(), label=f"{result.name} (mean)")[0]
        axes[0].plot(steps, result.error_mode.numpy(), color=line.get_color(), ls=":", lw=0.8)
        if result.uncertainty is not None and len(result.uncertainty) == len(steps):
            axes[0].plot(steps, result.uncertainty.numpy(), color=line.get_color(), ls="--", lw=0.8)
        axes[1].plot(steps, result.loss.numpy(), color=line.get_color(), label=result.name)
        axes[2].plot(steps, result.memory_weight.numpy(), color=line.get_color(), label=result.name)
    axes[0].set_ylabel("localization error\n(world units)")
    axes[0].legend(fontsize=8)
    axes[0].set_title(title or "distance from the true location: estimate (solid), mode (dotted);\n"
                      "the localizer's sd per axis (dashed)", fontsize=10)
    axes[1].set_ylabel("loss")
    axes[1].set_yscale("log")
    axes[2].set_ylabel("memory weight")
    axes[2].set_xlabel("step")
    return save_figure(fig, path)
