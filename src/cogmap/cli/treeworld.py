"""``cogmap treeworld``: run agents in Tree World, picture the runs, compare their survival."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from cogmap.cli.common import ArgumentParser, read_yaml_mapping, write_text_atomic
from cogmap.errors import CogmapError, check_positive_int

HELP = "the Tree World foraging world: run agents, plot and animate runs, compare survival"
DESCRIPTION = """\
Tree World is a 2-D plane of fruit trees (some poisonous) where an agent with smell and sight
spends health to move and regains it by eating. World settings come from --config (a flat YAML
mapping of TreeWorldConfig fields) and --set key=value overrides, e.g. --set num_trees=10.

  run       one agent in one world: metrics.json, run.png, record.npz (and run.gif with --animate)
  survival  agents over many seeded worlds with death allowed: survival.json and survival.png
  localize  the seed's TEM2d localization experiments: errors over time, figures, animations
"""


def _world_config(args):
    from cogmap.treeworld import TreeWorldConfig
    from cogmap.typed import parse_overrides

    values = read_yaml_mapping(args.config) if args.config is not None else {}
    values.update(parse_overrides(args.set or [], nested=False))
    return TreeWorldConfig.from_dict(values)


def _common(p) -> None:
    p.add_argument("--config", type=Path, help="YAML file of Tree World settings (TreeWorldConfig fields)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override one setting (repeatable)")
    p.add_argument("--out", type=Path, required=True, help="output folder (created)")


def add_parser(subparsers) -> None:
    from cogmap.treeworld.agents import AGENTS

    p = subparsers.add_parser("treeworld", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(title="actions", metavar="ACTION", parser_class=ArgumentParser)
    r = sub.add_parser("run", help="run one agent in one world and picture it",
                       description="Run one agent in the world of --seed and write metrics.json, run.png, "
                                   "record.npz and config.yaml (and run.gif with --animate) to --out.")
    r.add_argument("--agent", choices=AGENTS, default="random", help="controller (default random)")
    r.add_argument("--steps", type=int, default=1000, help="steps to run (default 1000)")
    r.add_argument("--seed", type=int, default=0, help="seed of the world and the agent (default 0)")
    r.add_argument("--allow-death", action="store_true", help="stop when health reaches 0 (default: run on)")
    r.add_argument("--action-noise", type=float, default=0.0, help="odometry noise of the path tracers (default 0)")
    r.add_argument("--animate", action="store_true", help="also write run.gif (run.mp4 with --mp4, needs ffmpeg)")
    r.add_argument("--mp4", action="store_true", help="write the animation as MP4 instead of GIF")
    r.add_argument("--stride", type=int, default=5, help="steps per animation frame (default 5)")
    _common(r)
    r.set_defaults(run=run_one)
    s = sub.add_parser("survival", help="compare agents' survival over many seeded worlds",
                       description="Run each agent in worlds of seeds 0..N-1 with death allowed and write "
                                   "survival.json (per world and summary) and survival.png (fraction alive).")
    s.add_argument("--agents", default="random,drive", help="comma-separated agents (default random,drive)")
    s.add_argument("--worlds", type=int, default=50, help="worlds per agent (default 50)")
    s.add_argument("--steps", type=int, default=5000, help="step cap per run (default 5000)")
    _common(s)
    s.set_defaults(run=run_survival)
    from cogmap.treeworld.localize import ALL_EXPERIMENTS

    loc = sub.add_parser("localize", help="the seed's TEM2d localization experiments",
                         description="Run a path tracer that localizes itself with TEM2d (belief maps on a "
                                     "101 x 101 grid over 1000 x 1000 world units, moved by action kernels, "
                                     "corrected from a location-keyed memory) and measure the distance between "
                                     "belief and truth. Writes localization.json, localization.png and, with "
                                     "--animate, <experiment>.gif per experiment to --out.")
    loc.add_argument("--experiment", default="spiral-memory",
                     help=f"comma-separated experiments from {', '.join(ALL_EXPERIMENTS)}, or 'all' (default spiral-memory)")
    loc.add_argument("--steps", type=int, default=1000, help="steps (default 1000)")
    loc.add_argument("--seed", type=int, default=0, help="seed of the world and the odometry noise (default 0)")
    loc.add_argument("--memory-mix", type=float, help="fixed memory weight in [0, 1] (default: the experiment's)")
    loc.add_argument("--affinity", action="store_true", help="use the affinity-gated memory weight instead of a fixed one")
    loc.add_argument("--affinity-exponent", type=float, default=20.0, help="exponent of the affinity gate (default 20)")
    loc.add_argument("--action-noise", type=float, help="odometry noise sd per axis (default: the experiment's)")
    loc.add_argument("--grid-size", type=int, default=101, help="cells per side of the belief map, odd (default 101)")
    loc.add_argument("--grid-extent", type=float, default=1000.0, help="world units the map spans (default 1000)")
    loc.add_argument("--animate", action="store_true", help="also write an animation of the belief map per experiment")
    loc.add_argument("--stride", type=int, default=5, help="steps per animation frame (default 5)")
    _common(loc)
    loc.set_defaults(run=run_localize)
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def run_one(args) -> int:
    import numpy as np

    from cogmap.treeworld import TreeWorld
    from cogmap.treeworld.agents import make_agent
    from cogmap.viz.treeworld import animate_run, plot_run

    check_positive_int("--steps", args.steps)
    check_positive_int("--stride", args.stride)
    if args.action_noise < 0:
        raise CogmapError(f"--action-noise must be >= 0, got {args.action_noise}")
    config = _world_config(args)
    args.out.mkdir(parents=True, exist_ok=True)
    world = TreeWorld.random_from_config(config, seed=args.seed,
                                         model=make_agent(args.agent, config, seed=args.seed, action_noise=args.action_noise))
    world.run(args.steps, record=True, allow_death=args.allow_death, progress=True)
    record = world.record.as_tensors()
    summary = {"agent": args.agent, "seed": args.seed, "steps_asked": args.steps, **world.summary()}
    write_text_atomic(args.out / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
    write_text_atomic(args.out / "metrics.json", json.dumps(summary, indent=1))
    from cogmap.files import atomic_path

    with atomic_path(args.out / "record.npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **{k: v.numpy() for k, v in record.items()})
    title = f"{args.agent} agent, world {args.seed}: {summary['steps']} steps, {summary['fruit_eaten']} fruit " \
            f"({summary['poisonous_fruit_eaten']} poisonous)"
    plot_run(world.batched.layout, record, config, args.out / "run.png", title=title)
    written = ["metrics.json", "run.png", "record.npz", "config.yaml"]
    if args.animate:
        name = "run.mp4" if args.mp4 else "run.gif"
        animate_run(world.batched.layout, record, config, args.out / name, stride=args.stride)
        written.append(name)
    print(f"{args.agent}: {summary['steps']} steps, alive {summary['alive']}, health {summary['health']:.0f}, "
          f"fruit {summary['fruit_eaten']} ({summary['poisonous_fruit_eaten']} poisonous)")
    print(f"wrote {', '.join(written)} in {args.out}")
    return 0


def run_survival(args) -> int:
    from cogmap.treeworld.agents import AGENTS
    from cogmap.treeworld.experiments import survival_curve, survival_runs, survival_summary
    from cogmap.viz.plots import plt, save_figure

    check_positive_int("--worlds", args.worlds)
    check_positive_int("--steps", args.steps)
    agents = [a.strip() for a in args.agents.split(",") if a.strip()]
    unknown = [a for a in agents if a not in AGENTS]
    if unknown or not agents:
        raise CogmapError(f"--agents must name agents from {', '.join(AGENTS)}, got {args.agents!r}")
    config = _world_config(args)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for agent in agents:
        rows = survival_runs(agent, config, range(args.worlds), args.steps, progress=True)
        results[agent] = {"summary": survival_summary(rows, args.steps), "runs": rows}
        ax.plot(survival_curve(rows, args.steps), label=agent)
        s = results[agent]["summary"]
        print(f"{agent:>8}: survival mean {s['survival_mean']:.0f} median {s['survival_median']:.0f} steps, "
              f"alive at {args.steps}: {s['alive_at_cap']:.2f}, fruit {s['fruit_eaten_mean']:.1f} "
              f"(poisonous {s['poisonous_fruit_eaten_mean']:.1f})")
    ax.set_xlabel("step")
    ax.set_ylabel("fraction of worlds alive")
    ax.set_ylim(0, 1.02)
    ax.legend()
    ax.set_title(f"Tree World survival, {args.worlds} worlds")
    save_figure(fig, args.out / "survival.png")
    write_text_atomic(args.out / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
    write_text_atomic(args.out / "survival.json", json.dumps(results, indent=1))
    print(f"wrote survival.json, survival.png and config.yaml in {args.out}")
    return 0


def run_localize(args) -> int:
    from cogmap.treeworld.localize import ALL_EXPERIMENTS, run_localization, summarize, tracked_vehicle_experiment
    from cogmap.viz.treeworld import animate_run, plot_localization

    names = list(ALL_EXPERIMENTS) if args.experiment == "all" else [e.strip() for e in args.experiment.split(",") if e.strip()]
    unknown = [n for n in names if n not in ALL_EXPERIMENTS]
    if unknown or not names:
        raise CogmapError(f"--experiment must name experiments from {', '.join(ALL_EXPERIMENTS)} (or 'all'), "
                          f"got {args.experiment!r}")
    check_positive_int("--steps", args.steps)
    check_positive_int("--stride", args.stride)
    if args.memory_mix is not None and not 0 <= args.memory_mix <= 1:
        raise CogmapError(f"--memory-mix must be in [0, 1], got {args.memory_mix}")
    if args.action_noise is not None and args.action_noise < 0:
        raise CogmapError(f"--action-noise must be >= 0, got {args.action_noise}")
    config = _world_config(args)
    args.out.mkdir(parents=True, exist_ok=True)
    mix = None if args.affinity else (args.memory_mix if args.memory_mix is not None else "default")
    results, summaries = {}, {}
    runs = []
    for name in names:
        if name == "tracked-vehicle":
            out = tracked_vehicle_experiment(config, args.steps, args.seed, grid_size=args.grid_size,
                                             grid_extent=args.grid_extent, progress=True)
            print(f"tracked vehicle: learned track width {out['learned_track_width']:.3f} (true "
                  f"{out['true_track_width']:.3f}), track gains {', '.join(f'{g:.3f}' for g in out['learned_gains'])} (true 1)")
            for model, result in out["results"].items():
                runs.append((f"tracked-vehicle, {model} action model", result))
                result["settings"]["learned_track_width"] = out["learned_track_width"]
                result["settings"]["true_track_width"] = out["true_track_width"]
        else:
            runs.append((name, run_localization(name, config, args.steps, args.seed, mix, args.action_noise,
                                                args.affinity_exponent, args.grid_size, args.grid_extent, progress=True)))
    for name, result in runs:
        results[name], summaries[name] = result, summarize(result)
        s = summaries[name]
        print(f"{name:>20}: error (belief mean to truth) final {s['error_mean_final']:.1f}, average "
              f"{s['error_mean_average']:.1f}, max {s['error_mean_max']:.1f} world units; estimate "
              f"{s['distance_from_origin_estimate_final']:.0f} from the origin, truth {s['distance_from_origin_true_final']:.0f}")
        if args.animate:
            record = {**result["record"], "estimate": result["estimate"]}
            extent = result["tem"].grid_extent / 2 + result["tem"].grid_scale / 2
            filename = name.replace(", ", "-").replace(" ", "-") + ".gif"
            animate_run(result["world"].batched.layout, record, config, args.out / filename, stride=args.stride,
                        belief_extent=extent)
    plot_localization(results, args.out / "localization.png")
    per_step = {name: {"error_mean": r["error_mean"].tolist(), "error_mode": r["error_mode"].tolist(),
                       "loss": r["loss"].tolist(), "memory_weight": r["memory_weight"].tolist()}
                for name, r in results.items()}
    write_text_atomic(args.out / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
    write_text_atomic(args.out / "localization.json", json.dumps({"summary": summaries, "per_step": per_step}))
    print(f"wrote localization.json, localization.png{', animations' if args.animate else ''} and config.yaml in {args.out}")
    return 0
