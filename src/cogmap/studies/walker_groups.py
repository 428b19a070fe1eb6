"""Two kinds of walkers compared on one measure of their tangling studies (``cogmap control groups``).

Claims such as Rush, Jayaram & Humbert's "an agent fed its previous action has more tangled recurrent
activity", or "recurrence lowers tangling" (LSTM against MLP), compare kinds of walkers. Their unit of
replication is the walker: the conditions of one walker are not independent samples of its kind, so a
test over conditions pooled across walkers would count one lucky seed many times. This study reads the
``tangling.json`` that ``cogmap control tangling`` wrote for each walker (one folder per walker and
series), summarises each walker in each series by the median over its conditions of

- ``tangling``: the layer's median tangling Q per condition, or
- ``ratio``: the actuation's median Q over the layer's, per condition (above 1: the layer is less tangled),

and compares the two groups by Mann-Whitney's exact rank test (two-sided), with the smallest p their sizes
allow (two walkers against two cannot go below 1/3: :func:`smallest_p`), so a reader sees at once whether
the test could have said anything, and the smallest p that ``more`` further walkers of each kind could give,
wherever their values fell (:func:`least_p_with_more`): whether training more seeds is worth it. Folders
may hold ``<series>``, filled from ``series`` (one test per series), e.g.
``runs/control_tangling/go1_lstm_seed0_<series>``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cogmap.errors import CogmapError
from cogmap.files import read_json_mapping
from cogmap.studies.base import Result, draw_figures
from cogmap.studies.walking import ACTUATION, RECURRENT, WalkingResult

MEASURES = ("tangling", "ratio")
MAX_MORE = 20  # beyond this the exact test's enumeration is slow, and no one trains that many more walkers
PLACEHOLDER = "<series>"


@dataclass(frozen=True)
class WalkerGroupsConfig:
    """Settings of ``cogmap control groups``."""

    groups: dict = field(default_factory=dict)  # exactly two: group name -> the walkers' tangling folders
    series: list = field(default_factory=list)  # fills <series> in every folder; empty: folders used as given
    layer: str = RECURRENT  # the layer whose tangling is compared
    measure: str = field(default="tangling", metadata={"choices": MEASURES})
    more: int = 1  # the bound on what this many more walkers of each kind could show (0: none)

    def __post_init__(self):
        if (not isinstance(self.groups, dict) or len(self.groups) != 2
                or not all(isinstance(name, str) and name for name in self.groups)):
            raise CogmapError("groups: give exactly two groups, each a name mapped to a list of output folders of "
                              "`cogmap control tangling` (one per walker), e.g. groups={with: [a, b], without: [c, d]}")
        for name, folders in self.groups.items():
            if not isinstance(folders, list) or not folders or not all(isinstance(f, str) and f for f in folders):
                raise CogmapError(f"groups.{name} must be a non-empty list of folders, got {folders!r}")
            if len({_walker_key(f) for f in folders}) != len(folders):
                raise CogmapError(f"groups.{name} names a folder twice; each walker counts once")
        first = {_walker_key(f) for f in self.groups[self.names[0]]}
        shared = [f for f in self.groups[self.names[1]] if _walker_key(f) in first]
        if shared:
            raise CogmapError(f"{sorted(shared)[0]} is in both groups; a walker belongs to one")
        if not isinstance(self.series, list) or not all(isinstance(s, str) and s for s in self.series):
            raise CogmapError(f"series must be a list of names that fill {PLACEHOLDER} in the folders, got {self.series!r}")
        if len(set(self.series)) != len(self.series):
            raise CogmapError("series names a series twice")
        for folders in self.groups.values():
            for folder in folders:
                if self.series and PLACEHOLDER not in folder:
                    raise CogmapError(f"{folder} holds no {PLACEHOLDER}; with series=[...] every folder must "
                                      "(each series fills it)")
                if not self.series and PLACEHOLDER in folder:
                    raise CogmapError(f"{folder} holds {PLACEHOLDER}; give series=[...] to fill it")
        if not isinstance(self.layer, str) or not self.layer:
            raise CogmapError(f"layer must be a layer name of the tangling study, got {self.layer!r}")
        if isinstance(self.more, bool) or not isinstance(self.more, int) or not 0 <= self.more <= MAX_MORE:
            raise CogmapError(f"more must be a whole number of walkers from 0 to {MAX_MORE}, got {self.more!r}")
        if self.measure == "ratio" and self.layer == ACTUATION:
            raise CogmapError("measure=ratio divides the actuation's tangling by the layer's; choose another layer")

    @property
    def names(self) -> list[str]:
        return list(self.groups)


def _walker_key(folder: str) -> str:
    # One folder spelt two ways (`a`, `./a`, `a/`) is one walker; counting it twice would fake replication.
    return os.path.normpath(os.path.abspath(folder))


def smallest_p(n_a: int, n_b: int) -> float:
    """The smallest two-sided p of Mann-Whitney's exact test with groups of ``n_a`` and ``n_b``: every walker
    of one group above every one of the other, 2 of the C(n_a + n_b, n_a) equally likely orderings (capped at 1)."""
    return min(1.0, 2 / math.comb(n_a + n_b, n_a))


def least_p_with_more(a: list[float], b: list[float], more: int) -> float:
    """The smallest two-sided p of Mann-Whitney's exact test once ``more`` walkers join each group, wherever they fall.

    U counts the pairs in which a walker of ``a`` lies above one of ``b``; a new walker of ``a`` adds the most
    to U above everyone and the least below everyone, and a new walker of ``b`` the reverse. So U is furthest
    from its mean, and p least, with the new walkers of one group at one end and those of the other at the
    other end: the two such placements bound every other.
    """
    from scipy import stats

    low, high = min(a + b) - 1.0, max(a + b) + 1.0
    return min(float(stats.mannwhitneyu(a + [x] * more, b + [y] * more, alternative="two-sided",
                                        method="exact").pvalue)
               for x, y in ((high, low), (low, high)))


def read_tangling(folder: str | Path) -> dict:
    """The ``tangling.json`` of one ``cogmap control tangling`` output folder, checked enough to be read."""
    path = Path(folder) / WalkingResult.file
    if not path.exists():
        raise CogmapError(f"{folder} holds no {WalkingResult.file}; is it an output folder of `cogmap control tangling`?")
    data = read_json_mapping(path, "tangling study's result")
    if not isinstance(data.get("tangling"), dict) or not data["tangling"]:
        raise CogmapError(f"{path} is not a tangling study's result (no per-layer tangling)")
    return data


def per_condition(data: dict, layer: str, path: str) -> np.ndarray:
    """The layer's median tangling Q per condition, as the study saved it."""
    layers = data["tangling"]
    if layer not in layers:
        raise CogmapError(f"{path} has no layer {layer!r} (it has {', '.join(sorted(layers))})")
    values = layers[layer].get("median_pooled") if isinstance(layers[layer], dict) else None
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        array = np.empty(0)
    if array.ndim != 1 or array.size == 0 or not np.isfinite(array).all() or (array <= 0).any():
        raise CogmapError(f"{path}: the {layer!r} layer's median_pooled is not a list of positive numbers")
    return array


