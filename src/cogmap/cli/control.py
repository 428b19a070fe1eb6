"""``cogmap control``: train recurrent controllers by reinforcement learning, evaluate and study them."""

from __future__ import annotations

import argparse
from pathlib import Path

from cogmap.cli.common import (
    ArgumentParser,
    add_config_arguments,
    add_study_arguments,
    run_study,
    settings_epilog,
    source_label,
    trainer_config,
)
from cogmap.rl.config import PPOConfig
from cogmap.studies import similarity, tracking, walker_groups
from cogmap.studies.learning_dynamics import LearningDynamicsConfig
from cogmap.studies.policy_evaluation import PolicyEvaluationConfig
from cogmap.studies.similarity import SimilarityConfig
from cogmap.studies.tracking import TrackingConfig
from cogmap.studies.walker_groups import WalkerGroupsConfig
from cogmap.studies.walking import WalkingConfig

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
  tracking how closely trained Go1 walkers follow forward, lateral and turning commands: 100
           robots per command in cogmap's Python twin of the task, the trunk's velocity in its
           own frame after a warm-up; tracking.json and a figure to --out.
  similarity how alike independently trained walkers' gait cycles are: canonical correlations
           and Procrustes distance per layer between the cycles saved by `tangling`, beside
           the untrained twins; similarity.json and a figure to --out.
  groups   two kinds of walkers (e.g. with and without their previous action in their
           observation) compared on their tangling studies, the walker as the unit: each
           walker's median over its conditions, Mann-Whitney's exact test per series, the
           smallest p the group sizes allow and the smallest p `more` (1) further walkers of
           each kind could give; groups.json and a figure to --out.
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
    t.add_argument("--out", type=Path, help="run folder (default runs/control/<config name>/seed<seed>)")
    t.add_argument("--force", action="store_true", help="replace a run already in --out")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last update")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(run=run_train, settings=PPOConfig)
    t.epilog = settings_epilog(PPOConfig)
    e = sub.add_parser("evaluate", help="evaluate policies on many fresh episodes",
                       description="Evaluate the last checkpoint of each RUN (a run folder) or the checkpoint file "
                                   "itself over `episodes` deterministic episodes (1000); every run sees the same "
                                   "start states (seed=123456). Settings are keys of PolicyEvaluationConfig "
                                   "(cogmap.studies.policy_evaluation). Writes config.yaml, evaluation.json and "
                                   "returns.png.")
    add_study_arguments(e, PolicyEvaluationConfig, "runs/control_evaluate/<first run>",
                        source=("runs", "run folders of control train, or checkpoints"), many=True)
    e.set_defaults(run=run_evaluate)
    a = sub.add_parser("analyze", help="learning-dynamics study over a run's checkpoints",
                       description="Analyse every `every`-th checkpoint (10; and the last) of each RUN_DIR; the "
                                   "slowest `top` timescales (5). Settings are keys of LearningDynamicsConfig "
                                   "(cogmap.studies.learning_dynamics). --out is required for several runs.")
    add_study_arguments(a, LearningDynamicsConfig, "runs/control_analysis/<run>",
                        source=("runs", "folders written by control train"), many=True)
    a.set_defaults(run=run_analyze)
    w = sub.add_parser("tangling", help="tangling, gait cycles and speed axes of a trained walker",
                       description="Run a trained walker (cogmap/CheetahVelocity-v0 or cogmap/AntVelocity-v0) at each "
                                   "commanded velocity in `envs` parallel copies, cut and average its gait cycles and "
                                   "measure the tangling of every layer (input, recurrent, actuation), the speed axis "
                                   "and its response to a push. Settings are keys of WalkingConfig "
                                   "(cogmap.studies.walking), e.g. commands=[1,2,3] (forward speeds in m/s; for the "
                                   "ant [u,v,r] triples, commands=[[1,0,0],[2,0,0]]), envs=16, steps=600, "
                                   "untrained=false. Writes config.yaml, tangling.json and figures. The cheetah's 8 "
                                   "default commands took 46 s on 2 CPU cores (with the untrained control and the push).")
    add_study_arguments(w, WalkingConfig, "runs/control_tangling/<run>",
                        source=("source", "a walker's run folder (its last checkpoint, or update=N) or checkpoint"))
    w.set_defaults(run=run_tangling)
    k = sub.add_parser("tracking", help="how closely Go1 walkers follow their commands",
                       description="Walk each RUN's Go1 policy (trained on envpool/Go1JoystickFlatTerrain-v1) with each "
                                   "command held, in `copies` robots (100) of cogmap's Python twin of the task "
                                   "(cogmap.envs.go1, observation noise off); after `warmup` steps (100, of 20 ms) "
                                   "average the trunk's body-frame velocity over `steps` (250). Settings are keys "
                                   "of TrackingConfig (cogmap.studies.tracking), e.g. commands=[[1,0,0],[0,0.5,0]] "
                                   "([forward m/s, lateral m/s, yaw rate rad/s]), tolerance=0.1. Writes config.yaml, "
                                   "tracking.json and tracking.png.")
    add_study_arguments(k, TrackingConfig, "runs/control_tracking/<first run>",
                        source=("runs", "Go1 walkers' run folders (last checkpoint) or checkpoints"), many=True)
    k.set_defaults(run=run_tracking)
    m = sub.add_parser("similarity", help="how alike independently trained walkers' cycles are",
                       description="Compare the averaged gait cycles that `cogmap control tangling` saved "
                                   "(cycles.npz) in two or more FOLDERS, recorded under the same commands: every "
                                   "condition's cycle stretched onto `points` phases (50), the top `k` principal "
                                   "components (10) of each side, their canonical correlations and Procrustes "
                                   "distance, layer by layer (layers=[recurrent,actuation]), and the same for the "
                                   "untrained twins the tangling study drove with each walker's observations (independent networks "
                                   "where each walker's tangling run had its own twin_seed; the summary says which). "
                                   "Settings are keys of SimilarityConfig (cogmap.studies.similarity). Writes "
                                   "config.yaml, similarity.json and similarity.png.")
    add_study_arguments(m, SimilarityConfig, "runs/control_similarity/<first folder>",
                        source=("folders", "output folders of control tangling"), many=True)
    m.set_defaults(run=run_similarity)
    g = sub.add_parser("groups", help="two kinds of walkers compared on their tangling studies",
                       description="Compare two groups of walkers on the output folders of `cogmap control tangling`, "
                                   "one folder per walker (and series): groups={NAME: [FOLDER, ...], NAME: [...]}, "
                                   "exactly two. Each walker counts once: its median over its conditions of the layer's "
                                   "median tangling Q (measure=tangling, layer=recurrent) or of the actuation's over the "
                                   "layer's (measure=ratio); the groups by Mann-Whitney's exact two-sided test, with "
                                   "the smallest p their sizes allow and the smallest p that `more` (1) further "
                                   "walkers of each group could give, wherever they fell. With series=[a, b, ...] every folder holds "
                                   "<series>, filled by each in turn (one test per series). Settings are keys of "
                                   "WalkerGroupsConfig (cogmap.studies.walker_groups). Writes config.yaml, "
                                   "groups.json and groups.png.")
    add_study_arguments(g, WalkerGroupsConfig, "runs/control_groups/<first group>_vs_<second group>")
    g.set_defaults(run=run_groups)
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def run_train(args) -> int:
    import csv

    from cogmap.rl.ppo import train

    config = trainer_config(args, PPOConfig)
    name = args.config.stem if args.config is not None else config.run_name
    out = args.out or Path("runs/control") / name / f"seed{config.seed}"
    train(config, out, progress=not args.quiet, force=args.force, resume=args.resume)
    with open(out / "metrics.csv", newline="") as handle:
        last = list(csv.DictReader(handle))[-1]
    print(f"evaluation over {config.eval_episodes} episodes: return {float(last['eval_return_mean']):.1f} "
          f"+- {float(last['eval_return_sd']):.1f} after {last['steps']} steps")
    kept = len(list((out / "checkpoints").glob("update_*.pt")))
    print(f"wrote config.yaml, metrics.csv and {kept} checkpoints (of {last['update']} updates) in {out}")
    return 0


