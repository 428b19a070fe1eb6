"""``cogmap cells``: how many place cells a kernel keeps active (the effective number, exp of entropy)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from cogmap.cells import KERNELS, LAYOUTS, PlaceCells, effective_number, place_centres
from cogmap.cli.common import write_text_atomic
from cogmap.errors import CogmapError
from cogmap.geometry import SO3, Box, Torus

HELP = "effective number of active place cells for kernels and widths"
DESCRIPTION = """\
Encode uniformly random states with a population of place cells and report the effective
number of active cells, exp(entropy) of each code: about 1 for a code peaked on one cell,
the number of cells for a uniform code. Give several kernels, kappas or sigmas (comma
separated) to compare them; --figure plots effective number against sigma.
"""

SPACES = {"so3": lambda: SO3(), "so2": lambda: Torus(1), "torus2": lambda: Torus(2), "box": lambda: Box()}


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise CogmapError(f"expected comma-separated numbers, got {text!r}") from None


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("cells", help=HELP, description=DESCRIPTION)
    p.add_argument("--manifold", choices=sorted(SPACES), default="so3", help="space of the cells (default so3)")
    p.add_argument("--cells", type=int, default=32, help="cells in the population (default 32)")
    p.add_argument("--kernel", default="vmf", help=f"comma-separated kernels from {', '.join(KERNELS)} (default vmf)")
    p.add_argument("--kappa", default="5", help="comma-separated vMF concentrations (default 5)")
    p.add_argument("--sigma", default="0.5", help="comma-separated Gaussian widths, in radians or metres (default 0.5)")
    p.add_argument("--layout", choices=LAYOUTS, default="random", help="centre layout (default random)")
    p.add_argument("--samples", type=int, default=20000, help="random states to encode (default 20000)")
    p.add_argument("--seed", type=int, default=0, help="seed of centres and states (default 0)")
    p.add_argument("--json", type=Path, help="write the table to this JSON file")
    p.add_argument("--figure", type=Path, help="plot effective number against sigma to this PNG")
    p.set_defaults(run=run)


def run(args) -> int:
    kernels = [k.strip() for k in args.kernel.split(",") if k.strip()]
    for kernel in kernels:
        if kernel not in KERNELS:
            raise CogmapError(f"unknown kernel {kernel!r}; choose from {', '.join(KERNELS)}")
    if args.samples < 1 or args.cells < 1:
        raise CogmapError("--samples and --cells must be >= 1")
    space = SPACES[args.manifold]()
    generator = torch.Generator().manual_seed(args.seed)
    centres = place_centres(space, args.cells, args.layout, generator)
    states = space.random(args.samples, generator)
    rows = []
    for kernel in kernels:
        widths = [("kappa", k) for k in _floats(args.kappa)] if kernel == "vmf" else [("sigma", s) for s in _floats(args.sigma)]
        for name, value in widths:
            cells = PlaceCells(space, centres, kernel, **{name: value})
            codes = cells.encode(states)
            n_eff = effective_number(codes)
            rows.append({"kernel": kernel, name: value, "effective_mean": float(n_eff.mean()),
                         "effective_std": float(n_eff.std()), "peak_probability": float(codes.max(-1).values.mean())})
    print(f"{args.cells} {args.layout} cells on {space!r}, {args.samples} uniform states, seed {args.seed}")
    print("| kernel | width | effective cells (mean +- sd) | mean peak probability |")
    print("|---|---|---|---|")
    for row in rows:
        width = f"kappa={row['kappa']:g}" if "kappa" in row else f"sigma={row['sigma']:g}"
        print(f"| {row['kernel']} | {width} | {row['effective_mean']:.2f} +- {row['effective_std']:.2f} | "
              f"{row['peak_probability']:.3f} |")
    if args.json is not None:
        write_text_atomic(args.json, json.dumps({"cells": args.cells, "manifold": args.manifold, "rows": rows}, indent=2))
    if args.figure is not None:
        from cogmap.viz.plots import plot_effective_cells

        plot_effective_cells(rows, args.cells, args.figure, title=f"{args.cells} place cells on {space!r}")
        print(f"wrote {args.figure}")
    return 0
