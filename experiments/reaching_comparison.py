"""Does a path integrator's state help a controller reach? Four or five agents, several seeds, two arms (issue 20, section 6).

The 3-D arm (``cogmap.envs.reaching``, SO(3) x SO(3)): PPO agents that observe the target
and the joint velocities they applied, plus (a) the pose, (b) the state of the frozen GRU path
integrator fed those velocities, (c) nothing but a GRU of their own, (d) nothing, no memory.
Gymnasium's Reacher-v5 (``cogmap.envs.reacher``, SO(2) x SO(2)): Reacher's own observation,
the same with the torus path integrator's state added, the target and velocities with that
state, with a GRU of their own, and alone. Every run is ``cogmap control train`` with the
agent's config and a seed; the measure stage evaluates the final policy on ``--episodes``
deterministic episodes and a dozen checkpoints along training on ``--curve-episodes`` (the
learning curves of the success rate); the report is a Markdown table (mean and sd over seeds,
with a controller that is not learned, damped least squares on the arm's true pose, as the
task's ceiling) and a figure. Each stage skips what an earlier run finished:

    python experiments/reaching_comparison.py                 # all stages, 2 runs at a time
    python experiments/reaching_comparison.py --stage report  # only the table and figure
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("train", "measure", "report")
# task -> (agent, config, label): the first agent is the upper bound, the last the lower
AGENTS = {
    "arm": (("pose_mlp", "reach_pose_mlp", "pose (MLP)"),
            ("embedding_mlp", "reach_embedding_mlp", "path integrator's state (MLP)"),
            ("velocities_gru", "reach_velocities_gru", "own memory only (GRU)"),
            ("velocities_mlp", "reach_velocities_mlp", "nothing (MLP)")),
    "reacher": (("full", "reacher_full_mlp", "Reacher's observation (MLP)"),
                ("full_embedding", "reacher_full_embedding_mlp", "Reacher's + path integrator's state (MLP)"),
                ("blind_embedding", "reacher_blind_embedding_mlp", "target, velocities + path integrator's state (MLP)"),
                ("blind_gru", "reacher_blind_gru", "target, velocities, own memory (GRU)"),
                ("blind", "reacher_blind_mlp", "target, velocities only (MLP)")),
}
# one colour per kind of agent, the same on both arms
COLOURS = {"pose_mlp": "C0", "full": "C0", "embedding_mlp": "C1", "full_embedding": "C4", "blind_embedding": "C1",
           "velocities_gru": "C2", "blind_gru": "C2", "velocities_mlp": "C3", "blind": "C3"}
TITLES = {"arm": "3-D arm, SO(3) x SO(3): success = hand within 0.1 m at the end",
          "reacher": "Reacher-v5, SO(2) x SO(2): success = fingertip within 0.02 m at the end"}


def run_dir(args, task: str, agent: str, seed: int) -> Path:
    return args.out / task / agent / f"seed{seed}"


def finished(folder: Path) -> bool:
    """A run whose last metrics row holds the final evaluation."""
    try:
        rows = list(csv.DictReader(open(folder / "metrics.csv")))
    except OSError:
        return False
    return bool(rows) and rows[-1].get("eval_return_mean", "") != ""


def train(args, task: str, agent: str, config: str, seed: int) -> None:
    folder = run_dir(args, task, agent, seed)
    if finished(folder):
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "cogmap", "control", "train", "--config", f"configs/control/{config}.yaml",
               f"seed={seed}", "--out", str(folder), "--quiet", "--force"]
    print("+", " ".join(command), flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with open(folder.parent / f"seed{seed}.log", "a") as log:
        if subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT).returncode:
            raise SystemExit(f"failed: {' '.join(command)} (see {log.name})")


def episodes(task: str, policy, n: int) -> dict:
    """The task's deterministic evaluation of ``policy`` on ``n`` episodes."""
    if task == "arm":
        from cogmap.rl import reach_episodes

        return reach_episodes(policy, n, **policy.config.env_kwargs)
    from cogmap.rl.episodes import reacher_episodes

    return reacher_episodes(policy, n, **policy.config.env_kwargs)


def measure_run(args, task: str, agent: str, seed: int) -> None:
    import torch

    from cogmap.rl import checkpoints, load_policy

    torch.set_num_threads(1)
    folder = run_dir(args, task, agent, seed)
    out = folder / "reaching.json"
    if out.is_file():
        return
    found = checkpoints(folder)
    picks = sorted({round(i * (len(found) - 1) / (args.curve_points - 1)) for i in range(args.curve_points)})
    curve = []
    for index in picks:
        policy = load_policy(found[index])
        steps = policy.update * policy.config.num_envs * policy.config.num_steps
        curve.append({"update": policy.update, "steps": steps, **episodes(task, policy, args.curve_episodes)})
    final = episodes(task, load_policy(folder), args.episodes)
    out.write_text(json.dumps({"task": task, "agent": agent, "seed": seed, "final": final, "curve": curve}, indent=1))
    print(f"{task}/{agent}/seed{seed}: success {100 * final['success_rate']:.1f}%, "
          f"final distance {final['final_distance_mean']:.3f}", flush=True)


def load_measures(args) -> dict:
    measures = {}
    for task in args.tasks:
        for agent, _, _ in AGENTS[task]:
            for seed in args.seeds:
                path = run_dir(args, task, agent, seed) / "reaching.json"
                try:
                    measures[task, agent, seed] = json.loads(path.read_text())
                except (OSError, ValueError) as error:
                    raise SystemExit(f"{path} is missing or broken ({error}); run the train and measure stages") from None
    return measures


