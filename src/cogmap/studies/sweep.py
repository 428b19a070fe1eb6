"""Sweeps: one trainer over a grid of settings and several seeds, each run measured by studies, in one table.

A sweep is a study like the others (:class:`SweepConfig` in, :class:`SweepResult` out), whose
runs are jobs of `submitit <https://github.com/facebookincubator/submitit>`_: processes on this
machine (``engine: local``, at most ``workers`` at once), a SLURM cluster (``engine: slurm``, a
job array), or this process one run after another (``engine: debug``). Every run is

1. the trainer (``cogmap train``, ``control train`` or ``equivariance train``) on the base
   ``config`` with the sweep's ``settings``, the cell's grid values and the seed, in
   ``<out>/runs/<cell>/seed<N>/``, a run folder of :mod:`cogmap.runs`;
2. each of the ``measures``: a study (``evaluate``, ``analyze``, ``control evaluate``, ...) of
   the trained run, saved in ``<run>/measures/<name>/``;
3. ``<run>/sweep-run.json``: the run's metrics, the last value of each column of its
   ``metrics.csv`` and every number of its measures' results (``<name>.<key>.<key>``).

The sweep is resumable at every grain: a finished run (it has ``sweep-run.json``) is read, not
repeated; a run killed while training continues from its last checkpoint (the trainer's own
``--resume``), a run killed before its first starts again; a measure already saved is kept. A
run holds a lock (``seed<N>.lock`` beside its folder) while it works, so a sweep started again
while an orphaned job of the killed one still trains waits for it instead of writing beside it.

The result: ``runs.csv`` (every run, every metric), ``table.csv`` (per cell: mean, sd and count
of every metric over the seeds), ``table.md`` (the ``metrics`` chosen, as ``mean +- sd``),
``sweep.json`` and a figure of the chosen metrics per cell, each seed a dot.
"""

from __future__ import annotations

import csv
import fcntl
import importlib
import io
import itertools
import json
import math
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cogmap.config import choice, load, merge, parse, parse_overrides, read_config, to_dict
from cogmap.errors import CogmapError, check_positive_int
from cogmap.files import load_torch_file, read_yaml_mapping, write_text_atomic
from cogmap.runs import changed_settings
from cogmap.studies.base import Result, draw_figures


@dataclass(frozen=True)
class Trainer:
    """A trainer the sweep can run: its config class and training function (``module:name``), the file
    a run that can be continued holds, and the settings that silence its progress bar."""

    settings: str
    train: str
    resume_file: str
    quiet: dict = field(default_factory=dict)

    def settings_class(self):
        return _named(self.settings)

    def __call__(self, config, run_dir: Path, resume: bool, force: bool) -> None:
        train = _named(self.train)
        if self.train.startswith("cogmap.rl."):
            train(config, run_dir, progress=False, force=force, resume=resume)
        elif self.train.startswith("cogmap.pathint."):
            train(config, resume=resume, run_dir=run_dir, force=force)
        else:
            train(config, run_dir, force=force, resume=resume)


TRAINERS = {
    "train": Trainer("cogmap.pathint.train:TrainConfig", "cogmap.pathint.train:train", "checkpoints/last.ckpt",
                     {"trainer": {"progress": False}}),
    "control train": Trainer("cogmap.rl.config:PPOConfig", "cogmap.rl.ppo:train", "resume.pt"),
    "equivariance train": Trainer("cogmap.worldmodels.train:WorldModelConfig", "cogmap.worldmodels.train:train",
                                  "checkpoints/resume.ckpt", {"progress": False}),
}


@dataclass(frozen=True)
class Study:
    """A study the sweep can run on a trained run: its config class, its ``run``, and the key that names the run."""

    settings: str
    run: str
    source_key: str
    many: bool = False  # the key takes a list of runs


