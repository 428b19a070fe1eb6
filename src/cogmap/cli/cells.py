"""``cogmap cells``: how many place cells a kernel keeps active (the effective number, exp of entropy)."""

from __future__ import annotations

from pathlib import Path

from cogmap.cli.common import add_study_arguments, run_study
from cogmap.studies import place_cells
from cogmap.studies.place_cells import EffectiveCellsConfig

HELP = "effective number of active place cells for kernels and widths"
DESCRIPTION = """\
Encode uniformly random states with a population of place cells and report the effective
number of active cells, exp(entropy) of each code: about 1 for a code peaked on one cell,
the number of cells for a uniform code. Settings are keys of EffectiveCellsConfig
(cogmap.studies.place_cells): manifold=so3, cells=32, kernels=[vmf] (or rbf, rbf_softmax, dog),
kappa=[5] (vMF concentrations), sigma=[0.5] (Gaussian widths), layout=random, samples=20000,
seed=0; give several kernels or widths to compare them. Writes config.yaml,
effective_cells.json and effective_cells.png (effective number against width) to --out
(default runs/cells/<manifold>).
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("cells", help=HELP, description=DESCRIPTION)
    add_study_arguments(p, EffectiveCellsConfig, "runs/cells/<manifold>")
    p.set_defaults(run=run)


def run(args) -> int:
    return run_study(args, place_cells.run, lambda config: Path("runs/cells") / config.manifold)
