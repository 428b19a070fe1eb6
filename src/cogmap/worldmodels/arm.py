"""The path integrators' two-joint arm, rendered: links of ellipsoids on SO(3) x SO(3), or flat on SO(2) x SO(2).

The shoulder sits at the centre of the image. Link 1 points along ``R1 e_x`` from the shoulder;
link 2 along ``R1 R2 e_x`` from the elbow: ``R2`` is the elbow's rotation relative to link 1,
so turning the shoulder carries the forearm with it. The camera looks down the world's -z axis
(orthographic, as in :func:`~cogmap.worldmodels.rigid.render`).

A link is an ellipsoid about its own axis, so a turn of a link about that axis would not show:
each link carries a bright marker on one side (link 1 on its +y side, link 2 on its +z side),
which makes every pose of the 3-D arm a different image (how nearly, is measured by
:func:`cogmap.worldmodels.domains.pose_ambiguity`). The planar arm turns about the viewing axis
only; the same body is drawn with its joints' rotations embedded in SO(3).
"""

from __future__ import annotations

import torch

from cogmap.errors import CogmapError
from cogmap.worldmodels.rigid import AMBIENT, LIGHT, render_ellipsoids

UPPER, FORE = 0.46, 0.38  # link lengths; the reach, 0.84 plus a marker, stays inside the [-1, 1] image
_LINK_RADIUS, _JOINT_RADIUS, _MARKER_RADIUS = 0.12, 0.14, 0.10
# (albedo of) shoulder, upper arm, its marker, elbow, forearm, its marker
ALBEDO = (0.45, 0.80, 1.00, 0.45, 0.60, 1.00)


def _ellipsoid(centre, frame, radii):
    """Centre ``(B, 3)`` and shape matrix ``(B, 3, 3)`` of an ellipsoid with ``radii`` along ``frame``'s columns."""
    inverse_squares = torch.tensor(radii, dtype=frame.dtype, device=frame.device).pow(-2)
    return centre, frame @ torch.diag_embed(inverse_squares) @ frame.transpose(-1, -2)


def render_arm(poses: torch.Tensor, size: int = 64, light=LIGHT, ambient: float = AMBIENT,
               supersample: int = 1) -> torch.Tensor:
    """Grey images ``(B, size, size)`` of the arm in the joint rotations ``poses`` ``(B, 2, 3, 3)``."""
    if not torch.is_tensor(poses) or poses.dim() != 4 or poses.shape[1:] != (2, 3, 3):
        raise CogmapError(f"arm poses must be a tensor of shape (B, 2, 3, 3), got "
                          f"{tuple(poses.shape) if torch.is_tensor(poses) else type(poses).__name__}")
    if not torch.isfinite(poses).all():
        raise CogmapError("arm poses hold NaN or infinite values")
    upper = poses[:, 0]
    fore = upper @ poses[:, 1]  # the forearm's orientation in the world
    eye = torch.eye(3, dtype=poses.dtype, device=poses.device).expand_as(upper)
    origin = torch.zeros(len(poses), 3, dtype=poses.dtype, device=poses.device)
    elbow = UPPER * upper[:, :, 0]
    parts = [
        _ellipsoid(origin, eye, (_JOINT_RADIUS,) * 3),
        _ellipsoid(elbow / 2, upper, (UPPER / 2 + 0.02, _LINK_RADIUS, _LINK_RADIUS)),
        _ellipsoid(0.6 * elbow + _LINK_RADIUS * upper[:, :, 1], eye, (_MARKER_RADIUS,) * 3),
        _ellipsoid(elbow, eye, (_JOINT_RADIUS * 0.9,) * 3),
        _ellipsoid(elbow + FORE / 2 * fore[:, :, 0], fore, (FORE / 2 + 0.02, 0.8 * _LINK_RADIUS, 0.8 * _LINK_RADIUS)),
        _ellipsoid(elbow + 0.6 * FORE * fore[:, :, 0] + 0.8 * _LINK_RADIUS * fore[:, :, 2], eye, (_MARKER_RADIUS,) * 3),
    ]
    centres = torch.stack([c for c, _ in parts], 1)
    shapes = torch.stack([q for _, q in parts], 1)
    albedo = torch.tensor(ALBEDO, dtype=poses.dtype, device=poses.device)
    return render_ellipsoids(centres, shapes, albedo, size, light, ambient, supersample)


def planar_to_spatial(poses: torch.Tensor) -> torch.Tensor:
    """Planar joint rotations ``(..., 2, 2)`` as rotations about the viewing axis ``(..., 3, 3)``."""
    spatial = torch.zeros(*poses.shape[:-2], 3, 3, dtype=poses.dtype, device=poses.device)
    spatial[..., :2, :2] = poses
    spatial[..., 2, 2] = 1.0
    return spatial
