"""Harmonics on SO(3): representation properties, orthonormality, and spectra with known answers."""

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from cogmap.analysis.harmonics import (
    class_function_power,
    peak_degrees,
    periodicity_score,
    real_spherical_harmonics,
    so3_autocorrelation,
    so3_power_spectrum,
    so3x2_power_spectrum,
    wigner_d,
    wigner_features,
)
from cogmap.errors import CogmapError


def haar(n: int, seed: int) -> np.ndarray:
    return Rotation.random(n, random_state=seed).as_matrix()  # scipy's Haar sampler, independent of ours


def test_real_spherical_harmonics_are_orthonormal_and_degree_one_is_the_coordinates():
    points = Rotation.random(200_000, random_state=0).apply([0.0, 0.0, 1.0])  # uniform on the sphere
    for degree in range(4):
        y = real_spherical_harmonics(points, degree)
        gram = y.T @ y / len(points)
        assert np.abs(gram - np.eye(2 * degree + 1)).max() < 0.03
    y1 = real_spherical_harmonics(points[:10], 1)
    # Degree 1 spans the coordinates: sqrt(3) x (y, z, x) up to signs.
    np.testing.assert_allclose(np.abs(y1), math.sqrt(3) * np.abs(points[:10][:, [1, 2, 0]]), atol=1e-12)


@pytest.mark.parametrize("degree", [0, 1, 2, 3, 5])
def test_wigner_matrices_are_an_orthogonal_representation(degree):
    r, s = haar(20, 1), haar(20, 2)
    d_r, d_s, d_rs = wigner_d(r, degree), wigner_d(s, degree), wigner_d(r @ s, degree)
    np.testing.assert_allclose(d_rs, d_r @ d_s, atol=1e-10)
    np.testing.assert_allclose(np.einsum("nij,nkj->nik", d_r, d_r), np.broadcast_to(np.eye(2 * degree + 1), d_r.shape),
                               atol=1e-10)
    np.testing.assert_allclose(wigner_d(np.eye(3)[None], degree)[0], np.eye(2 * degree + 1), atol=1e-12)
    # The trace is the character, which depends on the rotation angle alone.
    angle = np.linalg.norm(Rotation.from_matrix(r).as_rotvec(), axis=1)
    character = np.sin((2 * degree + 1) * angle / 2) / np.sin(angle / 2)
    np.testing.assert_allclose(np.trace(d_r, axis1=1, axis2=2), character, atol=1e-9)


def test_the_harmonics_are_orthonormal_under_the_haar_measure():
    features, degrees = wigner_features(haar(40_000, 3), 2)
    assert features.shape[1] == 1 + 9 + 25 and list(np.bincount(degrees)) == [1, 9, 25]
    gram = features.T @ features / len(features)
    # Monte Carlo: an entry's sd is at most about 2 / sqrt(n) here; the largest of 1,225 stays within 5 sd.
    assert np.abs(gram - np.eye(len(gram))).max() < 0.05


@pytest.mark.parametrize("degree", [1, 2, 3, 4])
def test_a_unit_made_of_one_harmonic_has_all_its_power_at_that_degree(degree):
    rotations = haar(6000, 4)
    d = wigner_d(rotations, degree)
    unit = d[:, 0, degree] + 0.5 * d[:, 1, 1] + 3.0  # two entries of the same degree, and a mean
    fractions = so3_power_spectrum(rotations, unit, max_degree=5)[0]
    oscillating = fractions[1:].sum()
    assert fractions[degree] / oscillating > 0.99
    assert peak_degrees(fractions[None])[0] == degree
    assert fractions.sum() == pytest.approx(1.0, abs=0.05)  # nothing left unexplained (to sampling noise)


def test_the_vmf_place_field_has_the_spectrum_of_its_character_expansion():
    # exp(kappa cos omega(C^T R)) for a centre C: a class function of C^T R, whose power per degree is
    # the square of its character coefficients (computed by quadrature, independently of the fit).
    rotations = haar(12_000, 5)
    centre = haar(1, 6)[0]
    cos = (np.einsum("ij,nij->n", centre, rotations) - 1) / 2
    fitted = so3_power_spectrum(rotations, np.exp(5.0 * cos), max_degree=5)[0]
    expected = class_function_power(lambda w: np.exp(5.0 * np.cos(w)), 5)
    np.testing.assert_allclose(fitted, expected, atol=0.02)
    assert expected.sum() > 0.99  # degrees 0-5 hold nearly all of it
    # A broad field is mostly degree 1; a sharp one spreads to higher degrees.
    broad = class_function_power(lambda w: np.exp(0.5 * np.cos(w)), 6)
    assert broad[1] > 0.9 * broad[1:].sum()
    assert peak_degrees(expected[None])[0] == 2


def test_noise_gets_no_power_at_any_degree():
    rotations = haar(3000, 9)
    noise = np.random.default_rng(0).normal(size=(3000, 40))
    fractions = so3_power_spectrum(rotations, noise, max_degree=4)
    # Without the debiasing each degree would get about (2l + 1)^2 / 3000 of it: 0.027 at l = 4.
    assert np.abs(fractions.mean(axis=0)).max() < 0.004