STUDIES = {
    "evaluate": Study("cogmap.studies.path_integration:EvaluationConfig", "cogmap.studies.path_integration:run",
                      "checkpoint"),
    "analyze": Study("cogmap.studies.hidden_states:HiddenStatesConfig", "cogmap.studies.hidden_states:run", "checkpoint"),
    "control evaluate": Study("cogmap.studies.policy_evaluation:PolicyEvaluationConfig",
                              "cogmap.studies.policy_evaluation:run", "runs", many=True),
    "control analyze": Study("cogmap.studies.learning_dynamics:LearningDynamicsConfig",
                             "cogmap.studies.learning_dynamics:run", "runs", many=True),
    "control tangling": Study("cogmap.studies.walking:WalkingConfig", "cogmap.studies.walking:run", "source"),
    "equivariance evaluate": Study("cogmap.studies.world_models:EvaluationConfig", "cogmap.studies.world_models:evaluate",
                                   "source"),
}
ENGINES = ("local", "slurm", "debug")
RUN_FILE = "sweep-run.json"


def _named(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class MeasureConfig:
    """One study of every trained run."""

    study: str = choice("evaluate", tuple(STUDIES))
    name: str = ""  # its folder under <run>/measures/ and the prefix of its metrics (default: the study, spaces as _)
    target: str = ""  # a path inside the run to study (e.g. checkpoints/last.ckpt); default the run folder
    settings: list[str] = field(default_factory=list)  # key=value settings of the study

    @property
    def label(self) -> str:
        return self.name or self.study.replace(" ", "_")


@dataclass(frozen=True)
class SlurmConfig:
    """Where and how the jobs run on a SLURM cluster (submitit's ``slurm_*`` parameters)."""

    partition: str | None = None
    account: str | None = None
    cpus_per_task: int = 2
    mem_gb: float = 8.0
    gpus_per_node: int = 0
    array_parallelism: int = 64  # jobs of the array running at once
    setup: list[str] = field(default_factory=list)  # shell lines run before each job, e.g. "source venv/bin/activate"


@dataclass(frozen=True)
class SweepConfig:
    """A grid of settings x seeds of one trainer, each run measured by studies."""

    trainer: str = choice("control train", tuple(TRAINERS))
    # The trainer's base config file (relative paths are read from the working folder); required unless the
    # grid lists several under `config` (e.g. one per agent of a comparison).
    config: str = ""
    settings: list[str] = field(default_factory=list)  # key=value settings of every run
    grid: dict = field(default_factory=dict)  # key -> list of values: the cells are every combination
    seeds: list[int] = field(default_factory=lambda: [0])
    seed_key: str = "seed"  # where the seed goes in the trainer's config (trainer.seed for `cogmap train`)
    measures: list[MeasureConfig] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)  # table.md's columns: names or label=name (default: every one)
    engine: str = choice("local", ENGINES)  # local processes, a SLURM cluster, or this process (debug)
    workers: int = 2  # local: runs at once
    threads: int = 1  # CPU threads of each run
    timeout_min: int = 24 * 60  # a run's time limit (local and SLURM)
    slurm: SlurmConfig = field(default_factory=SlurmConfig)

    def __post_init__(self):
        if not isinstance(self.grid, dict) or not all(isinstance(k, str) and k for k in self.grid):
            raise CogmapError(f"grid must map setting names to lists of values, got {self.grid!r}")
        if not self.config and "config" not in self.grid:
            raise CogmapError("config is required: the trainer's base config file, e.g. configs/control/pendulum_po_gru.yaml "
                              "(or several, as grid.config)")
        if self.config and "config" in self.grid:
            raise CogmapError("config is given twice: as config and as grid.config; keep one")
        if "config" in self.grid and not all(isinstance(v, str) and v for v in self.grid["config"]):
            raise CogmapError(f"grid.config must list config files, got {self.grid['config']!r}")
        for key, values in self.grid.items():
            if not isinstance(values, list) or not values:
                raise CogmapError(f"grid.{key} must be a non-empty list of values, got {values!r}")
            if len({json.dumps(v, sort_keys=True) for v in values}) < len(values):
                raise CogmapError(f"grid.{key} lists a value twice: {values!r}")
            if any(isinstance(v, dict) for v in values):
                raise CogmapError(f"grid.{key}: values must be numbers, words, booleans or lists, got {values!r}")
        if not self.seeds:
            raise CogmapError("seeds must list at least one seed")
        if len(set(self.seeds)) < len(self.seeds):
            raise CogmapError(f"seeds lists a seed twice: {self.seeds}")
        if self.seed_key in self.grid:
            raise CogmapError(f"{self.seed_key} is the seed key; list the seeds under seeds, not grid")
        labels = [m.label for m in self.measures]
        if len(set(labels)) < len(labels):
            raise CogmapError(f"two measures share a name ({', '.join(labels)}); give each its own name")
        for name in ("workers", "threads", "timeout_min"):
            check_positive_int(name, getattr(self, name))

    @property
    def base_configs(self) -> list[str]:
        """The trainer's base config files: ``config``, or the grid's ``config`` values."""
        return list(self.grid["config"]) if "config" in self.grid else [self.config]

    @property
    def cells(self) -> list[dict]:
        """Every combination of the grid's values, in the grid's order."""
        keys = list(self.grid)
        return [dict(zip(keys, values)) for values in itertools.product(*(self.grid[k] for k in keys))]


