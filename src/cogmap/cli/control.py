"""``cogmap control``: train recurrent controllers by reinforcement learning, evaluate and study them."""

from __future__ import annotations

import argparse
from pathlib import Path

from cogmap.cli.common import (
    ArgumentParser,
    add_config_arguments,
    check_count,
    create_output_dir,
    output_dir,
    overrides,
    source_label,
)

HELP = "recurrent controllers trained by RL (recurrent PPO on the pendulum or any Gymnasium task)"
DESCRIPTION = """\
  train    recurrent PPO with an RNN, GRU or LSTM core on the batched pendulum (fully or
           partially observable) or any Gymnasium environment with Box spaces (env=ID);
           writes config.yaml, metrics.csv (one row per update, appended as it trains),
           a checkpoint after every update and resume.pt to --out. About 45 s per
           100k pendulum steps on 2 idle CPU cores (up to 2.5 min on a busy machine).
  evaluate the policy of each run (its last checkpoint, or a checkpoint file) on fresh
           deterministic episodes (the same start states for every run): per-run mean and
           sd, and the mean and spread over runs.
  tangling the walking study of a trained walker (Rush, Jayaram & Humbert): record its layers walking at
           several commanded velocities, average gait cycles, tangling of every layer per
           condition and pooled (actuation vs recurrent, paired test), the speed axis, a push;
           tangling.json and figures to --out.
  analyze  the learning-dynamics study over the checkpoints of one or more pendulum runs:
           returns, policy landscapes, PCA of hidden states coloured by angle, fixed points
           under the upright input and their stability, the stable fixed point's distance to
           its final location against reward-to-go (correlation across runs), the slowest
           timescales with 99% intervals; study.json and figures to --out.
Load a trained policy in Python with cogmap.load(RUN_DIR or CHECKPOINT).
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("control", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(title="actions", metavar="ACTION", parser_class=ArgumentParser)
    t = sub.add_parser("train", help="train a recurrent controller with PPO",
                       description="Train with recurrent PPO. Settings from --config (a YAML mapping of PPOConfig "
                                   "fields, e.g. configs/control/pendulum_po_rnn.yaml) and KEY=VALUE overrides "
                                   "anywhere on the line (e.g. total_steps=20000 cell=gru device=cuda).")
    add_config_arguments(t, "total_steps=20000 cell=gru", "YAML file of PPO settings")
    t.add_argument("--seed", type=int, help="seed of the run (overrides the config's)")
    t.add_argument("--out", type=Path, help="run folder (default runs/control/<config name>/seed<seed>)")
    t.add_argument("--force", action="store_true", help="replace a run already in --out")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last update")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(run=run_train)
    e = sub.add_parser("evaluate", help="evaluate policies on many fresh episodes",
                       description="Evaluate the last checkpoint of each RUN (a run folder) or the checkpoint file "
                                   "itself over --episodes deterministic episodes; every run sees the same start "
                                   "states (--seed).")
    e.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders of control train, or checkpoints")
    e.add_argument("--episodes", type=int, default=1000, help="episodes per run (default 1000)")
    e.add_argument("--seed", type=int, default=123_456, help="seed of the start states (default 123456)")
    e.set_defaults(run=run_evaluate)
    a = sub.add_parser("analyze", help="learning-dynamics study over a run's checkpoints",
                       description="Analyse every --every-th checkpoint (and the last) of each RUN_DIR.")
    a.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="folders written by control train")
    a.add_argument("--every", type=int, default=10, help="analyse every n-th checkpoint (default 10)")
    a.add_argument("--top", type=int, default=5, help="slowest timescales reported (default 5)")
    a.add_argument("--out", type=Path, help="output folder (default runs/control_analysis/<run>; "
                                            "required for several runs)")
    a.add_argument("--force", action="store_true", help="replace an earlier analysis in --out")
    a.set_defaults(run=run_analyze)
    w = sub.add_parser("tangling", help="tangling, gait cycles and speed axes of a trained walker",
                       description="Run a trained walker (cogmap/CheetahVelocity-v0 or cogmap/AntVelocity-v0) at each "
                                   "--commands velocity in --envs parallel copies, cut and average its gait cycles and "
                                   "measure the tangling of every layer (input, recurrent, actuation), the speed axis "
                                   "and its response to a push. Writes tangling.json and figures. The cheetah's 8 default "
                                   "commands took 46 s on 2 CPU cores (with the untrained control and the push).")
    w.add_argument("source", type=Path, metavar="RUN_OR_CKPT", help="a walker's run folder (its last checkpoint) or checkpoint")
    w.add_argument("--update", type=int, help="analyse this update's checkpoint of a run folder")
    w.add_argument("--commands", default="-2,-1.5,-1,1,1.5,2,2.5,3",
                   help="comma-separated forward velocities in m/s; for the ant, semicolon-separated triples "
                        "u,v,r (default -2,-1.5,-1,1,1.5,2,2.5,3)")
    w.add_argument("--envs", type=int, default=16, help="parallel copies per condition (default 16)")
    w.add_argument("--steps", type=int, default=600, help="steps recorded per copy after the warm-up (default 600)")
    w.add_argument("--warmup", type=int, default=200, help="steps before recording (default 200)")
    w.add_argument("--foot", type=int, default=0, help="the foot whose lift-off starts a cycle (default 0)")
    w.add_argument("--n-pcs", dest="n_pcs", type=int, default=8, help="principal components for tangling (default 8)")
    w.add_argument("--push", type=float, default=1.0, help="velocity change of the push in m/s (0: none; default 1)")
    w.add_argument("--seed", type=int, default=0, help="seed of the copies' start states (default 0)")
    w.add_argument("--no-untrained", dest="untrained", action="store_false",
                   help="skip the control: a network of the same shape with random weights, driven by the walker's "
                        "observations")
    w.add_argument("--out", type=Path, help="output folder (default runs/control_tangling/<run>)")
    w.add_argument("--force", action="store_true", help="replace an earlier study in --out")
    w.set_defaults(run=run_tangling)
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def run_train(args) -> int:
    import csv

    from cogmap.errors import CogmapError
    from cogmap.rl.config import load_control_config
    from cogmap.rl.ppo import train
    from cogmap.runs import check_run_folder

    words = overrides(args) + ([f"seed={args.seed}"] if args.seed is not None else [])
    if args.resume:
        if args.out is None:
            raise CogmapError("--resume needs --out, the run to continue")
        check_run_folder(args.out, args.force, resume=True)  # before its config.yaml is read
        config = load_control_config(args.config or args.out / "config.yaml", words)
    else:
        config = load_control_config(args.config, words)
    name = args.config.stem if args.config is not None else config.run_name
    out = args.out or Path("runs/control") / name / f"seed{config.seed}"
    train(config, out, progress=not args.quiet, force=args.force, resume=args.resume)
    with open(out / "metrics.csv", newline="") as handle:
        last = list(csv.DictReader(handle))[-1]
    print(f"evaluation over {config.eval_episodes} episodes: return {float(last['eval_return_mean']):.1f} "
          f"+- {float(last['eval_return_sd']):.1f} after {last['steps']} steps")
    print(f"wrote config.yaml, metrics.csv and {last['update']} checkpoints in {out}")
    return 0


def run_evaluate(args) -> int:
    import statistics

    from cogmap.envs.reacher import REACHER_ID
    from cogmap.rl.config import make_env_for
    from cogmap.rl.episodes import evaluate, reach_episodes, reacher_episodes
    from cogmap.rl.policy import load_policy

    reaching = {"arm_reach": reach_episodes, REACHER_ID: reacher_episodes}
    check_count("--episodes", args.episodes)
    policies = [load_policy(run) for run in args.runs]  # every file checked before any work
    means = []
    for run, policy in zip(args.runs, policies):
        reach = ""
        episodes = reaching.get(policy.config.env)
        if episodes is not None:  # the same episodes, with where each one ended
            measured = episodes(policy, args.episodes, args.seed, **policy.config.env_kwargs)
            mean, sd = measured["return_mean"], measured["return_sd"]
            reach = (f"; success {100 * measured['success_rate']:.1f}%, final distance "
                     f"{measured['final_distance_mean']:.3f} (mean)")
        else:
            returns = evaluate(policy, make_env_for(policy.config, num_envs=args.episodes, seed=args.seed))
            mean, sd = float(returns.mean()), float(returns.std())
        means.append(mean)
        print(f"{run}: update {policy.update}, return {mean:.1f} +- {sd:.1f} over {args.episodes} episodes{reach}",
              flush=True)
    if len(means) > 1:
        print(f"over {len(means)} runs: mean {statistics.fmean(means):.1f} +- {statistics.pstdev(means):.1f} "
              f"(population sd of the run means), median {statistics.median(means):.1f}")
    return 0


def run_analyze(args) -> int:
    import json

    from cogmap.errors import CogmapError
    from cogmap.files import write_text_atomic
    from cogmap.rl.policy import checkpoints, load_policy
    from cogmap.studies.learning_dynamics import learning_dynamics
    from cogmap.viz.control import plot_hidden_pca, plot_learning_dynamics, plot_policy_landscapes

    check_count("--every", args.every)
    check_count("--top", args.top)
    if args.out is None and len(args.run_dirs) > 1:
        raise CogmapError("--out is required when several runs are analysed together")
    for run_dir in args.run_dirs:  # every run and its last checkpoint checked before anything is written
        load_policy(checkpoints(run_dir)[-1])
    out = output_dir(args.out, Path("runs/control_analysis") / source_label(args.run_dirs[0]), args.force)

    def report(row):
        print(f"  update {row.update}: return {row.eval_return:.1f}, {len(row.fixed_points)} fixed point(s), "
              f"{int(row.fixed_point_stable.sum())} stable", flush=True)

    print(f"analysing {len(args.run_dirs)} run(s), every {args.every}th checkpoint and the last")
    study = learning_dynamics(args.run_dirs, every=args.every, progress=report, top=args.top)
    create_output_dir(out, args.force)
    plot_learning_dynamics(study, out / "learning_dynamics.png")
    first = study.runs[0]
    plot_policy_landscapes(first.landscapes, out / "policy_landscapes.png", title=first.name)
    for row in (first.checkpoints[0], first.checkpoints[-1]):
        plot_hidden_pca(row.hidden_states, row.angles, out / f"hidden_pca_update{row.update:04d}.png",
                        title=f"{first.name}, update {row.update}")
    write_text_atomic(out / "study.json", json.dumps(study.to_json(), indent=1))
    c = study.correlation
    print("stable fixed point's distance to its final location vs reward-to-go: "
          + (f"r = {c.r:.3f}, p = {c.p:.2e} (n = {c.n} checkpoints of {c.runs} of {len(study.runs)} runs)"
             if c.r is not None else "too few points"))
    print(f"wrote study.json, learning_dynamics.png, policy_landscapes.png and hidden-state PCA figures in {out}")
    return 0


def _commands(text: str) -> list:
    from cogmap.errors import CogmapError

    try:
        if ";" in text:
            return [[float(v) for v in triple.split(",")] for triple in text.split(";") if triple.strip()]
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise CogmapError(f"--commands expects numbers separated by commas (and semicolons), got {text!r}") from None


def run_tangling(args) -> int:
    import json

    from cogmap.files import write_text_atomic
    from cogmap.rl.policy import load_policy
    from cogmap.studies.walking import walking_study
    from cogmap.viz.control import plot_push, plot_speed_axis, plot_tracking, plot_walking_tangling

    for flag, value, minimum in (("--envs", args.envs, 1), ("--steps", args.steps, 20), ("--warmup", args.warmup, 0),
                                 ("--n-pcs", args.n_pcs, 1)):
        check_count(flag, value, minimum)
    commands = _commands(args.commands)
    policy = load_policy(args.source, update=args.update)
    out = output_dir(args.out, Path("runs/control_tangling") / source_label(args.source), args.force)

    def report(condition):
        print(f"  command {condition.command.tolist()}: measured {condition.velocity.round(3).tolist()}, "
              f"{condition.cycles_used} of {condition.cycles_total} cycles of {condition.length} steps", flush=True)

    print(f"{policy}: {len(commands)} condition(s), {args.envs} copies x {args.steps} steps each")
    study = walking_study(policy, commands, args.envs, args.steps, args.warmup, args.foot, args.n_pcs, args.seed,
                          args.push, untrained=args.untrained, progress=report)
    create_output_dir(out, args.force)
    plot_walking_tangling(study, out / "tangling.png")
    plot_tracking(study, out / "tracking.png")
    if study.speed is not None:
        plot_speed_axis(study, out / "speed_axis.png")
    if study.push is not None:
        plot_push(study, out / "push.png")
    write_text_atomic(out / "tangling.json", json.dumps(study.to_json()))
    for layer, result in study.tangling.items():
        print(f"{layer:>15} ({result.units:3d} units): median Q per condition "
              + ", ".join(f"{q:.3g}" for q in result.median_pooled))
    p = f", Wilcoxon p = {study.wilcoxon_p:.3g}" if study.wilcoxon_p is not None else ""
    print("actuation / recurrent median Q: " + ", ".join(f"{r:.2f}" for r in study.ratio) + p)
    if study.untrained_ratio is not None:
        print("the same, untrained network on the walker's observations: "
              + ", ".join(f"{r:.2f}" for r in study.untrained_ratio))
    print(f"wrote tangling.json and figures in {out}")
    return 0
