"""Harmonic (Fourier) analysis of functions on SO(3): Wigner D-matrices and power spectra per degree.

Peter-Weyl: every square-integrable function on SO(3) is a sum over degrees ``l = 0, 1, ...`` of
combinations of the ``(2l + 1)^2`` entries of the ``l``-th irreducible representation ``D_l(R)``,
and the entries are orthogonal under the Haar measure with ``E[D_l(R)_mn D_l'(R)_m'n'] =
delta_ll' delta_mm' delta_nn' / (2l + 1)``. Degree 0 is the mean, degree 1 the functions linear in
the rotation matrix (a vMF place field with a small concentration is mostly degree 1), and
higher degrees are finer, periodic structure: the SO(3) analogue of a grid cell's spatial
frequencies.

Here ``D_l`` is real: it is the matrix that moves real spherical harmonics of degree ``l``,
``Y_l(R x) = D_l(R) Y_l(x)`` for every unit vector ``x`` (found once per call by least squares on
fixed points of the sphere, exactly, since both sides are degree-``l`` harmonics). Any real
orthonormal basis gives the same power per degree.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import sph_harm_y

from cogmap.errors import CogmapError


def _check_rotations(rotations, name: str = "rotations") -> np.ndarray:
    r = np.asarray(rotations, dtype=np.float64)
    if r.ndim != 3 or r.shape[1:] != (3, 3):
        raise CogmapError(f"{name} must have shape (N, 3, 3), got {r.shape}")
    if not np.isfinite(r).all():
        raise CogmapError(f"{name} must be finite")
    error = np.abs(np.einsum("nji,njk->nik", r, r) - np.eye(3)).max() if len(r) else 0.0
    if error > 1e-4 or (len(r) and (np.linalg.det(r) < 0).any()):
        raise CogmapError(f"{name} must be rotation matrices (orthogonal, determinant +1)")
    return r


def _check_degree(max_degree) -> int:
    if not isinstance(max_degree, (int, np.integer)) or isinstance(max_degree, bool) or max_degree < 0:
        raise CogmapError(f"max_degree must be an integer >= 0, got {max_degree!r}")
    return int(max_degree)


def real_spherical_harmonics(points, degree: int) -> np.ndarray:
    """Real spherical harmonics of one degree at unit vectors ``points (..., 3)``: ``(..., 2 degree + 1)``.

    Orthonormal under the uniform probability measure on the sphere (each has mean square 1).
    """
    p = np.asarray(points, dtype=np.float64)
    polar = np.arccos(np.clip(p[..., 2] / np.linalg.norm(p, axis=-1), -1.0, 1.0))
    azimuth = np.arctan2(p[..., 1], p[..., 0])
    columns = []
    for m in range(-degree, degree + 1):
        y = sph_harm_y(degree, abs(m), polar, azimuth)
        if m > 0:
            columns.append(math.sqrt(2) * (-1) ** m * y.real)
        elif m < 0:
            columns.append(math.sqrt(2) * (-1) ** m * y.imag)
        else:
            columns.append(y.real)
    return math.sqrt(4 * math.pi) * np.stack(columns, axis=-1)


def _fitting_points(degree: int) -> np.ndarray:
    # Fixed, well-spread points (a Fibonacci sphere), twice as many as degree l's harmonics.
    n = 2 * (2 * degree + 1) + 4
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    phi = math.pi * (3 - math.sqrt(5)) * i
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=-1)


def wigner_d(rotations, degree: int) -> np.ndarray:
    """The real Wigner D-matrices ``D_l(R)`` of rotations ``(N, 3, 3)``: ``(N, 2l + 1, 2l + 1)``, orthogonal.

    They satisfy ``Y_l(R x) = D_l(R) Y_l(x)`` for :func:`real_spherical_harmonics` ``Y_l``, so
    ``D_l(R S) = D_l(R) D_l(S)``.
    """
    r = _check_rotations(rotations)
    degree = _check_degree(degree)
    points = _fitting_points(degree)
    basis = real_spherical_harmonics(points, degree)                      # (K, 2l+1)
    moved = real_spherical_harmonics(np.einsum("nij,kj->nki", r, points), degree)  # (N, K, 2l+1)
    # moved[n] = basis @ D(R_n)^T, solved for every rotation at once.
    return np.einsum("jk,nkm->nmj", np.linalg.pinv(basis), moved)


def wigner_features(rotations, max_degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ``sqrt(2l + 1) D_l(R)_mn`` for ``l = 0..max_degree``: features ``(N, F)`` orthonormal under
    the Haar measure, and the degree of each column ``(F,)``; ``F = sum (2l + 1)^2``."""
    r = _check_rotations(rotations)
    max_degree = _check_degree(max_degree)
    blocks, degrees = [], []
    for l in range(max_degree + 1):
        blocks.append(math.sqrt(2 * l + 1) * wigner_d(r, l).reshape(len(r), -1))
        degrees.append(np.full((2 * l + 1) ** 2, l))
    return np.concatenate(blocks, axis=1), np.concatenate(degrees)


