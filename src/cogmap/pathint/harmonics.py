"""Which spatial frequencies on SO(3) a path integrator's hidden units carry.

Every hidden unit's activity, recorded along validation trajectories with the true poses, is a
function on SO(3) x SO(3). Fitted with Wigner harmonics (:mod:`cogmap.analysis.harmonics`) as a
function of one joint's rotation (the other joint's variation then averages out into what the
fit leaves unexplained) and jointly of both up to a low degree, it gives each unit's power per
degree; a unit whose variance peaks at degree 1 is smooth, place-like; one that peaks at
degree 2 or more has periodic, "grid-like" structure. The same spectra give each unit's
autocorrelation on SO(3) averaged over axes (the correlation of its map with itself turned by an
angle, :func:`cogmap.analysis.harmonics.autocorrelation_from_power`) and its periodicity score. Two references on the same poses: the
place-cell code the network was trained to predict, and an untrained network of the same
architecture. Activities are centred first, so the fractions are of each unit's variance.
What a fit cannot explain (the other joint's part in a per-joint fit, degrees above the
highest fitted, noise) is the rest of each unit's variance: fractions sum to less than 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from cogmap.analysis.harmonics import (
    autocorrelation_from_power,
    peak_degrees,
    periodicity_score,
    so3_power_spectrum,
    so3x2_power_spectrum,
)
from cogmap.errors import CogmapError, check_positive_int
from cogmap.pathint.data import GenerationConfig, Trajectories, iter_generate

AUTOCORRELATION_ANGLES = np.linspace(0.0, np.pi, 91)
TUNED = 0.1  # a unit with less of its variance than this in degrees >= 1 is not tuned to that joint


@dataclass(frozen=True)
class HarmonicAnalysis:
    """Variance fractions per degree: ``model``, ``untrained`` and ``code`` map ``"joint k"`` to
    ``(units or cells, max_degree + 1)``; ``joint`` is the model's ``(units, J + 1, J + 1)`` over both
    joints' degrees (``J = joint_degree``)."""

    max_degree: int
    joint_degree: int
    model: dict[str, np.ndarray]
    untrained: dict[str, np.ndarray]
    code: dict[str, np.ndarray]
    joint: np.ndarray
    samples: int

    @staticmethod
    def population(fractions: np.ndarray) -> np.ndarray:
        """The mean over units of the variance fraction at each degree, ``(max_degree + 1,)``."""
        return fractions.mean(axis=0)

    @staticmethod
    def peaks(fractions: np.ndarray, tuned: float = TUNED) -> dict[str, float]:
        """The fractions of units whose variance peaks at degree 1, at degree 2 or more, and of units
        with less than ``tuned`` of their variance in degrees 1 and up (whose peak is noise)."""
        peak = peak_degrees(fractions)
        is_tuned = fractions[:, 1:].sum(axis=1) >= tuned
        return {"degree 1": float(np.mean(is_tuned & (peak == 1))), "degree >= 2": float(np.mean(is_tuned & (peak >= 2))),
                "untuned": float(np.mean(~is_tuned))}

    @staticmethod
    def periodicity(fractions: np.ndarray, tuned: float = TUNED) -> np.ndarray:
        """Each tuned unit's periodicity score (NaN for untuned units): how far its axis-averaged
        autocorrelation on SO(3) rises again after falling (0 for a smooth, degree-1 map)."""
        curves = autocorrelation_from_power(fractions, AUTOCORRELATION_ANGLES)
        scores = periodicity_score(np.nan_to_num(curves))
        return np.where(fractions[:, 1:].sum(axis=1) >= tuned, scores, np.nan)

    def to_json(self) -> dict:
        def periodic(f):
            scores = self.periodicity(f)
            tuned = scores[np.isfinite(scores)]
            return {"median": float(np.median(tuned)) if tuned.size else None,
                    "fraction_of_tuned_above_0.1": float(np.mean(tuned > 0.1)) if tuned.size else None}

        def describe(table):
            return {joint: {"population": self.population(f).tolist(), "peaks": self.peaks(f),
                            "periodicity": periodic(f)} for joint, f in table.items()}

        return {"samples": self.samples, "max_degree": self.max_degree, "model": describe(self.model),
                "untrained": describe(self.untrained), "place_cell_code": describe(self.code),
                "joint_degrees": {"max_degree": self.joint_degree,
                                  "population": self.joint.mean(axis=0).tolist()}}


