"""``cogmap treeworld``: run agents in Tree World, picture the runs, compare their survival."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import yaml

from cogmap.cli.common import (
    ArgumentParser,
    add_config_arguments,
    check_count,
    comma_numbers,
    create_output_dir,
    output_dir,
    overrides,
    write_text_atomic,
)
from cogmap.errors import CogmapError

HELP = "the Tree World foraging world: run agents, plot and animate runs, compare survival"
DESCRIPTION = """\
Tree World is a 2-D plane of fruit trees (some poisonous) where an agent with smell and sight
spends health to move and regains it by eating. World settings come from --config (a flat YAML
mapping of TreeWorldConfig fields) and KEY=VALUE overrides anywhere on the line (or
--set KEY=VALUE), e.g. num_trees=10.

  run       one agent in one world: metrics.json, run.png, record.npz (and run.gif with --animate)
            (seconds; --animate adds about a minute per 1,000 steps)
  survival  agents over many seeded worlds with death allowed: survival.json and survival.png
            (the drive foragers run --batch worlds together; the defaults, 50 worlds of the random
            and the drive forager, take well under a minute on 2 cores; the self-localizing
            foragers a few minutes per 50 worlds of 5,000 steps)
  localize  the Tree World specification's localization experiments, with TEM2d or the phase code: errors over time,
            figures, animations (--experiment all: a few minutes on 2 cores, more with --animate)
