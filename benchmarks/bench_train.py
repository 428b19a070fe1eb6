"""Training throughput: cogmap's Lightning loop against a minimal plain-PyTorch loop.

Same network (the seed's GRU: 256 units, dropout 0.5), same optimiser (AdamW, clipping 1.0),
same loss and accuracy computation, same fixed batches of the seed's data (128 trajectories
of 100 steps), in one run. Reports steady-state trajectories/s of each and Lightning's
overhead. With --metrics it also reads a training run's metrics.csv and prints the time
it took to reach given validation accuracies.

    python benchmarks/bench_train.py                         # CPU, GRU
    python benchmarks/bench_train.py --cell rnn --steps 60
    python benchmarks/bench_train.py --device cuda
    python benchmarks/bench_train.py --metrics logs/pathint/gru/metrics.csv --targets 0.9,0.95,0.978
"""

from __future__ import annotations

import argparse
import copy
import csv
import os
import platform
import time

import torch

from cogmap.pathint.data import GenerationConfig, generate
from cogmap.pathint.metrics import accuracy, kl_divergence
from cogmap.pathint.model import StateEstimationModel


def batches(n_batches: int, batch_size: int) -> list[dict]:
    gen = GenerationConfig()
    tr = generate(gen, n_batches * batch_size)
    return [{"velocities": tr.velocities[i:i + batch_size].contiguous(), "targets": tr.targets[i:i + batch_size].contiguous(),
             "initial_code": tr.initial_code[i:i + batch_size].contiguous()} for i in range(0, len(tr), batch_size)]


def plain_loop(model: StateEstimationModel, data: list[dict], steps: int, warmup: int, device: str) -> float:
    net = copy.deepcopy(model.net).to(device).train()
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    data = [{k: v.to(device) for k, v in b.items()} for b in data]
    start = None
    for step in range(warmup + steps):
        if step == warmup:
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
        batch = data[step % len(data)]
        log_p, _ = net(batch["velocities"], net.encode_initial(batch["initial_code"]))
        loss = kl_divergence(batch["targets"], log_p, net.joints).mean()
        accuracy(batch["targets"], log_p, net.joints).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimiser.step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return steps * data[0]["velocities"].shape[0] / (time.perf_counter() - start)


def lightning_loop(model: StateEstimationModel, data: list[dict], steps: int, warmup: int, device: str) -> float:
    import lightning as L
    from lightning.pytorch.callbacks import Callback

    class Clock(Callback):
        def __init__(self):
            self.start = self.end = None

        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if batch_idx == warmup:
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                self.start = time.perf_counter()

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if batch_idx == warmup + steps - 1:
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                self.end = time.perf_counter()

    class Cycle(torch.utils.data.IterableDataset):
        def __iter__(self):
            for i in range(warmup + steps):
                yield data[i % len(data)]

    clock = Clock()
    trainer = L.Trainer(max_epochs=1, accelerator="gpu" if device.startswith("cuda") else "cpu", devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        gradient_clip_val=1.0, limit_val_batches=0, callbacks=[clock])
    model = copy.deepcopy(model)
    model.configure_optimizers = lambda: torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    trainer.fit(model, train_dataloaders=torch.utils.data.DataLoader(Cycle(), batch_size=None))
    return steps * data[0]["velocities"].shape[0] / (clock.end - clock.start)


def time_to_accuracy(path: str, targets: list[float]) -> None:
    with open(path, newline="") as handle:
        rows = [r for r in csv.DictReader(handle)]
    elapsed = {int(r["epoch"]): float(r["time/elapsed_s"]) for r in rows if r.get("time/elapsed_s")}
    accuracy_by_epoch = [(int(r["epoch"]), float(r["val/accuracy"])) for r in rows if r.get("val/accuracy")]
    print(f"time to accuracy from {path}:")
    for target in targets:
        hit = next(((e, a) for e, a in accuracy_by_epoch if a >= target), None)
        if hit is None:
            best = max(a for _, a in accuracy_by_epoch)
            print(f"  {target:.3f}: not reached (best {best:.4f})")
        else:
            print(f"  {target:.3f}: epoch {hit[0]} ({hit[1]:.4f}), {elapsed.get(hit[0], float('nan')) / 60:.1f} min of training")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", default="gru", choices=["rnn", "gru", "lstm"])
    parser.add_argument("--steps", type=int, default=40, help="timed optimisation steps of each loop")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=2, help="alternating repeats of both loops; the best of each is kept")
    parser.add_argument("--metrics", help="a run's metrics.csv for time-to-accuracy")
    parser.add_argument("--targets", default="0.9,0.95,0.978")
    args = parser.parse_args()
    if args.metrics:
        time_to_accuracy(args.metrics, [float(t) for t in args.targets.split(",")])
        return
    torch.manual_seed(0)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads")
    if args.device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name()}")
    model = StateEstimationModel(cell=args.cell, hidden=256, dropout=0.5, generation=GenerationConfig().to_dict())
    data = batches(8, args.batch_size)
    plain = lightning = 0.0
    for _ in range(args.repeats):
        plain = max(plain, plain_loop(model, data, args.steps, args.warmup, args.device))
        lightning = max(lightning, lightning_loop(model, data, args.steps, args.warmup, args.device))
    print(f"{args.cell.upper()} 256 units, batch {args.batch_size} x 100 steps, {args.steps} timed steps ({args.device})")
    print(f"plain PyTorch loop: {plain:,.0f} trajectories/s")
    print(f"cogmap Lightning loop: {lightning:,.0f} trajectories/s")
    print(f"Lightning overhead: {100 * (plain / lightning - 1):+.1f}%  (ratio plain/ours {plain / lightning:.3f})")


if __name__ == "__main__":
    main()
