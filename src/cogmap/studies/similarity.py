"""How alike independently trained walkers' cycles are (``cogmap control similarity``).

Rush, Jayaram & Humbert report that agents trained from other seeds carry "structured neural
activity that is nearly identical" in different units. This study measures it: it reads the
averaged gait cycles that ``cogmap control tangling`` saved for each walker (``cycles.npz``, the
same commands for every walker), stretches every condition's cycle onto ``points`` phases from
the front-right foot's lift-off (the walkers' cycle lengths differ), stacks the conditions, and
compares each pair of walkers layer by layer on the top ``k`` principal components: canonical
correlations (their mean: 1 when one is a linear map of the other) and the Procrustes distance
(0 when one is a rotated, scaled copy) (:mod:`cogmap.analysis.similarity`).

The baselines: where the tangling study kept its control (an untrained network of the same shape
driven by the walker's own observations), each walker is also compared with its untrained twin
and the twins with each other. Two walkers studied with the same ``twin_seed`` share one untrained
network, and then the twins' likeness is that of one network under two walkers' observations (how
alike the inputs alone make them); with a ``twin_seed`` of its own for each walker it is that of two
independent networks, the chance level for two independently trained walkers. Each pair says which
(``twins``: ``"independent"``, ``"one network"``, or ``"unknown"`` for cycles saved before the
seed was recorded).
"""

from __future__ import annotations

import dataclasses
import itertools
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cogmap.analysis.cycles import resample_cycles
from cogmap.analysis.similarity import canonical_correlations, procrustes_distance
from cogmap.errors import CogmapError, check_positive_int
from cogmap.studies.base import Result, draw_figures
from cogmap.studies.walking import ACTUATION, CYCLES_FILE, RECURRENT


@dataclass(frozen=True)
class SimilarityConfig:
    """Settings of ``cogmap control similarity``."""

    folders: list = dataclasses.field(default_factory=list)  # two or more output folders of control tangling
    layers: list = dataclasses.field(default_factory=lambda: [RECURRENT, ACTUATION])
    k: int = 10  # principal components kept on each side
    points: int = 50  # phases each cycle is stretched onto

    def __post_init__(self):
        if not isinstance(self.folders, list) or len(self.folders) < 2:
            raise CogmapError("folders: give two or more output folders of `cogmap control tangling`")
        if not self.layers or not all(isinstance(x, str) for x in self.layers):
            raise CogmapError(f"layers must be a list of layer names, got {self.layers!r}")
        check_positive_int("k", self.k)
        check_positive_int("points", self.points, 3)