def _word(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_word(v) for v in value) + "]"
    return str(value).replace("/", "-")


def cell_value(key: str, value) -> str:
    """A grid value as the folders and tables show it (a config file by its stem)."""
    return Path(value).stem if key == "config" else _word(value)


def cell_name(cell: dict) -> str:
    """``lr=0.001,cell=gru``: the cell's folder under ``<out>/runs/`` (``base`` for an empty grid)."""
    return ",".join(f"{key}={cell_value(key, value)}" for key, value in cell.items()) or "base"


def _nested(key: str, value) -> dict:
    """``{"a": {"b": value}}`` for ``a.b``."""
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


@dataclass(frozen=True)
class RunSpec:
    """Everything one job needs (plain data: it travels to another process)."""

    trainer: str
    values: dict  # the trainer's settings, resolved
    run_dir: str
    measures: tuple  # (label, study, target, settings)
    threads: int
    cell: dict
    seed: int


def trainer_settings(config: SweepConfig) -> dict:
    """Each base config file's settings (the files it extends beneath them) under the sweep's ``settings``."""
    resolved = {}
    for path in config.base_configs:
        if not Path(path).is_file():
            raise CogmapError(f"config {path} does not exist")
        resolved[path] = merge(read_config(path), parse_overrides(config.settings))
    return resolved


def plan(config: SweepConfig, out: Path) -> list[RunSpec]:
    """Every run of the sweep, each config checked (an impossible setting stops the sweep before any job)."""
    trainer = TRAINERS[config.trainer]
    bases = trainer_settings(config)
    settings = trainer.settings_class()
    for measure in config.measures:  # a study's settings are checked before anything trains
        study = STUDIES[measure.study]
        if study.source_key in {item.partition("=")[0] for item in measure.settings}:
            raise CogmapError(f"measure {measure.label}: {study.source_key} is the trained run; do not set it")
        parse_overrides(measure.settings)
    specs = []
    for cell in config.cells:
        for seed in config.seeds:
            resolved = merge(bases[cell.get("config", config.config)], trainer.quiet)
            for key, value in {**cell, config.seed_key: seed}.items():
                if key != "config":
                    resolved = merge(resolved, _nested(key, value))
            try:
                parse(settings, resolved)
            except CogmapError as error:
                raise CogmapError(f"run {cell_name(cell)}, seed {seed}: {error}") from None
            run_dir = (out / "runs" / cell_name(cell) / f"seed{seed}").resolve()
            measures = tuple((m.label, m.study, m.target, tuple(m.settings)) for m in config.measures)
            specs.append(RunSpec(config.trainer, resolved, str(run_dir), measures, config.threads, cell, seed))
    return specs


# What a run trained outside the sweep may differ in from the planned run it stands for: where it ran.
ADOPT_MAY_DIFFER = ("device",)


