"""``cogmap control``: train recurrent controllers by reinforcement learning."""

from __future__ import annotations

import argparse
from pathlib import Path

from cogmap.cli.common import ArgumentParser

HELP = "recurrent controllers trained by RL (recurrent PPO on the pendulum)"
DESCRIPTION = """\
  train   recurrent PPO on Pendulum-v1 (fully or partially observable) with an RNN, GRU or LSTM
          core; writes config.yaml, metrics.csv (returns per update, final evaluation) and a
          checkpoint after every update to --out.
  analyze the learning-dynamics study over the checkpoints of one or more runs: returns,
          policy landscapes, PCA of hidden states coloured by angle, fixed points under the
          upright input and their stability, the stable fixed point's distance to its final
          location against reward-to-go (correlation across runs), the slowest timescales with
          99% intervals; study.json and figures to --out.
  evaluate the last checkpoint of each run on fresh deterministic episodes (the same start
          states for every run): per-run mean and sd, and the mean and spread over runs.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("control", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(title="actions", metavar="ACTION", parser_class=ArgumentParser)
    t = sub.add_parser("train", help="train a recurrent controller with PPO",
                       description="Train with recurrent PPO. Settings from --config (a flat YAML mapping, "
                                   "e.g. configs/control/pendulum_po_rnn.yaml) and KEY=VALUE overrides.")
    t.add_argument("--config", type=Path, help="YAML file of PPO settings")
    t.add_argument("--seed", type=int, help="seed of the run (overrides the config's)")
    t.add_argument("--out", type=Path, help="run folder (default runs/control/<config name>/seed<seed>)")
    t.add_argument("--quiet", action="store_true", help="no per-update lines")
    t.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. total_steps=20000 cell=gru")
    t.set_defaults(run=run_train)
    a = sub.add_parser("analyze", help="learning-dynamics study over a run's checkpoints",
                       description="Analyse every --every-th checkpoint (and the last) of each RUN_DIR.")
    a.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="folders written by control train")
    a.add_argument("--every", type=int, default=10, help="analyse every n-th checkpoint (default 10)")
    a.add_argument("--top", type=int, default=5, help="slowest timescales reported (default 5)")
    a.add_argument("--out", type=Path, help="output folder (default RUN_DIR/analysis for one run, else required)")
    a.set_defaults(run=run_analyze)
    e = sub.add_parser("evaluate", help="evaluate the final policies of runs on many fresh episodes",
                       description="Evaluate the last checkpoint of each RUN_DIR over --episodes deterministic "
                                   "episodes; every run sees the same start states (--seed).")
    e.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="folders written by control train")
    e.add_argument("--episodes", type=int, default=1000, help="episodes per run (default 1000)")
    e.add_argument("--seed", type=int, default=123_456, help="seed of the start states (default 123456)")
    e.set_defaults(run=run_evaluate)
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def run_train(args) -> int:
    from cogmap.control.ppo import load_control_config, train

    overrides = list(args.overrides) + ([f"seed={args.seed}"] if args.seed is not None else [])
    config = load_control_config(args.config, overrides)
    name = args.config.stem if args.config is not None else f"pendulum_{config.observation}_{config.cell}"
    out = args.out or Path("runs/control") / name / f"seed{config.seed}"
    train(config, out, progress=not args.quiet)
    import csv

    with open(out / "metrics.csv", newline="") as handle:
        last = list(csv.DictReader(handle))[-1]
    print(f"evaluation over {config.eval_episodes} episodes: return {float(last['eval_return_mean']):.1f} "
          f"+- {float(last['eval_return_sd']):.1f} after {last['steps']} steps")
    print(f"wrote config.yaml, metrics.csv and {last['update']} checkpoints in {out}")
    return 0


def run_evaluate(args) -> int:
    import statistics

    from cogmap.control.ppo import evaluate_policy, load_agent
    from cogmap.errors import CogmapError, check_positive_int

    check_positive_int("--episodes", args.episodes)
    means = []
    for run_dir in args.run_dirs:
        checkpoints = sorted((run_dir / "checkpoints").glob("update_*.pt"))
        if not checkpoints:
            raise CogmapError(f"{run_dir} holds no checkpoints/update_*.pt; is it a control train run?")
        agent, config = load_agent(checkpoints[-1])
        returns = evaluate_policy(agent, config.observation, args.episodes, seed=args.seed)
        means.append(float(returns.mean()))
        print(f"{run_dir}: {checkpoints[-1].stem}, return {means[-1]:.1f} +- {float(returns.std()):.1f} "
              f"over {args.episodes} episodes", flush=True)
    if len(means) > 1:
        print(f"over {len(means)} runs: mean {statistics.fmean(means):.1f} +- {statistics.pstdev(means):.1f} "
              f"(population sd of the run means), median {statistics.median(means):.1f}")
    return 0


def run_analyze(args) -> int:
    import json

    import numpy as np

    from cogmap.control.study import distance_reward_correlation, policy_landscape, study
    from cogmap.errors import CogmapError, check_positive_int
    from cogmap.files import write_text_atomic
    from cogmap.viz.control import plot_hidden_pca, plot_learning_dynamics, plot_policy_landscapes

    check_positive_int("--every", args.every)
    check_positive_int("--top", args.top)
    if args.out is None and len(args.run_dirs) > 1:
        raise CogmapError("--out is required when several runs are analysed together")
    out = args.out or args.run_dirs[0] / "analysis"
    out.mkdir(parents=True, exist_ok=True)
    studies = []
    for run_dir in args.run_dirs:
        print(f"{run_dir}:")
        studies.append(study(run_dir, every=args.every, progress=True, top=args.top))
    correlation = distance_reward_correlation(studies)
    plot_learning_dynamics(studies, correlation, out / "learning_dynamics.png")
    first = studies[0]["rows"]
    mode = first[-1]["config"].observation
    angles = np.linspace(-np.pi, np.pi, 61)
    speeds = np.linspace(-8, 8, 41) if mode == "full" else np.zeros(1)
    picks = [first[0], first[len(first) // 2], first[-1]]
    plot_policy_landscapes([(f"update {r['update']}", policy_landscape(r["agent"], mode, angles, speeds)) for r in picks],
                           angles, speeds, out / "policy_landscapes.png")
    for r in (first[0], first[-1]):
        plot_hidden_pca(r["hidden_states"], r["angles"], out / f"hidden_pca_update{r['update']:04d}.png",
                        title=f"{studies[0]['run_dir']}, update {r['update']}")
    summary = {"correlation_distance_reward_to_go": correlation, "runs": [
        {"run_dir": s["run_dir"], "checkpoints": [
            {"update": r["update"], "eval_return": r["eval_return"], "fixed_points": len(r["fixed_points"]),
             "stable_fixed_points": int(r["fixed_point_stable"].sum()), "distance_to_final": r["distance_to_final"],
             "reward_to_go": r["reward_to_go"], "timescales": np.round(r["timescale_mean"], 4).tolist(),
             "timescales_lower_99": np.round(r["timescale_lower"], 4).tolist(),
             "timescales_upper_99": np.round(r["timescale_upper"], 4).tolist()} for r in s["rows"]]}
        for s in studies]}
    write_text_atomic(out / "study.json", json.dumps(summary, indent=1))
    r = correlation["r"]
    print("stable fixed point's distance to its final location vs reward-to-go: "
          + (f"r = {r:.3f}, p = {correlation['p']:.2e} (n = {correlation['n']})" if r is not None else "too few points"))
    print(f"wrote study.json, learning_dynamics.png, policy_landscapes.png and hidden-state PCA figures in {out}")
    return 0
