"""``cogmap treeworld``: run agents in Tree World, picture the runs, compare their survival."""

from __future__ import annotations

import argparse
from pathlib import Path

from cogmap.cli.common import ArgumentParser, add_study_arguments, run_study
from cogmap.studies.treeworld import ForagingRunConfig, LocalizationConfig, SurvivalConfig, forage, localize, survival

HELP = "the Tree World foraging world: run agents, plot and animate runs, compare survival"
DESCRIPTION = """\
Tree World is a 2-D plane of fruit trees (some poisonous) where an agent with smell and sight
spends health to move and regains it by eating. Each action is a study of cogmap.studies.treeworld;
its settings are KEY=VALUE words anywhere on the line (or --config FILE.yaml), the world's rules
in the section `world` (TreeWorldConfig fields), e.g. world.num_trees=10.

  run       one agent in one world: metrics.json, run.png, record.npz, config.yaml (and run.gif
            with animation=gif); e.g. agent=drive steps=3000 allow_death=true
            (seconds; an animation adds about a minute per 1,000 steps)
  survival  agents over many seeded worlds with death allowed: survival.json and survival.png;
            e.g. agents=[random,drive] worlds=50 action_noise=[0,1,2]
            (the drive foragers run `batch` worlds together; the defaults, 50 worlds of the random
            and the drive forager, take well under a minute on 2 cores; the self-localizing
            foragers a few minutes per 50 worlds of 5,000 steps)
  localize  the Tree World specification's localization experiments, with TEM2d or the phase code:
            errors over time, figures, animations; e.g. experiments=[all] localizers=[tem2d,phase]
            (all experiments: a few minutes on 2 cores, more with animation=true)
An existing, non-empty --out is not overwritten without --force.
"""


def add_parser(subparsers) -> None:
    from cogmap.treeworld.agents import AGENTS
    from cogmap.treeworld.localize import ALL_EXPERIMENTS

    p = subparsers.add_parser("treeworld", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(title="actions", metavar="ACTION", parser_class=ArgumentParser)
    r = sub.add_parser("run", help="run one agent in one world and picture it",
                       description="Run one agent in the world of `seed` and write metrics.json, run.png, record.npz "
                                   "and config.yaml (and run.gif or run.mp4 with animation=gif or mp4) to --out; a "
                                   "self-localizing forager also localization.png (true and believed paths, "
                                   "remembered trees, localization error). Settings are keys of ForagingRunConfig: "
                                   f"agent ({', '.join(AGENTS)}; default random), steps=1000, seed=0, "
                                   "allow_death=false, action_noise=0 (odometry noise of the path tracers, motor "
                                   "noise of the self-localizing foragers), animation=none, stride=5, world.KEY.")
    add_study_arguments(r, ForagingRunConfig, "runs/treeworld/<agent>_seed<seed>")
    r.set_defaults(run=run_one)
    s = sub.add_parser("survival", help="compare agents' survival over many seeded worlds",
                       description="Run each agent in worlds of seeds 0..worlds-1 with death allowed and write "
                                   "survival.json (per world and summary) and survival.png (fraction alive; "
                                   "for self-localizing agents also their localization error over time). Settings "
                                   "are keys of SurvivalConfig: agents=[random,drive], worlds=50, steps=5000, "
                                   "action_noise=[0] (motor noise sds, unperceived; every agent runs at each), "
                                   "fixed_map=false, batch=100, world.KEY.")
    add_study_arguments(s, SurvivalConfig, "runs/treeworld/survival")
    s.set_defaults(run=run_survival)
    loc = sub.add_parser("localize", help="the Tree World specification's localization experiments, with TEM2d or the "
                                          "phase code",
                         description="Run a path tracer that localizes itself from odometry and smell with TEM2d "
                                     "(belief maps on a grid_size x grid_size grid over grid_extent world units, moved by "
                                     "action kernels, corrected from a location-keyed memory) or with the phase code "
                                     "(phases of plane waves at 10 scales, moved exactly, no boundary, corrected from "
                                     "a memory keyed by phases) and measure the distance between estimate and "
                                     "truth. Writes localization.json, localization.png and, with animation=true, "
                                     "<experiment>.gif per run to --out. Settings are keys of LocalizationConfig: "
                                     f"experiments (from {', '.join(ALL_EXPERIMENTS)}, or [all]; default "
                                     "[spiral-memory]), localizers=[tem2d] (or phase), steps=1000, seed=0, memory_mix "
                                     "(a fixed weight; default the experiment's), affinity=false, affinity_exponent=20, "
                                     "action_noise (default the experiment's), grid_size=101, grid_extent=1000, "
                                     "animation=false, stride=5, world.KEY.")
    add_study_arguments(loc, LocalizationConfig, "runs/treeworld/localize")
    loc.set_defaults(run=run_localize)
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def run_one(args) -> int:
    return run_study(args, forage, lambda config: Path("runs/treeworld") / f"{config.agent}_seed{config.seed}")


def run_survival(args) -> int:
    return run_study(args, survival, lambda config: Path("runs/treeworld/survival"))


def run_localize(args) -> int:
    return run_study(args, localize, lambda config: Path("runs/treeworld/localize"))
