"""World models with known symmetries (seed 004): a rotating object rendered on the fly, symmetric embeddings
with an equivariant transition and their baseline, trained by a contrastive loss; the measures are in
:mod:`cogmap.analysis.equivariance`."""

from cogmap.worldmodels.data import Trajectories, conjugate_actions, cube_rotations, rigid_trajectories
from cogmap.worldmodels.model import WorldModel, contrastive_loss
from cogmap.worldmodels.rigid import ACTION_NAMES, TEAPOT, Ellipsoid, action_rotations, render
from cogmap.worldmodels.train import (
    WorldModelConfig,
    evaluate,
    latent_rotations,
    load_world_model,
    load_world_model_config,
    train,
)

__all__ = ["ACTION_NAMES", "Ellipsoid", "TEAPOT", "Trajectories", "WorldModel", "WorldModelConfig", "action_rotations",
           "conjugate_actions", "contrastive_loss", "cube_rotations", "evaluate", "latent_rotations", "load_world_model",
           "load_world_model_config", "render", "rigid_trajectories", "train"]