An existing, non-empty --out is not overwritten without --force.
"""


def _world_config(args):
    from cogmap.treeworld import TreeWorldConfig
    from cogmap.typed import load

    return load(TreeWorldConfig, args.config, overrides(args))


def _common(p, default_out: str) -> None:
    add_config_arguments(p, "num_trees=10", "YAML file of Tree World settings (TreeWorldConfig fields)")
    p.add_argument("--out", type=Path, help=f"output folder (default {default_out})")
    p.add_argument("--force", action="store_true", help="replace what an earlier run wrote in --out")


def add_parser(subparsers) -> None:
    from cogmap.treeworld.agents import AGENTS

    p = subparsers.add_parser("treeworld", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(title="actions", metavar="ACTION", parser_class=ArgumentParser)
    r = sub.add_parser("run", help="run one agent in one world and picture it",
                       description="Run one agent in the world of --seed and write metrics.json, run.png, "
                                   "record.npz and config.yaml (and run.gif with --animate) to --out; a "
                                   "self-localizing forager also localization.png (true and believed paths, "
                                   "remembered trees, localization error).")
    r.add_argument("--agent", choices=AGENTS, default="random", help="controller (default random)")
    r.add_argument("--steps", type=int, default=1000, help="steps to run (default 1000)")
    r.add_argument("--seed", type=int, default=0, help="seed of the world and the agent (default 0)")
    r.add_argument("--allow-death", action="store_true", help="stop when health reaches 0 (default: run on)")
    r.add_argument("--action-noise", type=float, default=0.0,
                   help="odometry noise of the path tracers; motor noise of the self-localizing foragers "
                        "(sd per axis, default 0)")
    r.add_argument("--animate", action="store_true", help="also write run.gif (run.mp4 with --mp4, needs ffmpeg)")
    r.add_argument("--mp4", action="store_true", help="write the animation as MP4 instead of GIF")
    r.add_argument("--stride", type=int, default=5, help="steps per animation frame (default 5)")
    _common(r, "runs/treeworld/<agent>_seed<seed>")
    r.set_defaults(run=run_one)
    s = sub.add_parser("survival", help="compare agents' survival over many seeded worlds",
                       description="Run each agent in worlds of seeds 0..N-1 with death allowed and write "
                                   "survival.json (per world and summary) and survival.png (fraction alive; "
                                   "for self-localizing agents also their localization error over time).")
    s.add_argument("--agents", default="random,drive", help="comma-separated agents (default random,drive)")
    s.add_argument("--worlds", type=int, default=50, help="worlds per agent (default 50)")
    s.add_argument("--steps", type=int, default=5000, help="step cap per run (default 5000)")
    s.add_argument("--action-noise", default="0",
                   help="comma-separated motor noise sds per axis, unperceived by the agent (default 0); every agent "
                        "runs at each")
    s.add_argument("--fixed-map", action="store_true",
                   help="the drive foragers keep each tree where they first met it (default: moved to where it is "
                        "sensed again, which keeps the map in a drifting estimate's frame; drive-landmarks always "
                        "keeps a fixed map)")
    s.add_argument("--batch", type=int, default=100,
                   help="worlds stepped together for the drive foragers (default 100; memory grows with it)")
    _common(s, "runs/treeworld/survival")
    s.set_defaults(run=run_survival)
    from cogmap.treeworld.localize import ALL_EXPERIMENTS

    loc = sub.add_parser("localize", help="the Tree World specification's localization experiments, with TEM2d or the phase code",
                         description="Run a path tracer that localizes itself from odometry and smell with TEM2d "
                                     "(belief maps on a 101 x 101 grid over 1000 x 1000 world units, moved by action "
                                     "kernels, corrected from a location-keyed memory) or with the phase code "
                                     "(phases of plane waves at 10 scales, moved exactly, no boundary, corrected from "
                                     "a memory keyed by phases) and measure the distance between estimate and "
                                     "truth. Writes localization.json, localization.png and, with --animate, "
                                     "<experiment>.gif per run to --out.")
    loc.add_argument("--experiment", default="spiral-memory",
                     help=f"comma-separated experiments from {', '.join(ALL_EXPERIMENTS)}, or 'all' (default spiral-memory)")
    loc.add_argument("--localizer", default="tem2d",
                     help="comma-separated localizers from tem2d, phase; each runs every experiment (default tem2d)")
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
    _common(loc, "runs/treeworld/localize")
    loc.set_defaults(run=run_localize)
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def run_one(args) -> int:
    import numpy as np

    from cogmap.files import atomic_path
    from cogmap.treeworld import TreeWorld
    from cogmap.treeworld.agents import SelfLocalizingForager, make_agent
    from cogmap.viz.treeworld import animate_run, check_animation_path, plot_run, plot_self_localization

    check_count("--steps", args.steps)
    check_count("--stride", args.stride)
    if not (math.isfinite(args.action_noise) and args.action_noise >= 0):
        raise CogmapError(f"--action-noise must be a finite number >= 0, got {args.action_noise}")
    config = _world_config(args)
    out = output_dir(args.out, Path("runs/treeworld") / f"{args.agent}_seed{args.seed}", args.force)
    movie = ("run.mp4" if args.mp4 else "run.gif") if args.animate else None
    if movie:
        check_animation_path(out / movie)
    world = TreeWorld.random_from_config(config, seed=args.seed,
                                         model=make_agent(args.agent, config, seed=args.seed, action_noise=args.action_noise))
    world.run(args.steps, record=True, allow_death=args.allow_death, progress=True)
    record = world.record.as_tensors()
    summary = {"agent": args.agent, "seed": args.seed, "steps_asked": args.steps, **world.summary()}
    create_output_dir(out, args.force)
    write_text_atomic(out / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
    write_text_atomic(out / "metrics.json", json.dumps(summary, indent=1))
    with atomic_path(out / "record.npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **{k: v.numpy() for k, v in record.items()})
    title = f"{args.agent} agent, world {args.seed}: {summary['steps']} steps, {summary['fruit_eaten']} fruit " \
            f"({summary['poisonous_fruit_eaten']} poisonous)"
    plot_run(world.batched.layout, record, config, out / "run.png", title=title)
    written = ["metrics.json", "run.png", "record.npz", "config.yaml"]
    model = world.agent.model
    if isinstance(model, SelfLocalizingForager) and model.localizer is not None:
        summary["localization_error_mean"] = float(np.mean(model.errors))
        summary["localization_error_final"] = model.errors[-1]
        write_text_atomic(out / "metrics.json", json.dumps(summary, indent=1))
        plot_self_localization(world.batched.layout, record, model, config, out / "localization.png",
                               title=f"{args.agent}, motor noise {args.action_noise:g}, world {args.seed}: where it "
                                     f"was and where it believed it was")
        written.append("localization.png")
    if movie:
        animate_run(world.batched.layout, record, config, out / movie, stride=args.stride, progress=True)
        written.append(movie)
    print(f"{args.agent}: {summary['steps']} steps, alive {summary['alive']}, health {summary['health']:.0f}, "
          f"fruit {summary['fruit_eaten']} ({summary['poisonous_fruit_eaten']} poisonous)")
    print(f"wrote {', '.join(written)} in {out}")
    return 0


def run_survival(args) -> int:
    from cogmap.treeworld.agents import AGENTS
    from cogmap.treeworld.experiments import (
        BATCHED_SOURCES,
        batched_survival_runs,
        survival_curve,
        survival_runs,
        survival_summary,
    )
    from cogmap.viz.treeworld import plot_survival

    check_count("--worlds", args.worlds)
    check_count("--steps", args.steps)
    check_count("--batch", args.batch)
    agents = [a.strip() for a in args.agents.split(",") if a.strip()]
    unknown = [a for a in agents if a not in AGENTS]
    if unknown or not agents:
        raise CogmapError(f"--agents must name agents from {', '.join(AGENTS)}, got {args.agents!r}")
    noises = comma_numbers("--action-noise", args.action_noise, minimum=0.0)
    config = _world_config(args)
    out = output_dir(args.out, Path("runs/treeworld/survival"), args.force)
    results, curves = {}, {}
    for noise in noises:
        for agent in agents:
            key = agent if noises == [0.0] else f"{agent}, noise {noise:g}"
            if agent in BATCHED_SOURCES:
                rows = batched_survival_runs(agent, config, range(args.worlds), args.steps, progress=True,
                                             action_noise=noise, batch=args.batch, reanchor=not args.fixed_map)
            else:
                rows = survival_runs(agent, config, range(args.worlds), args.steps, progress=True, action_noise=noise)
            results[key] = {"summary": {**survival_summary(rows, args.steps), "action_noise": noise,
                                        "fixed_map": args.fixed_map or agent == "drive-landmarks"}, "runs": rows}
            curves[key] = survival_curve(rows, args.steps)
            s = results[key]["summary"]
            where = (f", localization error mean {s['localization_error_mean']:.1f}"
                     if "localization_error_mean" in s else "")
            print(f"{key:>8}: survival mean {s['survival_mean']:.0f} median {s['survival_median']:.0f} steps, "
                  f"alive at {args.steps}: {s['alive_at_cap']:.2f}, fruit {s['fruit_eaten_mean']:.1f} "
                  f"(poisonous {s['poisonous_fruit_eaten_mean']:.1f}){where}", flush=True)
    create_output_dir(out, args.force)
    errors = {key: [r["localization_error_every_100"] for r in result["runs"]] for key, result in results.items()
              if all("localization_error_every_100" in r for r in result["runs"])}
    plot_survival(curves, out / "survival.png", title=f"Tree World survival, {args.worlds} worlds", errors=errors)
    write_text_atomic(out / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
    write_text_atomic(out / "survival.json", json.dumps(results, indent=1))
    print(f"wrote survival.json, survival.png and config.yaml in {out}")
    return 0


def run_localize(args) -> int:
    from cogmap.treeworld.localize import (
        ALL_EXPERIMENTS,
        LOCALIZERS,
        check_grid,
        run_localization,
        tracked_vehicle_experiment,
    )
    from cogmap.viz.treeworld import animate_run, plot_localization

    localizers = [e.strip() for e in args.localizer.split(",") if e.strip()]
    if not localizers or any(e not in LOCALIZERS for e in localizers):
        raise CogmapError(f"--localizer must name localizers from {', '.join(LOCALIZERS)}, got {args.localizer!r}")

    names = list(ALL_EXPERIMENTS) if args.experiment == "all" else [e.strip() for e in args.experiment.split(",") if e.strip()]
    unknown = [n for n in names if n not in ALL_EXPERIMENTS]
    if unknown or not names:
        raise CogmapError(f"--experiment must name experiments from {', '.join(ALL_EXPERIMENTS)} (or 'all'), "
                          f"got {args.experiment!r}")
    check_count("--steps", args.steps)
    check_count("--stride", args.stride)
    if args.memory_mix is not None and not 0 <= args.memory_mix <= 1:
        raise CogmapError(f"--memory-mix must be in [0, 1], got {args.memory_mix}")
    if args.action_noise is not None and not (math.isfinite(args.action_noise) and args.action_noise >= 0):
        raise CogmapError(f"--action-noise must be a finite number >= 0, got {args.action_noise}")
    try:
        check_grid(args.grid_size, args.grid_extent)
    except CogmapError as error:
        raise CogmapError(f"--grid-size/--grid-extent: {error}") from None
    config = _world_config(args)
    out = output_dir(args.out, Path("runs/treeworld/localize"), args.force)
    mix = None if args.affinity else (args.memory_mix if args.memory_mix is not None else "default")
    runs = []
    for localizer, name in ((localizer, name) for localizer in localizers for name in names):
        if name == "tracked-vehicle":
            study = tracked_vehicle_experiment(config, args.steps, args.seed, grid_size=args.grid_size,
                                               grid_extent=args.grid_extent, progress=True, localizer=localizer)
            print(f"tracked vehicle: learned track width {study.learned_track_width:.3f} (true "
                  f"{study.true_track_width:.3f}), track gains {', '.join(f'{g:.3f}' for g in study.learned_gains)} (true 1)")
            for result in study.results.values():
                result.settings.update(learned_track_width=study.learned_track_width,
                                       true_track_width=study.true_track_width)
                runs.append(result)
        else:
            runs.append(run_localization(name, config, args.steps, args.seed, mix, args.action_noise,
                                         args.affinity_exponent, args.grid_size, args.grid_extent, progress=True,
                                         localizer=localizer))
    create_output_dir(out, args.force)
    summaries = {}
    for result in runs:
        summaries[result.name] = s = result.summary()
        print(f"{result.name:>20}: error (belief mean to truth) final {s['error_mean_final']:.1f}, average "
              f"{s['error_mean_average']:.1f}, max {s['error_mean_max']:.1f} world units; estimate "
              f"{s['distance_from_origin_estimate_final']:.0f} from the origin, truth "
              f"{s['distance_from_origin_true_final']:.0f}", flush=True)
        if args.animate:
            record = {**result.record, "estimate": result.estimate}
            filename = result.name.replace(", ", "-").replace(" (", "-").replace(")", "").replace(" ", "-") + ".gif"
            animate_run(result.layout, record, config, out / filename, stride=args.stride,
                        belief_extent=result.belief_extent, progress=True)
    plot_localization(runs, out / "localization.png")
    write_text_atomic(out / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
    write_text_atomic(out / "localization.json", json.dumps(
        {"summary": summaries, "per_step": {r.name: r.per_step() for r in runs}}))
    print(f"wrote localization.json, localization.png{', animations' if args.animate else ''} and config.yaml in {out}")
    return 0