def walker_value(folder: str, config: WalkerGroupsConfig) -> tuple[float, int]:
    """One walker's summary in one series (the median over its conditions) and its number of conditions."""
    data = read_tangling(folder)
    q = per_condition(data, config.layer, folder)
    if config.measure == "ratio":
        actuation = per_condition(data, ACTUATION, folder)
        if actuation.shape != q.shape:
            raise CogmapError(f"{folder}: the actuation and {config.layer!r} layers hold different numbers of conditions")
        q = actuation / q
    return float(np.median(q)), int(q.size)


def compare_groups(a: list[float], b: list[float], more: int = 0) -> dict:
    """Mann-Whitney's exact two-sided test of two groups of walker values, with the ratio of their medians
    and, with ``more``, the least p that many more walkers of each group could give."""
    from scipy import stats

    p = float(stats.mannwhitneyu(a, b, alternative="two-sided", method="exact").pvalue)
    test = {"p": p, "smallest_p": smallest_p(len(a), len(b)), "median_ratio": float(np.median(a) / np.median(b))}
    if more:
        test["more"] = more
        test["least_p_with_more"] = least_p_with_more(a, b, more)
    return test


@dataclass(frozen=True)
class WalkerGroupsResult(Result):
    file = "groups.json"
    config: WalkerGroupsConfig
    series: list  # per series: its name, each group's walkers (folder, value, conditions) and the test

    def to_json(self) -> dict:
        return {"groups": self.config.names, "layer": self.config.layer, "measure": self.config.measure,
                "series": self.series}

    def draw(self, folder):
        from cogmap.viz.control import plot_walker_groups  # matplotlib only when drawing

        return draw_figures(folder, {"groups": plot_walker_groups(self.series, self.config)})

    def summary(self) -> str:
        a, b = self.config.names
        what = (f"median tangling Q of {self.config.layer!r}" if self.config.measure == "tangling"
                else f"actuation / {self.config.layer!r} tangling")
        lines = [f"{a} against {b}: each walker's {what}, the median over its conditions; "
                 "Mann-Whitney's exact two-sided test over walkers"]
        for entry in self.series:
            values = {name: ", ".join(f"{w['value']:.4g}" for w in entry["walkers"][name]) for name in (a, b)}
            test = entry["test"]
            lines.append(f"  {entry['name'] or 'as given'}: {a} [{values[a]}]  {b} [{values[b]}]  "
                         f"median ratio {test['median_ratio']:.3f}, p = {test['p']:.3g} "
                         f"(the least these group sizes allow: {test['smallest_p']:.3g}"
                         + (f"; with {test['more']} more of each, wherever they fell: at least "
                            f"{test['least_p_with_more']:.3g}" if "more" in test else "") + ")")
        return "\n".join(lines)


def run(config: WalkerGroupsConfig, progress: bool = True) -> WalkerGroupsResult:
    entries = []
    for series in config.series or [""]:
        walkers = {}
        for name, folders in config.groups.items():
            walkers[name] = []
            for template in folders:
                folder = template.replace(PLACEHOLDER, series)
                value, conditions = walker_value(folder, config)
                walkers[name].append({"folder": folder, "value": value, "conditions": conditions})
        counts = {w["conditions"] for group in walkers.values() for w in group}
        if len(counts) != 1:
            raise CogmapError(f"series {series or '(as given)'}: the walkers were recorded under different numbers "
                              f"of conditions ({sorted(counts)}); compare walkers of one study design")
        a, b = ([w["value"] for w in walkers[name]] for name in config.names)
        entries.append({"name": series, "walkers": walkers, "test": compare_groups(a, b, config.more)})
    return WalkerGroupsResult(config=config, series=entries)