def adoptions(specs: list[RunSpec], runs) -> list[tuple[Path, RunSpec]]:
    """The planned run each of ``runs`` (folders trained outside the sweep) is, checked before anything is copied.

    A run is adopted only where its config is a planned run's to the letter (but for
    :data:`ADOPT_MAY_DIFFER`) and it holds its trainer's resume file: the sweep then continues it
    like one of its own killed runs, so an unfinished run finishes and a finished one is measured.
    """
    if not specs:
        return []
    trainer = TRAINERS[specs[0].trainer]
    settings = trainer.settings_class()
    planned = [(spec, to_dict(parse(settings, spec.values))) for spec in specs]
    chosen: dict[str, Path] = {}
    pairs = []
    for run in map(Path, runs):
        if not (run / "config.yaml").is_file():
            raise CogmapError(f"--adopt {run}: not a run folder (it has no config.yaml)")
        if not (run / trainer.resume_file).is_file():
            raise CogmapError(f"--adopt {run}: it has no {trainer.resume_file}, so the sweep could not continue it; "
                              f"is it a {specs[0].trainer} run?")
        try:
            own = to_dict(parse(settings, merge(read_yaml_mapping(run / "config.yaml", "run config"), trainer.quiet)))
            load_torch_file(run / trainer.resume_file, "resume file")  # damaged: said here, not by a failed job
        except CogmapError as error:
            raise CogmapError(f"--adopt {run}: {error}") from None
        differences = [(changed_settings(own, values, ADOPT_MAY_DIFFER), spec) for spec, values in planned]
        differs, spec = min(differences, key=lambda pair: len(pair[0]))
        if differs:
            raise CogmapError(f"--adopt {run}: its config is no planned run's (the nearest, {cell_name(spec.cell)} "
                              f"seed {spec.seed}, differs in {', '.join(differs)})")
        matches = [spec for differs, spec in differences if not differs]
        if len(matches) > 1:  # a grid key that does not reach the trainer's settings would make twins
            raise CogmapError(f"--adopt {run}: its config is {len(matches)} planned runs'; the sweep cannot tell which")
        if spec.run_dir in chosen:
            raise CogmapError(f"--adopt: {chosen[spec.run_dir]} and {run} are both {cell_name(spec.cell)} seed {spec.seed}")
        chosen[spec.run_dir] = run
        pairs.append((run, spec))
    return pairs


def adopt(pairs: list[tuple[Path, RunSpec]]) -> list[str]:
    """Copy each adopted run into its planned place (the original is kept), whole or not at all; a line for each.

    What another sweep measured of it (``measures/``, ``sweep-run.json``) stays behind: this sweep
    measures it with its own studies. Where the planned run already exists (adopted by an earlier
    attempt, or trained by the sweep, with the same config) it is kept.
    """
    import shutil

    said = []
    for run, spec in pairs:
        target, name = Path(spec.run_dir), f"{cell_name(spec.cell)}, seed {spec.seed}"
        if target.exists():
            same = target.resolve() == run.resolve()
            said.append(f"{run} is {name}" + ("" if same else f"; the sweep already holds that run, kept ({target})"))
            continue
        partial = target.with_name(target.name + ".adopting")
        shutil.rmtree(partial, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(run, partial, ignore=lambda folder, names, top=run: [RUN_FILE, "measures"] if Path(folder) == top
                        else [])
        os.replace(partial, target)
        said.append(f"adopted {run} as {name}")
    return said


# ---------------------------------------------------------------------------------------------------------------
# One run (in its job's process)


def run_one(spec: RunSpec) -> dict:
    """Train, measure and summarise one run of a sweep; resumes whatever an earlier attempt left."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(spec.threads)
    try:
        return _run_one(spec)
    finally:  # the debug engine runs in the caller's process: leave it as it was
        torch.set_num_threads(threads)


def _run_one(spec: RunSpec) -> dict:
    import shutil

    run_dir = Path(spec.run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(run_dir.parent / f"{run_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # an orphaned job of a killed sweep may still hold it: wait for it
        done = run_dir / RUN_FILE
        if done.is_file():
            return json.loads(done.read_text())
        trainer = TRAINERS[spec.trainer]
        measures = run_dir / "measures"
        if not measures.is_dir():  # made once training has finished
            config = parse(trainer.settings_class(), spec.values)
            resume = (run_dir / trainer.resume_file).is_file()
            if not resume and run_dir.exists():  # killed before its first checkpoint: start again
                shutil.rmtree(run_dir)
            trainer(config, run_dir, resume=resume, force=False)
            measures.mkdir()
        metrics = training_metrics(run_dir)
        for label, name, target, settings in spec.measures:
            result = measure(name, run_dir / target if target else run_dir, settings, measures / label)
            metrics.update(flatten(result, label))
        summary = {"cell": spec.cell, "seed": spec.seed, "run": str(run_dir), "metrics": metrics}
        write_text_atomic(done, json.dumps(summary, indent=1))
        return summary


def measure(name: str, target: Path, settings, folder: Path) -> dict:
    """The study ``name`` of ``target``, saved in ``folder`` (read back if an earlier attempt saved it)."""
    import shutil

    if folder.is_dir():  # it appears whole (renamed into place) or not at all
        return json.loads(next(folder.glob("*.json")).read_text())
    study = STUDIES[name]
    values = merge(parse_overrides(settings), {study.source_key: [str(target)] if study.many else str(target)})
    result = _named(study.run)(parse(_named(study.settings), values), progress=False)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    result.save(partial)
    os.replace(partial, folder)
    return result.to_json()


def training_metrics(run_dir: Path) -> dict:
    """The last value of each numeric column of the run's ``metrics.csv`` (columns of later epochs fill in
    those earlier rows left empty: the last number each column holds)."""
    path = run_dir / "metrics.csv"
    if not path.is_file():
        return {}
    last: dict = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            for key, value in row.items():
                number = _number(value)
                if key and number is not None:
                    last[key] = number
    return last


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def flatten(value: Any, prefix: str) -> dict:
    """Every number in a result's JSON, named by its path (``evaluate.long.model.accuracy``; list items by index)."""
    out = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, (dict, list)):
                out.update(flatten(item, f"{prefix}.{index}"))
    elif (number := _number(value)) is not None and not isinstance(value, str):
        out[prefix] = number
    return out