def _values(values, n: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    v = v[:, None] if v.ndim == 1 else v
    if v.ndim != 2 or v.shape[0] != n:
        raise CogmapError(f"values must have shape ({n},) or ({n}, units), got {np.shape(values)}")
    if not np.isfinite(v).all():
        raise CogmapError("values must be finite")
    return v


def _fit(features: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Least-squares coefficients ``(F, units)`` of ``values`` on the harmonic ``features``."""
    if features.shape[0] < 2 * features.shape[1]:
        raise CogmapError(f"{features.shape[0]} samples cannot fit {features.shape[1]} harmonics; give at least "
                          f"{2 * features.shape[1]} (ideally ten times as many), or lower max_degree")
    return np.linalg.lstsq(features, values, rcond=None)[0]


def _fractions(features: np.ndarray, labels: np.ndarray, values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    n, f = features.shape
    coefficients = _fit(features, values)
    # Noise of variance s^2 left by the fit adds about s^2 / n to every squared coefficient (the
    # features are orthonormal): subtracted, so that a unit with no power at a degree gets ~0
    # there rather than (harmonics of that degree) / n of its unexplained variance.
    noise = np.sum((values - features @ coefficients) ** 2, axis=0) / (n - f) / n
    power = np.zeros((values.shape[1], *shape))
    for index in np.ndindex(*shape):
        chosen = np.all(labels == np.array(index), axis=1)
        # Orthonormal features: a component's mean square over the Haar measure is its squared coefficients.
        power[(slice(None), *index)] = np.maximum((coefficients[chosen] ** 2).sum(0) - chosen.sum() * noise, 0.0)
    total = np.mean(values**2, axis=0)
    expand = (-1, *[1] * len(shape))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total.reshape(expand) > 0, power / total.reshape(expand), 0.0)


def so3_power_spectrum(rotations, values, max_degree: int) -> np.ndarray:
    """The fraction of each unit's power (mean square over the Haar measure) at each degree ``l = 0..max_degree``.

    ``values (N,)`` or ``(N, units)`` are sampled at ``rotations (N, 3, 3)``, best drawn from the
    Haar measure; they are fitted by least squares with every Wigner harmonic up to
    ``max_degree``. Returns ``(units, max_degree + 1)``: each degree's power over the unit's mean
    square on the samples. A row sums to what the harmonics capture (the rest is higher degrees
    and noise); each degree's power is debiased by the noise the fit leaves (its harmonics times
    the residual variance over the number of samples), so a degree the unit lacks gets about 0.
    A constant zero unit is all zeros.
    """
    r = _check_rotations(rotations)
    v = _values(values, len(r))
    features, degrees = wigner_features(r, max_degree)
    return _fractions(features, degrees[:, None], v, (max_degree + 1,))


def so3x2_power_spectrum(first, second, values, max_degree: int = 2) -> np.ndarray:
    """The fraction of each unit's power at each pair of degrees ``(l1, l2)`` of two joints' rotations.

    Harmonics on SO(3) x SO(3) are products of the joints' harmonics; returns
    ``(units, max_degree + 1, max_degree + 1)``. ``(0, l)`` is power that depends on the second
    joint alone, ``(l, 0)`` on the first alone, and both non-zero is a mixture of the two.
    """
    a, b = _check_rotations(first, "first"), _check_rotations(second, "second")
    if len(a) != len(b):
        raise CogmapError(f"first and second must have the same number of rotations, got {len(a)} and {len(b)}")
    v = _values(values, len(a))
    fa, da = wigner_features(a, max_degree)
    fb, db = wigner_features(b, max_degree)
    features = (fa[:, :, None] * fb[:, None, :]).reshape(len(a), -1)
    labels = np.stack(np.broadcast_arrays(da[:, None], db[None, :]), axis=-1).reshape(-1, 2)
    return _fractions(features, labels, v, (max_degree + 1, max_degree + 1))


def peak_degrees(fractions: np.ndarray) -> np.ndarray:
    """Each unit's degree of highest power among ``l >= 1`` (its mean, degree 0, left out): ``(units,)``."""
    f = np.asarray(fractions, dtype=np.float64)
    if f.ndim != 2 or f.shape[1] < 2:
        raise CogmapError(f"fractions must be (units, max_degree + 1) with max_degree >= 1, got {f.shape}")
    return 1 + np.argmax(f[:, 1:], axis=1)


def class_function_power(function, max_degree: int, points: int = 2001) -> np.ndarray:
    """The power per degree of a function of the rotation angle alone, ``f(omega)``, by quadrature.

    A class function is a sum of characters, ``f = sum_l a_l chi_l`` with
    ``chi_l(omega) = sin((2l + 1) omega / 2) / sin(omega / 2)`` orthonormal under the Haar
    measure, whose angle has density ``(1 - cos omega) / pi`` on ``[0, pi]``; so its power at
    degree ``l`` is ``a_l^2`` with ``a_l = E[f chi_l]``. Returns the fractions of ``E[f^2]``
    (``max_degree + 1``,). A reference for :func:`so3_power_spectrum`: a vMF place field
    ``exp(kappa cos omega)`` centred anywhere has this spectrum.
    """
    from scipy.integrate import simpson

    max_degree = _check_degree(max_degree)
    omega = np.linspace(0.0, math.pi, points)
    density = (1 - np.cos(omega)) / math.pi
    f = np.asarray(function(omega), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        characters = np.stack([np.where(omega > 0, np.sin((2 * l + 1) * omega / 2) / np.sin(omega / 2), 2 * l + 1)
                               for l in range(max_degree + 1)])
    a = simpson(f * characters * density, x=omega, axis=-1)
    return a**2 / simpson(f * f * density, x=omega)


def harmonic_coefficients(rotations, values, max_degree: int) -> list[np.ndarray]:
    """The least-squares coefficients of ``values (N[, units])`` on the Wigner harmonics, per degree:
    ``C_l`` of shape ``(units, 2l + 1, 2l + 1)`` with ``f(R) ~ sum_l sqrt(2l + 1) <C_l, D_l(R)>``."""
    r = _check_rotations(rotations)
    v = _values(values, len(r))
    features, degrees = wigner_features(r, max_degree)
    coefficients = _fit(features, v)
    return [coefficients[degrees == l].T.reshape(-1, 2 * l + 1, 2 * l + 1) for l in range(max_degree + 1)]


def so3_autocorrelation(rotations, values, max_degree: int, angles, axes=None) -> np.ndarray:
    """The correlation of each unit's tuning map with itself turned by rotations of the given angles.

    The SO(3) analogue of a spatial autocorrelogram: ``A(g) = corr_R(f(R), f(g R))`` over the
    Haar measure, for the map ``f`` fitted by :func:`harmonic_coefficients` (its mean removed).
    Without ``axes``, ``A`` is averaged over every axis, which has a closed form: the average of
    ``D_l(g)`` over the rotations of angle ``omega`` is ``chi_l(omega) / (2l + 1)`` times the
    identity (Schur), so ``A(omega) = sum_l P_l chi_l(omega) / (2l + 1) / sum_l P_l`` with ``P_l``
    the power at degree ``l``. With ``axes (A, 3)`` (unit vectors), ``A`` is evaluated about each
    axis: ``(units, A, angles)``; otherwise ``(units, angles)``.
    """
    coefficients = harmonic_coefficients(rotations, values, max_degree)
    omega = np.asarray(angles, dtype=np.float64)
    if omega.ndim != 1 or not np.isfinite(omega).all():
        raise CogmapError(f"angles must be a 1-D array of finite radians, got shape {omega.shape}")
    power = np.stack([(c**2).sum((-1, -2)) for c in coefficients[1:]], axis=1)   # (units, L): degrees >= 1
    total = power.sum(1)
    if axes is None:
        return autocorrelation_from_power(np.concatenate([np.zeros((len(power), 1)), power], axis=1), omega)
    from scipy.spatial.transform import Rotation

    axes = np.asarray(axes, dtype=np.float64)
    if axes.ndim != 2 or axes.shape[1] != 3 or not np.all(np.abs(np.linalg.norm(axes, axis=1) - 1) < 1e-6):
        raise CogmapError(f"axes must be unit vectors (A, 3), got shape {axes.shape}")
    turns = Rotation.from_rotvec((axes[:, None, :] * omega[None, :, None]).reshape(-1, 3)).as_matrix()
    out = np.zeros((len(total), len(turns)))
    for l, c in enumerate(coefficients[1:], start=1):
        d = wigner_d(turns, l)                                                # (G, 2l+1, 2l+1)
        # f(g R) has coefficients D_l(g)^T C_l; the covariance is <C_l, D_l(g)^T C_l> summed over l.
        out += np.einsum("uij,gik,ukj->ug", c, d, c)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total[:, None] > 0, out / total[:, None], np.nan)
    return out.reshape(len(total), len(axes), len(omega))


def autocorrelation_from_power(power, angles) -> np.ndarray:
    """The axis-averaged autocorrelation ``(units, angles)`` of maps with power ``(units, L + 1)`` per degree
    (degree 0, the mean, is left out): ``sum_{l >= 1} P_l chi_l(omega) / (2l + 1) / sum_{l >= 1} P_l``."""
    p = np.asarray(power, dtype=np.float64)
    omega = np.asarray(angles, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise CogmapError(f"power must be (units, max_degree + 1) with max_degree >= 1, got {p.shape}")
    if omega.ndim != 1 or not np.isfinite(omega).all():
        raise CogmapError(f"angles must be a 1-D array of finite radians, got shape {omega.shape}")
    degrees = np.arange(1, p.shape[1])
    half = np.sin(omega / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        characters = np.where(np.abs(half) > 1e-12, np.sin(np.outer(2 * degrees + 1, omega) / 2) / half,
                              (2 * degrees + 1)[:, None])                      # (L, angles)
        total = p[:, 1:].sum(1)
        return np.where(total[:, None] > 0, p[:, 1:] @ (characters / (2 * degrees + 1)[:, None]) / total[:, None],
                        np.nan)


def periodicity_score(autocorrelation: np.ndarray) -> np.ndarray:
    """How far each autocorrelation curve ``(units, angles)`` (angles increasing from 0) rises again
    after falling: the largest ``A(omega') - min A(omega <= omega')`` over later angles ``omega'``.

    0 for a curve that only falls (a smooth, place-like map: degree 1 gives ``(1 + 2 cos omega) / 3``);
    positive when the map repeats itself under a turn (a peak at a non-zero angle after a trough),
    the analogue of a grid score's peaks against troughs.
    """
    a = np.asarray(autocorrelation, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] < 2:
        raise CogmapError(f"autocorrelation must be (units, angles) with at least 2 angles, got {a.shape}")
    trough = np.minimum.accumulate(a, axis=1)
    return np.max(a - trough, axis=1)
