"""Path-integration data: joint trajectories driven by OU angular velocities, and their place-cell codes.

An arm has ``joints`` joints, each living on the same manifold (SO(3) by default, or the
circle). A trajectory starts at a Haar-random pose, receives ``seq_len`` angular velocities
``omega_1 .. omega_T`` from an Ornstein-Uhlenbeck process and moves ``R_t = R_{t-1} exp(omega_t dt)``.
The network input is the velocities ``(N, T, 3K)``; its targets are the place-cell codes of
``R_1 .. R_T`` ``(N, T, K*C)``; it is told the code of ``R_0`` ``(N, K*C)``.

Only the velocities and the start poses are random, and everything else is a cheap,
deterministic function of them, so files store just those two (about 9% of the seed's
2.8 GB for 100k + 5k trajectories) and the rest is recomputed per batch.

Reproducibility: random numbers come from CPU generators seeded by
``(seed, stream, block)`` for fixed blocks of trajectories (:attr:`GenerationConfig.block_size`,
about :data:`BLOCK_STEPS` steps in all), so a trajectory
depends only on the seed, its split and its index: not on the chunk size, the device or
the number of data-loader workers.
"""

from __future__ import annotations

import dataclasses
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from cogmap.cells import JointPlaceCells
from cogmap.cells.layout import LAYOUTS
from cogmap.cells.place import KERNELS
from cogmap.errors import CogmapError, DataFileError, check_choice, check_finite, check_positive, check_positive_int, check_trailing_shape
from cogmap.files import atomic_path
from cogmap.geometry import SO3, Torus
from cogmap.geometry.so3 import exp as so3_exp
from cogmap.motion.ou import INITIAL_VELOCITIES, OrnsteinUhlenbeck

FORMAT_NAME = "cogmap-trajectories"
FORMAT_VERSION = 1
MANIFOLDS = ("so3", "so2")
BLOCK_STEPS = 102_400  # time steps per random block: 1024 trajectories of the seed's 100 steps
DEFAULT_PATH = Path("data/estimation/trajectories.pt")

# Random streams: each split draws from its own, and the cells from another.
_STREAM_CELLS, _STREAM_TRAIN, _STREAM_VAL, _STREAM_ONLINE = 0, 1, 2, 3
_SPLIT_STREAMS = {"train": (_STREAM_TRAIN,), "val": (_STREAM_VAL,)}
# A Newton-Schulz step every this many steps removes float32 drift from R^T R = I.
_REORTHONORMALISE_EVERY = 16


@dataclass(frozen=True)
class GenerationConfig:
    """Every parameter of the data; defaults are the seed's settings."""

    manifold: str = "so3"
    joints: int = 2
    seq_len: int = 100
    dt: float = 0.01
    cells: int = 32
    kernel: str = "vmf"
    kappa: float = 5.0
    cell_sigma: float = 0.5
    layout: str = "random"
    ou_sigma: float = 1.0
    ou_theta: float = 2.0
    initial_velocity: str = "stationary"
    seed: int = 42

    def __post_init__(self):
        for name in ("dt", "kappa", "cell_sigma", "ou_sigma", "ou_theta"):
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, name, float(value))  # YAML reads "kappa: 5" as an int
        check_choice("manifold", self.manifold, MANIFOLDS)
        check_positive_int("joints", self.joints)
        check_positive_int("seq_len", self.seq_len)
        check_positive("dt", self.dt)
        check_positive_int("cells", self.cells)
        check_choice("kernel", self.kernel, KERNELS)
        check_positive("kappa", self.kappa)
        check_positive("cell_sigma", self.cell_sigma)
        check_choice("layout", self.layout, LAYOUTS)
        check_positive("ou_sigma", self.ou_sigma)
        check_positive("ou_theta", self.ou_theta)
        check_choice("initial_velocity", self.initial_velocity, INITIAL_VELOCITIES)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise CogmapError(f"seed must be a non-negative integer, got {self.seed!r}")

    @classmethod
    def from_dict(cls, values: dict) -> "GenerationConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise CogmapError(f"unknown generation parameter(s): {', '.join(unknown)}")
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def space(self):
        """The manifold of one joint."""
        return SO3() if self.manifold == "so3" else Torus(1)

    @property
    def block_size(self) -> int:
        """Trajectories per random block: a power of two near ``BLOCK_STEPS / seq_len`` (16 to 1024).

        Fixed by the config alone, so it never changes what a seed produces; sized so that a
        block is a few tens of megabytes of work whatever the sequence length.
        """
        return int(min(1024, max(16, 2 ** round(math.log2(BLOCK_STEPS / self.seq_len)))))

    @property
    def velocity_dim(self) -> int:
        return self.joints * self.space.dim

    @property
    def code_dim(self) -> int:
        return self.joints * self.cells

    @property
    def motion(self) -> OrnsteinUhlenbeck:
        return OrnsteinUhlenbeck(sigma=self.ou_sigma, theta=self.ou_theta, initial=self.initial_velocity)

    def place_cells(self, device=None) -> JointPlaceCells:
        """The joint place-cell code; its centres are drawn from the config's own stream."""
        gen = _generator(self.seed, (_STREAM_CELLS,), 0)
        cells = JointPlaceCells.create(self.space, self.joints, self.cells, self.layout, gen, kernel=self.kernel,
                                       kappa=self.kappa, sigma=self.cell_sigma)
        if device is not None:
            cells = JointPlaceCells([p.to(device=device) for p in cells.populations])
        return cells