def _centred(values: torch.Tensor) -> np.ndarray:
    v = values.double().cpu().numpy()
    return v - v.mean(axis=0)


@torch.no_grad()
def harmonic_analysis(model, generation: GenerationConfig | None = None, n_trajectories: int = 12_000,
                      max_degree: int = 4, joint_degree: int = 2, chunk: int = 1000, seed: int = 0,
                      progress=None, respond: Callable[[Trajectories], torch.Tensor] | None = None) -> HarmonicAnalysis:
    """Spectra of ``model``'s hidden units on SO(3), of its target code and of an untrained twin.

    One state per validation trajectory, at a step drawn at random (seeded): the poses of
    different trajectories are independent and Haar-distributed, which the fits need (states
    of one trajectory are strongly correlated, and fitting hundreds of harmonics to a few
    hundred effectively independent poses would credit noise to the high degrees). Per joint
    up to ``max_degree``; both joints at once up to ``joint_degree``. ``respond`` replaces the
    model's hidden states ``(B, T, units)`` for a chunk of trajectories (any recorded network);
    the untrained twin is still built from ``model``'s settings.
    """
    from cogmap.pathint.model import untrained_twin

    generation = generation if generation is not None else model.generation
    if generation.manifold != "so3":
        raise CogmapError(f"harmonic analysis needs a model on SO(3); this one is on {generation.manifold}")
    for name, value in (("n_trajectories", n_trajectories), ("chunk", chunk)):
        check_positive_int(name, value)
    model.eval()
    twin = untrained_twin(model, seed)
    steps = torch.randint(generation.seq_len, (n_trajectories,), generator=torch.Generator().manual_seed(seed))
    kept = {"hidden": [], "untrained": [], "poses": [], "codes": []}
    done = 0
    for part in iter_generate(generation, n_trajectories, "val", chunk_size=chunk):
        rows = torch.arange(len(part.velocities))
        step = steps[done:done + len(rows)]
        velocities, initial = part.velocities, part.initial_code
        hidden = respond(part) if respond is not None else model.get_hidden_states(velocities, initial)
        kept["hidden"].append(hidden[rows, step].cpu())
        kept["untrained"].append(twin.get_hidden_states(velocities, initial)[rows, step].cpu())
        kept["poses"].append(part.states[rows, step])
        kept["codes"].append(part.targets[rows, step])
        done += len(rows)
        if progress is not None:
            progress.update(len(rows))
    hidden, untrained = (_centred(torch.cat(kept[k])) for k in ("hidden", "untrained"))
    poses = torch.cat(kept["poses"]).double().numpy()                    # (n, K, 3, 3)
    codes = torch.cat(kept["codes"])
    cells = generation.cells
    result = {"model": {}, "untrained": {}, "code": {}}
    for k in range(generation.joints):
        joint = f"joint {k + 1}"
        result["model"][joint] = so3_power_spectrum(poses[:, k], hidden, max_degree)
        result["untrained"][joint] = so3_power_spectrum(poses[:, k], untrained, max_degree)
        result["code"][joint] = so3_power_spectrum(poses[:, k], _centred(codes[:, k * cells:(k + 1) * cells]),
                                                   max_degree)
    joint_fit = np.zeros((hidden.shape[-1], joint_degree + 1, joint_degree + 1))
    if generation.joints == 2:
        joint_fit = so3x2_power_spectrum(poses[:, 0], poses[:, 1], hidden, joint_degree)
    return HarmonicAnalysis(max_degree, joint_degree, result["model"], result["untrained"], result["code"], joint_fit,
                            n_trajectories)
