"""Training a path integrator: a typed config, the Lightning Trainer, checkpoints and logs.

A run lives in ``<trainer.log_dir>/<trainer.name>/``: ``config.yaml`` (the resolved config),
``checkpoints/best.ckpt`` (lowest validation loss) and ``checkpoints/last.ckpt``, and
``metrics.csv`` (plus TensorBoard or W&B logs when asked for).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import logging
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cogmap.config import choice, load, parse, to_dict
from cogmap.errors import CogmapError, check_positive, check_positive_int
from cogmap.files import atomic_path, load_torch_file
from cogmap.pathint.choices import CELLS, ENCODINGS, INITS, NONLINEARITIES, OPTIMIZERS, READOUTS, SOURCES
from cogmap.pathint.data import GenerationConfig
from cogmap.runs import prepare_run_folder, save_config, tensorboard_installed
from cogmap.trainer import leave_process_group, metrics_logger, quiet_lightning

LOGGERS = ("csv", "tensorboard", "wandb")
log = logging.getLogger(__name__)


@dataclass
class ModelSection:
    cell: str = choice("gru", CELLS)
    hidden: int = 256
    dropout: float = 0.5
    init: str = choice("orthogonal", INITS)  # or "identity", or "default" (PyTorch's uniform init)
    encode: str = choice("code", ENCODINGS)  # "log": the encoder sees the per-joint centred log of the start code
    init_from: str | None = None  # a checkpoint whose weights start this run (fine-tuning, warm restarts)
    nonlinearity: str = choice("tanh", NONLINEARITIES)  # "relu" for a non-negative vanilla RNN (cell: rnn)
    bias: bool = True  # false: no biases in the encoder, the recurrent layer or the readout (Sorscher et al.)
    readout: str = choice("norm", READOUTS)  # "linear": one linear map from the state to the place cells


@dataclass
class OptimSection:
    lr: float = 1e-3
    weight_decay: float = 1e-4
    min_lr: float = 1e-6   # cosine annealing from lr to min_lr; min_lr = lr keeps the rate constant
    grad_clip: float = 1.0  # 0: no clipping
    optimizer: str = choice("adamw", OPTIMIZERS)  # adamw: decoupled weight_decay; adam: weight_decay as an L2 term
    recurrent_decay: float = 0.0  # adds recurrent_decay x (sum of squared recurrent weights) to the loss


@dataclass
class DataSection:
    source: str = choice("file", SOURCES)
    path: str = "data/pathint/trajectories.pt"
    n_train: int = 100_000
    n_val: int = 5_000
    batch_size: int = 128
    num_workers: int = 0
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    epoch_offset: int = 0  # draw epoch e's data as epoch e + offset (fresh data after model.init_from)


@dataclass
class TrainerSection:
    max_epochs: int = 200
    accelerator: str = "auto"
    devices: Any = "auto"  # Lightning takes an int, a list of indices or "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    seed: int = 0
    log_dir: str = "logs/pathint"
    name: str | None = None
    loggers: list[str] = field(default_factory=lambda: ["csv"])  # csv is always on; add tensorboard, wandb
    limit_train_batches: int | float | None = None
    limit_val_batches: int | float | None = None
    max_time: str | None = None  # "DD:HH:MM:SS": stop (and checkpoint) after this wall time
    progress: bool = True


@dataclass
class TrainConfig:
    model: ModelSection = field(default_factory=ModelSection)
    optim: OptimSection = field(default_factory=OptimSection)
    data: DataSection = field(default_factory=DataSection)
    trainer: TrainerSection = field(default_factory=TrainerSection)

    def __post_init__(self):
        check_positive_int("model.hidden", self.model.hidden)
        if not 0 <= self.model.dropout < 1:
            raise CogmapError(f"model.dropout must be in [0, 1), got {self.model.dropout!r}")
        for name in ("lr", "min_lr"):
            check_positive(f"optim.{name}", getattr(self.optim, name))
        for name in ("weight_decay", "recurrent_decay", "grad_clip"):
            value = getattr(self.optim, name)
            if not (math.isfinite(value) and value >= 0):
                raise CogmapError(f"optim.{name} must be a finite number >= 0, got {value!r}")
        if self.model.nonlinearity != "tanh" and self.model.cell != "rnn":
            raise CogmapError(f"model.nonlinearity={self.model.nonlinearity} needs model.cell=rnn, got {self.model.cell}")
        for name in ("n_train", "n_val", "batch_size"):
            check_positive_int(f"data.{name}", getattr(self.data, name))
        check_positive_int("data.num_workers", self.data.num_workers, minimum=0)
        check_positive_int("data.epoch_offset", self.data.epoch_offset, minimum=0)
        check_positive_int("trainer.max_epochs", self.trainer.max_epochs)
        check_positive_int("trainer.num_nodes", self.trainer.num_nodes)
        for logger in self.trainer.loggers:
            if logger not in LOGGERS:
                raise CogmapError(f"trainer.loggers entries must be among {', '.join(LOGGERS)}, got {logger!r}")

    @property
    def generation(self) -> GenerationConfig:
        return self.data.generation

    @property
    def run_name(self) -> str:
        return self.trainer.name or self.model.cell

    @property
    def run_dir(self) -> Path:
        return Path(self.trainer.log_dir) / self.run_name

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        return parse(cls, values)


def load_config(path: str | os.PathLike | None, overrides: list[str] = ()) -> TrainConfig:
    """A :class:`TrainConfig` from a YAML file (optional) and ``section.key=value`` overrides."""
    return load(TrainConfig, path, overrides)


def _loggers(config: TrainConfig, run_dir: Path, resume_epoch: int | None = None):
    """metrics.csv always (the one writer of cogmap.runs), TensorBoard whenever it is installed (or listed,
    which then requires it), W&B when listed."""
    from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

    made = [metrics_logger(run_dir, resume_epoch)]
    listed = list(config.trainer.loggers)
    if "tensorboard" not in listed and tensorboard_installed():
        listed.append("tensorboard")  # a run can be watched live, as every trainer's
    for name in listed:
        if name == "tensorboard":
            if importlib.util.find_spec("tensorboard") is None and importlib.util.find_spec("tensorboardX") is None:
                raise CogmapError("trainer.loggers has tensorboard, which is not installed: pip install tensorboard")
            made.append(TensorBoardLogger(save_dir=run_dir.parent, name=run_dir.name, version="tensorboard"))
        elif name == "wandb":
            if importlib.util.find_spec("wandb") is None:
                raise CogmapError("trainer.loggers has wandb, which is not installed: pip install wandb")
            made.append(WandbLogger(project="cogmap", name=config.run_name, save_dir=str(run_dir)))
    return made


def build_model(config: TrainConfig):
    from cogmap.pathint.model import StateEstimationModel

    generation = config.generation
    return StateEstimationModel(cell=config.model.cell, velocity_dim=generation.velocity_dim, joints=generation.joints,
                                cells=generation.cells, hidden=config.model.hidden, dropout=config.model.dropout,
                                lr=config.optim.lr, weight_decay=config.optim.weight_decay, min_lr=config.optim.min_lr,
                                max_epochs=config.trainer.max_epochs, generation=generation.to_dict(), init=config.model.init,
                                encode=config.model.encode, nonlinearity=config.model.nonlinearity, bias=config.model.bias,
                                readout=config.model.readout, optimizer=config.optim.optimizer,
                                recurrent_decay=config.optim.recurrent_decay)


ENCODER_FIT_POSES = 4096


def read_init_from(path) -> dict:
    """The checkpoint ``model.init_from`` names, refused in one line if it is missing, damaged or holds no weights."""
    try:
        checkpoint = load_torch_file(path, "checkpoint")
    except CogmapError as error:
        raise CogmapError(f"model.init_from: {error}") from None
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        raise CogmapError(f"model.init_from: {path} holds no weights (state_dict)")
    return checkpoint


def load_weights(model, path: str | os.PathLike) -> float | None:
    """Start ``model`` from the weights of the checkpoint at ``path`` (same architecture required).

    The encoding of the start pose (``model.encode``) may differ from the checkpoint's: the
    encoder is then refitted by least squares so that, on start poses of the training
    distribution, it reproduces the checkpoint's initial states as closely as the new encoding
    allows; the fraction of their variance left unexplained is returned (None otherwise).
    """
    import torch

    checkpoint = read_init_from(path)
    state = checkpoint["state_dict"]
    own = model.state_dict()
    mismatched = sorted(k for k in own if k not in state or state[k].shape != own[k].shape)
    if mismatched or set(state) - set(own):
        raise CogmapError(f"model.init_from: {path} does not fit this model (differs in {', '.join(mismatched) or 'extra keys'}); "
                          "use the same cell, hidden size and generation settings")
    model.load_state_dict(state)
    old_encoding = (checkpoint.get("hyper_parameters") or {}).get("encode", "code")
    if old_encoding == model.net.encode:
        return None
    from cogmap.pathint.data import generate
    from cogmap.pathint.model import encoder_features

    generation = dataclasses.replace(GenerationConfig.from_dict(model.hparams.generation), seq_len=1)
    codes = generate(generation, ENCODER_FIT_POSES, "train").initial_code
    with torch.no_grad():  # the checkpoint's initial states, through its own encoding
        target = model.net.encoder(encoder_features(codes, old_encoding, model.net.cells))
    return model.net.fit_encoder(codes, target)


def _epoch_timer():
    """A callback that logs wall-clock seconds per epoch and since the start, for time-to-accuracy."""
    import time

    from lightning.pytorch.callbacks import Callback

    class EpochTimer(Callback):
        def __init__(self):
            self.start = self.epoch_start = None

        def on_train_epoch_start(self, trainer, module):
            now = time.perf_counter()
            self.start = self.start if self.start is not None else now
            self.epoch_start = now

        def on_train_epoch_end(self, trainer, module):
            now = time.perf_counter()
            module.log("time/epoch_s", now - self.epoch_start, on_epoch=True, rank_zero_only=True)
            module.log("time/elapsed_s", now - self.start, on_epoch=True, rank_zero_only=True)

    return EpochTimer()


def slim_checkpoint(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """A copy of a checkpoint with only what inference needs (weights, hyperparameters, versions).

    Optimiser and scheduler states triple a checkpoint's size; ``load_from_checkpoint`` does
    not need them, so shipped models leave them out.
    """
    import torch

    full = load_torch_file(source, "checkpoint")
    keep = {k: full[k] for k in ("state_dict", "hyper_parameters", "pytorch-lightning_version", "epoch", "global_step")
            if k in full}
    with atomic_path(target) as tmp:
        torch.save(keep, tmp)
    return Path(target)


def check_accelerator(config: TrainConfig) -> None:
    """Refuse, before any work, an accelerator this machine does not have."""
    import torch

    accelerator = str(config.trainer.accelerator).lower()
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise CogmapError(f"trainer.accelerator={config.trainer.accelerator}: this machine has no CUDA GPU; "
                          "use trainer.accelerator=cpu (or auto)")
    if accelerator == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise CogmapError("trainer.accelerator=mps: MPS is not available on this machine; use cpu (or auto)")


def train(config: TrainConfig, resume: bool = False, run_dir: str | os.PathLike | None = None,
          force: bool = False) -> Path:
    """Train (or resume) a run and return its folder: ``run_dir``, by default ``<trainer.log_dir>/<run name>``.

    The folder follows :mod:`cogmap.runs`: a new run needs it empty (``force`` replaces it),
    ``resume`` continues from its ``checkpoints/last.ckpt``.
    """
    run_dir = Path(run_dir) if run_dir is not None else config.run_dir
    last = run_dir / "checkpoints" / "last.ckpt"
    if resume and not last.is_file():
        raise CogmapError(f"--resume: no checkpoint at {last}")
    resume_epoch = None
    if resume:  # a damaged file is said to be one, before any work
        resume_epoch = int(load_torch_file(last, "checkpoint to resume from").get("epoch", 0))
    check_accelerator(config)
    if config.model.init_from and not resume:
        read_init_from(config.model.init_from)
    if config.data.source == "file" and not Path(config.data.path).is_file():  # all said before Lightning is imported
        raise CogmapError(f"data file {config.data.path} does not exist")

    import lightning as L
    from lightning.fabric.utilities.exceptions import MisconfigurationException
    from lightning.pytorch.callbacks import ModelCheckpoint

    from cogmap.pathint.datamodule import TrajectoryDataModule
    with quiet_lightning():
        L.seed_everything(config.trainer.seed, workers=True, verbose=False)
        data = TrajectoryDataModule(config.generation, config.data.source, config.data.path, config.data.n_train,
                                    config.data.n_val, config.data.batch_size, config.data.num_workers,
                                    config.trainer.seed, config.data.epoch_offset)
        model = build_model(config)
        model.run_config = config.to_dict()  # for the checkpoints' header
        if config.model.init_from and not resume:
            unexplained = load_weights(model, config.model.init_from)
            if unexplained is not None:
                log.info("model.encode=%s differs from %s's: encoder refitted to its initial states (%.1f%% of their "
                         "variance unexplained)", config.model.encode, config.model.init_from, 100 * unexplained)
        checkpoints = ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="best", monitor="val/loss", mode="min",
                                      save_last=True, auto_insert_metric_name=False)
        try:
            trainer = L.Trainer(
                max_epochs=config.trainer.max_epochs, accelerator=config.trainer.accelerator,
                devices=config.trainer.devices, strategy=config.trainer.strategy, num_nodes=config.trainer.num_nodes,
                precision=config.trainer.precision, gradient_clip_val=config.optim.grad_clip or None,
                logger=_loggers(config, run_dir, resume_epoch),
                callbacks=[checkpoints, _epoch_timer()], limit_train_batches=config.trainer.limit_train_batches,
                limit_val_batches=config.trainer.limit_val_batches, max_time=config.trainer.max_time,
                enable_progress_bar=config.trainer.progress, enable_model_summary=False, use_distributed_sampler=False,
                reload_dataloaders_every_n_epochs=1, log_every_n_steps=1,
            )
        except (MisconfigurationException, ValueError) as error:
            raise CogmapError(f"trainer settings: {' '.join(str(error).split())}") from None
        # The folders this run creates above its own (logs/pathint for a first run), removed with it on failure.
        made = [p for p in run_dir.resolve().parents if not p.exists()]
        if trainer.global_rank == 0:  # the other processes of a DDP run start after it and share its folder
            prepare_run_folder(run_dir, force, resume)
            save_config(run_dir, config)
        try:
            trainer.fit(model, datamodule=data, ckpt_path=str(last) if resume else None)
        except BaseException:
            if trainer.global_rank == 0 and not resume and not last.is_file():
                # Failed before its first checkpoint (bad data, an interrupt): the folder was empty
                # before this run, so what is in it is this run's and worth nothing; leave no half run.
                shutil.rmtree(run_dir, ignore_errors=True)
                for folder in made:  # innermost first
                    with contextlib.suppress(OSError):
                        folder.rmdir()
            raise
        leave_process_group()
    return run_dir
