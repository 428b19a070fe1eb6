"""What a CPU step of the grid-cell experiment costs: cogmap's pipeline against a plain loop of the reference.

The reference model of Sorscher et al. (2019; ganguli-lab's grid-pattern-formation), written
here as a plain PyTorch loop: a bias-free linear encoder of the start's place-cell code, a
bias-free ReLU RNN over 2-D velocities, a bias-free linear readout, cross-entropy against the
DoG place-cell code, 1e-4 x |W_hh|^2, Adam 1e-4; its trajectories from a NumPy transcription of
the reference's random walk (Rayleigh speeds, white-noise turning, wall avoidance), one batch
per step as the reference draws them. cogmap's side is `cogmap train
--config configs/pathint/box_grid.yaml`'s step: the online data module (our RatMotion with
Sorscher's settings, the DoG code) and the Lightning module. Both run in the same process, one
after the other, on the same number of threads; best of --repeats alternating runs.

    python benchmarks/bench_box_training.py                      # 512 units, the shipped config
    python benchmarks/bench_box_training.py --hidden 4096 --steps 4   # the reference's size
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

import numpy as np
import torch

from cogmap.pathint.datamodule import TrajectoryDataModule
from cogmap.pathint.train import build_model, load_config

BOX = 2.2


class ReferenceWalk:
    """The reference's random walk in a 2.2 m box centred on 0, one batch at a time (NumPy)."""

    def __init__(self, batch: int, steps: int, seed: int = 0):
        self.batch, self.steps, self.rng = batch, steps, np.random.default_rng(seed)

    def sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        b, t, dt, half = self.batch, self.steps, 0.02, BOX / 2
        position = np.zeros((b, t + 2, 2))
        heading = np.zeros((b, t + 2))
        position[:, 0] = self.rng.uniform(-half, half, (b, 2))
        heading[:, 0] = self.rng.uniform(0, 2 * np.pi, b)
        turns = self.rng.normal(0, 11.52, (b, t + 1))
        speeds = self.rng.rayleigh(0.13 * 2 * np.pi, (b, t + 1))
        step = np.zeros((b, t + 2))
        wall_angles = np.arange(4) * np.pi / 2
        for i in range(t + 1):
            x, y = position[:, i, 0], position[:, i, 1]
            gaps = np.stack([half - x, half - y, half + x, half + y])
            angle = np.mod(np.mod(heading[:, i], 2 * np.pi) - wall_angles[gaps.argmin(0)] + np.pi, 2 * np.pi) - np.pi
            near = (gaps.min(0) < 0.03) & (np.abs(angle) < np.pi / 2)
            turn = np.where(near, np.sign(angle) * (np.pi / 2 - np.abs(angle)), 0.0) + dt * turns[:, i]
            step[:, i] = np.where(near, 0.25, 1.0) * speeds[:, i] * dt
            position[:, i + 1] = position[:, i] + step[:, i, None] * np.stack([np.cos(heading[:, i]),
                                                                              np.sin(heading[:, i])], -1)
            heading[:, i + 1] = heading[:, i] + turn
        direction = heading[:, 1:-1]
        velocity = np.stack([step[:, 1:-1] * np.cos(direction), step[:, 1:-1] * np.sin(direction)], -1)
        return velocity, position[:, 1], position[:, 2:]


class ReferenceModel(torch.nn.Module):
    def __init__(self, cells: int, hidden: int):
        super().__init__()
        self.encoder = torch.nn.Linear(cells, hidden, bias=False)
        self.rnn = torch.nn.RNN(2, hidden, nonlinearity="relu", bias=False, batch_first=True)
        self.decoder = torch.nn.Linear(hidden, cells, bias=False)

    def forward(self, velocity, start_code):
        states, _ = self.rnn(velocity, self.encoder(start_code)[None])
        return self.decoder(states)


def reference_steps_per_s(hidden: int, steps: int, warmup: int, centres: torch.Tensor) -> float:
    torch.manual_seed(0)
    model = ReferenceModel(len(centres), hidden)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    walk = ReferenceWalk(200, 20)
    sigma = 0.12

    def code(position):
        d2 = ((position[..., None, :] - centres) ** 2).sum(-1)
        out = torch.softmax(-d2 / (2 * sigma**2), -1) - torch.softmax(-d2 / (2 * 2 * sigma**2), -1)
        out = out - out.min(-1, keepdim=True).values
        return out / out.sum(-1, keepdim=True)

    start = None
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        velocity, first, positions = (torch.tensor(a, dtype=torch.float32) for a in walk.sample())
        target = code(positions)
        logits = model(velocity, code(first))
        loss = -(target * torch.log_softmax(logits, -1)).sum(-1).mean() + 1e-4 * model.rnn.weight_hh_l0.pow(2).sum()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return steps / (time.perf_counter() - start)


def cogmap_steps_per_s(config, steps: int, warmup: int) -> float:
    import lightning as L
    from lightning.pytorch.callbacks import Callback

    class Clock(Callback):
        def __init__(self):
            self.start = self.end = None

        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if batch_idx == warmup:
                self.start = time.perf_counter()

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if batch_idx == warmup + steps - 1:
                self.end = time.perf_counter()

    data_section = dataclasses.replace(config.data, n_train=config.data.batch_size * (warmup + steps))
    config = dataclasses.replace(config, data=data_section)
    data = TrajectoryDataModule(config.generation, "online", None, config.data.n_train, config.data.n_val,
                                config.data.batch_size, 0, 0)
    model = build_model(config)
    clock = Clock()
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0, callbacks=[clock],
                        gradient_clip_val=config.optim.grad_clip or None)
    trainer.fit(model, datamodule=data)
    return steps / (clock.end - clock.start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/pathint/box_grid.yaml")
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--steps", type=int, default=30, help="timed steps of each loop")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    config = load_config(args.config, [f"model.hidden={args.hidden}"])
    centres = config.generation.place_cells().populations[0].centres - BOX / 2
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    ours = reference = 0.0
    for _ in range(args.repeats):
        reference = max(reference, reference_steps_per_s(args.hidden, args.steps, args.warmup, centres))
        ours = max(ours, cogmap_steps_per_s(config, args.steps, args.warmup))
    batch = config.data.batch_size
    print(f"ReLU RNN of {args.hidden} units, {config.generation.cells} DoG place cells, batch {batch} x "
          f"{config.generation.seq_len} steps, {args.steps} timed steps")
    print(f"plain PyTorch loop of the reference: {reference:.2f} steps/s ({reference * batch:,.0f} trajectories/s)")
    print(f"cogmap (online data + Lightning):    {ours:.2f} steps/s ({ours * batch:,.0f} trajectories/s)")
    print(f"ratio cogmap/reference: {ours / reference:.2f}x; the reference's 100,000 steps would take "
          f"{100_000 / ours / 3600:.1f} h with cogmap here")


if __name__ == "__main__":
    main()
