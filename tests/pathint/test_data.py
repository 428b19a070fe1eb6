import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation
from scipy.special import softmax
from torch.utils.data import BatchSampler, DataLoader, SequentialSampler

from cogmap.errors import CogmapError, DataFileError
from cogmap.pathint import data as data_module
from cogmap.pathint.data import (
    FORMAT_VERSION,
    GenerationConfig,
    OnlineTrajectories,
    TrajectoryFile,
    complete,
    generate,
    integrate_joints,
    write_trajectory_file,
)

SMALL = GenerationConfig(seq_len=20)


def fields(tr):
    return [tr.velocities, tr.targets, tr.initial_code, tr.initial_states, tr.states]


def test_shapes_of_the_seed_layout():
    tr = generate(GenerationConfig(), 10, "val")
    assert tr.velocities.shape == (10, 100, 6)
    assert tr.targets.shape == (10, 100, 64)
    assert tr.initial_code.shape == (10, 64)
    assert tr.initial_states.shape == (10, 2, 3, 3)
    assert tr.states.shape == (10, 100, 2, 3, 3)


def test_identical_bytes_whatever_the_chunk_size():
    reference = generate(SMALL, 700, chunk_size=700)
    for chunk in (1, 99, 256, 333):
        other = generate(SMALL, 700, chunk_size=chunk) if chunk > 1 else generate(SMALL, 20, chunk_size=1)
        for a, b in zip(fields(reference), fields(other)):
            assert torch.equal(a[: len(b)], b)


def test_seed_and_split_select_the_stream():
    a, b = generate(SMALL, 50), generate(SMALL, 50)
    assert all(torch.equal(x, y) for x, y in zip(fields(a), fields(b)))
    assert not torch.equal(a.velocities, generate(GenerationConfig(seq_len=20, seed=43), 50).velocities)
    assert not torch.equal(a.velocities, generate(SMALL, 50, "val").velocities)


def test_states_match_scipy_integration():
    cfg = GenerationConfig(seq_len=60)
    tr = generate(cfg, 8)
    for i in range(8):
        for k in range(2):
            r = Rotation.from_matrix(tr.initial_states[i, k].double().numpy())
            for t in range(60):
                r = r * Rotation.from_rotvec(tr.velocities[i, t, 3 * k:3 * k + 3].double().numpy() * cfg.dt)
            np.testing.assert_allclose(tr.states[i, -1, k].numpy(), r.as_matrix(), atol=2e-5)


def test_targets_match_an_independent_vmf_code():
    cfg = GenerationConfig(seq_len=10)
    tr = generate(cfg, 5)
    centres = cfg.place_cells().centres.double().numpy()  # (K, C, 3, 3)
    for k in range(2):
        states = Rotation.from_matrix(tr.states[:, :, k].reshape(-1, 3, 3).double().numpy())
        d = np.stack([(Rotation.from_matrix(c).inv() * states).magnitude() for c in centres[k]], -1)
        expected = softmax(cfg.kappa * np.cos(d), axis=-1).reshape(5, 10, 32)
        np.testing.assert_allclose(tr.targets[..., 32 * k:32 * (k + 1)].numpy(), expected, atol=2e-5)
    assert torch.allclose(tr.targets.reshape(5, 10, 2, 32).sum(-1), torch.ones(5, 10, 2), atol=1e-5)


def test_velocities_are_the_seeds_ou_process():
    cfg = GenerationConfig(seq_len=200)
    v = generate(cfg, 2000).velocities.double()
    assert abs(float(v.std()) - cfg.ou_sigma) < 0.03
    lag1 = float((v[:, 1:] * v[:, :-1]).mean() / (v * v).mean())
    assert abs(lag1 - math.exp(-cfg.ou_theta * cfg.dt)) < 2e-3


def test_ten_thousand_steps_stay_orthonormal():
    tr = generate(GenerationConfig(seq_len=10000), 16)
    r = tr.states
    assert float((r.transpose(-1, -2) @ r - torch.eye(3)).abs().max()) < 1e-5


def test_circle_joints():
    cfg = GenerationConfig(manifold="so2", joints=3, cells=16, seq_len=30)
    tr = generate(cfg, 20)
    assert tr.velocities.shape == (20, 30, 3) and tr.states.shape == (20, 30, 3, 1)
    expected = torch.remainder(tr.initial_states[:, None, :, 0] + torch.cumsum(tr.velocities, 1) * cfg.dt + math.pi,
                               2 * math.pi) - math.pi
    assert torch.allclose(tr.states[..., 0], expected, atol=1e-5)


