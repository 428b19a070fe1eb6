"""Figures of a controller's learning-dynamics study (Huang, Singh & Rajan, panels b-e), from :mod:`cogmap.studies.learning_dynamics`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from cogmap.viz.plots import new_figure, save_figure, subplots


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


def plot_walking_tangling(study, path: str | os.PathLike | None = None) -> Figure:
    """Q of every layer, per condition (all conditions compared together), and the actuation/recurrent ratio."""
    layers = list(study.tangling)
    labels = [", ".join(f"{v:g}" for v in c.command) for c in study.conditions]
    fig, axes = subplots(1, 2, figsize=(13, 4), layout="constrained", gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / len(layers)
    for k, layer in enumerate(layers):
        q = study.tangling[layer].q_pooled
        positions = np.arange(len(q)) + (k - (len(layers) - 1) / 2) * width
        parts = axes[0].boxplot(q, positions=positions, widths=width * 0.9, patch_artist=True, showfliers=False)
        for box in parts["boxes"]:
            box.set_facecolor(f"C{k}")
            box.set_alpha(0.6)
        axes[0].plot([], [], color=f"C{k}", lw=6, alpha=0.6, label=f"{layer} ({study.tangling[layer].units} units)")
    axes[0].set_xticks(np.arange(len(labels)), labels)
    axes[0].set_xlabel("command")
    axes[0].set_ylabel("tangling Q")
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    x = np.arange(len(labels))
    if study.untrained_ratio is None:
        axes[1].bar(x, study.ratio, color="0.5")
    else:
        axes[1].bar(x - 0.2, study.ratio, width=0.4, color="0.3", label="trained")
        axes[1].bar(x + 0.2, study.untrained_ratio, width=0.4, color="0.7", label="untrained, same inputs")
        axes[1].legend(fontsize=7)
    axes[1].axhline(1, color="k", lw=0.8)
    axes[1].set_xticks(np.arange(len(labels)), labels, rotation=45)
    p = f", Wilcoxon p = {study.wilcoxon_p:.2g}" if study.wilcoxon_p is not None else ""
    axes[1].set_title(f"median Q, actuation / recurrent{p}", fontsize=9)
    return save_figure(fig, path)


def plot_speed_axis(study, path: str | os.PathLike | None = None, layer: str = "recurrent") -> Figure:
    """Every condition's averaged recurrent cycle on (PC 1, PC 2, speed axis), coloured by its pooled Q."""
    fig = new_figure(figsize=(6.5, 5.5))
    ax = fig.add_subplot(projection="3d")
    q_all = np.concatenate([np.asarray(q) for q in study.tangling[layer].q_pooled])
    low, high = float(q_all.min()), float(q_all.max())
    # The study's spline-smoothed cycles and Q where it has them (the recurrent layer), the raw ones otherwise.
    smooth = layer == "recurrent" and study.smoothed_projections and study.smoothed_q
    cycles = study.smoothed_projections if smooth else study.projections
    colours = study.smoothed_q if smooth else study.tangling[layer].q_pooled
    for condition, points, q in zip(study.conditions, cycles, colours):
        points, q = np.asarray(points), np.asarray(q)
        ax.scatter(points[:, 0], points[:, 1], points[:, 2], c=q, cmap="viridis", vmin=low, vmax=high, s=4)
        ax.text(*points[0], ",".join(f"{c:+g}" for c in condition.command), fontsize=7)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_zlabel("speed axis")
    s = study.speed
    ax.set_title(f"{layer} cycles, coloured by Q ({low:.3g} to {high:.3g}); the speed axis holds "
                 f"{s.explained_across_conditions:.0%} of the across-condition variance", fontsize=8)
    return save_figure(fig, path)


def plot_push(study, path: str | os.PathLike | None = None) -> Figure:
    """The recurrent state's distance from its averaged cycle around a push, in units of the cycle's radius."""
    push = study.push
    distance = np.asarray(push["distance_to_cycle"]) / push["cycle_radius"]
    fig, ax = subplots(figsize=(6, 3.2))
    time = (np.arange(len(distance)) - push["step"]) * study.dt
    ax.plot(time, distance)
    ax.axvline(0, color="k", lw=0.8, ls=":")
    ax.set_xlabel("time from the push (s)")
    ax.set_ylabel("distance to the cycle / its radius")
    back = push["steps_to_return"]
    ax.set_title(f"push of {push['change']:+g} m/s at command {push['command']}: back after "
                 f"{'-' if back is None else f'{back * study.dt:.2f} s'}", fontsize=9)
    return save_figure(fig, path)


