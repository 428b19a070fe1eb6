"""Rate maps, spatial autocorrelograms and grid scores of units recorded in a 2-D arena.

The grid score follows the definition of Banino et al. (2018, Nature; DeepMind's ``scores.py``,
also used by Sorscher et al. 2019), re-implemented here on today's SciPy:

- the spatial autocorrelogram (SAC) of a rate map of ``n x n`` bins is, for every lag, the
  Pearson correlation of the map with itself shifted by that lag over the bins both cover
  (unvisited bins, NaN, are left out), a ``(2n - 1) x (2n - 1)`` array;
- the SAC is rotated by 30, 45, 60, 90, 120, 135 and 150 degrees (cubic spline,
  ``scipy.ndimage.rotate``, zero outside) and compared with itself inside an annulus:
  ``r(angle) = <(S - m) (S_angle - m)>_ring / (<(S - m)^2>_ring + 1e-5)``, ``m`` the mean of
  ``S`` on the ring (the reference centres both by the unrotated mean and divides by the
  unrotated variance, a close approximation to a Pearson correlation that we keep so that our
  scores are the reference's);
- ``score_60 = (r60 + r120) / 2 - (r30 + r90 + r150) / 3`` and
  ``score_90 = r90 - (r45 + r135) / 2``, each maximised over annuli of inner radius
  ``0.2 n`` and outer radius ``0.4 n .. 1.0 n`` (10 rings; radii in bins, distance <= radius).

A hexagonal lattice scores high at 60 degrees and negative at 90, a square lattice the
reverse; a single field or noise scores near zero. On a periodic arena (a torus) the SAC is
the circular one, tiled to the same ``(2n - 1)`` size, so that the same rings apply.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.ndimage

from cogmap.errors import CogmapError

CORRELATION_ANGLES = (30, 45, 60, 90, 120, 135, 150)
RING_INNER = 0.2
RING_OUTER = tuple(np.linspace(0.4, 1.0, 10))
_VARIANCE_FLOOR = 1e-5  # the reference's, against division by zero on flat maps
_UNITS_PER_CHUNK = 128  # rotated SACs and ring products of this many units at a time (bounded memory)


@dataclass(frozen=True)
class RateMaps:
    """Mean activity per spatial bin: ``maps[u, iy, ix]`` (rows are y, as an image with its origin lower).

    ``counts[iy, ix]`` is the number of samples in each bin; bins never visited are NaN in
    ``maps``. ``x_edges`` and ``y_edges`` are the bin edges in the arena's units.
    """

    maps: np.ndarray
    counts: np.ndarray
    x_edges: np.ndarray
    y_edges: np.ndarray

    @property
    def bin_size(self) -> float:
        """The side of one bin (the mean of its x and y sides)."""
        return float((np.diff(self.x_edges).mean() + np.diff(self.y_edges).mean()) / 2)


@dataclass(frozen=True)
class GridScores:
    """Grid scores of ``units`` rate maps (every array has the units first).

    ``ring_60[u]`` and ``ring_90[u]`` are the (inner, outer) radii, in bins, of the annuli that
    gave each best score; ``spacing`` (in bins; multiply by the map's bin size) and
    ``orientation`` (degrees in [0, 60)) come from the SAC's six peaks nearest its centre, NaN
    when fewer than three are found.
    """

    score_60: np.ndarray
    score_90: np.ndarray
    ring_60: np.ndarray
    ring_90: np.ndarray
    spacing: np.ndarray
    orientation: np.ndarray
    autocorrelograms: np.ndarray

    def fraction_above(self, threshold: float = 0.3) -> float:
        """The fraction of units whose 60-degree score exceeds ``threshold`` (NaN scores count as not)."""
        return float(np.mean(np.nan_to_num(self.score_60, nan=-np.inf) > threshold))

    def best(self, k: int) -> np.ndarray:
        """The indices of the ``k`` units with the highest 60-degree scores."""
        return np.argsort(-np.nan_to_num(self.score_60, nan=-np.inf), kind="stable")[:k]


def _as_units(values: np.ndarray, name: str, trailing: int) -> tuple[np.ndarray, bool]:
    array = np.asarray(values, dtype=np.float64)
    single = array.ndim == trailing
    if single:
        array = array[None]
    if array.ndim != trailing + 1:
        raise CogmapError(f"{name} must have {trailing} or {trailing + 1} dimensions, got shape {array.shape}")
    return array, single


def _check_bounds(bounds) -> tuple[float, float, float, float]:
    try:
        (x0, x1), (y0, y1) = ((float(a), float(b)) for a, b in bounds)
    except (TypeError, ValueError):
        raise CogmapError(f"bounds must be ((x_min, x_max), (y_min, y_max)), got {bounds!r}") from None
    if not (np.isfinite([x0, x1, y0, y1]).all() and x1 > x0 and y1 > y0):
        raise CogmapError(f"bounds must be finite with max > min, got {bounds!r}")
    return x0, x1, y0, y1


class RateMapAccumulator:
    """Rate maps built from recordings in chunks, so that long recordings of wide layers fit in memory.

    ``add(positions, activity)`` as many times as needed, then ``result()``; :func:`rate_maps`
    is one ``add``. ``bounds`` is ``((x_min, x_max), (y_min, y_max))``; samples outside are left
    out (the last bin includes its upper edge).
    """

    def __init__(self, bounds, bins: int = 20):
        if not isinstance(bins, (int, np.integer)) or isinstance(bins, bool) or bins < 2:
            raise CogmapError(f"bins must be an integer >= 2, got {bins!r}")
        self.x0, self.x1, self.y0, self.y1 = _check_bounds(bounds)
        self.bins = int(bins)
        self.sums: np.ndarray | None = None
        self.counts = np.zeros(self.bins * self.bins, dtype=np.int64)
        self.single: bool | None = None

    def add(self, positions, activity) -> "RateMapAccumulator":
        from scipy.sparse import csr_matrix

        xy = np.asarray(positions, dtype=np.float64)
        act, single = _as_units(activity, "activity", 1)
        act = act.T if single else act  # (samples, units)
        if xy.ndim != 2 or xy.shape[1] != 2 or act.shape[0] != xy.shape[0]:
            raise CogmapError(f"positions (samples, 2) and activity (samples[, units]) must agree; got {xy.shape} "
                              f"and {np.shape(activity)}")
        if not (np.isfinite(xy).all() and np.isfinite(act).all()):
            raise CogmapError("positions and activity must be finite")
        if self.sums is not None and (single != self.single or act.shape[1] != self.sums.shape[0]):
            raise CogmapError(f"every chunk needs the same units: {self.sums.shape[0]} before, {act.shape[1]} now")
        b = self.bins
        ix = np.floor((xy[:, 0] - self.x0) / (self.x1 - self.x0) * b).astype(np.int64)
        iy = np.floor((xy[:, 1] - self.y0) / (self.y1 - self.y0) * b).astype(np.int64)
        ix[xy[:, 0] == self.x1] = b - 1
        iy[xy[:, 1] == self.y1] = b - 1
        inside = (ix >= 0) & (ix < b) & (iy >= 0) & (iy < b)
        flat = iy[inside] * b + ix[inside]
        # One sparse product sums every unit at once: (bins^2, samples) @ (samples, units).
        onehot = csr_matrix((np.ones(flat.size), (flat, np.arange(flat.size))), shape=(b * b, flat.size))
        sums = np.asarray(onehot @ act[inside]).T
        self.sums = sums if self.sums is None else self.sums + sums
        self.counts += np.bincount(flat, minlength=b * b)
        self.single = single
        return self

    def result(self, smoothing: float = 0.0, periodic: bool = False) -> RateMaps:
        """The rate maps so far; ``smoothing`` > 0 is the sd, in bins, of a Gaussian applied to the
        summed activity and to the occupancy before dividing them (so uneven occupancy does not leak
        into the rates), wrapping around on a periodic arena."""
        if self.sums is None or self.counts.sum() == 0:
            raise CogmapError("rate maps need at least one sample inside the arena")
        if not (isinstance(smoothing, (int, float)) and np.isfinite(smoothing) and smoothing >= 0):
            raise CogmapError(f"smoothing must be a finite number >= 0, got {smoothing!r}")
        b = self.bins
        sums = self.sums.reshape(-1, b, b)
        counts = self.counts.reshape(b, b).astype(np.float64)
        if smoothing > 0:
            mode = "wrap" if periodic else "constant"
            sums = scipy.ndimage.gaussian_filter(sums, sigma=(0, smoothing, smoothing), mode=mode)
            counts = scipy.ndimage.gaussian_filter(counts, sigma=smoothing, mode=mode)
            visited = counts > 1e-9 * counts.max()
        else:
            visited = counts > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            maps = np.where(visited, sums / counts, np.nan)
        return RateMaps(maps[0] if self.single else maps, self.counts.reshape(b, b).copy(),
                        np.linspace(self.x0, self.x1, b + 1), np.linspace(self.y0, self.y1, b + 1))


def rate_maps(positions, activity, bounds, bins: int = 20, smoothing: float = 0.0, periodic: bool = False) -> RateMaps:
    """Rate maps of ``activity (samples,)`` or ``(samples, units)`` recorded at ``positions (samples, 2)``.

    Each bin holds the mean activity of its samples, as the reference's rate maps do (20 bins a
    side there); see :class:`RateMapAccumulator` for ``bounds``, ``smoothing`` and ``periodic``.
    """
    return RateMapAccumulator(bounds, bins).add(positions, activity).result(smoothing, periodic)


def _correlate_full(a: np.ndarray, b: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``out[..., dy, dx] = sum_p a[p] b[p + lag]`` for every lag, as a full ``(2n-1, 2m-1)`` array, by FFT."""
    fa = np.fft.rfft2(a[..., ::-1, ::-1], s=shape)
    fb = np.fft.rfft2(b, s=shape)
    return np.fft.irfft2(fa * fb, s=shape)


