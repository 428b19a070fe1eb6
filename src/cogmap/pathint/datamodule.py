"""The data side of training: a LightningDataModule over a trajectory file or fresh trajectories.

Both sources are iterable datasets that shard their batches over processes (DDP ranks) and
data-loader workers themselves and are rebuilt each epoch, so every batch is determined by
(seed, epoch, batch index) however many processes share the work, and a resumed run sees the
batches the interrupted one would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from cogmap.errors import CogmapError, check_choice, check_positive_int
from cogmap.pathint.choices import SOURCES
from cogmap.pathint.data import GenerationConfig, OnlineTrajectories, TrajectoryFile, TrajectorySplit, generate


def _shard(indices: range, rank: int, world: int) -> range:
    info = get_worker_info()
    worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
    return indices[rank * workers + worker::world * workers]


class _ShuffledBatches(IterableDataset):
    """Batches of a file split in a seeded random order that changes every epoch."""

    def __init__(self, split: TrajectorySplit, batch_size: int, seed: int, epoch: int, rank: int, world: int):
        self.split, self.batch_size, self.seed, self.epoch, self.rank, self.world = split, batch_size, seed, epoch, rank, world

    def __len__(self) -> int:
        return len(_shard(range(len(self.split) // self.batch_size), self.rank, self.world))

    def __iter__(self) -> Iterator[dict]:
        order = torch.randperm(len(self.split), generator=torch.Generator().manual_seed(self.seed * 100_003 + self.epoch))
        for b in _shard(range(len(self.split) // self.batch_size), self.rank, self.world):
            yield self.split[order[b * self.batch_size:(b + 1) * self.batch_size]]


class _OnlineShard(IterableDataset):
    def __init__(self, online: OnlineTrajectories, rank: int, world: int):
        self.online, self.rank, self.world = online, rank, world

    def __len__(self) -> int:
        return len(_shard(range(len(self.online)), self.rank, self.world))

    def __iter__(self) -> Iterator[dict]:
        for b in _shard(range(len(self.online)), self.rank, self.world):
            yield self.online.batch(b)


class _FixedBatches(IterableDataset):
    """Validation batches in a fixed order; each process takes a contiguous share of the trajectories."""

    def __init__(self, fetch, n: int, batch_size: int, rank: int, world: int):
        self.fetch, self.batch_size = fetch, batch_size
        self.start, self.stop = rank * n // world, (rank + 1) * n // world

    def _starts(self) -> range:
        return _shard(range(self.start, self.stop, self.batch_size), 0, 1)

    def __len__(self) -> int:
        return len(self._starts())

    def __iter__(self) -> Iterator[dict]:
        for a in self._starts():
            yield self.fetch(a, min(self.stop, a + self.batch_size))


class TrajectoryDataModule(L.LightningDataModule):
    """Training and validation batches of ``velocities``, ``targets``, ``initial_code`` (and ``states`` for validation).

    Args:
        generation: the data's parameters; with ``source="file"`` they must match the file's.
        source: ``"file"`` (read ``path``, made by ``cogmap generate``) or ``"online"``
            (fresh trajectories every batch; validation is a fixed generated set).
        n_train: trajectories per epoch for ``online`` (the file's size otherwise).
        n_val: validation trajectories for ``online``.
        epoch_offset: epoch ``e`` draws its batches (online) or its order (file) as epoch
            ``e + epoch_offset`` would; a run that continues another one's weights sets it to
            that run's epochs so that it trains on trajectories it has not seen.
    """

    def __init__(self, generation: GenerationConfig, source: str = "file", path: str | Path | None = None,
                 n_train: int = 100_000, n_val: int = 5_000, batch_size: int = 128, num_workers: int = 0, seed: int = 0,
                 epoch_offset: int = 0):
        super().__init__()
        check_positive_int("data.epoch_offset", epoch_offset, minimum=0)
        self.epoch_offset = epoch_offset
        check_choice("data.source", source, SOURCES)
        check_positive_int("data.batch_size", batch_size)
        check_positive_int("data.num_workers", num_workers, minimum=0)
        check_positive_int("data.n_train", n_train)
        check_positive_int("data.n_val", n_val)
        if source == "file" and path is None:
            raise CogmapError("data.path is required when data.source is 'file'")
        self.generation, self.source, self.path = generation, source, path
        self.n_train, self.n_val, self.batch_size, self.num_workers, self.seed = n_train, n_val, batch_size, num_workers, seed
        self._file: TrajectoryFile | None = None
        self._val = None

    def setup(self, stage: str | None = None) -> None:
        if self.source == "file" and self._file is None:
            self._file = TrajectoryFile(self.path)
            if self._file.config != self.generation:
                diff = {k: v for k, v in self._file.config.to_dict().items() if self.generation.to_dict()[k] != v}
                raise CogmapError(f"{self.path} was generated with {diff}, which the training config does not match; "
                                  f"set data.generation accordingly or regenerate the file")
            if len(self._file.split("train")) < self.batch_size:
                raise CogmapError(f"{self.path} holds fewer training trajectories than one batch ({self.batch_size})")
        if self.source == "online" and self._val is None:
            self._val = generate(self.generation, self.n_val, "val")

    def _rank_world(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def _loader(self, dataset) -> DataLoader:
        return DataLoader(dataset, batch_size=None, num_workers=self.num_workers,
                          persistent_workers=False, pin_memory=False)

    def train_dataloader(self) -> DataLoader:
        rank, world = self._rank_world()
        epoch = self.trainer.current_epoch if getattr(self, "trainer", None) is not None else 0
        epoch += self.epoch_offset
        if self.source == "file":
            split = self._file.split("train")
            return self._loader(_ShuffledBatches(split, self.batch_size, self.seed, epoch, rank, world))
        online = OnlineTrajectories(self.generation, self.batch_size, max(1, self.n_train // self.batch_size))
        online.set_epoch(epoch)
        return self._loader(_OnlineShard(online, rank, world))

    def val_dataloader(self) -> DataLoader:
        rank, world = self._rank_world()
        if self.source == "file":
            split = self._file.split("val")
            split.with_states = True
            return self._loader(_FixedBatches(lambda a, b: split[slice(a, b)], len(split), self.batch_size, rank, world))
        val = self._val

        def fetch(a: int, b: int) -> dict:
            return {"velocities": val.velocities[a:b], "targets": val.targets[a:b], "initial_code": val.initial_code[a:b],
                    "initial_states": val.initial_states[a:b], "states": val.states[a:b]}

        return self._loader(_FixedBatches(fetch, len(val), self.batch_size, rank, world))