def plot_tracking(study, path: str | os.PathLike | None = None) -> Figure:
    """Measured against commanded velocity, one point per condition."""
    command = np.array([c.command[0] for c in study.conditions])
    measured = np.array([c.velocity[0] for c in study.conditions])
    fig, ax = subplots(figsize=(4.2, 4))
    ax.plot(command, measured, "o")
    span = [min(command.min(), measured.min()), max(command.max(), measured.max())]
    ax.plot(span, span, color="k", lw=0.8, ls=":")
    ax.set_xlabel("commanded velocity (m/s)")
    ax.set_ylabel("measured velocity (m/s)")
    worst = max(c.speed_error for c in study.conditions)
    ax.set_title(f"largest error {worst:.1%} of the command", fontsize=9)
    return save_figure(fig, path)


def plot_policy_returns(rows, episodes: int, path: str | os.PathLike | None = None) -> Figure:
    """Each run's mean return with its sd over the episodes (rows of a policy evaluation)."""
    fig, ax = subplots(figsize=(max(4.0, 0.6 * len(rows) + 2), 3.4))
    x = np.arange(len(rows))
    ax.errorbar(x, [r["return_mean"] for r in rows], yerr=[r["return_sd"] for r in rows], fmt="o", capsize=3)
    ax.set_xticks(x, [f"{Path(r['run']).name}\n(update {r['update']})" for r in rows], fontsize=7)
    ax.set_ylabel(f"return (mean +- sd, {episodes} episodes)")
    return save_figure(fig, path)


def plot_command_tracking(runs: dict, tolerance: float, path: str | os.PathLike | None = None) -> Figure:
    """Measured against commanded forward, lateral and yaw-rate velocity, one point per condition and walker,
    the tolerance band around the diagonal (runs as :class:`cogmap.studies.tracking.TrackingResult` holds them)."""
    names = ("forward (m/s)", "lateral (m/s)", "yaw rate (rad/s)")
    fig, axes = subplots(1, 3, figsize=(11, 3.6), layout="constrained")
    for k, (ax, name) in enumerate(zip(axes, names)):
        span = [0.0, 0.0]
        for run, conditions in runs.items():
            command = np.array([c["command"][k] for c in conditions])
            mean = np.array([c["mean"][k] for c in conditions])
            sd = np.array([c["sd"][k] for c in conditions])
            ax.errorbar(command, mean, yerr=sd, fmt="o", ms=4, capsize=2, label=Path(run).name or run)
            span = [min(span[0], np.nanmin(command), np.nanmin(mean)), max(span[1], np.nanmax(command), np.nanmax(mean))]
        line = np.linspace(span[0], span[1], 50)
        ax.plot(line, line, color="k", lw=0.8, ls=":")
        ax.fill_between(line, line * (1 - tolerance), line * (1 + tolerance), color="0.85", lw=0)
        ax.set_xlabel(f"commanded {name}")
        ax.set_ylabel(f"measured {name}")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"tracking: mean over copies (+- sd); band: within {tolerance:.0%} of the command", fontsize=9)
    return save_figure(fig, path)


def plot_similarity(pairs: list, layers: list, path: str | os.PathLike | None = None) -> Figure:
    """Mean canonical correlation per layer for each pair of walkers, beside the untrained baselines."""
    kinds = ("trained", "trained vs own untrained twin", "second vs own untrained twin", "untrained twins")
    fig, axes = subplots(1, len(pairs), figsize=(1.6 + 2.2 * len(layers), 3.6), layout="constrained", squeeze=False)
    for ax, pair in zip(axes[0], pairs):
        x = np.arange(len(layers))
        labels = ("the two trained walkers", "the first walker vs its untrained twin",
                  "the second walker vs its untrained twin", f"the two untrained twins ({pair.get('twins', 'unknown')})")
        for k, (kind, label) in enumerate(zip(kinds, labels)):
            values = [pair["layers"][layer].get(kind, {}).get("cca_mean", np.nan) for layer in layers]
            ax.bar(x + (k - 1.5) * 0.2, values, width=0.19, color=f"{0.15 + 0.23 * k:.2f}", label=label)
        ax.set_xticks(x, layers)
        ax.set_ylim(0, 1)
        ax.set_ylabel("mean canonical correlation")
        ax.set_title(f"{Path(pair['a']).name} vs {Path(pair['b']).name}", fontsize=9)
    for ax in axes[0]:  # below the bars, which reach from 0 to near 1
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    return save_figure(fig, path)