# ---------------------------------------------------------------------------------------------------------------
# The engine


def execute(specs: list[RunSpec], config: SweepConfig, jobs: Path, progress: bool = True) -> tuple[list, list]:
    """Run every spec on the configured engine; returns the summaries of the runs that finished and the
    ``(spec, reason)`` of those that failed."""
    finished, failed = [], []

    def report(spec, outcome, reason=None):
        if reason is None:
            finished.append(outcome)
        else:
            failed.append((spec, reason))
        if progress:
            state = "done" if reason is None else f"FAILED: {reason.strip().splitlines()[-1][:200]}"
            print(f"[{len(finished) + len(failed)}/{len(specs)}] {cell_name(spec.cell)}, seed {spec.seed}: {state}",
                  flush=True)

    waiting = []
    for spec in specs:  # finished runs are read, not submitted
        done = Path(spec.run_dir) / RUN_FILE
        if done.is_file():
            report(spec, json.loads(done.read_text()))
        else:
            waiting.append(spec)
    if config.engine == "debug":
        for spec in waiting:
            try:
                report(spec, run_one(spec))
            except Exception as error:  # one run's failure is reported; the others still run
                report(spec, None, f"{type(error).__name__}: {error}")
        return finished, failed
    try:
        import submitit
    except ImportError:
        raise CogmapError(f"engine={config.engine} runs its jobs with submitit: pip install submitit (or cogmap's "
                          "extra: pip install -e '.[sweep]'); engine=debug runs them in this process") from None
    if config.engine == "local":
        executor = submitit.LocalExecutor(folder=jobs)
        executor.update_parameters(timeout_min=config.timeout_min)
        running: list = []
        queue = list(waiting)
        while queue or running:
            while queue and len(running) < config.workers:
                spec = queue.pop(0)
                running.append((spec, executor.submit(run_one, spec)))
            time.sleep(0.5)
            for spec, job in [r for r in running if r[1].done()]:
                running.remove((spec, job))
                _collect(spec, job, report)
        return finished, failed
    if not waiting:
        return finished, failed
    executor = slurm_executor(config, jobs)
    with executor.batch():
        submitted = [(spec, executor.submit(run_one, spec)) for spec in waiting]
    pending = list(submitted)
    while pending:
        time.sleep(10)
        for spec, job in [p for p in pending if p[1].done()]:
            pending.remove((spec, job))
            _collect(spec, job, report)
    return finished, failed