@pytest.mark.parametrize("kwargs,match", [
    ({"kappa": 0.0}, "kappa"), ({"kappa": -1.0}, "kappa"), ({"dt": 0.0}, "dt"), ({"ou_sigma": -1.0}, "ou_sigma"),
    ({"ou_theta": 0.0}, "ou_theta"), ({"cells": 0}, "cells"), ({"joints": 0}, "joints"), ({"seq_len": 0}, "seq_len"),
    ({"manifold": "sphere"}, "manifold"), ({"dt": float("inf")}, "dt"), ({"seed": -1}, "seed"),
])
def test_bad_generation_parameters(kwargs, match):
    with pytest.raises(CogmapError, match=match):
        GenerationConfig(**kwargs)


def test_integer_values_from_yaml_become_floats():
    config = GenerationConfig.from_dict({"kappa": 5, "dt": 1})
    assert config == GenerationConfig(kappa=5.0, dt=1.0) and isinstance(config.kappa, float)
    with pytest.raises(CogmapError, match="unknown key.*kapa"):
        GenerationConfig.from_dict({"kapa": 5})
    # YAML 1.1 reads 1e-2 as a string; the config takes it as the number it means.
    assert GenerationConfig.from_dict({"dt": "1e-2"}).dt == 0.01


def test_nan_velocities_and_wrong_shapes_are_refused():
    tr = generate(SMALL, 4)
    bad = tr.velocities.clone()
    bad[0, 3, 1] = float("nan")
    with pytest.raises(CogmapError, match="NaN"):
        complete(SMALL, tr.initial_states, bad)
    with pytest.raises(CogmapError, match="velocities must have shape"):
        integrate_joints(SMALL, tr.initial_states, tr.velocities[..., :5])
    with pytest.raises(CogmapError, match="initial_states must have shape"):
        integrate_joints(SMALL, tr.initial_states[:, :1], tr.velocities)


# ------------------------------------------------------------------------ files


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "traj.pt"
    write_trajectory_file(path, SMALL, 300, 40, chunk_size=128, progress=False)
    return path


def test_file_round_trip(small_file):
    data = TrajectoryFile(small_file)
    assert data.config == SMALL and data.sizes == {"train": 300, "val": 40}
    for split, n in (("train", 300), ("val", 40)):
        stored = data.split(split).trajectories(slice(0, n))
        fresh = generate(SMALL, n, split)
        # What is stored comes back bit for bit; what is recomputed from it agrees to rounding
        # (BLAS may sum in another order for another batch size).
        assert torch.equal(stored.velocities, fresh.velocities)
        assert torch.equal(stored.initial_states, fresh.initial_states)
        for a, b in zip(fields(stored)[1:3] + fields(stored)[4:], fields(fresh)[1:3] + fields(fresh)[4:]):
            assert torch.allclose(a, b, atol=1e-6, rtol=0)


def _anonymous_rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    pytest.skip("needs Linux /proc to measure resident memory")


def test_file_is_small_and_opening_it_reads_little_into_ram(tmp_path):
    path = tmp_path / "big.pt"
    write_trajectory_file(path, GenerationConfig(), 20_000, 1000, progress=False)
    size = path.stat().st_size
    # Scaled to the seed's 100k + 5k trajectories, at most a quarter of its 2.8 GB.
    assert size / 21_000 * 105_000 <= 2.8e9 / 4
    before = _anonymous_rss()
    data = TrajectoryFile(path)  # memory-mapped; verifying the checksum streams through it
    batch = data.split("train")[list(range(0, 20_000, 157))]
    grown = _anonymous_rss() - before
    assert batch["targets"].shape == (128, 100, 64)
    assert grown < 0.5 * size, f"opening a {size / 2**20:.0f} MiB file took {grown / 2**20:.0f} MiB of RAM"