def load_cycles(folder) -> tuple[np.ndarray, dict, int | None]:
    """The commands ``(C, ...)``, each layer's averaged cycles (one per command) saved by the tangling study, and
    the seed of its untrained network's weights (None where not recorded)."""
    path = Path(folder) / CYCLES_FILE
    if not path.is_file():
        raise CogmapError(f"{folder} holds no {CYCLES_FILE}; is it an output folder of `cogmap control tangling`?")
    try:
        with np.load(path) as saved:  # no pickles: a foreign file is refused, never run
            arrays = {name: saved[name] for name in saved.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        raise CogmapError(f"{path} is not a cycles file of `cogmap control tangling` (damaged, truncated or "
                          "another format)") from None
    if "commands" not in arrays:
        raise CogmapError(f"{path} has no commands")
    commands = arrays.pop("commands")
    twin_seed = arrays.pop("twin_seed", None)
    if twin_seed is not None:
        if twin_seed.shape != () or twin_seed.dtype.kind not in "iu":
            raise CogmapError(f"{path} is not a cycles file of `cogmap control tangling` (its twin_seed is not one integer)")
        twin_seed = int(twin_seed)
    if any("/" not in name or not name.rsplit("/", 1)[1].isdigit() for name in arrays):
        raise CogmapError(f"{path} is not a cycles file of `cogmap control tangling` (its arrays are not "
                          "<layer>/<condition>)")
    layers: dict[str, list] = {}
    for name in sorted(arrays, key=lambda n: (n.rsplit("/", 1)[0], int(n.rsplit("/", 1)[1]))):
        layer, _ = name.rsplit("/", 1)
        layers.setdefault(layer, []).append(arrays[name])
    return commands, layers, twin_seed


def twins_kind(seed_a: int | None, seed_b: int | None) -> str:
    if seed_a is None or seed_b is None:
        return "unknown"
    return "one network" if seed_a == seed_b else "independent"


def stacked(cycles: list, points: int) -> np.ndarray:
    """Every condition's cycle on ``points`` phases, the conditions one after another: ``(C x points, D)``."""
    return resample_cycles(cycles, points).reshape(-1, cycles[0].shape[1])


def compare(x: np.ndarray, y: np.ndarray, k: int) -> dict:
    rho = canonical_correlations(x, y, k)
    return {"cca": rho.tolist(), "cca_mean": float(rho.mean()), "procrustes": procrustes_distance(x, y, k)}


@dataclass(frozen=True)
class SimilarityResult(Result):
    file = "similarity.json"
    config: SimilarityConfig
    commands: list
    pairs: list  # per pair of walkers: the layers compared, trained with trained and the baselines

    def to_json(self) -> dict:
        return {"commands": self.commands, "k": self.config.k, "points": self.config.points, "pairs": self.pairs}

    def draw(self, folder):
        from cogmap.viz.control import plot_similarity  # matplotlib only when drawing

        return draw_figures(folder, {"similarity": plot_similarity(self.pairs, self.config.layers)})

    def summary(self) -> str:
        lines = []
        for pair in self.pairs:
            lines.append(f"{pair['a']} vs {pair['b']}:")
            for layer, result in pair["layers"].items():
                parts = [f"trained vs trained CCA {result['trained']['cca_mean']:.3f} "
                         f"(Procrustes {result['trained']['procrustes']:.3f})"]
                if "trained vs own untrained twin" in result:
                    own = f"{result['trained vs own untrained twin']['cca_mean']:.3f}"
                    if "second vs own untrained twin" in result:  # absent from results saved before it existed
                        own += f" (first) / {result['second vs own untrained twin']['cca_mean']:.3f} (second)"
                    parts.append(f"trained vs own untrained twin {own}")
                if "untrained twins" in result:
                    parts.append(f"untrained twins ({pair['twins']}) {result['untrained twins']['cca_mean']:.3f}")
                lines.append(f"  {layer}: " + "; ".join(parts))
        return "\n".join(lines)


def run(config: SimilarityConfig, progress: bool = True) -> SimilarityResult:
    loaded = {str(folder): load_cycles(folder) for folder in config.folders}
    first_commands = next(iter(loaded.values()))[0]
    for folder, (commands, layers, _) in loaded.items():
        if commands.shape != first_commands.shape or not np.allclose(commands, first_commands):
            raise CogmapError(f"{folder} was recorded under other commands than {config.folders[0]}; "
                              "compare walkers recorded under the same commands")
        missing = [layer for layer in config.layers if layer not in layers]
        if missing:
            raise CogmapError(f"{folder} has no layer {missing[0]!r} (it has {', '.join(sorted(layers))})")
    pairs = []
    for (a, (_, la, ta)), (b, (_, lb, tb)) in itertools.combinations(loaded.items(), 2):
        per_layer = {}
        for layer in config.layers:
            xa, xb = stacked(la[layer], config.points), stacked(lb[layer], config.points)
            result = {"trained": compare(xa, xb, config.k)}
            twin = f"untrained {layer}"
            if twin in la and twin in lb:
                ua, ub = stacked(la[twin], config.points), stacked(lb[twin], config.points)
                result["trained vs own untrained twin"] = compare(xa, ua, config.k)  # the first walker's
                result["second vs own untrained twin"] = compare(xb, ub, config.k)
                result["untrained twins"] = compare(ua, ub, config.k)
            per_layer[layer] = result
        pairs.append({"a": a, "b": b, "twins": twins_kind(ta, tb), "layers": per_layer})
        if progress:
            print(f"  compared {a} and {b}", flush=True)
    return SimilarityResult(config=config, commands=first_commands.tolist(), pairs=pairs)
