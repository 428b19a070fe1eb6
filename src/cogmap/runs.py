"""The run folder every trainer of cogmap writes, and one set of rules for ``--out``, ``--force`` and ``--resume``.

A run folder holds ``config.yaml`` (the resolved config, enough to repeat the run),
``metrics.csv``, the trainer's checkpoints (``checkpoints/`` or ``model.pt``) and, when the
``tensorboard`` package is installed (``pip install "cogmap[tensorboard]"``), TensorBoard event
files in ``tensorboard/``, so that a run can be watched live (``tensorboard --logdir runs``);
any of the first three marks the folder as holding a run. The rules, the same for ``cogmap train``, ``cogmap control
train`` and ``cogmap equivariance train``:

- a new run needs an absent or empty folder; one that holds a run is refused, unless ``--force``,
  which replaces the folder whole (analyses of the old run inside it go too: they would no
  longer describe what the folder holds); a non-empty folder that holds no run is refused even
  with ``--force`` (nothing cogmap did not write is deleted), and so is the working folder;
- ``--resume`` continues the run in the folder, which must hold one; with ``--force`` it is refused;
- a path that is a file, or lies under one, is refused before anything is written.

Every refusal is one :class:`~cogmap.errors.CogmapError` that says what to do instead.
:func:`cogmap.load` opens a run folder as the object its trainer made.

Every checkpoint file begins with one header (:func:`checkpoint_header`): ``format``
(``cogmap-checkpoint``), ``version``, ``kind`` (path integrator, policy, world model, or the state
a run resumes from) and ``config`` (the run's resolved config), then ``state`` (the tensors).
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

from cogmap.config import to_dict
from cogmap.errors import CogmapError
from cogmap.files import check_creatable, write_text_atomic

MARKERS = ("config.yaml", "metrics.csv", "checkpoints", "resume.pt", "model.pt")  # model.pt: world models before checkpoints/


def holds_run(path: str | Path) -> bool:
    """Whether ``path`` is a folder that holds (part of) a run."""
    path = Path(path)
    return path.is_dir() and any((path / marker).exists() for marker in MARKERS)


def check_run_folder(path: str | Path, force: bool = False, resume: bool = False) -> Path:
    """``path`` checked against the rules (see the module), nothing written: call it before any work."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CogmapError(f"run folder {path} is a file, not a folder")
    check_creatable(path)
    if resume and force:
        raise CogmapError("--resume and --force contradict each other: --resume continues the run, --force replaces it")
    if resume:
        if not holds_run(path):
            raise CogmapError(f"--resume: {path} holds no run to continue")
        return path
    if path.is_dir() and any(path.iterdir()):
        if not holds_run(path):  # --force deletes a folder whole: never one that is not a run
            raise CogmapError(f"{path} is not empty and holds no run; choose another --out")
        if not force:
            raise CogmapError(f"{path} already holds a run; use --resume to continue it or --force to replace it")
        here = Path.cwd().resolve()
        if path.resolve() == here or path.resolve() in here.parents:
            raise CogmapError(f"--force would delete {path}, the folder you are working in; choose another --out")
    return path


def process_rank() -> int:
    """This process's rank in a multi-process run, as its launcher set it (0 when alone).

    The later processes of a DDP run start while the first is already writing the run folder,
    so only rank 0 checks and prepares it (the variables are those Lightning's launchers set).
    """
    for name in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        if os.environ.get(name, "").strip().isdigit():
            return int(os.environ[name])
    return 0


def prepare_run_folder(path: str | Path, force: bool = False, resume: bool = False) -> Path:
    """Check ``path`` (:func:`check_run_folder`), then make it ready: replaced with ``force``, created if absent."""
    path = check_run_folder(path, force, resume)
    if force and path.is_dir():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_config(path: str | Path, config) -> Path:
    """``config.yaml`` in the run folder: the resolved config (a dataclass or a mapping), written atomically."""
    values = config if isinstance(config, Mapping) else to_dict(config)
    return write_text_atomic(Path(path) / "config.yaml", yaml.safe_dump(values, sort_keys=False))


def changed_settings(saved: Mapping, new: Mapping, may_change: Iterable[str] = ()) -> list[str]:
    """The top-level settings in which ``new`` differs from a run's ``saved`` config, beyond those that ``may_change``."""
    allowed = set(may_change)
    return [key for key in new if key not in allowed and saved.get(key) != new[key]]


def tensorboard_installed() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


class Board:
    """TensorBoard scalars of a run, in ``<run>/tensorboard/``; does nothing without the tensorboard package.

    ``log(row, step)`` writes every finite number of a metrics row as ``<prefix>/<name>``, so the
    curves in TensorBoard are the columns of ``metrics.csv``.
    """

    def __init__(self, run_dir: str | Path, prefix: str):
        self.prefix, self.writer = prefix, None
        if tensorboard_installed():
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))

    def log(self, row: Mapping, step: int) -> None:
        if self.writer is None:
            return
        for name, value in row.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                self.writer.add_scalar(f"{self.prefix}/{name}", value, global_step=step)
        self.writer.flush()  # watched live: every row is on disk when it is in metrics.csv

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# -- the one checkpoint header -----------------------------------------------------------------------