def test_split_as_a_batched_dataset(small_file):
    split = TrajectoryFile(small_file).split("val")
    loader = DataLoader(split, sampler=BatchSampler(SequentialSampler(split), 16, drop_last=False), batch_size=None)
    batches = list(loader)
    assert [b["velocities"].shape[0] for b in batches] == [16, 16, 8]
    fresh = generate(SMALL, 40, "val")
    assert torch.equal(torch.cat([b["velocities"] for b in batches]), fresh.velocities)
    assert torch.allclose(torch.cat([b["targets"] for b in batches]), fresh.targets, atol=1e-6, rtol=0)
    item = split[3]
    assert item["velocities"].shape == (20, 6)
    assert torch.allclose(item["initial_code"], fresh.initial_code[3], atol=1e-6, rtol=0)
    with pytest.raises(CogmapError, match="out of range"):
        split[[0, 40]]


def test_missing_foreign_truncated_and_corrupt_files(small_file, tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        TrajectoryFile(tmp_path / "nothing.pt")
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(DataFileError, match="not a PyTorch file"):
        TrajectoryFile(text)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(DataFileError, match="no 'cogmap-trajectories' header"):
        TrajectoryFile(foreign)
    raw = small_file.read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataFileError, match="corrupt|truncated|not a cogmap"):
        TrajectoryFile(truncated)
    corrupt = tmp_path / "corrupt.pt"
    velocities = torch.load(small_file, weights_only=True)["splits"]["train"]["velocities"]
    needle = velocities[5, 5].numpy().tobytes()
    at = raw.find(needle)
    assert at > 0
    damaged = bytearray(raw)
    damaged[at:at + 4] = b"\x00\x00\x80\x7f"  # +inf in place of a velocity
    corrupt.write_bytes(bytes(damaged))
    with pytest.raises(DataFileError, match="corrupt"):
        TrajectoryFile(corrupt)


def test_one_flipped_byte_anywhere_fails_the_checksum(small_file, tmp_path):
    raw = small_file.read_bytes()
    velocities = torch.load(small_file, weights_only=True)["splits"]["train"]["velocities"]
    # The lowest byte of a float32 in the middle of the data: a change of about 1e-7 of the value.
    needle = velocities[20, 10].numpy().tobytes()
    at = raw.find(needle)
    assert at > 0
    damaged = bytearray(raw)
    damaged[at] ^= 0x01
    corrupt = tmp_path / "flipped.pt"
    corrupt.write_bytes(bytes(damaged))
    with pytest.raises(DataFileError, match="checksum"):
        TrajectoryFile(corrupt)


def test_version_1_files_are_still_read_with_their_own_checksum(small_file, tmp_path):
    payload = torch.load(small_file, weights_only=True)
    payload["version"] = 1
    payload["config"].pop("box_size")  # version 1 knew no boxes
    for part in payload["splits"].values():
        part["checksum"] = data_module._legacy_checksum(part["velocities"]) + data_module._legacy_checksum(
            part["initial_states"])
    old = tmp_path / "old.pt"
    torch.save(payload, old)
    data = TrajectoryFile(old)
    assert data.version == 1 and torch.equal(data.split("val").velocities, TrajectoryFile(small_file).split("val").velocities)
    payload["splits"]["val"]["velocities"][0, 0, 0] += 1.0
    torch.save(payload, old)
    with pytest.raises(DataFileError, match="checksum"):
        TrajectoryFile(old)


def test_a_new_write_removes_partials_left_by_an_interrupted_one(tmp_path):
    target = tmp_path / "traj.pt"
    stale = tmp_path / ".traj.pt.x1y2z3.partial.pt"
    stale.write_bytes(b"half a file")
    other = tmp_path / ".other.pt.abc.partial.pt"  # another target's: not ours to remove
    other.write_bytes(b"busy")
    write_trajectory_file(target, SMALL, 10, 10, progress=False)
    assert not stale.exists() and other.exists() and TrajectoryFile(target).sizes == {"train": 10, "val": 10}