def slurm_executor(config: SweepConfig, jobs: Path):
    """submitit's SLURM executor with the sweep's resources (each run one task of a job array)."""
    import submitit

    slurm = config.slurm
    try:
        executor = submitit.AutoExecutor(folder=jobs, cluster="slurm")
    except RuntimeError as error:  # no srun: not a SLURM machine
        raise CogmapError(f"engine=slurm: {error}") from None
    parameters = {"timeout_min": config.timeout_min, "cpus_per_task": slurm.cpus_per_task, "mem_gb": slurm.mem_gb,
                  "gpus_per_node": slurm.gpus_per_node, "slurm_array_parallelism": slurm.array_parallelism,
                  "slurm_setup": list(slurm.setup), "name": "cogmap-sweep"}
    if slurm.partition:
        parameters["slurm_partition"] = slurm.partition
    if slurm.account:
        parameters["slurm_account"] = slurm.account
    executor.update_parameters(**parameters)
    return executor


def _collect(spec, job, report) -> None:
    try:
        report(spec, job.result())
    except Exception as error:  # submitit re-raises the job's failure with its traceback: keep its last line
        lines = str(error).strip().splitlines()
        report(spec, None, f"{lines[-1] if lines else type(error).__name__} (job {job.job_id}, log {job.paths.stdout})")


# ---------------------------------------------------------------------------------------------------------------
# The table


