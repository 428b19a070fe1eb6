"""The shape of a path integrator's hidden states on SO(3).

If a network's state is a function of the pose it has integrated, the cloud of its states
should have the pose space's topology. For one joint moving while every other joint holds
still (its velocity 0, its start pose the same in every trajectory), the space is SO(3) =
RP^3: with Z/2 coefficients one persistent class in each of H1, H2 and H3, with Z/3 only the
one in H3. States are recorded at one random step per trajectory (independent poses,
Haar-distributed like the start poses), reduced to 9 principal components per moving joint,
thinned of their sparsest points and subsampled to max-min landmarks
(:mod:`cogmap.analysis.topology`).

A trained network's state also carries its trajectory's history (on the shipped GRU about half
of a unit's variance is not explained by the pose), and that spread fills the small cycles of a
100-landmark cloud. The tuning map removes it the way a rate map does: each state is replaced
by the mean state over the trajectories that ended nearest its pose, which asks whether the
pose-dependent part of the population activity is an embedding of SO(3). References on the
same trajectories: the poses themselves (which must show RP^3: the check that the sampling
suffices), the place-cell code, and the tuning map of an untrained network of the same shape.

The whole arm (both joints moving) is SO(3) x SO(3), six-dimensional: with Z/2 its H1 has two
classes. A six-dimensional cloud needs far more landmarks than a three-dimensional one before
Rips persistence sees it (on the poses themselves, 600 landmarks show two H1 bars only 1.3
times longer than the noise); ``arm_landmarks`` sets how many (H1 only, so the cost stays
quadratic); 0 skips the arm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cogmap.analysis.topology import Homology, persistent_homology
from cogmap.errors import CogmapError, check_positive_int
from cogmap.pathint.data import GenerationConfig, complete, sample_motion

_STREAM_TOPOLOGY = (8,)  # a random stream of its own, apart from training, validation and the symmetry test
CLOUDS = ("trained network", "trained tuning map", "untrained tuning map", "pose", "place-cell code")


@dataclass(frozen=True)
class TopologyAnalysis:
    """``joints[name][cloud][coeff]`` for each moving joint alone (the others still), ``arm[cloud][coeff]``
    for all joints moving (empty when skipped)."""

    joints: dict[str, dict[str, dict[int, Homology]]]
    arm: dict[str, dict[int, Homology]]
    samples: int
    settings: dict

    def to_json(self) -> dict:
        def each(table):
            return {cloud: {f"Z/{c}": h.to_json() for c, h in by_coeff.items()} for cloud, by_coeff in table.items()}

        return {"samples": self.samples, "settings": self.settings,
                "one joint moving": {name: each(table) for name, table in self.joints.items()},
                "whole arm": each(self.arm)}


def tuning_map(states: np.ndarray, poses: np.ndarray, k: int) -> np.ndarray:
    """Each state replaced by the mean of the states at the ``k`` nearest poses (itself included):
    the SO(3) analogue of a rate map, sampled at the recorded poses. It keeps what the states
    hold of the pose and averages away what they hold of each trajectory's history."""
    from scipy.spatial import cKDTree

    check_positive_int("k", k)
    if k > len(poses):
        raise CogmapError(f"cannot average over {k} nearest poses of {len(poses)}")
    _, nearest = cKDTree(poses).query(poses, k=k)
    return states[np.asarray(nearest).reshape(len(poses), k)].mean(axis=1)


def _clouds(model, twin, generation: GenerationConfig, initial: torch.Tensor, velocities: torch.Tensor,
            steps: torch.Tensor, moving: list[int]) -> dict[str, np.ndarray]:
    """The states of both networks, the ``moving`` joints' poses and code, at one step per trajectory."""
    trajectories = complete(generation, initial, velocities)
    rows = torch.arange(len(steps))
    out = {name: net.get_hidden_states(velocities, trajectories.initial_code)[rows, steps].cpu()
           for name, net in (("trained", model), ("untrained", twin))}
    cells = generation.cells
    out["pose"] = trajectories.states[rows, steps][:, moving].flatten(1)
    out["place-cell code"] = torch.cat([trajectories.targets[rows, steps][:, k * cells:(k + 1) * cells] for k in moving], 1)
    return {k: v.double().numpy() for k, v in out.items()}