def autocorrelogram(rate_map, periodic: bool = False) -> np.ndarray:
    """The spatial autocorrelogram of ``(n, n)`` or ``(units, n, n)`` rate maps, ``(..., 2n - 1, 2n - 1)``.

    Entry ``[n - 1 + dy, n - 1 + dx]`` is the Pearson correlation between the map and the map
    shifted by ``(dy, dx)`` bins, over the visited (non-NaN) bins they share; lags sharing
    fewer than two bins, or where either part is constant (to within 1e-12 of the map's power,
    the resolution of the FFTs that compute all lags at once), are 0. ``periodic``: the circular
    correlation (lags wrap around, as on a torus), tiled to the same size.
    """
    maps, single = _as_units(rate_map, "rate_map", 2)
    n, m = maps.shape[-2:]
    if n < 2 or m < 2:
        raise CogmapError(f"rate maps need at least 2 x 2 bins, got {n} x {m}")
    valid = np.isfinite(maps).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN map has no mean; it correlates as flat
        offset = np.nan_to_num(np.nanmean(maps, axis=(-1, -2), keepdims=True))
    # Correlations ignore offsets; removing the mean first keeps the FFT sums' rounding small.
    x = np.where(valid > 0, maps - offset, 0.0)
    power = (x * x).sum((-1, -2))
    if periodic:
        sac = _circular_autocorrelogram(x, valid, power)
    else:
        shape = (2 * n - 1, 2 * m - 1)
        count = _correlate_full(valid, valid, shape)
        s1 = _correlate_full(x, valid, shape)     # sum of the map over the overlap
        s2 = _correlate_full(valid, x, shape)     # sum of the shifted map over the overlap
        q1 = _correlate_full(x * x, valid, shape)
        q2 = _correlate_full(valid, x * x, shape)
        cross = _correlate_full(x, x, shape)
        sac = _pearson(count, s1, s2, q1, q2, cross, power)
    return sac[0] if single else sac