@pytest.mark.parametrize("manifold", ["torus2", "box"])
def test_every_registered_space_generates_trajectories_that_follow_their_velocities(manifold, tmp_path):
    config = GenerationConfig(manifold=manifold, joints=2, seq_len=30, cells=16)
    batch = generate(config, 64, "val")
    space = config.space
    assert batch.velocities.shape == (64, 30, 2 * space.dim) and batch.states.shape == (64, 30, 2, *space.point_shape)
    assert batch.targets.shape == (64, 30, 32)
    assert torch.allclose(batch.targets.reshape(64, 30, 2, 16).sum(-1), torch.ones(64, 30, 2), atol=1e-5)
    # One step by hand: the space's own integration of the first velocity.
    first = space.integrate(batch.initial_states, batch.velocities[:, 0].reshape(64, 2, space.dim), config.dt)
    assert torch.allclose(space.distance(first, batch.states[:, 0]), torch.zeros(64, 2), atol=1e-5)
    if manifold == "box":
        assert config.kernel == "rbf" and bool(space.contains(batch.states).all())
        # The walk moves at about RatMotion's mean speed (0.16 m/s).
        speed = batch.velocities.reshape(64, 30, 2, 2).norm(dim=-1).mean()
        assert 0.08 < float(speed) < 0.3
    else:
        assert config.kernel == "vmf" and float(batch.states.abs().max()) <= torch.pi
    path = write_trajectory_file(tmp_path / f"{manifold}.pt", config, 40, 8, progress=False)
    assert torch.equal(TrajectoryFile(path).split("val").velocities, generate(config, 8, "val").velocities)


def test_other_format_version_is_refused(small_file, tmp_path):
    payload = torch.load(small_file, weights_only=True)
    payload["version"] = FORMAT_VERSION + 1
    path = tmp_path / "future.pt"
    torch.save(payload, path)
    with pytest.raises(DataFileError, match=f"format version {FORMAT_VERSION + 1}"):
        TrajectoryFile(path)
    payload["version"] = FORMAT_VERSION
    payload["splits"]["val"]["velocities"] = payload["splits"]["val"]["velocities"][:5]
    torch.save(payload, path)
    with pytest.raises(DataFileError, match="val/velocities has shape"):
        TrajectoryFile(path)


def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    target = tmp_path / "out.pt"
    target.write_bytes(b"previous")

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(data_module.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        write_trajectory_file(target, SMALL, 10, 10, progress=False)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.pt"]


# ------------------------------------------------------------------- on the fly


def test_online_batches_are_seeded_fresh_and_worker_independent():
    online = OnlineTrajectories(SMALL, batch_size=8, batches_per_epoch=4)
    first = [b["velocities"] for b in online]
    again = [b["velocities"] for b in online]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    online.set_epoch(1)
    assert not torch.equal(first[0], next(iter(online))["velocities"])
    online.set_epoch(0)
    # Two workers produce the same four batches between them.
    loader = DataLoader(online, batch_size=None, num_workers=2)
    from_workers = sorted((b["velocities"] for b in loader), key=lambda t: float(t.sum()))
    assert all(torch.equal(a, b) for a, b in zip(sorted(first, key=lambda t: float(t.sum())), from_workers))
    batch = online.batch(0)
    assert batch["targets"].shape == (8, 20, 64) and batch["initial_code"].shape == (8, 64)


@pytest.mark.parametrize("config", [GenerationConfig(seq_len=7), GenerationConfig(seq_len=5, manifold="torus2", joints=1)])
def test_the_memory_estimate_of_generated_trajectories_is_what_generate_allocates(config):
    import dataclasses

    from cogmap.pathint.data import generated_bytes

    made = generate(dataclasses.replace(config, seq_len=9), 10, "val")
    tensors = [getattr(made, f.name) for f in dataclasses.fields(made) if isinstance(getattr(made, f.name), torch.Tensor)]
    assert generated_bytes(config, 10, seq_len=9) == sum(t.numel() * t.element_size() for t in tensors)


def test_a_data_file_too_large_for_the_machine_is_refused_before_anything_is_allocated(tmp_path, monkeypatch):
    from cogmap.pathint.data import trajectory_bytes, write_trajectory_file

    config = GenerationConfig(seq_len=7)
    path = write_trajectory_file(tmp_path / "small.pt", config, 30, 10, progress=False)
    held = torch.load(path, weights_only=True)["splits"]
    stored = sum(held[s][k].numel() * held[s][k].element_size() for s in held for k in ("initial_states", "velocities"))
    assert trajectory_bytes(config, 40) == stored  # the estimate is exactly what the file holds
    monkeypatch.setattr(data_module, "available_memory", lambda: trajectory_bytes(config, 40) - 1)
    with pytest.raises(CogmapError, match="40 trajectories of 7 steps need 0.0 GiB, but there are 0.0 GiB of free memory"):
        write_trajectory_file(tmp_path / "big.pt", config, 30, 10, progress=False)
    assert not list(tmp_path.glob("big*"))
