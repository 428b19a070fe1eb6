"""TEM2d localizer steps: cogmap's batched localizer against a straightforward per-world one.

Setting of the issue: belief maps of S = 101 x 101 cells, 1,024-d sensations, a memory already
holding 1,000 (belief, sensation) pairs, memory-based correction on. A step is: translate the
belief by the action, sample the memory near the last belief, read it under the sample and the
last belief (affinity gate), mix, sharpen, read under the new belief (loss), write.

The reference does what the seed's design does, one world at a time: dense belief-map keys
(S*S numbers per memory), matrix products against all of them, a Python loop over worlds.

    python benchmarks/bench_localizer.py                 # 1 and 64 worlds
    python benchmarks/bench_localizer.py --device cuda
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
import torch.nn.functional as F

from cogmap.treeworld.kernels import apply_2d_translation, gaussian_belief, gaussian_kernel_1d
from cogmap.treeworld.tem import TEM2d


class ReferenceLocalizer:
    """One world, dense keys: the seed's memory layout, same algorithm as TEM2d."""

    def __init__(self, grid_size: int, sensory_dim: int, scale: float, filter_size: int, exponent: float = 20.0):
        self.s, self.scale, self.filter_size, self.exponent = grid_size, scale, filter_size, exponent
        self.keys = torch.zeros(0, grid_size * grid_size)
        self.senses = torch.zeros(0, sensory_dim)
        self.search = gaussian_kernel_1d(5.0)

    def write(self, belief, sense, max_size=1000):
        self.keys = torch.cat([self.keys, belief.reshape(1, -1)])[-max_size:]
        self.senses = torch.cat([self.senses, sense.reshape(1, -1)])[-max_size:]

    def read(self, belief):
        w = self.keys @ belief.reshape(-1)
        return (w / w.sum().clamp_min(1e-30)) @ self.senses

    def step(self, last, action, sense):
        predicted = apply_2d_translation(last[None], action[None], self.scale, self.filter_size)[0]
        g, pad = self.search, self.search.numel() // 2
        wide = F.conv2d(F.conv2d(last[None, None], g[None, None, None, :], padding=(0, pad)), g[None, None, :, None],
                        padding=(pad, 0))[0, 0]
        near = (self.keys @ (wide / wide.max()).reshape(-1)) > 0.01
        cosine = F.normalize(self.senses, dim=-1) @ F.normalize(sense, dim=0)
        score = torch.where(near, cosine, torch.full_like(cosine, -float("inf")))
        top, index = score.topk(25)
        weights = torch.softmax(50 * top, 0)
        sample = (weights @ self.keys[index]).reshape(self.s, self.s)
        affinity = F.cosine_similarity(self.read(sample), self.read(last), dim=0).clamp(0, 1)
        mix = 1 - affinity**self.exponent
        belief = ((1 - mix) * predicted + mix * sample).clamp_min(0) ** 1.05
        belief = belief / belief.sum()
        loss = (sense - self.read(belief)).pow(2).mean()
        self.write(belief, sense)
        return belief, loss


def fill(tem: TEM2d, worlds: int, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n random (belief, sensation) pairs per world, as a run would have left them."""
    beliefs, senses = [], []
    for _ in range(n):
        centre = (torch.rand(2, generator=generator) * 800 - 400).tolist()
        belief = gaussian_belief(tem.grid_size, tem.grid_scale, centre, sigma=15.0, batch=worlds)
        sense = torch.randn(worlds, tem.memory.sensory_dim, generator=generator)
        tem.memory.write(belief.to(tem.device) if tem.device else belief, sense.to(belief.device))
        beliefs.append(belief)
        senses.append(sense)
    return torch.stack(beliefs, 1), torch.stack(senses, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worlds", default="1,64", help="comma-separated batch sizes (default 1,64)")
    parser.add_argument("--steps", type=int, default=20, help="steps timed (default 20)")
    parser.add_argument("--reference-worlds", type=int, default=8, help="worlds the reference runs (default 8)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    s, d, memories = 101, 1024, 1000
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, device {args.device}; S={s}, D={d}, {memories} memories")
    print(f"{'worlds':>7} {'cogmap world-steps/s':>21} {'reference world-steps/s':>24} {'ratio':>7}")
    for worlds in [int(w) for w in args.worlds.split(",")]:
        generator = torch.Generator().manual_seed(0)
        tem = TEM2d(grid_size=s, sensory_dim=d, batch_size=worlds, memory_size=memories, device=args.device)
        keys, senses = fill(tem, worlds, memories, generator)
        actions = torch.randn(args.steps, worlds, 2, generator=generator) * 5
        inputs = torch.randn(args.steps, worlds, d, generator=generator)
        belief = gaussian_belief(s, tem.grid_scale, sigma=15.0, batch=worlds).to(args.device)
        sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
        with torch.no_grad():
            tem(belief, actions[0].to(args.device), inputs[0].to(args.device))  # warm-up
            sync()
            start = time.perf_counter()
            for t in range(args.steps):
                belief, loss, mix = tem(belief, actions[t].to(args.device), inputs[t].to(args.device))
            sync()
            ours = time.perf_counter() - start
            n_ref = min(worlds, args.reference_worlds)
            references = []
            for w in range(n_ref):
                ref = ReferenceLocalizer(s, d, tem.grid_scale, tem.filter_size)
                ref.keys, ref.senses = keys[w].reshape(memories, -1).clone(), senses[w].clone()
                references.append(ref)
            beliefs = [gaussian_belief(s, tem.grid_scale, sigma=15.0)[0] for _ in range(n_ref)]
            start = time.perf_counter()
            for t in range(args.steps):
                for w, ref in enumerate(references):
                    beliefs[w], _ = ref.step(beliefs[w], actions[t, w], inputs[t, w])
            theirs = time.perf_counter() - start
        ours_rate, theirs_rate = worlds * args.steps / ours, n_ref * args.steps / theirs
        print(f"{worlds:>7} {ours_rate:>21,.1f} {theirs_rate:>24,.1f} {ours_rate / theirs_rate:>7.1f}")


if __name__ == "__main__":
    main()