def _pearson(count, s1, s2, q1, q2, cross, power) -> np.ndarray:
    count = np.rint(count)
    # Sums from FFTs carry rounding of about 1e-16 of the map's total power at every lag; a
    # variance below what that rounding can resolve is reported as flat (correlation 0).
    resolution = 1e-12 * power[..., None, None] / np.maximum(count, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        covariance = cross / count - s1 * s2 / count**2
        var1 = q1 / count - (s1 / count) ** 2
        var2 = q2 / count - (s2 / count) ** 2
        flat = (var1 <= resolution) | (var2 <= resolution) | (count < 2)
        sac = covariance / np.sqrt(np.where(flat, 1.0, var1 * var2))
    return np.where(flat, 0.0, np.clip(sac, -1.0, 1.0))


def _circular_autocorrelogram(x: np.ndarray, valid: np.ndarray, power: np.ndarray) -> np.ndarray:
    n, m = x.shape[-2:]

    def circ(a, b):
        return np.fft.irfft2(np.conj(np.fft.rfft2(a)) * np.fft.rfft2(b), s=(n, m))

    sac = _pearson(circ(valid, valid), circ(x, valid), circ(valid, x), circ(x * x, valid), circ(valid, x * x),
                   circ(x, x), power)
    # Lag (dy, dx) sits at [dy mod n, dx mod m]; tile to lags -(n-1) .. n-1.
    rows = np.arange(-(n - 1), n) % n
    cols = np.arange(-(m - 1), m) % m
    return sac[..., rows[:, None], cols[None, :]]


def ring_masks(size: int, inner: float = RING_INNER, outer=RING_OUTER) -> tuple[np.ndarray, np.ndarray]:
    """The reference's annuli on a ``(2 size - 1)`` square SAC: masks ``(rings, 2s-1, 2s-1)`` and their radii ``(rings, 2)``.

    A bin at offset ``(dy, dx)`` from the centre is in ring ``k`` when
    ``inner * size < sqrt(dx^2 + dy^2) <= outer[k] * size``.
    """
    outer = np.atleast_1d(np.asarray(outer, dtype=np.float64))
    if not (0 <= inner and np.all(outer > inner)):
        raise CogmapError(f"ring radii must satisfy 0 <= inner < outer, got {inner} and {outer.tolist()}")
    offsets = np.arange(-(size - 1), size)
    radius = np.hypot(offsets[:, None], offsets[None, :])
    masks = (radius[None] <= outer[:, None, None] * size) & ~(radius[None] <= inner * size)
    radii = np.stack([np.full_like(outer, inner * size), outer * size], axis=1)
    return masks.astype(np.float64), radii


def rotated(sac: np.ndarray, angles=CORRELATION_ANGLES) -> np.ndarray:
    """``sac (..., S, S)`` rotated about its centre by each angle (degrees): ``(angles, ..., S, S)``."""
    return np.stack([scipy.ndimage.rotate(sac, angle, axes=(-1, -2), reshape=False, order=3, mode="constant",
                                          cval=0.0) for angle in angles])


def grid_scores(rate_map, periodic: bool = False, inner: float = RING_INNER, outer=RING_OUTER) -> GridScores:
    """Grid scores (60 and 90 degrees), spacing and orientation of ``(n, n)`` or ``(units, n, n)`` rate maps.

    See the module's docstring for the definition (the reference's, with its default rings).
    A map that is NaN everywhere, or constant, scores NaN.
    """
    maps, single = _as_units(rate_map, "rate_map", 2)
    n, m = maps.shape[-2:]
    if n != m:
        raise CogmapError(f"grid scores need square rate maps, got {n} x {m} bins")
    sac = autocorrelogram(maps, periodic=periodic)
    masks, radii = ring_masks(n, inner, outer)
    score_60, score_90 = np.empty(len(maps)), np.empty(len(maps))
    ring_60, ring_90 = np.empty((len(maps), 2)), np.empty((len(maps), 2))
    for start in range(0, len(maps), _UNITS_PER_CHUNK):
        part = slice(start, start + _UNITS_PER_CHUNK)
        s60, s90 = _ring_scores(sac[part], masks)            # (units, rings)
        best60, best90 = s60.argmax(1), s90.argmax(1)
        rows = np.arange(len(best60))
        score_60[part], score_90[part] = s60[rows, best60], s90[rows, best90]
        ring_60[part], ring_90[part] = radii[best60], radii[best90]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN maps: nanmax warns, and they are handled here
        flat = maps.reshape(len(maps), -1)
        degenerate = ~(np.nanmax(flat, axis=1) > np.nanmin(flat, axis=1))
    spacing, orientation = _lattice(sac)
    result = GridScores(*(np.where(degenerate.reshape(-1, *[1] * (a.ndim - 1)), np.nan, a)
                          for a in (score_60, score_90, ring_60, ring_90, spacing, orientation)), sac)
    if single:
        return GridScores(*(np.asarray(getattr(result, f)[0]) for f in result.__dataclass_fields__))
    return result


def _ring_scores(sac: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """60- and 90-degree scores ``(units, rings)`` of SACs ``(units, S, S)`` on every ring."""
    turned = rotated(sac)                                     # (angles, units, S, S)
    area = masks.sum((-1, -2))                                # (rings,)
    mean = np.einsum("usx,rsx->ur", sac, masks) / area        # (units, rings)
    centred = (sac[:, None] - mean[..., None, None]) * masks  # (units, rings, S, S), zero off the ring
    variance = np.einsum("ursx,ursx->ur", centred, centred) / area + _VARIANCE_FLOOR
    # <(S - m)(S_a - m)> on the ring is <(S - m) S_a>, since (S - m) sums to 0 there.
    cross = np.einsum("ursx,ausx->aur", centred, turned) / area
    corr = dict(zip(CORRELATION_ANGLES, cross / variance))
    return ((corr[60] + corr[120]) / 2 - (corr[30] + corr[90] + corr[150]) / 3,
            corr[90] - (corr[45] + corr[135]) / 2)


def _lattice(sac: np.ndarray, peaks: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Spacing (bins) and orientation (degrees in [0, 60)) from the peaks of each SAC nearest its centre.

    A peak is a local maximum (3 x 3) with a positive correlation, away from the centre's own
    peak (further than the half-width of the central field, where the SAC first falls below 0);
    its position is refined by a parabola through its neighbours. Spacing is the median distance
    of the ``peaks`` nearest ones; orientation the smallest angle of those, modulo 60 degrees.
    """
    units, size = sac.shape[0], sac.shape[-1]
    c = (size - 1) // 2
    spacing = np.full(units, np.nan)
    orientation = np.full(units, np.nan)
    local_max = (sac == scipy.ndimage.maximum_filter(sac, size=(1, 3, 3), mode="constant", cval=-np.inf)) & (sac > 0)
    offsets = np.arange(size) - c
    radius = np.hypot(offsets[:, None], offsets[None, :])
    for u in range(units):
        below = radius[sac[u] <= 0]
        central = below.min() if below.size else np.inf
        ys, xs = np.nonzero(local_max[u] & (radius >= central) & (radius > 0))
        if ys.size < 3:
            continue
        dy = offsets[ys] + _parabola(sac[u], ys, xs, axis=0)
        dx = offsets[xs] + _parabola(sac[u], ys, xs, axis=1)
        distance = np.hypot(dx, dy)
        nearest = np.argsort(distance, kind="stable")[:peaks]
        spacing[u] = np.median(distance[nearest])
        orientation[u] = np.min(np.degrees(np.arctan2(dy[nearest], dx[nearest])) % 60.0)
    return spacing, orientation


def _parabola(image: np.ndarray, ys: np.ndarray, xs: np.ndarray, axis: int) -> np.ndarray:
    """Sub-bin offset of each peak along one axis (0 at an edge)."""
    size = image.shape[axis]
    at = ys if axis == 0 else xs
    inner = (at > 0) & (at < size - 1)
    step = (1, 0) if axis == 0 else (0, 1)
    lo = image[np.clip(ys - step[0], 0, size - 1), np.clip(xs - step[1], 0, size - 1)]
    hi = image[np.clip(ys + step[0], 0, size - 1), np.clip(xs + step[1], 0, size - 1)]
    mid = image[ys, xs]
    curvature = lo - 2 * mid + hi
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(inner & (curvature < 0), 0.5 * (lo - hi) / curvature, 0.0)
    return np.clip(shift, -0.5, 0.5)