def _mean_sd(values) -> tuple[float, float]:
    import numpy as np

    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def reference_controller(episodes: int) -> dict:
    """:class:`~cogmap.envs.reaching.PoseController` on the arm task of the pose agent's config."""
    from cogmap.envs.reaching import PoseController
    from cogmap.rl import load_control_config
    from cogmap.rl.episodes import reach_episodes

    kwargs = load_control_config(ROOT / "configs" / "control" / "reach_pose_mlp.yaml").env_kwargs
    return reach_episodes(PoseController(), episodes, **kwargs)


def report(args) -> None:
    import numpy as np

    from cogmap.viz.plots import save_figure, subplots

    measures = load_measures(args)
    lines, rows, reference = [], [], {}
    for task in args.tasks:
        lines += [f"**{TITLES[task]}** ({len(args.seeds)} seeds: {', '.join(map(str, args.seeds))}; "
                  f"{args.episodes} episodes per policy)", "",
                  "| agent observes | success (mean +- sd over seeds) | per seed | final distance (m) | return "
                  "| integrator's drift at the end |",
                  "|---|---|---|---|---|---|"]
        for agent, _, label in AGENTS[task]:
            finals = [measures[task, agent, s]["final"] for s in args.seeds]
            success = _mean_sd([100 * f["success_rate"] for f in finals])
            distance = _mean_sd([f["final_distance_mean"] for f in finals])
            ret = _mean_sd([f["return_mean"] for f in finals])
            per_seed = " / ".join(f"{100 * f['success_rate']:.1f}" for f in finals)
            drifts = [f["integrator_error_deg"] for f in finals if "integrator_error_deg" in f]
            drift = "-" if not drifts else "{:.1f} +- {:.1f} deg".format(*_mean_sd(drifts))
            lines.append(f"| {label} | {success[0]:.1f}% +- {success[1]:.1f} | {per_seed} | {distance[0]:.3f} +- "
                         f"{distance[1]:.3f} | {ret[0]:.1f} +- {ret[1]:.1f} | {drift} |")
            rows.append({"task": task, "agent": agent, "label": label, "seeds": list(args.seeds),
                         "success_rate": [f["success_rate"] for f in finals],
                         "final_distance_mean": [f["final_distance_mean"] for f in finals],
                         "return_mean": [f["return_mean"] for f in finals], "integrator_error_deg": drifts})
        if task == "arm":
            reference[task] = reference_controller(args.episodes)
            lines.append(f"| (not learned) damped least squares on the true pose | "
                         f"{100 * reference[task]['success_rate']:.1f}% | - | {reference[task]['final_distance_mean']:.3f} "
                         f"| {reference[task]['return_mean']:.1f} | - |")
        lines.append("")
    (args.out / "table.md").write_text("\n".join(lines))
    (args.out / "table.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(lines))

    fig, axes = subplots(1, len(args.tasks), figsize=(6 * len(args.tasks), 4.2), squeeze=False)
    for ax, task in zip(axes[0], args.tasks):
        for agent, _, label in AGENTS[task]:
            colour = COLOURS[agent]
            curves = [measures[task, agent, s]["curve"] for s in args.seeds]
            steps = np.array([point["steps"] for point in curves[0]])
            success = np.array([[100 * point["success_rate"] for point in curve] for curve in curves])
            for one in success:
                ax.plot(steps, one, color=colour, lw=0.6, alpha=0.35)
            ax.plot(steps, success.mean(0), color=colour, lw=2, label=label)
        if task in reference:
            ax.axhline(100 * reference[task]["success_rate"], color="k", ls="--", lw=1,
                       label="damped least squares on the pose (not learned)")
        ax.set_xlabel("environment steps (agent decisions)")
        ax.set_ylabel(f"success rate, % ({args.curve_episodes} episodes)")
        ax.set_title(TITLES[task], fontsize=9)
        ax.set_ylim(-2, 102)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"Learning curves: mean over seeds {', '.join(map(str, args.seeds))} (thick), each seed (thin)",
                 fontsize=10)
    fig.tight_layout()
    save_figure(fig, args.out / "reaching.png")
    print(f"wrote {args.out / 'table.md'} and {args.out / 'reaching.png'}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", nargs="+", choices=tuple(AGENTS), default=list(AGENTS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--episodes", type=int, default=500, help="episodes evaluating each final policy")
    p.add_argument("--curve-episodes", dest="curve_episodes", type=int, default=100,
                   help="episodes evaluating each checkpoint of the learning curves")
    p.add_argument("--curve-points", dest="curve_points", type=int, default=12, help="checkpoints per learning curve")
    p.add_argument("--jobs", type=int, default=2, help="runs trained or measured side by side (one thread each)")
    p.add_argument("--out", type=Path, default=Path("runs/reaching"))
    p.add_argument("--stage", choices=(*STAGES, "all"), default="all")
    args = p.parse_args(argv)
    for name in ("episodes", "curve_episodes", "jobs"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if args.curve_points < 2:
        p.error("--curve-points must be at least 2")
    args.out = ROOT / args.out
    runs = [(task, agent, config, seed) for task in args.tasks for seed in args.seeds for agent, config, _ in AGENTS[task]]
    if args.stage in ("train", "all"):
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(train, [args] * len(runs), *zip(*runs)))
    if args.stage in ("measure", "all"):
        with ProcessPoolExecutor(args.jobs) as pool:
            list(pool.map(measure_run, [args] * len(runs), *[[r[i] for r in runs] for i in (0, 1, 3)]))
    if args.stage in ("report", "all"):
        report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
