"""Path-integration data: trajectories on a space, driven by a motion model, and their place-cell codes.

An arm has ``joints`` joints, each living on the same space: SO(3) (the reference setup's arm), the
circle ``so2``, the torus ``torus2``, or ``box``, a walled square arena in which each "joint" is
an animal's position (the setting of Banino et al. 2018 and Sorscher et al. 2019). On the
angular spaces a trajectory starts at a uniformly random pose and receives ``seq_len``
angular velocities from an Ornstein-Uhlenbeck process (``R_t = R_{t-1} exp(omega_t dt)`` on
SO(3), wrapped sums on tori); in the box the velocities come from the wall-avoiding walk of
:class:`~cogmap.motion.rat.RatMotion`. :data:`SPACES` names every space with its motion model
and default place-cell kernel. The network input is the velocities ``(N, T, K*dim)``; its
targets are the place-cell codes of the states after each step ``(N, T, K*C)``; it is told the
code of the start ``(N, K*C)``.

Only the velocities and the start poses are random, and everything else is a cheap,
deterministic function of them, so files store just those two (about 9% of the reference setup's
2.8 GB for 100k + 5k trajectories) and the rest is recomputed per batch.

Reproducibility: random numbers come from CPU generators seeded by
``(seed, stream, block)`` for fixed blocks of trajectories (:attr:`GenerationConfig.block_size`,
about :data:`BLOCK_STEPS` steps in all), so a trajectory
depends only on the seed, its split and its index: not on the chunk size, the device or
the number of data-loader workers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from cogmap.cells import JointPlaceCells
from cogmap.cells.layout import LAYOUTS
from cogmap.cells.place import KERNELS
from cogmap.config import check_choices, choice, parse, to_dict
from cogmap.errors import (
    CogmapError,
    DataFileError,
    available_memory,
    check_choice,
    check_finite,
    check_positive,
    check_positive_int,
    check_trailing_shape,
)
from cogmap.files import atomic_path, load_torch_file, remove_stale_partials
from cogmap.geometry import SO3, make_space
from cogmap.geometry.so3 import exp as so3_exp
from cogmap.motion.ou import INITIAL_VELOCITIES, OrnsteinUhlenbeck
from cogmap.motion.rat import RatMotion

FORMAT_NAME = "cogmap-trajectories"
FORMAT_VERSION = 2  # 2: blake2b checksums (version 1's weighted sums are still read)
READABLE_VERSIONS = (1, 2)
BLOCK_STEPS = 102_400  # time steps per random block: 1024 trajectories of the reference setup's 100 steps
DEFAULT_PATH = Path("data/pathint/trajectories.pt")


@dataclass(frozen=True)
class SpaceEntry:
    """How trajectories are made on one space."""

    motion: str  # "ou": OU angular velocities, one per tangent dimension; "rat": the wall-aware walk
    kernel: str  # the place-cell kernel that ``kernel: auto`` picks
    description: str


# The one table of spaces that data can be generated on (the spaces themselves: cogmap.geometry.SPACES).
SPACES = {
    "so3": SpaceEntry("ou", "vmf", "every joint rotates freely in 3-D (the reference setup's arm)"),
    "so2": SpaceEntry("ou", "vmf", "every joint turns on a circle"),
    "torus2": SpaceEntry("ou", "vmf", "every joint moves on a flat 2-torus"),
    "box": SpaceEntry("rat", "rbf", "an animal's position in a walled square arena (side box_size)"),
}
MANIFOLDS = tuple(SPACES)

# Random streams: each split draws from its own, and the cells from another.
_STREAM_CELLS, _STREAM_TRAIN, _STREAM_VAL, _STREAM_ONLINE = 0, 1, 2, 3
_SPLIT_STREAMS = {"train": (_STREAM_TRAIN,), "val": (_STREAM_VAL,)}
# A Newton-Schulz step every this many steps removes float32 drift from R^T R = I.
_REORTHONORMALISE_EVERY = 16


@dataclass(frozen=True)
class GenerationConfig:
    """Every parameter of the data; defaults are the reference settings.

    ``kernel: auto`` is the space's usual kernel (vMF on SO(3) and tori, a Gaussian in the
    box). ``ou_sigma``/``ou_theta``/``initial_velocity`` drive the angular spaces; the box's
    walk has its own (:class:`~cogmap.motion.rat.RatMotion`'s defaults) and ``box_size``.
    """

    manifold: str = choice("so3", MANIFOLDS)
    joints: int = 2
    seq_len: int = 100
    dt: float = 0.01
    cells: int = 32
    kernel: str = choice("auto", ("auto", *KERNELS))
    kappa: float = 5.0
    cell_sigma: float = 0.5
    layout: str = choice("random", LAYOUTS)
    ou_sigma: float = 1.0
    ou_theta: float = 2.0
    initial_velocity: str = choice("stationary", INITIAL_VELOCITIES)
    seed: int = 42
    box_size: float = 2.2
    surround_scale: float = 2.0  # dog kernel: surround width / centre width (Sorscher et al.'s 2 is sqrt 2 here)
    rat: RatMotion = dataclasses.field(default_factory=RatMotion)  # the box's walk (RatMotion's fields)

    def __post_init__(self):
        for name in ("dt", "kappa", "cell_sigma", "ou_sigma", "ou_theta", "box_size", "surround_scale"):
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, name, float(value))  # "kappa=5" from Python
        check_choices(self)
        if self.kernel == "auto":
            object.__setattr__(self, "kernel", SPACES[self.manifold].kernel)
        check_positive_int("joints", self.joints)
        check_positive_int("seq_len", self.seq_len)
        check_positive("dt", self.dt)
        check_positive_int("cells", self.cells)
        check_positive("kappa", self.kappa)
        check_positive("cell_sigma", self.cell_sigma)
        check_positive("ou_sigma", self.ou_sigma)
        check_positive("ou_theta", self.ou_theta)
        check_positive("box_size", self.box_size)
        check_positive("surround_scale", self.surround_scale)
        if not isinstance(self.rat, RatMotion):
            raise CogmapError(f"rat must be the box walk's settings (RatMotion), got {type(self.rat).__name__}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise CogmapError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.kernel == "vmf" and not hasattr(self.space, "cosine_embedding"):
            raise CogmapError(f"the vmf kernel needs a compact space; choose rbf or dog for {self.manifold}")

    @classmethod
    def from_dict(cls, values: dict) -> "GenerationConfig":
        """From a mapping of field names (a file's saved parameters, a YAML section), every key checked."""
        return parse(cls, values)

    def to_dict(self) -> dict:
        return to_dict(self)

    @property
    def space(self):
        """The space of one joint."""
        return make_space(self.manifold, size=self.box_size)

    @property
    def block_size(self) -> int:
        """Trajectories per random block: a power of two near ``BLOCK_STEPS / seq_len`` (16 to 1024).

        Fixed by the config alone, so it never changes what a seed produces; sized so that a
        block is a few tens of megabytes of work whatever the sequence length.
        """
        return int(min(1024, max(16, 2 ** round(math.log2(BLOCK_STEPS / self.seq_len)))))

    @property
    def distance_unit(self) -> str:
        """The unit errors are reported in: degrees on the angular spaces, metres in the box."""
        return "m" if self.manifold == "box" else "deg"

    def report_distance(self, distance: torch.Tensor) -> torch.Tensor:
        """A geodesic distance in :attr:`distance_unit` (radians become degrees)."""
        return distance if self.distance_unit == "m" else torch.rad2deg(distance)

    @property
    def velocity_dim(self) -> int:
        return self.joints * self.space.dim

    @property
    def code_dim(self) -> int:
        return self.joints * self.cells

    @property
    def motion(self) -> OrnsteinUhlenbeck | RatMotion:
        if SPACES[self.manifold].motion == "rat":
            return self.rat
        return OrnsteinUhlenbeck(sigma=self.ou_sigma, theta=self.ou_theta, initial=self.initial_velocity)

    def place_cells(self, device=None) -> JointPlaceCells:
        """The joint place-cell code; its centres are drawn from the config's own stream."""
        gen = _generator(self.seed, (_STREAM_CELLS,), 0)
        cells = JointPlaceCells.create(self.space, self.joints, self.cells, self.layout, gen, kernel=self.kernel,
                                       kappa=self.kappa, sigma=self.cell_sigma, surround_scale=self.surround_scale)
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
    space, motion, k = config.space, config.motion, config.joints
    if isinstance(motion, RatMotion):
        walk = motion.sample(space, size * k, config.seq_len, config.dt, gen)
        initial = walk.positions[:, 0].reshape(size, k, 2)
        velocities = walk.velocities.reshape(size, k, config.seq_len, 2).transpose(1, 2).reshape(size, config.seq_len, 2 * k)
        return initial, velocities
    initial = space.random(size * k, gen).reshape(size, k, *space.point_shape)
    velocities = motion.sample(size, config.seq_len, config.velocity_dim, config.dt, gen)
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
    if not isinstance(space, SO3):
        # Flat spaces: the state after t steps is the start plus the summed displacements,
        # folded back into the space (wrapped on a torus, reflected in a box).
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


def _legacy_checksum(tensor: torch.Tensor, chunk: int = 1 << 18) -> float:
    """Format version 1's content check, a position-weighted float64 sum (kept to read old files)."""
    flat = tensor.reshape(-1)
    total = 0.0
    for start in range(0, flat.numel(), chunk):
        part = flat[start:start + chunk].to(torch.float64)
        weights = torch.remainder(torch.arange(start, start + part.numel(), dtype=torch.float64), 997) + 1
        total += float((part * weights).sum())
    return total


def checksum(*tensors: torch.Tensor, chunk: int = 1 << 24) -> str:
    """BLAKE2b of the tensors' bytes, shapes and dtypes: any flipped bit changes it.

    Hashed a slice at a time straight from the (possibly memory-mapped) storage, so checking a
    large file costs no copy of it.
    """
    digest = hashlib.blake2b(digest_size=32)
    for tensor in tensors:
        digest.update(f"{tuple(tensor.shape)}|{tensor.dtype}|".encode())
        data = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()
        for start in range(0, data.size, chunk):
            digest.update(memoryview(data[start:start + chunk]))
    return digest.hexdigest()


@dataclass(frozen=True)
class DataFileConfig:
    """What ``cogmap generate`` writes: the sizes of the two splits and the generation settings.

    The same shape as a training config's ``data`` section (``n_train``, ``n_val``, ``generation``),
    so one file's settings read the same in both places.
    """

    n_train: int = 100_000  # training trajectories
    n_val: int = 5_000  # validation trajectories
    generation: GenerationConfig = dataclasses.field(default_factory=GenerationConfig)

    def __post_init__(self):
        check_positive_int("n_train", self.n_train)
        check_positive_int("n_val", self.n_val)


def trajectory_bytes(config: GenerationConfig, n: int) -> int:
    """The bytes ``n`` trajectories take in a data file (start states and velocities, float32)."""
    per_trajectory = config.joints * math.prod(config.space.point_shape) + config.seq_len * config.velocity_dim
    return 4 * n * per_trajectory


def generated_bytes(config: GenerationConfig, n: int, seq_len: int | None = None) -> int:
    """The bytes ``n`` generated trajectories (:func:`generate`) take in memory: the start states and
    codes, and every step's velocities, states and target codes (float32)."""
    steps = config.seq_len if seq_len is None else seq_len
    state = config.joints * math.prod(config.space.point_shape)
    return 4 * n * (state + config.code_dim + steps * (config.velocity_dim + config.code_dim + state))


def check_fits(path: Path, config: GenerationConfig, n: int) -> None:
    """Refuse, before anything is allocated, a data file larger than the free memory or the free disk."""
    import shutil

    need = trajectory_bytes(config, n)
    folder = next(p for p in (path.parent, *path.parent.parents) if p.exists())
    for where, free in (("memory", available_memory()), ("disk space at " + str(folder), shutil.disk_usage(folder).free)):
        if free is not None and need > free:
            raise CogmapError(f"{n:,} trajectories of {config.seq_len} steps need {need / 2**30:.1f} GiB, but there "
                              f"are {free / 2**30:.1f} GiB of free {where}; generate fewer (n_train, n_val) or train "
                              "on fresh trajectories without a file (data.source=online)")


def write_trajectory_file(path: str | os.PathLike, config: GenerationConfig, n_train: int, n_val: int, *,
                          chunk_size: int = 16384, progress: bool = True) -> Path:
    """Generate both splits and write them atomically: a temporary file renamed into place.

    The file holds the start poses and velocities, the place-cell centres, every generation
    parameter, the format version and per-split checksums. Temporary files left by an earlier,
    interrupted write of the same file are removed first. Returns the path written.
    """
    from tqdm import tqdm

    check_positive_int("n_train", n_train)
    check_positive_int("n_val", n_val)
    check_positive_int("chunk_size", chunk_size)
    path = Path(path)
    if path.is_dir():
        raise CogmapError(f"output {path} is a directory; give a file name such as {path / DEFAULT_PATH.name}")
    check_fits(path, config, n_train + n_val)  # everything is held in memory, then written
    remove_stale_partials(path)
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
                             "checksum": checksum(velocities, initial)}
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
    file, a file of a format version this cogmap cannot read, or contents that disagree with
    their metadata or checksum. Reads format versions 1 and 2.
    """

    def __init__(self, path: str | os.PathLike, verify: bool = True):
        self.path = Path(path)
        try:
            payload = load_torch_file(self.path, "data file", mmap=True)
        except CogmapError as error:
            raise DataFileError(str(error)) from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
            raise DataFileError(f"{self.path}: not a cogmap trajectory file (no '{FORMAT_NAME}' header)")
        self.version = payload.get("version")
        if self.version not in READABLE_VERSIONS:
            raise DataFileError(f"{self.path}: format version {self.version!r}; this cogmap reads versions "
                                f"{', '.join(map(str, READABLE_VERSIONS))}; regenerate it with `cogmap generate`")
        try:
            self.config = GenerationConfig.from_dict(payload["config"])
        except (CogmapError, KeyError, TypeError) as error:
            raise DataFileError(f"{self.path}: invalid generation parameters: {error}") from None
        self.sizes = payload.get("sizes", {})
        self._splits = payload.get("splits", {})
        self.centres = payload.get("centres")
        self._validate(verify)
        self.place_cells = self.config.place_cells()

    def _matches_checksum(self, part: dict) -> bool:
        if self.version == 1:
            return math.isclose(_legacy_checksum(part["velocities"]) + _legacy_checksum(part["initial_states"]),
                                part.get("checksum", float("nan")), rel_tol=1e-9, abs_tol=1e-6)
        return part.get("checksum") == checksum(part["velocities"], part["initial_states"])

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
            if verify and not self._matches_checksum(part):
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
