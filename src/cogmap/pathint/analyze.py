"""What a trained path integrator's hidden states encode: PCA, t-SNE, tuning curves, a linear probe.

The seed coloured its scatter plots by the most active place cell; here every colour is
computed from the true states: on SO(3) each joint's rotation angle and axis components, on
tori each joint's angles, in the box the position.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from cogmap.analysis import PCASummary, TuningCurves, linear_probe_r2, pca_summary, tuning_curves
from cogmap.errors import CogmapError, check_positive_int
from cogmap.geometry import SO3
from cogmap.pathint.data import GenerationConfig, generate

MIN_TSNE_POINTS = 10


def state_features(states: torch.Tensor, manifold: str) -> dict[str, np.ndarray]:
    """Named scalar features of states ``(..., K, *P)``, each ``(...)``, to colour and tune by.

    On SO(3): per joint the rotation angle (rad) and the components of the unit rotation axis;
    on tori: per joint each angle; in the box: per joint x and y.
    """
    features = {}
    if manifold == "so3":
        rotvec = SO3.log(states.double())  # (..., K, 3)
        angle = rotvec.norm(dim=-1)
        axis = rotvec / angle.clamp_min(1e-12)[..., None]
        for k in range(states.shape[-3]):
            features[f"joint{k + 1} angle"] = angle[..., k].numpy()
            for i, name in enumerate("xyz"):
                features[f"joint{k + 1} axis {name}"] = axis[..., k, i].numpy()
        return features
    names = "xy" if manifold == "box" else [f"angle {i + 1}" for i in range(states.shape[-1])]
    for k in range(states.shape[-2]):
        for i, name in enumerate(names):
            features[f"joint{k + 1} {name}"] = states[..., k, i].double().numpy()
    return features


def probe_targets(states: torch.Tensor, manifold: str) -> np.ndarray:
    """What a linear probe reads out, ``(..., K, F)``: a continuous embedding of each joint's state.

    Rotation matrices on SO(3) (9 numbers), ``(cos, sin)`` of each angle on tori (an angle itself
    jumps at pi), positions in the box.
    """
    if manifold in ("so2",) or manifold.startswith("torus"):
        return torch.cat([states.cos(), states.sin()], dim=-1).double().numpy()
    return states.flatten(start_dim=states.dim() - (2 if manifold == "so3" else 1)).double().numpy()


@dataclass(frozen=True)
class HiddenStateAnalysis:
    """Hidden states of a model on validation trajectories and what was computed from them."""

    hidden: np.ndarray  # (trajectories, steps, units)
    features: dict  # name -> (trajectories, steps)
    pca: PCASummary
    pca_points: np.ndarray  # (trajectories * steps, 2)
    tsne_points: np.ndarray | None  # (m, 2), or None when t-SNE was skipped
    tsne_index: np.ndarray  # (m,) rows of the flattened states that t-SNE embedded
    tuning: dict[str, TuningCurves]  # per "angle" feature (SO(3) and tori)
    probe_r2: dict[str, float]  # held-out R^2 of a linear read-out of the states (see probe_targets)

    @property
    def flat_features(self) -> dict[str, np.ndarray]:
        return {name: value.reshape(-1) for name, value in self.features.items()}

    def to_json(self) -> dict:
        n, steps, units = self.hidden.shape
        return {
            "trajectories": n, "steps": steps, "units": units,
            "pca": {"explained_variance_ratio_top10": self.pca.explained_variance_ratio[:10].tolist(),
                    "components_for_95_percent": self.pca.n_components_95,
                    "participation_ratio": self.pca.participation_ratio},
            "linear_probe_r2": self.probe_r2,
            "tuning": {name: {"most_selective_units": curves.most_selective(5).tolist(),
                              "their_selectivity": curves.selectivity[curves.most_selective(5)].tolist(),
                              "median_selectivity": float(np.nanmedian(curves.selectivity))}
                       for name, curves in self.tuning.items()},
            "tsne_points": int(len(self.tsne_index)),
        }


def check_tsne_points(tsne_points: int, flag: str = "tsne_points") -> None:
    if not isinstance(tsne_points, int) or (tsne_points != 0 and tsne_points < MIN_TSNE_POINTS):
        raise CogmapError(f"{flag} must be 0 (no t-SNE) or at least {MIN_TSNE_POINTS}, got {tsne_points}")


@torch.no_grad()
def analyze_model(model, generation: GenerationConfig, n_trajectories: int = 200, tsne_points: int = 4000,
                  bins: int = 24, seed: int = 0, seq_len: int | None = None) -> HiddenStateAnalysis:
    """Hidden states of ``n_trajectories`` validation trajectories and everything computed from them.

    ``tsne_points`` states (a seeded subsample) are embedded by t-SNE; 0 skips it. Its
    perplexity is 30, or a third of the points when there are fewer than 91.
    """
    check_positive_int("n_trajectories", n_trajectories)
    check_tsne_points(tsne_points)
    if seq_len is not None:
        generation = dataclasses.replace(generation, seq_len=seq_len)
    model.eval()
    device = next(model.parameters()).device
    tr = generate(generation, n_trajectories, "val")
    hidden = model.get_hidden_states(tr.velocities.to(device), tr.initial_code.to(device)).float().cpu().numpy()
    n, steps, units = hidden.shape
    flat = hidden.reshape(n * steps, units)
    features = state_features(tr.states, generation.manifold)
    flat_features = {name: value.reshape(n * steps) for name, value in features.items()}
    pca = pca_summary(flat)

    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(n * steps, size=min(tsne_points, n * steps), replace=False))
    tsne = None
    if len(chosen):
        from sklearn.manifold import TSNE

        perplexity = min(30.0, (len(chosen) - 1) / 3)
        tsne = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(
            pca.project(flat[chosen], n=min(50, units)))

    tuning = {name: tuning_curves(flat, values, bins=bins, value_range=(0, np.pi) if generation.manifold == "so3"
                                  else (float(values.min()), float(values.max())))
              for name, values in flat_features.items() if "angle" in name}
    groups = np.repeat(np.arange(n), steps)
    per_joint = probe_targets(tr.states, generation.manifold).reshape(n * steps, generation.joints, -1)
    probe = {"all joints": linear_probe_r2(flat, per_joint.reshape(n * steps, -1), groups, seed=seed)}
    for k in range(generation.joints):
        probe[f"joint{k + 1}"] = linear_probe_r2(flat, per_joint[:, k], groups, seed=seed)
    return HiddenStateAnalysis(hidden, features, pca, pca.project(flat, 2), tsne, chosen, tuning, probe)