@dataclass
class Trajectories:
    """A batch of trajectories. ``states`` are ``(N, T, K, *point_shape)`` (rotation matrices on SO(3))."""

    velocities: torch.Tensor  # (N, T, K * dim)
    targets: torch.Tensor  # (N, T, K * C)
    initial_code: torch.Tensor  # (N, K * C)
    initial_states: torch.Tensor  # (N, K, *point_shape)
    states: torch.Tensor  # (N, T, K, *point_shape)

    def __len__(self) -> int:
        return self.velocities.shape[0]

    @staticmethod
    def concatenate(parts: list["Trajectories"]) -> "Trajectories":
        return Trajectories(*[torch.cat([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(Trajectories)])


def _generator(seed: int, stream: tuple[int, ...], block: int) -> torch.Generator:
    words = np.random.SeedSequence([seed, *stream, block]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(words[0]) << 32 | int(words[1]))


def _motion_block(config: GenerationConfig, stream: tuple[int, ...], block: int,
                  size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Start poses ``(B, K, *P)`` and velocities ``(B, T, K*dim)`` of one random block, on the CPU."""
    size = config.block_size if size is None else size
    gen = _generator(config.seed, stream, block)
    space = config.space
    initial = space.random(size * config.joints, gen).reshape(size, config.joints, *space.point_shape)
    velocities = config.motion.sample(size, config.seq_len, config.velocity_dim, config.dt, gen)
    return initial, velocities


def sample_motion(config: GenerationConfig, stream: tuple[int, ...], start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Start poses and velocities of trajectories ``start .. stop - 1`` of ``stream`` (CPU tensors)."""
    size = config.block_size
    first, last = start // size, (stop - 1) // size
    blocks = [_motion_block(config, stream, b) for b in range(first, last + 1)]
    offset = first * size
    initial = torch.cat([b[0] for b in blocks])[start - offset:stop - offset]
    velocities = torch.cat([b[1] for b in blocks])[start - offset:stop - offset]
    return initial, velocities


def integrate_joints(config: GenerationConfig, initial_states: torch.Tensor, velocities: torch.Tensor) -> torch.Tensor:
    """States after each velocity, ``(N, T, K, *P)``, from start poses ``(N, K, *P)`` and velocities ``(N, T, K*dim)``."""
    space = config.space
    n, steps = velocities.shape[:2]
    check_trailing_shape("velocities", velocities, (config.velocity_dim,))
    check_trailing_shape("initial_states", initial_states, (config.joints, *space.point_shape))
    omega = velocities.reshape(n, steps, config.joints, space.dim) * config.dt
    if config.manifold == "so2":
        return space.integrate(initial_states[:, None], torch.cumsum(omega, dim=1), 1.0)
    # Every step's rotation at once; only the products are sequential. Time-major buffers keep
    # each step's write contiguous.
    increments = so3_exp(omega.transpose(0, 1))
    states = torch.empty(steps, n, config.joints, 3, 3, dtype=velocities.dtype, device=velocities.device)
    rotation = initial_states.to(velocities.dtype)
    eye3 = 3 * torch.eye(3, dtype=rotation.dtype, device=rotation.device)
    for t in range(steps):
        rotation = torch.matmul(rotation, increments[t], out=states[t])
        if t % _REORTHONORMALISE_EVERY == _REORTHONORMALISE_EVERY - 1:
            # One Newton-Schulz step R (3I - R^T R) / 2 squares the orthogonality error.
            states[t] = 0.5 * rotation @ (eye3 - rotation.transpose(-1, -2) @ rotation)
    return states.transpose(0, 1)


def complete(config: GenerationConfig, initial_states: torch.Tensor, velocities: torch.Tensor,
             cells: JointPlaceCells | None = None) -> Trajectories:
    """Add states and codes to start poses and velocities."""
    check_finite("velocities", velocities)
    cells = cells if cells is not None else config.place_cells(device=velocities.device)
    states = integrate_joints(config, initial_states, velocities)
    return Trajectories(velocities=velocities, targets=cells.encode(states), initial_code=cells.encode(initial_states),
                        initial_states=initial_states, states=states)


def _stream(split: str) -> tuple[int, ...]:
    check_choice("split", split, tuple(_SPLIT_STREAMS))
    return _SPLIT_STREAMS[split]


def iter_generate(config: GenerationConfig, n: int, split: str = "train", *, chunk_size: int | None = None,
                  device=None) -> Iterator[Trajectories]:
    """Trajectories ``0 .. n-1`` of a split, ``chunk_size`` at a time (default: one random block), on ``device``.

    The work is always done in whole random blocks (:attr:`GenerationConfig.block_size`), so every
    block goes through the same floating-point kernels whatever ``chunk_size`` and ``n`` are
    (BLAS picks its kernels by matrix size), and the bytes do not depend on them.
    """
    size = config.block_size
    chunk_size = size if chunk_size is None else chunk_size
    check_positive_int("n", n)
    check_positive_int("chunk_size", chunk_size)
    stream = _stream(split)
    cells = config.place_cells(device=device)
    cache: dict[int, Trajectories] = {}

    def block(index: int) -> Trajectories:
        if index not in cache:
            cache.clear()  # chunks move forward: only the last block can be shared
            initial, velocities = _motion_block(config, stream, index)
            cache[index] = complete(config, initial.to(device), velocities.to(device), cells)
        return cache[index]

    for start in range(0, n, chunk_size):
        stop = min(n, start + chunk_size)
        parts = []
        for index in range(start // size, (stop - 1) // size + 1):
            lo, hi = max(start, index * size), min(stop, (index + 1) * size)
            whole = block(index)
            parts.append(Trajectories(*[getattr(whole, f.name)[lo - index * size:hi - index * size]
                                        for f in dataclasses.fields(Trajectories)]))
        yield parts[0] if len(parts) == 1 else Trajectories.concatenate(parts)


def generate(config: GenerationConfig, n: int, split: str = "train", *, chunk_size: int | None = None,
             device=None) -> Trajectories:
    """All of :func:`iter_generate` in one :class:`Trajectories`."""
    return Trajectories.concatenate(list(iter_generate(config, n, split, chunk_size=chunk_size, device=device)))


# ----------------------------------------------------------------------------- files


def _checksum(tensor: torch.Tensor, chunk: int = 1 << 18) -> float:
    """A cheap content check: a position-weighted float64 sum, so altered or moved values change it.

    Computed a chunk at a time so that checking a memory-mapped file costs no more than a
    few megabytes of RAM.
    """
    flat = tensor.reshape(-1)
    total = 0.0
    for start in range(0, flat.numel(), chunk):
        part = flat[start:start + chunk].to(torch.float64)
        weights = torch.remainder(torch.arange(start, start + part.numel(), dtype=torch.float64), 997) + 1
        total += float((part * weights).sum())
    return total


def write_trajectory_file(path: str | os.PathLike, config: GenerationConfig, n_train: int, n_val: int, *,
                          chunk_size: int = 16384, progress: bool = True) -> Path:
    """Generate both splits and write them atomically: a temporary file renamed into place.

    The file holds the start poses and velocities, the place-cell centres, every generation
    parameter, the format version and per-split checksums. Returns the path written.
    """
    from tqdm import tqdm

    check_positive_int("n_train", n_train)
    check_positive_int("n_val", n_val)
    check_positive_int("chunk_size", chunk_size)
    path = Path(path)
    if path.is_dir():
        raise CogmapError(f"output {path} is a directory; give a file name such as {path / DEFAULT_PATH.name}")
    space = config.space
    splits = {}
    total = n_train + n_val
    with tqdm(total=total, desc="generating", unit="traj", disable=not progress, unit_scale=True) as bar:
        for split, n in (("train", n_train), ("val", n_val)):
            initial = torch.empty(n, config.joints, *space.point_shape)
            velocities = torch.empty(n, config.seq_len, config.velocity_dim)
            for start in range(0, n, chunk_size):
                stop = min(n, start + chunk_size)
                initial[start:stop], velocities[start:stop] = sample_motion(config, _stream(split), start, stop)
                bar.update(stop - start)
            splits[split] = {"initial_states": initial, "velocities": velocities,
                             "checksum": _checksum(velocities) + _checksum(initial)}
    payload = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "config": config.to_dict(),
        "sizes": {"train": n_train, "val": n_val},
        "centres": config.place_cells().centres,
        "splits": splits,
    }
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
    return path


class TrajectoryFile:
    """A trajectory file opened for reading, memory-mapped: opening it reads almost nothing into RAM.

    Raises :class:`~cogmap.errors.DataFileError` for a missing, corrupt, truncated or foreign
    file, a file of another format version, or contents that disagree with their metadata.
    """

    def __init__(self, path: str | os.PathLike, verify: bool = True):
        self.path = Path(path)
        if not self.path.is_file():
            raise DataFileError(f"{self.path}: no such data file")
        if not zipfile.is_zipfile(self.path):
            raise DataFileError(f"{self.path}: not a cogmap trajectory file (corrupt, truncated or another format)")
        try:
            payload = torch.load(self.path, map_location="cpu", mmap=True, weights_only=True)
        except Exception as error:  # torch raises several types for damaged archives
            raise DataFileError(f"{self.path}: cannot be read, the file is corrupt or truncated ({error.__class__.__name__})") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
            raise DataFileError(f"{self.path}: not a cogmap trajectory file (no '{FORMAT_NAME}' header)")
        if payload.get("version") != FORMAT_VERSION:
            raise DataFileError(f"{self.path}: format version {payload.get('version')!r}, this cogmap reads version "
                                f"{FORMAT_VERSION}; regenerate it with `cogmap generate`")
        try:
            self.config = GenerationConfig.from_dict(payload["config"])
        except (CogmapError, KeyError, TypeError) as error:
            raise DataFileError(f"{self.path}: invalid generation parameters: {error}") from None
        self.sizes = payload.get("sizes", {})
        self._splits = payload.get("splits", {})
        self.centres = payload.get("centres")
        self._validate(verify)
        self.place_cells = self.config.place_cells()

    def _validate(self, verify: bool) -> None:
        cfg, space = self.config, self.config.space
        expected_centres = (cfg.joints, cfg.cells, *space.point_shape)
        if not torch.is_tensor(self.centres) or tuple(self.centres.shape) != expected_centres:
            raise DataFileError(f"{self.path}: place-cell centres missing or not of shape {expected_centres}")
        if not torch.equal(self.centres, cfg.place_cells().centres):
            raise DataFileError(f"{self.path}: stored place-cell centres differ from those its seed gives")
        for split in ("train", "val"):
            part, n = self._splits.get(split), self.sizes.get(split)
            if not isinstance(part, dict) or not isinstance(n, int):
                raise DataFileError(f"{self.path}: split {split!r} missing")
            shapes = {"velocities": (n, cfg.seq_len, cfg.velocity_dim), "initial_states": (n, cfg.joints, *space.point_shape)}
            for key, shape in shapes.items():
                tensor = part.get(key)
                if not torch.is_tensor(tensor) or tuple(tensor.shape) != shape:
                    got = tuple(tensor.shape) if torch.is_tensor(tensor) else None
                    raise DataFileError(f"{self.path}: {split}/{key} has shape {got}, expected {shape}")
            if verify and not math.isclose(_checksum(part["velocities"]) + _checksum(part["initial_states"]),
                                           part.get("checksum", float("nan")), rel_tol=1e-9, abs_tol=1e-6):
                raise DataFileError(f"{self.path}: {split} data does not match its checksum; the file is corrupt")

    def split(self, name: str) -> "TrajectorySplit":
        check_choice("split", name, ("train", "val"))
        part = self._splits[name]
        return TrajectorySplit(self.config, part["initial_states"], part["velocities"], self.place_cells)

    def __repr__(self) -> str:
        return f"TrajectoryFile({str(self.path)!r}, train={self.sizes['train']}, val={self.sizes['val']}, {self.config})"


def _batch_dict(trajectories: Trajectories, with_states: bool) -> dict[str, torch.Tensor]:
    batch = {"velocities": trajectories.velocities, "targets": trajectories.targets,
             "initial_code": trajectories.initial_code}
    if with_states:
        batch["initial_states"] = trajectories.initial_states
        batch["states"] = trajectories.states
    return batch


class TrajectorySplit(Dataset):
    """One split of a file as a map-style dataset that computes states and codes on access.

    Index it with a batch of indices (a list, a tensor or a slice) to get a whole batch at
    once; use it with ``DataLoader(split, sampler=BatchSampler(...), batch_size=None)``.
    """

    def __init__(self, config: GenerationConfig, initial_states: torch.Tensor, velocities: torch.Tensor,
                 place_cells: JointPlaceCells, with_states: bool = False):
        self.config, self.initial_states, self.velocities = config, initial_states, velocities
        self.place_cells, self.with_states = place_cells, with_states

    def __len__(self) -> int:
        return self.velocities.shape[0]

    def trajectories(self, index) -> Trajectories:
        if isinstance(index, int):
            index = [index]
        if isinstance(index, slice):
            # A slice is a view of the memory-mapped file: copy it before computing on it.
            initial, velocities = self.initial_states[index].clone(), self.velocities[index].clone()
        else:
            index = torch.as_tensor(index, dtype=torch.long)
            if index.numel() and (index.min() < -len(self) or index.max() >= len(self)):
                raise CogmapError(f"index out of range for a split of {len(self)} trajectories")
            initial, velocities = self.initial_states[index], self.velocities[index]  # gathering copies
        return complete(self.config, initial, velocities, self.place_cells)

    def __getitem__(self, index) -> dict[str, torch.Tensor]:
        single = isinstance(index, int)
        batch = _batch_dict(self.trajectories(index), self.with_states)
        return {k: v[0] for k, v in batch.items()} if single else batch


class OnlineTrajectories(IterableDataset):
    """Fresh trajectories for every batch, without any file: an endless-data training set.

    Each epoch holds ``batches_per_epoch`` batches; batch ``b`` of epoch ``e`` is fully
    determined by ``(config.seed, e, b)``, so runs are reproducible and every data-loader
    worker produces its own share of the batches. Call :meth:`set_epoch` to move on.
    """

    def __init__(self, config: GenerationConfig, batch_size: int = 128, batches_per_epoch: int = 100,
                 with_states: bool = False):
        check_positive_int("batch_size", batch_size)
        check_positive_int("batches_per_epoch", batches_per_epoch)
        self.config, self.batch_size, self.batches_per_epoch = config, batch_size, batches_per_epoch
        self.with_states = with_states
        self.epoch = 0
        self._cells = config.place_cells()

    def set_epoch(self, epoch: int) -> None:
        check_positive_int("epoch", epoch, minimum=0)
        self.epoch = epoch

    def __len__(self) -> int:
        return self.batches_per_epoch

    def batch(self, index: int) -> dict[str, torch.Tensor]:
        # Each batch is its own RNG block, so it is computed in one piece of fixed shape.
        initial, velocities = _motion_block(self.config, (_STREAM_ONLINE, self.epoch), index, self.batch_size)
        return _batch_dict(complete(self.config, initial, velocities, self._cells), self.with_states)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        for index in range(worker, self.batches_per_epoch, workers):
            yield self.batch(index)
