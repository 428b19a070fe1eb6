"""``cogmap generate``: write a path-integration data file (train and validation splits)."""

from __future__ import annotations

import dataclasses
import time
import typing
from pathlib import Path

import yaml

from cogmap.cli.common import add_config_arguments, check_count, check_file_output, overrides, set_threads, write_text_atomic
from cogmap.pathint.data import DEFAULT_PATH, MANIFOLDS, SPACES, GenerationConfig, write_trajectory_file
from cogmap.typed import merge, parse, parse_overrides, read_config
from cogmap.typed import to_dict as asdict

_DEFAULTS = GenerationConfig()

# The generation parameters and the split sizes, flat, as configs/estimation/data.yaml writes them.
DataFileSpec = dataclasses.make_dataclass("DataFileSpec", [
    *[(f.name, typing.get_type_hints(GenerationConfig)[f.name],
       dataclasses.field(default=f.default, default_factory=f.default_factory, metadata=f.metadata))
      for f in dataclasses.fields(GenerationConfig)],
    ("n_train", int, dataclasses.field(default=100_000)), ("n_val", int, dataclasses.field(default=5_000))])

HELP = "generate trajectories and place-cell codes for path integration"
DESCRIPTION = f"""\
Generate path-integration data: random start poses of a K-joint arm (or positions in a box),
self-motion (Ornstein-Uhlenbeck angular velocities; a wall-avoiding walk in the box), and the
place-cell codes of the poses. Defaults are the reference settings (2 joints on SO(3), 100k + 5k
trajectories of 100 steps, dt 0.01, 32 vMF cells per joint, kappa 5, seed 42); spaces:
{', '.join(f'{name} ({entry.description})' for name, entry in SPACES.items())}.
The file stores start poses and velocities only; codes are recomputed when it is read.
Settings come from --config, then the flags, then KEY=VALUE words (e.g. seq_len=50). An
existing file is not overwritten without --force.
"""


def add_generation_arguments(p) -> None:
    """The flags of every :class:`GenerationConfig` field, the split sizes, ``--config`` and overrides."""
    add_config_arguments(p, "seq_len=50 manifold=torus2", "YAML file with any of the keys below (underscored names)")
    p.add_argument("--manifold", choices=MANIFOLDS, help=f"joint space (default {_DEFAULTS.manifold})")
    p.add_argument("--joints", type=int, help=f"number of joints K (default {_DEFAULTS.joints})")
    p.add_argument("--n-train", "--n_train", dest="n_train", type=int, help="training trajectories (default 100000)")
    p.add_argument("--n-val", "--n_val", dest="n_val", type=int, help="validation trajectories (default 5000)")
    p.add_argument("--seq-len", "--seq_len", dest="seq_len", type=int, help=f"steps per trajectory (default {_DEFAULTS.seq_len})")
    p.add_argument("--dt", type=float, help=f"time step in seconds (default {_DEFAULTS.dt})")
    p.add_argument("--cells", type=int, help=f"place cells per joint (default {_DEFAULTS.cells})")
    p.add_argument("--kernel", choices=["auto", "vmf", "rbf", "rbf_softmax", "dog"],
                   help="place-cell kernel (default auto: vmf, rbf in the box)")
    p.add_argument("--kappa", type=float, help=f"vMF concentration (default {_DEFAULTS.kappa})")
    p.add_argument("--cell-sigma", dest="cell_sigma", type=float, help=f"width of Gaussian kernels (default {_DEFAULTS.cell_sigma})")
    p.add_argument("--layout", choices=["random", "even"], help="cell centres: seeded random or evenly spread (default random)")
    p.add_argument("--ou-sigma", dest="ou_sigma", type=float, help=f"OU stationary std of angular velocity (default {_DEFAULTS.ou_sigma})")
    p.add_argument("--ou-theta", dest="ou_theta", type=float, help=f"OU mean-reversion rate (default {_DEFAULTS.ou_theta})")
    p.add_argument("--initial-velocity", dest="initial_velocity", choices=["stationary", "zero"], help="OU start (default stationary)")
    p.add_argument("--box-size", dest="box_size", type=float, help=f"side of the box in metres (default {_DEFAULTS.box_size})")
    p.add_argument("--surround-scale", dest="surround_scale", type=float,
                   help=f"dog kernel: surround width over centre width (default {_DEFAULTS.surround_scale})")
    p.add_argument("--seed", type=int, help=f"random seed (default {_DEFAULTS.seed})")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("generate", help=HELP, description=DESCRIPTION)
    add_generation_arguments(p)
    p.add_argument("--out", type=Path, default=DEFAULT_PATH, help=f"output file (default {DEFAULT_PATH})")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")
    p.add_argument("--chunk-size", dest="chunk_size", type=int, default=16384, help="trajectories generated at a time")
    p.add_argument("--workers", type=int, help="CPU threads to use (default: torch's choice)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def resolve(args) -> tuple[GenerationConfig, dict]:
    """The generation config and split sizes from defaults, then ``--config``, then flags, then overrides."""
    values = read_config(args.config) if args.config is not None else {}
    flags = {f.name: getattr(args, f.name) for f in dataclasses.fields(DataFileSpec) if getattr(args, f.name, None) is not None}
    values = asdict(parse(DataFileSpec, merge(merge(values, flags), parse_overrides(overrides(args)))))
    sizes = {"n_train": values.pop("n_train"), "n_val": values.pop("n_val")}
    for key, flag in (("n_train", "--n-train"), ("n_val", "--n-val")):
        check_count(f"{flag} ({key})", sizes[key])
    return GenerationConfig.from_dict(values), sizes


def run(args) -> int:
    set_threads(args.workers)
    config, sizes = resolve(args)
    out = check_file_output(args.out, args.force)
    start = time.perf_counter()
    path = write_trajectory_file(out, config, sizes["n_train"], sizes["n_val"], chunk_size=args.chunk_size,
                                 progress=not args.quiet)
    elapsed = time.perf_counter() - start
    resolved = {**config.to_dict(), **sizes}
    write_text_atomic(path.with_name(path.stem + ".config.yaml"), yaml.safe_dump(resolved, sort_keys=False))
    size_mb = path.stat().st_size / 2**20
    total = sizes["n_train"] + sizes["n_val"]
    print(f"wrote {path} ({size_mb:.1f} MiB, {sizes['n_train']} train + {sizes['n_val']} val trajectories "
          f"in {elapsed:.1f} s, {total / elapsed:,.0f} trajectories/s)")
    return 0
