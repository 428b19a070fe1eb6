"""Rhythmic activity: gait cycles cut at events, averaged per condition, and the axes along which conditions differ.

The method of Rush, Jayaram & Humbert: cut recordings into cycles at an event (a foot
lifting off), keep the cycles of the most common length per condition and average them time
step by time step; :func:`resample_cycles` is the alternative that stretches every cycle onto a
common phase grid. :func:`smooth_cycle` draws a cycle with a periodic cubic spline (scipy) for
figures. :func:`speed_axis` finds the direction orthogonal to the top principal components
along which the conditions' mean activity varies most (their "speed axis", after Saxena et al.
2022), oriented so that it grows with the commanded quantity.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cogmap.errors import CogmapError


def _matrix(x, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise CogmapError(f"{what} must have shape (T, D), got {a.shape}")
    if not np.isfinite(a).all():
        raise CogmapError(f"{what} contains NaN or infinite values")
    return a


def cycle_starts(events, min_gap: int = 1) -> np.ndarray:
    """Indices where a cycle begins: the rising edges of a boolean ``(T,)`` event series.

    For gait, pass ``~contact`` of one foot: a cycle starts when the foot lifts off (its contact
    goes from True to False). The first sample never counts (what came before it is unknown).
    Edges fewer than ``min_gap`` samples after the last accepted start are ignored (a foot that
    skims the ground flickers in and out of contact within a step).
    """
    e = np.asarray(events, dtype=bool)
    if e.ndim != 1:
        raise CogmapError(f"events must be a 1-D series of booleans, got shape {e.shape}")
    if not isinstance(min_gap, (int, np.integer)) or min_gap < 1:
        raise CogmapError(f"min_gap must be a positive integer, got {min_gap!r}")
    starts = []
    for edge in np.flatnonzero(e[1:] & ~e[:-1]) + 1:
        if not starts or edge - starts[-1] >= min_gap:
            starts.append(int(edge))
    return np.array(starts, dtype=int)


def split_cycles(x, starts: Sequence[int]) -> list[np.ndarray]:
    """The whole cycles of ``x`` ``(T, D)``: from each start to the next (the last, unfinished one is dropped)."""
    a = _matrix(x, "x")
    starts = np.asarray(starts, dtype=int)
    if starts.ndim != 1 or (len(starts) and (starts.min() < 0 or starts.max() >= len(a))):
        raise CogmapError(f"starts must be indices into the {len(a)} time points")
    if np.any(np.diff(starts) <= 0):
        raise CogmapError("starts must be increasing")
    return [a[s:e] for s, e in zip(starts[:-1], starts[1:])]


@dataclass(frozen=True)
class CycleAverage:
    mean: np.ndarray  # (length, D): the cycles of the most common length, averaged step by step
    length: int
    cycles_used: int
    cycles_total: int
    lengths: np.ndarray  # the length of every cycle given


def average_cycles(cycles: Sequence, length: int | None = None) -> CycleAverage:
    """Average the cycles of the most common length (or of ``length``) time step by time step (Rush et al.'s method).

    Ties between equally common lengths go to the shorter one.
    """
    if not len(cycles):
        raise CogmapError("no cycles to average")
    cycles = [_matrix(c, f"cycle {i}") for i, c in enumerate(cycles)]
    if len({c.shape[1] for c in cycles}) != 1:
        raise CogmapError("every cycle must have the same number of dimensions")
    lengths = np.array([len(c) for c in cycles])
    if length is None:
        counts = Counter(lengths.tolist())
        length = min(counts, key=lambda n: (-counts[n], n))
    chosen = [c for c in cycles if len(c) == length]
    if not chosen:
        raise CogmapError(f"no cycle has length {length}; lengths are {sorted(set(lengths.tolist()))}")
    return CycleAverage(np.mean(chosen, axis=0), int(length), len(chosen), len(cycles), lengths)


def resample_cycles(cycles: Sequence, points: int = 100) -> np.ndarray:
    """Every cycle stretched onto ``points`` equally spaced phases in [0, 1): ``(cycles, points, D)``.

    A cycle of ``L`` samples puts sample ``i`` at phase ``i / L`` and is taken to close on itself
    (phase 1 is its first sample again); values in between are linear interpolations.
    """
    if not isinstance(points, int) or points < 2:
        raise CogmapError(f"points must be an integer >= 2, got {points!r}")
    grid = np.arange(points) / points
    out = []
    for i, c in enumerate(cycles):
        a = _matrix(c, f"cycle {i}")
        if len(a) < 2:
            raise CogmapError(f"cycle {i} has {len(a)} sample(s); a cycle needs at least 2")
        phase = np.arange(len(a) + 1) / len(a)
        closed = np.vstack([a, a[:1]])
        out.append(np.stack([np.interp(grid, phase, closed[:, d]) for d in range(a.shape[1])], axis=1))
    if not out:
        raise CogmapError("no cycles to resample")
    return np.stack(out)


def smooth_cycle(cycle, factor: int = 10) -> np.ndarray:
    """A closed cycle ``(L, D)`` on a ``factor`` times finer time grid by a periodic cubic spline: ``(L * factor, D)``."""
    from scipy.interpolate import CubicSpline

    a = _matrix(cycle, "cycle")
    if len(a) < 3:
        raise CogmapError(f"a periodic spline needs at least 3 samples, got {len(a)}")
    if not isinstance(factor, int) or factor < 1:
        raise CogmapError(f"factor must be a positive integer, got {factor!r}")
    spline = CubicSpline(np.arange(len(a) + 1), np.vstack([a, a[:1]]), bc_type="periodic", axis=0)
    return spline(np.arange(len(a) * factor) / factor)


@dataclass(frozen=True)
class SpeedAxis:
    """A direction in activity space along which conditions' mean activity varies most, and the plane it extends."""

    axis: np.ndarray  # (D,) unit vector, orthogonal to the top principal components
    components: np.ndarray  # (D, k) the top principal components it is orthogonal to (PC 1, PC 2 by default)
    centre: np.ndarray  # (D,) the mean activity, subtracted before projecting
    coefficients: np.ndarray  # (n_pcs,) the axis as a combination of the PCs after the top ones
    explained_across_conditions: float  # fraction of the condition means' variance along the axis
    explained_total: float  # fraction of all activity's variance along the axis
    correlation: float | None  # Pearson r between the conditions' positions on the axis and their commanded values

    def project(self, x) -> np.ndarray:
        """Coordinates ``(..., k + 1)`` of activity ``(..., D)`` on (the top PCs, the speed axis), for 3-D figures."""
        a = np.asarray(x, dtype=np.float64) - self.centre
        return np.concatenate([a @ self.components, (a @ self.axis)[..., None]], axis=-1)


def speed_axis(conditions: Sequence, values: Sequence[float] | None = None, exclude: int = 2,
               n_pcs: int = 10) -> SpeedAxis:
    """The speed axis of cycle-averaged activity, one ``(T_c, D)`` array per condition.

    Principal components are those of all conditions' activity together. The axis is the unit
    combination ``d`` of PCs ``exclude + 1 .. exclude + n_pcs`` that maximises the variance
    across conditions of ``X d``, ``X`` being the conditions' time-averaged activity on those PCs
    (Rush et al.: PCs 3-12, 7 speeds): the top right singular vector of the centred ``X``. With the
    commanded ``values`` (speeds), its sign is chosen so that position on the axis grows with them.
    """
    parts = [_matrix(c, f"condition {i}") for i, c in enumerate(conditions)]
    if len(parts) < 2:
        raise CogmapError("a speed axis needs at least two conditions")
    if len({p.shape[1] for p in parts}) != 1:
        raise CogmapError("every condition must have the same number of dimensions")
    if values is not None and len(values) != len(parts):
        raise CogmapError(f"{len(values)} values for {len(parts)} conditions")
    everything = np.vstack(parts)
    centre = everything.mean(0)
    _, _, vt = np.linalg.svd(everything - centre, full_matrices=False)
    available = vt.shape[0] - exclude
    if available < 1:
        raise CogmapError(f"activity has {vt.shape[0]} principal components; none is left after excluding {exclude}")
    basis = vt[exclude:exclude + min(n_pcs, available)].T  # (D, n)
    means = np.stack([p.mean(0) for p in parts]) - centre  # (S, D)
    on_basis = means @ basis
    centred = on_basis - on_basis.mean(0)
    _, _, wt = np.linalg.svd(centred, full_matrices=False)
    coefficients = wt[0]
    axis = basis @ coefficients
    positions = means @ axis
    correlation = None
    if values is not None:
        v = np.asarray(values, dtype=np.float64)
        if np.ptp(v) > 0 and np.ptp(positions) > 0:
            correlation = float(np.corrcoef(positions, v)[0, 1])
            if correlation < 0:
                axis, coefficients, positions, correlation = -axis, -coefficients, -positions, -correlation
    spread = means - means.mean(0)
    across = float(np.var(positions) / max(np.square(spread).sum(1).mean(), 1e-300))
    total = float(np.var((everything - centre) @ axis) / max(np.var(everything, axis=0).sum(), 1e-300))
    return SpeedAxis(axis, vt[:exclude].T, centre, coefficients, across, total, correlation)


@dataclass(frozen=True)
class Rotation:
    """How two conditions' cycles turn in the plane they share (Russo et al. 2018's co- and counter-rotation)."""

    areas: tuple  # signed area swept by each cycle in the shared plane (positive: counter-clockwise)
    co_rotating: bool  # both turn the same way: alignment > 0
    circularity: tuple  # per cycle, |area| / (pi x mean squared radius): 1 for a circle, 0 for a line traced back
    alignment: float  # cosine between the two cycles' area bivectors, in any basis: +1 the same plane and sense,
    # -1 the same plane and opposite senses, 0 unrelated planes (or a cycle that does not turn)


def signed_area(points) -> float:
    """The signed area a closed 2-D path ``(L, 2)`` sweeps (the shoelace formula; positive counter-clockwise)."""
    p = _matrix(points, "points")
    if p.shape[1] != 2:
        raise CogmapError(f"points must be 2-D, got {p.shape[1]} dimension(s)")
    following = np.roll(p, -1, axis=0)
    return float(0.5 * (p[:, 0] * following[:, 1] - following[:, 0] * p[:, 1]).sum())


def area_bivector(cycle) -> np.ndarray:
    """The area a closed path ``(L, D)`` sweeps, as a ``(D, D)`` antisymmetric matrix ``A``: the signed area of its
    projection on any orthonormal pair ``(u, v)`` is ``u @ A @ v``."""
    p = _matrix(cycle, "cycle")
    following = np.roll(p, -1, axis=0)
    outer = p.T @ following
    return 0.5 * (outer - outer.T)


def rotation_direction(first, second) -> Rotation:
    """Whether two cycles ``(L, D)`` (e.g. walking forwards and backwards) rotate the same way.

    Each cycle is centred on its own mean (their separation is not rotation). The verdict is the
    sign of the cosine between their area bivectors (:func:`area_bivector`), which needs no choice
    of plane; its size says how much of their turning is shared (near 0: turning in unrelated
    planes, or one barely turning, and the verdict means little). For figures, both are also
    projected on the top two principal components of the two stacked, the plane they turn in
    together, with each one's swept area and circularity there.
    """
    a, b = _matrix(first, "first cycle"), _matrix(second, "second cycle")
    if a.shape[1] != b.shape[1]:
        raise CogmapError(f"the cycles must have the same dimensions, got {a.shape[1]} and {b.shape[1]}")
    if min(len(a), len(b)) < 3:
        raise CogmapError("a cycle needs at least 3 samples to turn")
    a, b = a - a.mean(0), b - b.mean(0)
    _, _, vt = np.linalg.svd(np.vstack([a, b]), full_matrices=False)
    if vt.shape[0] < 2:
        raise CogmapError("the cycles span fewer than two dimensions; they cannot turn")
    plane = vt[:2].T
    areas = tuple(signed_area(c @ plane) for c in (a, b))
    circularity = tuple(abs(area) / max(np.pi * np.square(c @ plane).sum(1).mean(), 1e-300)
                        for area, c in zip(areas, (a, b)))
    ba, bb = area_bivector(a), area_bivector(b)
    alignment = float((ba * bb).sum() / max(np.linalg.norm(ba) * np.linalg.norm(bb), 1e-300))
    return Rotation(areas, alignment > 0, circularity, alignment)


def opposing_pairs(commands) -> list[tuple[int, int]]:
    """Pairs of conditions whose commands are each other's mirror: equal but for the sign of the components that
    differ (forwards and backwards, left and right, turning left and right while walking forwards), in order."""
    c = np.asarray(commands, dtype=np.float64)
    if c.ndim == 1:  # forward speeds alone
        c = c[:, None]
    pairs, used = [], set()
    for i in range(len(c)):
        for j in range(i + 1, len(c)):
            if i in used or j in used:
                continue
            differ = ~np.isclose(c[i], c[j])
            if differ.any() and np.allclose(c[i][differ], -c[j][differ]):
                pairs.append((i, j))
                used.update((i, j))
    return pairs
