"""``cogmap generate``: write a path-integration data file (train and validation splits)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import yaml

from cogmap.cli.common import load_yaml_config, set_threads, write_text_atomic
from cogmap.pathint.data import DEFAULT_PATH, MANIFOLDS, GenerationConfig, write_trajectory_file

_DEFAULTS = GenerationConfig()
_SIZE_KEYS = {"n_train": 100_000, "n_val": 5_000}

HELP = "generate trajectories and place-cell codes for path integration"
DESCRIPTION = """\
Generate path-integration data: Haar-random start poses of a K-joint arm, Ornstein-Uhlenbeck
angular velocities, and the von Mises-Fisher place-cell codes of the poses. Defaults are
the seed's settings (2 joints on SO(3), 100k + 5k trajectories of 100 steps, dt 0.01,
32 cells per joint, kappa 5, seed 42). The file stores start poses and velocities only;
codes are recomputed when it is read. Values come from --config, then the flags.
"""


def add_generation_arguments(p) -> None:
    """The flags of every :class:`GenerationConfig` field, the split sizes and ``--config``."""
    p.add_argument("--config", metavar="YAML", help="YAML file with any of the keys below (underscored names)")
    p.add_argument("--manifold", choices=MANIFOLDS, help=f"joint space (default {_DEFAULTS.manifold})")
    p.add_argument("--joints", type=int, help=f"number of joints K (default {_DEFAULTS.joints})")
    p.add_argument("--n-train", "--n_train", dest="n_train", type=int, help="training trajectories (default 100000)")
    p.add_argument("--n-val", "--n_val", dest="n_val", type=int, help="validation trajectories (default 5000)")
    p.add_argument("--seq-len", "--seq_len", dest="seq_len", type=int, help=f"steps per trajectory (default {_DEFAULTS.seq_len})")
    p.add_argument("--dt", type=float, help=f"time step in seconds (default {_DEFAULTS.dt})")
    p.add_argument("--cells", type=int, help=f"place cells per joint (default {_DEFAULTS.cells})")
    p.add_argument("--kernel", choices=["vmf", "rbf", "rbf_softmax", "dog"], help="place-cell kernel (default vmf)")
    p.add_argument("--kappa", type=float, help=f"vMF concentration (default {_DEFAULTS.kappa})")
    p.add_argument("--cell-sigma", dest="cell_sigma", type=float, help=f"width of Gaussian kernels (default {_DEFAULTS.cell_sigma})")
    p.add_argument("--layout", choices=["random", "even"], help="cell centres: seeded Haar-random or evenly spread (default random)")
    p.add_argument("--ou-sigma", dest="ou_sigma", type=float, help=f"OU stationary std of angular velocity (default {_DEFAULTS.ou_sigma})")
    p.add_argument("--ou-theta", dest="ou_theta", type=float, help=f"OU mean-reversion rate (default {_DEFAULTS.ou_theta})")
    p.add_argument("--initial-velocity", dest="initial_velocity", choices=["stationary", "zero"], help="OU start (default stationary)")
    p.add_argument("--seed", type=int, help=f"random seed (default {_DEFAULTS.seed})")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("generate", help=HELP, description=DESCRIPTION)
    add_generation_arguments(p)
    p.add_argument("--out", type=Path, default=DEFAULT_PATH, help=f"output file (default {DEFAULT_PATH})")
    p.add_argument("--chunk-size", dest="chunk_size", type=int, default=16384, help="trajectories generated at a time")
    p.add_argument("--workers", type=int, help="CPU threads to use (default: torch's choice)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def resolve(args) -> tuple[GenerationConfig, dict]:
    """The generation config and split sizes from defaults, then ``--config``, then flags."""
    fields = {f.name for f in dataclasses.fields(GenerationConfig)}
    values = {}
    if args.config:
        values.update(load_yaml_config(args.config, fields | set(_SIZE_KEYS)))
    for key in fields | set(_SIZE_KEYS):
        if getattr(args, key, None) is not None:
            values[key] = getattr(args, key)
    sizes = {key: values.pop(key, default) for key, default in _SIZE_KEYS.items()}
    return GenerationConfig.from_dict(values), sizes


def run(args) -> int:
    set_threads(args.workers)
    config, sizes = resolve(args)
    start = time.perf_counter()
    path = write_trajectory_file(args.out, config, sizes["n_train"], sizes["n_val"], chunk_size=args.chunk_size,
                                 progress=not args.quiet)
    elapsed = time.perf_counter() - start
    resolved = {**config.to_dict(), **sizes}
    write_text_atomic(path.with_name(path.stem + ".config.yaml"), yaml.safe_dump(resolved, sort_keys=False))
    size_mb = path.stat().st_size / 2**20
    total = sizes["n_train"] + sizes["n_val"]
    print(f"wrote {path} ({size_mb:.1f} MiB, {sizes['n_train']} train + {sizes['n_val']} val trajectories "
          f"in {elapsed:.1f} s, {total / elapsed:,.0f} trajectories/s)")
    return 0
