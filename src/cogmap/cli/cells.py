"""``cogmap cells``: how many place cells a kernel keeps active (the effective number, exp of entropy)."""

from __future__ import annotations

import json
from pathlib import Path

from cogmap.cells import KERNELS, LAYOUTS
from cogmap.cli.common import check_count, check_file_output, comma_numbers, write_text_atomic
from cogmap.errors import CogmapError
from cogmap.geometry import SPACES

HELP = "effective number of active place cells for kernels and widths"
DESCRIPTION = """\
Encode uniformly random states with a population of place cells and report the effective
number of active cells, exp(entropy) of each code: about 1 for a code peaked on one cell,
the number of cells for a uniform code. Give several kernels, kappas or sigmas (comma
separated) to compare them; --figure plots effective number against sigma.
"""


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
    p.add_argument("--force", action="store_true", help="overwrite existing --json / --figure files")
    p.set_defaults(run=run)


def run(args) -> int:
    from cogmap.cells import effective_numbers
    from cogmap.geometry import make_space

    kernels = [k.strip() for k in args.kernel.split(",") if k.strip()]
    unknown = [k for k in kernels if k not in KERNELS]
    if unknown or not kernels:
        raise CogmapError(f"--kernel must name kernels from {', '.join(KERNELS)}, got {args.kernel!r}")
    check_count("--samples", args.samples)
    check_count("--cells", args.cells)
    for flag, path in (("--json", args.json), ("--figure", args.figure)):
        if path is not None:
            check_file_output(path, args.force, flag)
    space = make_space(args.manifold)
    rows = effective_numbers(space, args.cells, kernels, comma_numbers("--kappa", args.kappa), comma_numbers("--sigma", args.sigma),
                             args.layout, args.samples, args.seed)
    print(f"{args.cells} {args.layout} cells on {space!r}, {args.samples} uniform states, seed {args.seed}")
    print("| kernel | width | effective cells (mean +- sd) | mean peak probability |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row.kernel} | {row.width_name}={row.width:g} | {row.effective_mean:.2f} +- {row.effective_std:.2f} | "
              f"{row.peak_probability:.3f} |")
    if args.json is not None:
        write_text_atomic(args.json, json.dumps({"cells": args.cells, "manifold": args.manifold,
                                                 "rows": [r.to_json() for r in rows]}, indent=2))
    if args.figure is not None:
        from cogmap.viz.plots import plot_effective_cells

        plot_effective_cells([r.to_json() for r in rows], args.cells, args.figure,
                             title=f"{args.cells} place cells on {space!r}")
        print(f"wrote {args.figure}")
    return 0