@torch.no_grad()
def topology_analysis(model, generation: GenerationConfig | None = None, n_trajectories: int = 3000,
                      landmarks: int = 100, max_dim: int = 3, coeffs: tuple[int, ...] = (2, 3), keep: float = 0.9,
                      average: int = 20, arm_landmarks: int = 0, shuffles: int = 1, seed: int = 0, chunk: int = 1000,
                      joints: tuple[int, ...] | None = None, clouds: tuple[str, ...] = CLOUDS,
                      progress=None) -> TopologyAnalysis:
    """Persistent homology of ``model``'s states with one joint moving (each joint in turn) and,
    if ``arm_landmarks`` > 0, with all moving (H1 only): the raw states, their tuning map (each
    averaged over the ``average`` nearest poses), the untrained twin's tuning map, the poses and
    the code. Every cloud is reduced to 9 principal components per moving joint (a rotation
    matrix's entries) and its ``keep`` densest points before the landmarks are chosen. ``joints``
    (indices, default all) and ``clouds`` (a subset of :data:`CLOUDS`) narrow what is computed."""
    from cogmap.pathint.model import untrained_twin

    generation = generation if generation is not None else model.generation
    if generation.manifold != "so3":
        raise CogmapError(f"the topology analysis needs a model on SO(3); this one is on {generation.manifold}")
    for name, value in (("n_trajectories", n_trajectories), ("max_dim", max_dim), ("average", average),
                        ("chunk", chunk)):
        check_positive_int(name, value)
    for name, value in (("landmarks", landmarks), ("arm_landmarks", arm_landmarks)):
        if not isinstance(value, int) or value < 0:
            raise CogmapError(f"{name} must be an integer >= 0 (0 skips), got {value!r}")
    if not landmarks and not (arm_landmarks and generation.joints > 1):
        raise CogmapError("nothing to do: landmarks and arm_landmarks are both 0 (or the arm has one joint)")
    if max(landmarks, arm_landmarks, average) > n_trajectories:
        raise CogmapError(f"landmarks, arm_landmarks and average must be at most the {n_trajectories} states, "
                          f"got {landmarks}, {arm_landmarks} and {average}")
    joints = tuple(range(generation.joints)) if joints is None else tuple(joints)
    if not joints or any(not isinstance(k, int) or not 0 <= k < generation.joints for k in joints):
        raise CogmapError(f"joints must be indices in 0..{generation.joints - 1}, got {joints!r}")
    unknown = [c for c in clouds if c not in CLOUDS]
    if unknown or not clouds:
        raise CogmapError(f"clouds must be some of {', '.join(CLOUDS)}; got {list(clouds)!r}")
    model.eval()
    twin = untrained_twin(model, seed)
    initial, velocities = sample_motion(generation, _STREAM_TOPOLOGY, 0, n_trajectories)
    steps = torch.randint(generation.seq_len, (n_trajectories,), generator=torch.Generator().manual_seed(seed))
    dim = generation.space.dim

    def record(init: torch.Tensor, vel: torch.Tensor, moving: list[int]) -> dict[str, np.ndarray]:
        parts = [_clouds(model, twin, generation, init[s:s + chunk], vel[s:s + chunk], steps[s:s + chunk], moving)
                 for s in range(0, n_trajectories, chunk)]
        raw = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        return {"trained network": raw["trained"], "trained tuning map": tuning_map(raw["trained"], raw["pose"], average),
                "untrained tuning map": tuning_map(raw["untrained"], raw["pose"], average),
                "pose": raw["pose"], "place-cell code": raw["place-cell code"]}

    def homology(clouds: dict[str, np.ndarray], n_pcs: int, dims: int, count: int, every_coeff) -> dict:
        out = {}
        for cloud in clouds:
            out[cloud] = persistent_homology(clouds[cloud], dims, every_coeff, n_pcs=n_pcs, keep=keep,
                                             landmarks=count, shuffles=shuffles, seed=seed)
            if progress is not None:
                progress.update(1)
        return out

    by_joint = {}
    for k in (joints if landmarks else ()):
        still = [j for j in range(generation.joints) if j != k]
        init, vel = initial.clone(), velocities.clone()
        init[:, still] = initial[0, still]  # every trajectory's other joints start at one pose ...
        for j in still:                      # ... and never move
            vel[:, :, j * dim:(j + 1) * dim] = 0
        by_joint[f"joint {k + 1}"] = homology(record(init, vel, [k]), 9, max_dim, landmarks, coeffs)
    arm = {}
    if arm_landmarks and generation.joints > 1:
        arm = homology(record(initial, velocities, list(range(generation.joints))), 9 * generation.joints, 1,
                       arm_landmarks, coeffs)
    settings = {"landmarks": landmarks, "max_dim": max_dim, "keep": keep, "n_pcs_per_joint": 9, "average": average,
                "arm_landmarks": arm_landmarks, "shuffles": shuffles}
    return TopologyAnalysis(by_joint, arm, n_trajectories, settings)


def progress_steps(joints: int, one_joint: bool = True, arm: bool = False) -> int:
    """How many updates :func:`topology_analysis` gives its progress bar."""
    return len(CLOUDS) * ((joints if one_joint else 0) + (1 if arm and joints > 1 else 0))
