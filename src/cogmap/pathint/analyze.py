"""What a trained path integrator's hidden states encode: PCA, t-SNE, tuning curves, a linear probe.

The seed coloured its scatter plots by the most active place cell; here every colour is
computed from the true joint rotations (rotation angle and axis components per joint).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from cogmap.analysis import linear_probe_r2, pca_summary, tuning_curves
from cogmap.errors import check_positive_int
from cogmap.geometry import SO3
from cogmap.pathint.data import GenerationConfig, generate


def rotation_features(states: torch.Tensor) -> dict[str, np.ndarray]:
    """Per joint: rotation angle (rad) and the components of the unit rotation axis, each ``(..., )``."""
    rotvec = SO3.log(states.double())  # (..., K, 3)
    angle = rotvec.norm(dim=-1)
    axis = rotvec / angle.clamp_min(1e-12)[..., None]
    features = {}
    for k in range(states.shape[-3]):
        features[f"joint{k + 1} angle"] = angle[..., k].numpy()
        for i, name in enumerate("xyz"):
            features[f"joint{k + 1} axis {name}"] = axis[..., k, i].numpy()
    return features


@torch.no_grad()
def analyze_model(model, generation: GenerationConfig, n_trajectories: int = 200, tsne_points: int = 4000,
                  bins: int = 24, seed: int = 0, seq_len: int | None = None) -> dict:
    """Hidden states of ``n_trajectories`` validation trajectories and everything computed from them."""
    check_positive_int("n_trajectories", n_trajectories)
    if seq_len is not None:
        generation = dataclasses.replace(generation, seq_len=seq_len)
    model.eval()
    device = next(model.parameters()).device
    tr = generate(generation, n_trajectories, "val")
    hidden = model.get_hidden_states(tr.velocities.to(device), tr.initial_code.to(device)).float().cpu().numpy()
    n, steps, units = hidden.shape
    flat = hidden.reshape(n * steps, units)
    features = rotation_features(tr.states)
    flat_features = {name: value.reshape(n * steps) for name, value in features.items()}
    pca = pca_summary(flat)

    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(n * steps, size=min(tsne_points, n * steps), replace=False))
    from sklearn.manifold import TSNE

    tsne = TSNE(n_components=2, init="pca", perplexity=30, random_state=seed).fit_transform(pca.project(flat[chosen], n=min(50, units)))

    tuning = {name: tuning_curves(flat, flat_features[name], bins=bins, value_range=(0, np.pi))
              for name in flat_features if name.endswith("angle")}
    groups = np.repeat(np.arange(n), steps)
    matrices = tr.states.reshape(n * steps, generation.joints, 9).double().numpy()
    probe = {"all joints": linear_probe_r2(flat, matrices.reshape(n * steps, -1), groups, seed=seed)}
    for k in range(generation.joints):
        probe[f"joint{k + 1}"] = linear_probe_r2(flat, matrices[:, k], groups, seed=seed)

    return {
        "hidden": hidden, "features": features, "flat_features": flat_features, "pca": pca,
        "pca_points": pca.project(flat, 2), "tsne_points": tsne, "tsne_index": chosen, "tuning": tuning, "probe_r2": probe,
        "summary": {
            "trajectories": n, "steps": steps, "units": units,
            "pca": {"explained_variance_ratio_top10": pca.explained_variance_ratio[:10].tolist(),
                    "components_for_95_percent": pca.n_components_95, "participation_ratio": pca.participation_ratio},
            "linear_probe_r2_rotation_matrices": probe,
            "tuning": {name: {"most_selective_units": curves.most_selective(5).tolist(),
                              "their_selectivity": curves.selectivity[curves.most_selective(5)].tolist(),
                              "median_selectivity": float(np.nanmedian(curves.selectivity))}
                       for name, curves in tuning.items()},
            "tsne_points": int(len(chosen)),
        },
    }