def run_evaluate(args) -> int:
    from cogmap.studies import policy_evaluation

    return run_study(args, policy_evaluation.run, lambda config: Path("runs/control_evaluate") / source_label(config.runs[0]))


def run_analyze(args) -> int:
    from cogmap.errors import CogmapError
    from cogmap.studies import learning_dynamics

    def default_out(config):
        if len(config.runs) > 1:
            raise CogmapError("--out is required when several runs are analysed together")
        return Path("runs/control_analysis") / source_label(config.runs[0])

    return run_study(args, learning_dynamics.run, default_out)


def run_tracking(args) -> int:
    return run_study(args, tracking.run, lambda config: Path("runs/control_tracking") / source_label(config.runs[0]))


def run_similarity(args) -> int:
    return run_study(args, similarity.run,
                     lambda config: Path("runs/control_similarity") / source_label(config.folders[0]))


def run_groups(args) -> int:
    import re

    def default_out(config):  # group names are free text: keep what a folder name can hold
        return Path("runs/control_groups") / "_vs_".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "group"
                                                          for name in config.names)

    return run_study(args, walker_groups.run, default_out)


def run_tangling(args) -> int:
    from cogmap.studies import walking

    return run_study(args, walking.run, lambda config: Path("runs/control_tangling") / source_label(config.source))