CHECKPOINT_FORMAT = "cogmap-checkpoint"
CHECKPOINT_VERSION = 1
PATH_INTEGRATOR = "path-integrator"
POLICY = "policy"
WORLD_MODEL = "world-model"
# What `--resume` continues from (not trained objects: cogmap.load refuses them)
PPO_RESUME = "ppo-resume"
WORLD_MODEL_RESUME = "world-model-resume"
KINDS = (PATH_INTEGRATOR, POLICY, WORLD_MODEL, PPO_RESUME, WORLD_MODEL_RESUME)
# Written by Lightning, which keeps the state in its own keys (state_dict, optimizer_states, ...) to resume them.
LIGHTNING_KINDS = (PATH_INTEGRATOR, WORLD_MODEL_RESUME)


def checkpoint_header(kind: str, config: Mapping) -> dict:
    """The header every checkpoint cogmap writes begins with: ``format``, ``version``, ``kind``, ``config``.

    ``config`` is the resolved config of the run, plain data, so a file says what made it.
    """
    if kind not in KINDS:
        raise CogmapError(f"checkpoint kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "kind": kind, "config": dict(config)}


def checkpoint(kind: str, config: Mapping, state: Mapping, **extra) -> dict:
    """A whole checkpoint: the header, ``state`` (tensors: weights, and for resuming the optimiser's and
    the generators' states) and ``extra`` plain numbers (the update, the steps, ...).

    Files Lightning writes (:data:`LIGHTNING_KINDS`: path integrators, a world model's resume state)
    are the exception: Lightning keeps the state in its own keys (``state_dict``,
    ``optimizer_states``, ...) so that it can resume them; the header is added to those files by the
    module's ``on_save_checkpoint``.
    """
    return {**checkpoint_header(kind, config), "state": dict(state), **extra}


def save_checkpoint(path: str | Path, kind: str, config: Mapping, state: Mapping, **extra) -> Path:
    """Write :func:`checkpoint` atomically (a reader never sees half a file)."""
    import torch

    from cogmap.files import atomic_path

    with atomic_path(path) as tmp:
        torch.save(checkpoint(kind, config, state, **extra), tmp)
    return Path(path)


def has_header(payload) -> bool:
    return isinstance(payload, dict) and payload.get("format") == CHECKPOINT_FORMAT


def check_header(payload, path: str | Path, kind: str) -> dict:
    """``payload`` if it is a checkpoint of ``kind`` this cogmap can read, else a CogmapError naming ``path``."""
    if not has_header(payload):
        raise CogmapError(f"{path} is not a cogmap checkpoint (no {CHECKPOINT_FORMAT!r} header)")
    version = payload.get("version")
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise CogmapError(f"{path} is a checkpoint of format version {version!r}; this cogmap reads up to "
                          f"{CHECKPOINT_VERSION} (a newer cogmap wrote it)")
    if payload.get("kind") != kind:
        raise CogmapError(f"{path} holds a {payload.get('kind')}, not a {kind}")
    if not isinstance(payload.get("config"), dict):
        raise CogmapError(f"{path}: its checkpoint header has no config")
    if kind not in LIGHTNING_KINDS and not isinstance(payload.get("state"), dict):
        raise CogmapError(f"{path}: its checkpoint has no state")
    return payload


# -- metrics.csv: the one writer ----------------------------------------------------------------------

class MetricsLog:
    """``metrics.csv`` of a run: one row per update or epoch, on disk as soon as it is written.

    Every trainer writes through it (PPO directly, Lightning through
    :func:`cogmap.trainer.metrics_logger`), so every run's curves read the same. Rows are appended,
    so an interrupted run keeps its history; a row with a column the file lacks rewrites the file
    under the union of the columns (atomically). On resume, :meth:`keep` drops the rows written
    after the state the run continues from, so no row appears twice.
    """

    def __init__(self, run_dir: str | Path, columns: Iterable[str] = ()):
        self.path = Path(run_dir) / "metrics.csv"
        self.columns = list(columns)

    def start(self) -> None:
        """A new run's file: the header of its known columns, no rows."""
        self._rewrite([], self.columns)

    def rows(self) -> list[dict]:
        import csv

        if not self.path.is_file():
            return []
        with open(self.path, newline="") as handle:
            return list(csv.DictReader(handle))

    def _header(self) -> list[str]:
        import csv

        if not self.path.is_file():
            return []
        with open(self.path, newline="") as handle:
            return next(csv.reader(handle), [])

    def append(self, row: Mapping) -> None:
        import csv

        header = self._header()
        missing = [key for key in [*self.columns, *row] if key not in header]
        if missing:  # a new column: the whole file again, under the union of the columns
            self._rewrite([*self.rows(), dict(row)], header + [k for k in dict.fromkeys(missing)])
            return
        with open(self.path, "a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=header).writerow(dict(row))

    def update_last(self, values: Mapping) -> None:
        """Fill columns of the last row (values known only at the end, e.g. a final evaluation)."""
        rows = self.rows()
        if not rows:
            self.append(values)
            return
        rows[-1].update(values)
        self._rewrite(rows, self._header() + [k for k in values if k not in self._header()])

    def keep(self, predicate) -> None:
        """Keep only the rows for which ``predicate(row)`` is true (a resumed run drops what it will redo)."""
        if self.path.is_file():
            self._rewrite([row for row in self.rows() if predicate(row)], self._header())

    def _rewrite(self, rows: list[dict], header: list[str]) -> None:
        import csv

        from cogmap.files import atomic_path

        with atomic_path(self.path) as tmp:
            with open(tmp, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=header)
                writer.writeheader()
                writer.writerows(rows)