def plot_walker_groups(series: list, config, path: str | os.PathLike | None = None) -> Figure:
    """Each walker's value per series, the two groups side by side, with the test's p over each series."""
    names = config.names
    fig, ax = subplots(1, 1, figsize=(1.8 + 1.6 * len(series), 3.6), layout="constrained")
    for s, entry in enumerate(series):
        for g, name in enumerate(names):
            values = [w["value"] for w in entry["walkers"][name]]
            x = s + (g - 0.5) * 0.36 + np.linspace(-0.05, 0.05, len(values)) * (len(values) > 1)
            ax.scatter(x, values, color=f"C{g}", s=22, label=name if s == 0 else None, zorder=3)
            ax.hlines(np.median(values), s + (g - 0.5) * 0.36 - 0.12, s + (g - 0.5) * 0.36 + 0.12, color=f"C{g}")
        test = entry["test"]
        more = f"\n{test['more']} more each: >= {test['least_p_with_more']:.2g}" if "more" in test else ""
        ax.annotate(f"p = {test['p']:.2g}\n(least {test['smallest_p']:.2g}){more}", (s, 1.0), xycoords=("data", "axes fraction"),
                    ha="center", va="top", fontsize=7)
    ax.set_xticks(range(len(series)), [entry["name"] or "as given" for entry in series])
    ax.set_xlim(-0.6, len(series) - 0.4)
    if config.measure == "ratio":
        ax.axhline(1.0, color="0.6", lw=0.8, ls="--")
        ax.set_ylabel(f"actuation / {config.layer} tangling\n(median over conditions)")
    else:
        ax.set_ylabel(f"{config.layer} tangling Q\n(median over conditions)")
    ymin, ymax = ax.get_ylim()
    ax.set_ylim(ymin, ymax + 0.35 * (ymax - ymin))  # room for the p-values above the points
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # beside the axes, never over a walker
    ax.set_title("one point per walker; bar: the group's median", fontsize=9)
    return save_figure(fig, path)


def plot_condition_cycles(study, path: str | os.PathLike | None = None, recurrent: str = "recurrent",
                          actuation: str = "actuation") -> Figure:
    """Each condition alone (Rush et al.'s Fig. 2): its averaged recurrent cycle on its own top three PCs and its
    actuation on its top two, coloured by the within-cycle Q; an ellipse against a figure eight."""
    conditions = study.conditions
    fig = new_figure(figsize=(7.5, 3.2 * len(conditions)), layout="constrained")
    for row, condition in enumerate(conditions):
        label = ",".join(f"{c:+g}" for c in condition.command)
        for layer, dims in ((recurrent, 3), (actuation, 2)):
            cycle = np.asarray(condition.cycles[layer], dtype=np.float64)
            sd = cycle.std(0)
            z = (cycle - cycle.mean(0)) / np.where(sd > 1e-12, sd, 1.0)
            _, _, vt = np.linalg.svd(z, full_matrices=False)
            points = z @ vt[:dims].T
            points = np.vstack([points, points[:1]])  # closed
            q = np.asarray(study.tangling[layer].q_within[row])
            median = float(np.median(q))
            if dims == 3:
                ax = fig.add_subplot(len(conditions), 2, 2 * row + 1, projection="3d")
                ax.plot(points[:, 0], points[:, 1], points[:, 2], color="0.6", lw=0.8)
                ax.scatter(points[:-1, 0], points[:-1, 1], points[:-1, 2], c=q, cmap="viridis", s=10)
                ax.set_zlabel("PC 3", fontsize=7)
            else:
                ax = fig.add_subplot(len(conditions), 2, 2 * row + 2)
                ax.plot(points[:, 0], points[:, 1], color="0.6", lw=0.8)
                ax.scatter(points[:-1, 0], points[:-1, 1], c=q, cmap="viridis", s=10)
            ax.set_xlabel("PC 1", fontsize=7)
            ax.set_ylabel("PC 2", fontsize=7)
            ax.tick_params(labelsize=6)
            ax.set_title(f"{layer}, command {label}: median Q {median:.3g}", fontsize=8)
    return save_figure(fig, path)
