"""``cogmap sweep``: one trainer over a grid of settings and seeds, each run measured, one table (submitit jobs)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import yaml

from cogmap.cli.common import add_config_arguments, overrides, settings_epilog
from cogmap.config import load, to_dict
from cogmap.errors import CogmapError
from cogmap.files import check_creatable, write_text_atomic
from cogmap.runs import changed_settings
from cogmap.studies import sweep
from cogmap.studies.sweep import SweepConfig

DESCRIPTION = """\
Run a trainer (train, control train or equivariance train) on its base config for every
combination of the grid's values and every seed, measure each trained run with studies
(evaluate, analyze, control evaluate, ...), and tabulate every metric over the seeds: runs.csv,
table.csv (mean, sd, n per cell), table.md (the chosen metrics as mean +- sd), sweep.json and
sweep.png in --out. The runs are submitit jobs: processes here (engine=local, `workers` at once),
a SLURM job array (engine=slurm, the slurm section), or this process (engine=debug).

The same command again resumes: finished runs are read, a killed run continues from its last
checkpoint. Seeds and grid values may be added between attempts; anything that changes what a
finished run means (the trainer, its config or settings, the grid's keys, the measures) needs
--force or another --out.

--adopt RUN takes in a run trained outside the sweep (by hand, on more threads, elsewhere):
its config must be a planned run's to the letter (but for device); it is copied into that
run's place, continued if unfinished, then measured and tabulated with the others.

  cogmap sweep --config configs/sweeps/pendulum_noise.yaml
  cogmap sweep --config configs/sweeps/pendulum_noise.yaml "seeds=[0,1,2,3]" engine=slurm slurm.partition=cpu
  cogmap sweep --config configs/sweeps/equivariance_cubes.yaml --adopt runs/equivariance/cubes_urd_sen/seed0
"""
# What an attempt may change of a sweep already in --out (the rest decides what its runs hold).
MAY_CHANGE = ("seeds", "grid", "metrics", "engine", "workers", "threads", "timeout_min", "slurm")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("sweep", help="a grid of settings x seeds of one trainer, measured and tabulated",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(p, "engine=debug", "YAML file of SweepConfig settings (configs/sweeps/)")
    p.add_argument("--out", type=Path, help="the sweep's folder (default runs/sweeps/<config name>)")
    p.add_argument("--force", action="store_true", help="replace a different sweep already in --out")
    p.add_argument("--quiet", action="store_true", help="no line per finished run")
    p.add_argument("--adopt", type=Path, action="append", default=[], metavar="RUN",
                   help="a run trained outside the sweep, copied into the planned run whose config it has (repeatable)")
    p.set_defaults(run=run, settings=SweepConfig)
    p.epilog = settings_epilog(SweepConfig)


def check_same_sweep(out: Path, config: SweepConfig, trainer_values: dict) -> None:
    """An attempt on a folder that holds a sweep must be that sweep (see :data:`MAY_CHANGE`)."""
    saved = load(SweepConfig, out / "config.yaml")
    differs = changed_settings(to_dict(saved), to_dict(config), may_change=MAY_CHANGE)
    if list(saved.grid) != list(config.grid):
        differs.append("grid's keys")
    held = yaml.safe_load((out / "trainer.yaml").read_text()) if (out / "trainer.yaml").is_file() else {}
    changed = [path for path in held or {} if path in trainer_values and held[path] != trainer_values[path]]
    if changed:  # a config file added to grid.config is new runs; one that changed would change finished ones
        differs.append(f"the trainer's settings read from {', '.join(changed)}")
    if differs:
        raise CogmapError(f"{out} holds a sweep that differs in {', '.join(differs)}; only {', '.join(MAY_CHANGE)} may "
                          "change between attempts (--force replaces it, or choose another --out)")


def run(args) -> int:
    if args.config is None:
        raise CogmapError("--config is required: a YAML file of sweep settings (see configs/sweeps/)")
    config = load(SweepConfig, args.config, overrides(args))
    out = args.out or Path("runs/sweeps") / args.config.stem
    if out.exists() and not out.is_dir():
        raise CogmapError(f"output {out} is a file, not a folder")
    check_creatable(out)
    trainer_values = sweep.trainer_settings(config)
    holds = (out / "config.yaml").is_file() and (out / "trainer.yaml").is_file()
    if out.is_dir() and any(out.iterdir()) and not holds:  # --force replaces a sweep, never another folder
        raise CogmapError(f"{out} is not empty and holds no sweep; choose another --out")
    if holds and args.force:
        here = Path.cwd().resolve()
        if out.resolve() == here or out.resolve() in here.parents:
            raise CogmapError(f"--force would delete {out}, the folder you are working in; choose another --out")
    elif holds:
        check_same_sweep(out, config, trainer_values)
    specs = sweep.plan(config, out)  # every run's config checked before anything is written
    inside = [run for run in args.adopt if out.resolve() in run.resolve().parents]
    if args.force and inside:
        raise CogmapError(f"--force would delete {inside[0]}, a run to adopt; move it out of {out} first")
    adopted = sweep.adoptions(specs, args.adopt)
    if args.force and out.is_dir():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "config.yaml", yaml.safe_dump(to_dict(config), sort_keys=False))
    write_text_atomic(out / "trainer.yaml", yaml.safe_dump(trainer_values, sort_keys=False))
    for line in sweep.adopt(adopted):
        print(line, flush=True)
    if not args.quiet:
        print(f"sweep: {len(specs)} runs ({len(config.cells)} cells x {len(config.seeds)} seeds) on engine "
              f"{config.engine} in {out}", flush=True)
    result = sweep.run(config, out, progress=not args.quiet)
    written = result.save(out)
    print(result.summary())
    print(f"wrote {', '.join(path.name for path in written)} in {out}")
    return 1 if result.failures else 0
