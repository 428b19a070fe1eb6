"""``cogmap generate``: write a path-integration data file (train and validation splits)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

from cogmap.cli.common import (
    add_config_arguments,
    check_file_output,
    set_threads,
    settings_epilog,
    study_config,
    write_text_atomic,
)
from cogmap.config import to_dict
from cogmap.pathint.data import DEFAULT_PATH, SPACES, DataFileConfig, write_trajectory_file

HELP = "generate trajectories and place-cell codes for path integration"
DESCRIPTION = f"""\
Generate path-integration data: random start poses of a K-joint arm (or positions in a box),
self-motion (Ornstein-Uhlenbeck angular velocities; a wall-avoiding walk in the box), and the
place-cell codes of the poses. Settings are keys of DataFileConfig (cogmap.pathint.data), the
shape of a training config's data section: n_train=100000, n_val=5000 and the section
`generation` (GenerationConfig), e.g.

  cogmap generate generation.seq_len=50 generation.manifold=torus2 n_train=20000
  cogmap generate --config configs/pathint/data.yaml

Defaults are the reference settings (2 joints on SO(3), 100k + 5k trajectories of 100 steps,
dt 0.01, 32 vMF cells per joint, kappa 5, seed 42); spaces (generation.manifold):
{', '.join(f'{name} ({entry.description})' for name, entry in SPACES.items())}.
The file stores start poses and velocities only; codes are recomputed when it is read; the
resolved settings go beside it (<name>.config.yaml). An existing file is not overwritten
without --force.
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("generate", help=HELP, description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(p, "generation.seq_len=50 n_train=20000", "YAML file of DataFileConfig settings")
    p.add_argument("--out", type=Path, default=DEFAULT_PATH, help=f"output file (default {DEFAULT_PATH})")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")
    p.add_argument("--chunk-size", dest="chunk_size", type=int, default=16384,
                   help="trajectories generated at a time (memory; the bytes are the same whatever it is)")
    p.add_argument("--workers", type=int, help="CPU threads to use (default: torch's choice)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run, settings=DataFileConfig)
    p.epilog = settings_epilog(DataFileConfig)


def run(args) -> int:
    set_threads(args.workers)
    spec = study_config(args)
    out = check_file_output(args.out, args.force)
    start = time.perf_counter()
    path = write_trajectory_file(out, spec.generation, spec.n_train, spec.n_val, chunk_size=args.chunk_size,
                                 progress=not args.quiet)
    elapsed = time.perf_counter() - start
    write_text_atomic(path.with_name(path.stem + ".config.yaml"), yaml.safe_dump(to_dict(spec), sort_keys=False))
    size_mb = path.stat().st_size / 2**20
    total = spec.n_train + spec.n_val
    print(f"wrote {path} ({size_mb:.1f} MiB, {spec.n_train} train + {spec.n_val} val trajectories "
          f"in {elapsed:.1f} s, {total / elapsed:,.0f} trajectories/s)")
    return 0