def _mean_sd(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return math.nan, math.nan
    return statistics.fmean(finite), statistics.stdev(finite) if len(finite) > 1 else math.nan


@dataclass(frozen=True)
class SweepResult(Result):
    file = "sweep.json"
    config: SweepConfig
    runs: tuple  # per finished run: {"cell", "seed", "run", "metrics"}
    failures: tuple = ()  # per failed run: {"cell", "seed", "run", "reason"}

    @property
    def metric_names(self) -> list[str]:
        names: dict = {}
        for run in self.runs:
            names.update(dict.fromkeys(run["metrics"]))
        return list(names)

    def columns(self) -> list[tuple[str, str]]:
        """``(label, metric)`` of table.md: the config's ``metrics`` or every metric."""
        if not self.config.metrics:
            return [(name, name) for name in self.metric_names]
        chosen = []
        for item in self.config.metrics:
            label, _, name = item.partition("=") if "=" in item else (item, "", item)
            chosen.append((label, name))
        return chosen

    def cells(self) -> list[dict]:
        """Per cell of the grid: its values, the seeds that finished, and each metric's mean, sd and count."""
        rows = []
        for cell in self.config.cells:
            runs = [run for run in self.runs if run["cell"] == cell]
            stats = {}
            for name in self.metric_names:
                values = [run["metrics"][name] for run in runs if name in run["metrics"]]
                mean, sd = _mean_sd(values)
                stats[name] = {"mean": mean, "sd": sd, "n": len(values)}
            rows.append({"cell": cell, "seeds": sorted(run["seed"] for run in runs), "metrics": stats})
        return rows

    def to_json(self) -> dict:
        return {"runs": list(self.runs), "failures": list(self.failures), "cells": self.cells()}

    def missing_metrics(self) -> list[str]:
        known = set(self.metric_names)
        return [name for _, name in self.columns() if name not in known]

    def markdown(self) -> str:
        columns = [(label, name) for label, name in self.columns() if name in set(self.metric_names)]
        keys = list(self.config.grid)
        head = keys + ["seeds"] + [label for label, _ in columns]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in self.cells():
            cells = [cell_value(k, row["cell"][k]) for k in keys] + [str(len(row["seeds"]))]
            for _, name in columns:
                stat = row["metrics"].get(name, {"n": 0})
                cells.append("-" if not stat["n"] else f"{stat['mean']:.4g}" if math.isnan(stat["sd"])
                             else f"{stat['mean']:.4g} +- {stat['sd']:.2g}")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def csv_tables(self) -> tuple[str, str]:
        """``runs.csv`` (every run) and ``table.csv`` (per cell: mean, sd, n of every metric)."""
        keys, names = list(self.config.grid), self.metric_names
        runs, table = io.StringIO(), io.StringIO()
        writer = csv.writer(runs)
        writer.writerow(keys + ["seed", "run"] + names)
        for run in self.runs:
            writer.writerow([cell_value(k, run["cell"][k]) for k in keys] + [run["seed"], run["run"]]
                            + [run["metrics"].get(n, "") for n in names])
        writer = csv.writer(table)
        writer.writerow(keys + ["seeds"] + [f"{n}_{s}" for n in names for s in ("mean", "sd", "n")])
        for row in self.cells():
            writer.writerow([cell_value(k, row["cell"][k]) for k in keys] + [" ".join(map(str, row["seeds"]))]
                            + [row["metrics"][n][s] for n in names for s in ("mean", "sd", "n")])
        return runs.getvalue(), table.getvalue()

    def save(self, folder, figures: bool = True) -> list[Path]:
        written = super().save(folder, figures)
        runs, table = self.csv_tables()
        for name, text in (("runs.csv", runs), ("table.csv", table), ("table.md", self.markdown())):
            written.append(write_text_atomic(Path(folder) / name, text))
        return written

    def draw(self, folder: Path) -> list[Path]:
        columns = [(label, name) for label, name in self.columns() if name in set(self.metric_names)][:6]
        if not columns or not self.runs:
            return []
        from cogmap.viz.plots import subplots

        cells = self.config.cells
        fig, axes = subplots(1, len(columns), figsize=(3.2 * len(columns) + 1, 3.4), squeeze=False)
        for ax, (label, name) in zip(axes[0], columns):
            for i, cell in enumerate(cells):
                values = [run["metrics"][name] for run in self.runs if run["cell"] == cell and name in run["metrics"]]
                ax.plot([i] * len(values), values, "o", color="C0", alpha=0.5, ms=4)
                mean, sd = _mean_sd(values)
                if not math.isnan(mean):
                    ax.errorbar([i + 0.15], [mean], yerr=[0 if math.isnan(sd) else sd], fmt="s", color="k", ms=5,
                                capsize=3)
            ax.set_xticks(range(len(cells)), [cell_name(c).replace(",", "\n") for c in cells], fontsize=7)
            ax.set_xlim(-0.5, len(cells) - 0.5)
            ax.set_title(label, fontsize=9)
        bases = ", ".join(Path(path).name for path in self.config.base_configs)
        fig.suptitle(f"{self.config.trainer} on {bases}: each seed (dots), mean +- sd (squares)", fontsize=9)
        fig.tight_layout()
        return draw_figures(folder, {"sweep": fig})

    def summary(self) -> str:
        lines = [self.markdown().rstrip()]
        missing = self.missing_metrics()
        if missing:
            lines.append(f"no run has the metric(s) {', '.join(missing)}; runs.csv lists those there are")
        if self.failures:
            lines.append(f"{len(self.failures)} of {len(self.failures) + len(self.runs)} runs failed:")
            lines += [f"  {cell_name(f['cell'])}, seed {f['seed']}: {f['reason'].strip().splitlines()[-1][:300]}"
                      for f in self.failures]
        return "\n".join(lines)


def run(config: SweepConfig, out: str | Path, progress: bool = True) -> SweepResult:
    """Every run of the sweep in ``out`` (resuming what is there), then the result (not yet saved)."""
    out = Path(out)
    specs = plan(config, out)
    out.mkdir(parents=True, exist_ok=True)
    finished, failed = execute(specs, config, out / "jobs", progress)
    order = {(json.dumps(s.cell, sort_keys=True), s.seed): i for i, s in enumerate(specs)}
    finished.sort(key=lambda r: order[json.dumps(r["cell"], sort_keys=True), r["seed"]])
    failures = tuple({"cell": s.cell, "seed": s.seed, "run": s.run_dir, "reason": reason} for s, reason in failed)
    return SweepResult(config, tuple(finished), failures)


def load_sweep_config(path=None, overrides=()) -> SweepConfig:
    return load(SweepConfig, path, overrides)


__all__ = ["ENGINES", "STUDIES", "TRAINERS", "MeasureConfig", "SlurmConfig", "SweepConfig", "SweepResult", "cell_name",
           "flatten", "load_sweep_config", "plan", "run", "run_one"]
