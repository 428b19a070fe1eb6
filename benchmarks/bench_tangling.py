"""Trajectory tangling: cogmap's chunked pairwise computation against a straightforward NumPy implementation.

The reference computes the formula one time point at a time, vectorised over the other time
points (``Q(t) = max_t' |x'(t) - x'(t')|^2 / (|x(t) - x(t')|^2 + eps)``), which is how the formula
is usually written out; cogmap compares a block of time points with all others at once by
matrix products. Both in float64, on the same random-walk data; the results must agree.

    python benchmarks/bench_tangling.py
    python benchmarks/bench_tangling.py --points 2000,8000 --dims 8,256
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from cogmap.analysis import tangling


def reference(x: np.ndarray, dt: float) -> np.ndarray:
    flow = np.diff(x, axis=0) / dt
    flow = np.concatenate([flow[:1], flow])
    eps = 0.1 * x.var(axis=0, ddof=1).sum()
    q = np.empty(len(x))
    for t in range(len(x)):
        q[t] = (np.square(flow - flow[t]).sum(1) / (np.square(x - x[t]).sum(1) + eps)).max()
    return q


def timed(function, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", default="2000,8000", help="comma-separated numbers of time points")
    parser.add_argument("--dims", default="8,64,256", help="comma-separated numbers of dimensions")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, numpy {np.__version__}")
    print(f"{'points':>7} {'dims':>5} {'cogmap s':>9} {'numpy s':>9} {'ratio':>6} {'max rel diff':>13}")
    rng = np.random.default_rng(0)
    for points in (int(p) for p in args.points.split(",")):
        for dims in (int(d) for d in args.dims.split(",")):
            x = np.cumsum(rng.normal(size=(points, dims)), axis=0)
            ours_s, ours = timed(lambda x=x: tangling(x, dt=0.02), args.repeats)
            theirs_s, theirs = timed(lambda x=x: reference(x, 0.02), args.repeats)
            diff = float(np.max(np.abs(ours - theirs) / np.abs(theirs)))
            print(f"{points:>7} {dims:>5} {ours_s:>9.3f} {theirs_s:>9.3f} {theirs_s / ours_s:>6.1f} {diff:>13.1e}",
                  flush=True)


if __name__ == "__main__":
    main()
