"""Scores of a predicted place-cell code against the target code, per joint.

Codes are ``(..., K * C)``: K joints with C cells each, every block a probability vector.
"""

from __future__ import annotations

import torch

from cogmap.errors import CogmapError, check_trailing_shape


def _blocks(name: str, codes: torch.Tensor, joints: int) -> torch.Tensor:
    if joints < 1 or codes.shape[-1] % joints:
        raise CogmapError(f"{name} has {codes.shape[-1]} columns, not a multiple of {joints} joints")
    return codes.reshape(*codes.shape[:-1], joints, codes.shape[-1] // joints)


def kl_divergence(target: torch.Tensor, log_prediction: torch.Tensor, joints: int) -> torch.Tensor:
    """``KL(target || prediction)`` per joint, averaged over joints: shape ``(...)``.

    ``log_prediction`` holds log-probabilities (a network's log-softmax output); cells with
    zero target probability contribute nothing (``0 log 0 = 0``).
    """
    if target.shape != log_prediction.shape:
        raise CogmapError(f"target {tuple(target.shape)} and prediction {tuple(log_prediction.shape)} differ in shape")
    t, lp = _blocks("target", target, joints), _blocks("prediction", log_prediction, joints)
    # xlogy gives 0 where the target is 0, whatever the prediction.
    per_joint = (torch.special.xlogy(t, t) - t * lp).sum(-1)
    return per_joint.mean(-1)


def accuracy(target: torch.Tensor, prediction: torch.Tensor, joints: int) -> torch.Tensor:
    """Fraction of joints whose most active predicted cell is the most active target cell: shape ``(...)``.

    This is the reference setup's accuracy; chance is ``1 / C``.
    """
    if target.shape != prediction.shape:
        raise CogmapError(f"target {tuple(target.shape)} and prediction {tuple(prediction.shape)} differ in shape")
    t, p = _blocks("target", target, joints), _blocks("prediction", prediction, joints)
    return (t.argmax(-1) == p.argmax(-1)).to(target.dtype).mean(-1)


def stay_still_prediction(initial_code: torch.Tensor, steps: int) -> torch.Tensor:
    """The predictor that never integrates: the initial code at every step, ``(N, steps, K*C)``."""
    check_trailing_shape("initial_code", initial_code, (initial_code.shape[-1],), min_batch_dims=1)
    return initial_code[:, None, :].expand(initial_code.shape[0], steps, initial_code.shape[-1])
