"""Is a path integrator's hidden state equivariant to rotating the whole arm?

Turning every pose of a trajectory by the same rotation ``g`` on the left (``R_t -> g R_t``, one
``g`` per joint) leaves its body-frame angular velocities unchanged, since they act on the right
(``R_t = R_{t-1} exp(omega_t dt)``). So a network started from ``g R_0`` receives the same inputs as
one started from ``R_0``, and only its start differs. If its state carries the pose the way a
representation of SO(3) would, the two runs' states are related by one fixed linear map ``rho(g)``,
whatever the trajectory. Here ``rho(g)`` is fitted by least squares on one set of trajectories and
tested on others with Park et al.'s measures (one implementation, :mod:`cogmap.analysis.equivariance`):
the equivariance error ``mean ||rho h - h'|| / mean ||h||`` and the distance-invariance error of
random pairs of states (an orthogonal ``rho`` keeps distances). A state that ignores the start is
trivially equivariant (``rho`` = identity), and its equivariance error is then small for that reason
alone; so beside it, the unexplained change ``mean ||rho h - h'|| / mean ||h - h'||``: 0 when
``rho`` accounts for all of the change the rotation made, 1 when it does no better than assuming no
change. References on the same trajectories: the true poses (exactly equivariant: error 0), the
place-cell code, and an untrained network of the same architecture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cogmap.analysis.equivariance import distance_invariance_error, equivariance_error, random_pairs
from cogmap.errors import CogmapError, check_positive_int
from cogmap.pathint.data import GenerationConfig, complete, sample_motion

_STREAM_SYMMETRY = (7,)  # a random stream of its own, apart from training and validation data


@dataclass(frozen=True)
class SymmetryErrors:
    """Held-out errors per group element ``(elements,)`` for each representation, by name."""

    equivariance: dict[str, np.ndarray]
    distance_invariance: dict[str, np.ndarray]
    unexplained_change: dict[str, np.ndarray]
    fit_trajectories: int
    test_trajectories: int

    def to_json(self) -> dict:
        def describe(values):
            return {"mean": float(values.mean()), "sd": float(values.std()), "per_element": values.tolist()}

        return {"fit_trajectories": self.fit_trajectories, "test_trajectories": self.test_trajectories,
                "equivariance_error": {k: describe(v) for k, v in self.equivariance.items()},
                "distance_invariance_error": {k: describe(v) for k, v in self.distance_invariance.items()},
                "unexplained_change": {k: describe(v) for k, v in self.unexplained_change.items()}}


def fit_linear_map(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The matrix ``M`` minimising ``||source @ M.T - target||`` (least squares, no offset): ``(D_t, D_s)``."""
    return np.linalg.lstsq(source, target, rcond=None)[0].T


def held_out_equivariance(fit: np.ndarray, fit_turned: np.ndarray, test: np.ndarray, test_turned: np.ndarray,
                          pairs: np.ndarray) -> tuple[float, float, float]:
    """``rho`` fitted on ``fit -> fit_turned`` (states ``(N, D)``), then on the test states: the
    equivariance error, the distance-invariance error of ``pairs`` and the unexplained change."""
    rho = fit_linear_map(fit, fit_turned)
    ee = equivariance_error(test, test_turned, lambda z: z @ torch.as_tensor(rho.T, dtype=z.dtype, device=z.device))
    die = distance_invariance_error(test, test[pairs], test_turned, test_turned[pairs])
    change = np.linalg.norm(test_turned - test, axis=1).mean()
    if change == 0:
        raise CogmapError("the rotation did not change these states at all; the unexplained change is undefined")
    return ee, die, float(np.linalg.norm(test @ rho.T - test_turned, axis=1).mean() / change)


def _states(model, generation: GenerationConfig, initial: torch.Tensor, velocities: torch.Tensor,
            every: int) -> dict[str, np.ndarray]:
    """Every representation of the trajectories at every ``every``-th step, ``(trajectories x steps, D)``."""
    trajectories = complete(generation, initial, velocities)
    steps = slice(every - 1, None, every)
    out = {"pose": trajectories.states[:, steps].flatten(2), "place-cell code": trajectories.targets[:, steps]}
    for name, net in model.items():
        hidden = net.get_hidden_states(velocities, trajectories.initial_code)
        out[name] = hidden[:, steps].cpu()
    return {k: v.reshape(-1, v.shape[-1]).double().numpy() for k, v in out.items()}


@torch.no_grad()
def symmetry_errors(model, generation: GenerationConfig | None = None, elements: int = 4, fit_trajectories: int = 1000,
                    test_trajectories: int = 300, every: int = 5, seed: int = 0, progress=None) -> SymmetryErrors:
    """Held-out equivariance and distance-invariance errors of ``model``'s states under ``elements``
    random left rotations of every joint, beside the poses, the code and an untrained twin."""
    from cogmap.geometry import SO3
    from cogmap.pathint.model import untrained_twin

    generation = generation if generation is not None else model.generation
    if generation.manifold != "so3":
        raise CogmapError(f"the symmetry test needs a model on SO(3); this one is on {generation.manifold}")
    for name, value in (("elements", elements), ("fit_trajectories", fit_trajectories),
                        ("test_trajectories", test_trajectories), ("every", every)):
        check_positive_int(name, value)
    if every > generation.seq_len:
        raise CogmapError(f"every must be at most the {generation.seq_len} steps of a trajectory, got {every}")
    model.eval()
    networks = {"trained network": model, "untrained network": untrained_twin(model, seed)}
    n = fit_trajectories + test_trajectories
    initial, velocities = sample_motion(generation, _STREAM_SYMMETRY, 0, n)
    original = _states(networks, generation, initial, velocities, every)
    split = fit_trajectories * (generation.seq_len // every)
    rotations = SO3.random(elements * generation.joints, torch.Generator().manual_seed(seed))
    rotations = rotations.reshape(elements, generation.joints, 3, 3)
    pairs = random_pairs(len(original["pose"]) - split, seed)
    ee, die, unexplained = ({name: np.empty(elements) for name in original} for _ in range(3))
    for e in range(elements):
        turned = _states(networks, generation, rotations[e] @ initial, velocities, every)
        for name in original:
            h, g_h = original[name], turned[name]
            ee[name][e], die[name][e], unexplained[name][e] = held_out_equivariance(
                h[:split], g_h[:split], h[split:], g_h[split:], pairs)
        if progress is not None:
            progress.update(1)
    return SymmetryErrors(ee, die, unexplained, fit_trajectories, test_trajectories)
