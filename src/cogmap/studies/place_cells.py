"""How many place cells a kernel keeps active (``cogmap cells``).

Uniformly random states are encoded by a population of place cells (:mod:`cogmap.cells`), and
each code's effective number of active cells, exp(entropy), is averaged: about 1 for a code
peaked on one cell, the number of cells for a uniform code. Kernels and widths are compared on
the same centres and states (:func:`cogmap.cells.place.effective_numbers`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

from cogmap.cells import KERNELS, LAYOUTS
from cogmap.config import choice
from cogmap.errors import CogmapError, check_memory, check_positive_int
from cogmap.geometry import SPACES
from cogmap.studies.base import Result, draw_figures


@dataclass(frozen=True)
class EffectiveCellsConfig:
    """Settings of the comparison; vMF kernels take the widths in ``kappa``, the others those in ``sigma``."""

    manifold: str = choice("so3", sorted(SPACES))  # the space of the cells
    cells: int = 32  # cells in the population
    kernels: list[str] = dataclasses.field(default_factory=lambda: ["vmf"])
    kappa: list[float] = dataclasses.field(default_factory=lambda: [5.0])  # vMF concentrations
    sigma: list[float] = dataclasses.field(default_factory=lambda: [0.5])  # Gaussian widths, radians or metres
    layout: str = choice("random", LAYOUTS)  # of the centres
    samples: int = 20_000  # random states encoded
    seed: int = 0  # of the centres and the states

    def __post_init__(self):
        unknown = [k for k in self.kernels if k not in KERNELS]
        if unknown or not self.kernels:
            raise CogmapError(f"kernels must name kernels from {', '.join(KERNELS)}, got {self.kernels!r}")
        for key in ("kappa", "sigma"):
            values = getattr(self, key)
            if not values or not all(math.isfinite(v) and v > 0 for v in values):
                raise CogmapError(f"{key} must be a list of positive numbers, got {values!r}")
        for key in ("cells", "samples"):
            check_positive_int(key, getattr(self, key))
        # Each state (a rotation or a point, float64) and its code and distances to every cell.
        check_memory(self.samples * (16 * self.cells + 128), f"{self.samples:,} states x {self.cells:,} cells "
                     f"(samples={self.samples}, cells={self.cells})", "ask for fewer samples")


@dataclass(frozen=True)
class EffectiveCellsResult(Result):
    file = "effective_cells.json"
    config: EffectiveCellsConfig
    rows: tuple  # EffectiveNumber per kernel and width

    def to_json(self) -> dict:
        return {"cells": self.config.cells, "manifold": self.config.manifold, "rows": [r.to_json() for r in self.rows]}

    def draw(self, folder: Path) -> list[Path]:
        from cogmap.viz.plots import plot_effective_cells

        c = self.config
        return draw_figures(folder, {"effective_cells": plot_effective_cells(
            [r.to_json() for r in self.rows], c.cells, title=f"{c.cells} place cells on {c.manifold}")})

    def summary(self) -> str:
        c = self.config
        lines = [f"{c.cells} {c.layout} cells on {c.manifold}, {c.samples} uniform states, seed {c.seed}",
                 "| kernel | width | effective cells (mean +- sd) | mean peak probability |", "|---|---|---|---|"]
        lines += [f"| {r.kernel} | {r.width_name}={r.width:g} | {r.effective_mean:.2f} +- {r.effective_std:.2f} | "
                  f"{r.peak_probability:.3f} |" for r in self.rows]
        return "\n".join(lines)


def run(config: EffectiveCellsConfig, progress: bool = True) -> EffectiveCellsResult:
    from cogmap.cells import effective_numbers
    from cogmap.geometry import make_space

    c = config
    rows = effective_numbers(make_space(c.manifold), c.cells, list(c.kernels), list(c.kappa), list(c.sigma), c.layout,
                             c.samples, c.seed)
    return EffectiveCellsResult(config=config, rows=tuple(rows))
