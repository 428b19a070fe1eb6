"""World models with known symmetries (Park et al. 2022): bodies whose poses are rotations (a teapot-like object on
SO(3), the two-joint arm on SO(3) x SO(3) and flat on SO(2) x SO(2)) and C-SWM's grid world of pushed objects, rendered
on the fly, symmetric embeddings with
an equivariant transition and their baseline, trained by a contrastive loss; the measures are in
:mod:`cogmap.analysis.equivariance`."""

from cogmap.worldmodels.arm import render_arm
from cogmap.worldmodels.data import Trajectories, conjugate_actions, parse_actions, rigid_trajectories, trajectories
from cogmap.worldmodels.domains import DOMAINS, Domain, cube_rotations, get_domain, pose_ambiguity, pose_distance
from cogmap.worldmodels.model import WorldModel, contrastive_loss
from cogmap.worldmodels.objects import ObjectWorldModel, evaluate_objects, latent_grid
from cogmap.worldmodels.rigid import ACTION_NAMES, TEAPOT, Ellipsoid, action_rotations, render, render_ellipsoids
from cogmap.worldmodels.train import (
    WorldModelConfig,
    evaluate,
    latent_rotations,
    load_world_model,
    load_world_model_config,
    train,
)

__all__ = ["ACTION_NAMES", "DOMAINS", "Domain", "Ellipsoid", "ObjectWorldModel", "TEAPOT", "Trajectories", "WorldModel",
           "WorldModelConfig", "evaluate_objects", "latent_grid",
           "action_rotations", "conjugate_actions", "contrastive_loss", "cube_rotations", "evaluate", "get_domain",
           "latent_rotations", "load_world_model", "load_world_model_config", "parse_actions", "pose_ambiguity",
           "pose_distance", "render", "render_arm", "render_ellipsoids", "rigid_trajectories", "trajectories", "train"]
