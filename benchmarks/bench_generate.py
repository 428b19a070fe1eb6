"""Trajectory generation: cogmap's vectorised generator against the original approach.

The reference does what the seed's script did: one trajectory at a time in a Python loop,
scipy ``Rotation`` objects for the poses, an OU update and a place-cell code per step, spread
over a ``multiprocessing`` pool with one worker per available core. Both produce the same
things for the seed's settings: velocities (T, 6), targets (T, 64) and the initial code (64,).

    python benchmarks/bench_generate.py                  # seed settings, all cores
    python benchmarks/bench_generate.py --n-ours 20000 --n-reference 500   # quicker
    python benchmarks/bench_generate.py --device cuda    # GPU throughput of ours
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from scipy.special import softmax

from cogmap.pathint.data import GenerationConfig, iter_generate, write_trajectory_file

_REF_STATE: dict = {}


def _init_reference(centres: np.ndarray, config: dict) -> None:
    _REF_STATE["centres"] = [Rotation.from_matrix(c) for c in centres]
    _REF_STATE["config"] = config


def _reference_trajectory(seed: int):
    cfg, centres = _REF_STATE["config"], _REF_STATE["centres"]
    rng = np.random.default_rng(seed)
    joints, steps, dt, kappa = cfg["joints"], cfg["seq_len"], cfg["dt"], cfg["kappa"]
    a = math.exp(-cfg["ou_theta"] * dt)
    noise = cfg["ou_sigma"] * math.sqrt(1 - a * a)
    poses = [Rotation.random(random_state=rng) for _ in range(joints)]

    def code(k):
        return softmax(kappa * np.cos((centres[k].inv() * poses[k]).magnitude()))

    initial = np.concatenate([code(k) for k in range(joints)])
    omega = rng.normal(0.0, cfg["ou_sigma"], 3 * joints)
    velocities = np.empty((steps, 3 * joints), dtype=np.float32)
    targets = np.empty((steps, joints * len(centres[0])), dtype=np.float32)
    for t in range(steps):
        omega = a * omega + noise * rng.normal(size=3 * joints)
        velocities[t] = omega
        for k in range(joints):
            poses[k] = poses[k] * Rotation.from_rotvec(omega[3 * k:3 * k + 3] * dt)
        targets[t] = np.concatenate([code(k) for k in range(joints)])
    return velocities, targets, initial


def time_reference(config: GenerationConfig, n: int, workers: int) -> float:
    centres = config.place_cells().centres.double().numpy()
    start = time.perf_counter()
    with mp.get_context("fork").Pool(workers, initializer=_init_reference, initargs=(centres, config.to_dict())) as pool:
        for _ in pool.imap_unordered(_reference_trajectory, range(n), chunksize=16):
            pass
    return n / (time.perf_counter() - start)


def time_ours(config: GenerationConfig, n: int, device: str, repeats: int) -> float:
    def run():
        produced = 0
        for chunk in iter_generate(config, n, device=device):
            produced += len(chunk)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return produced

    run() if n <= 20_000 else None  # warm-up (allocator, kernels)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        produced = run()
        best = max(best, produced / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-ours", type=int, default=105_000, help="trajectories for cogmap (default: 100k + 5k)")
    parser.add_argument("--n-reference", type=int, default=2_000, help="trajectories for the reference")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="reference pool size (default: all cores)")
    parser.add_argument("--device", default="cpu", help="device for cogmap (cpu, cuda)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of ours; the best is reported")
    parser.add_argument("--file", action="store_true", help="also time writing the seed's 100k + 5k file and report its size")
    args = parser.parse_args()

    config = GenerationConfig()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    if args.device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name()}")
    print(f"settings: {config.joints} joints on {config.manifold}, {config.seq_len} steps, dt {config.dt}, "
          f"{config.cells} cells/joint, kappa {config.kappa}")
    ours = time_ours(config, args.n_ours, args.device, args.repeats)
    print(f"cogmap ({args.device}): {ours:,.0f} trajectories/s  ({args.n_ours} trajectories, best of {args.repeats})")
    reference = time_reference(config, args.n_reference, args.workers)
    print(f"reference (scipy loop, {args.workers} processes): {reference:,.0f} trajectories/s  ({args.n_reference} trajectories)")
    print(f"ratio: {ours / reference:,.0f}x")
    if args.file:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "trajectories.pt"
            start = time.perf_counter()
            write_trajectory_file(path, config, 100_000, 5_000, progress=False)
            elapsed = time.perf_counter() - start
            size = path.stat().st_size
        print(f"file for 100k + 5k trajectories: {size / 1e6:,.0f} MB ({size / 2.8e9:.1%} of the seed's 2.8 GB), "
              f"written in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