def test_two_joint_spectra_separate_each_joints_contribution():
    first, second = haar(12_000, 7), haar(12_000, 8)
    a1 = wigner_d(first, 1)[:, 0, 2]
    b2 = wigner_d(second, 2)[:, 3, 1]
    units = np.stack([a1, b2, a1 * b2], axis=1)
    fractions = so3x2_power_spectrum(first, second, units, max_degree=2)
    assert fractions.shape == (3, 3, 3)
    assert fractions[0, 1, 0] > 0.99 and fractions[1, 0, 2] > 0.99 and fractions[2, 1, 2] > 0.99


@pytest.mark.parametrize("call, match", [
    (lambda: so3_power_spectrum(np.zeros((10, 3, 3)), np.zeros(10), 1), "rotation matrices"),
    (lambda: so3_power_spectrum(np.eye(3)[None].repeat(10, 0), np.zeros(9), 1), "values must have shape"),
    (lambda: so3_power_spectrum(haar(30, 0), np.zeros(30), 3), "samples cannot fit"),
    (lambda: so3_power_spectrum(haar(30, 0), np.zeros(30), -1), "max_degree"),
    (lambda: so3_power_spectrum(haar(30, 0), np.full(30, np.nan), 1), "finite"),
    (lambda: wigner_d(np.zeros((2, 3)), 1), "shape"),
    (lambda: so3x2_power_spectrum(haar(30, 0), haar(20, 1), np.zeros(30), 0), "same number"),
    (lambda: peak_degrees(np.zeros((3, 1))), "max_degree >= 1"),
])
def test_bad_inputs_get_one_clear_error(call, match):
    with pytest.raises(CogmapError, match=match):
        call()


def test_rotations_from_cogmap_and_torch_work_too():
    from cogmap.geometry import SO3

    rotations = SO3.random(3000, torch.Generator().manual_seed(0))
    unit = wigner_d(rotations.double().numpy(), 2)[:, 0, 0]
    fractions = so3_power_spectrum(rotations, unit, 3)[0]
    assert fractions[2] / fractions.sum() > 0.99


def test_the_autocorrelation_of_a_degree_one_map_is_its_character_and_never_rises_again():
    rotations = haar(4000, 10)
    unit = wigner_d(rotations, 1)[:, 0, 1] + 2.0
    omega = np.linspace(0, math.pi, 13)
    curve = so3_autocorrelation(rotations, unit, 3, omega)[0]
    np.testing.assert_allclose(curve, (1 + 2 * np.cos(omega)) / 3, atol=1e-3)  # chi_1 / 3, by hand
    assert periodicity_score(curve[None])[0] < 1e-3


def test_a_degree_two_map_repeats_under_a_half_turn_and_scores_as_periodic():
    rotations = haar(4000, 11)
    unit = wigner_d(rotations, 2)[:, 2, 3]
    omega = np.linspace(0, math.pi, 13)
    curve = so3_autocorrelation(rotations, unit, 3, omega)[0]
    # chi_2(omega) / 5 = (1 + 2 cos omega + 2 cos 2 omega) / 5 falls to -0.25 where cos omega = -1/4
    # (its derivative -2 sin omega (1 + 4 cos omega) vanishes there) and rises back to 0.2 at pi.
    np.testing.assert_allclose(curve, (1 + 2 * np.cos(omega) + 2 * np.cos(2 * omega)) / 5, atol=1e-3)
    assert periodicity_score(curve[None])[0] == pytest.approx(0.45, abs=2e-3)


def test_the_autocorrelation_about_one_axis_is_the_correlation_of_the_map_with_its_turned_self():
    rotations = haar(4000, 12)
    def tuning(r):
        return wigner_d(r, 1)[:, 0, 1] + 0.7 * wigner_d(r, 2)[:, 1, 1]

    axes = Rotation.random(2, random_state=13).apply([0.0, 0.0, 1.0])
    omega = np.array([0.0, 1.0, 2.5])
    curve = so3_autocorrelation(rotations, tuning(rotations), 2, omega, axes=axes)[0]
    sample = haar(30_000, 14)  # Monte Carlo over fresh rotations, directly from the definition
    for a, axis in enumerate(axes):
        for k, angle in enumerate(omega):
            turn = Rotation.from_rotvec(axis * angle).as_matrix()
            direct = np.corrcoef(tuning(sample), tuning(turn @ sample))[0, 1]
            assert curve[a, k] == pytest.approx(direct, abs=0.025)
    # Averaged over many axes it is the closed form.
    many = Rotation.random(150, random_state=15).apply([0.0, 0.0, 1.0])
    average = so3_autocorrelation(rotations, tuning(rotations), 2, omega, axes=many)[0].mean(0)
    np.testing.assert_allclose(average, so3_autocorrelation(rotations, tuning(rotations), 2, omega)[0], atol=0.05)


def test_autocorrelation_inputs_are_checked():
    rotations = haar(200, 16)
    with pytest.raises(CogmapError, match="angles"):
        so3_autocorrelation(rotations, np.ones(200), 1, np.ones((2, 2)))
    with pytest.raises(CogmapError, match="unit vectors"):
        so3_autocorrelation(rotations, np.ones(200), 1, [0.0, 1.0], axes=[[1.0, 1.0, 0.0]])
    with pytest.raises(CogmapError, match="at least 2 angles"):
        periodicity_score(np.ones((3, 1)))
