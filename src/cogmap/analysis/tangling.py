"""Trajectory tangling (Russo et al. 2018, Neuron 97:953): how much a trajectory's flow opposes itself.

For states ``x(t)`` and their time derivatives ``x'(t)``,

    Q(t) = max over t' of ||x'(t) - x'(t')||^2 / (||x(t) - x(t')||^2 + eps).

High Q means two nearby states move in different directions, which a smooth autonomous
dynamical system cannot do: a circle traversed at constant speed is the least tangled cycle,
and a figure-eight that crosses itself is maximally tangled at the crossing. ``t'`` ranges over
every time of every condition analysed together, as in Russo et al.; derivatives are backward
differences divided by ``dt`` within each condition (the first time of a condition takes the
second's), never across the end of one condition into the next.

:func:`tangling` is the formula on any array; :func:`tangle_analysis` adds the reference
analysis's preprocessing (Russo's ``tangleAnalysis.m``): soft normalisation of each unit by its
range plus a constant, mean-centring, projection on the top principal components (8 by
default), and ``eps = 0.1 x`` the summed variances of what is analysed. Pairs are processed in
chunks, so memory stays bounded (about ``chunk x T`` numbers) whatever the number of time points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cogmap.errors import CogmapError

ALPHA = 0.1  # eps = ALPHA x the summed variances (Russo et al.'s choice)
CHUNK_ENTRIES = 1 << 22  # pairs per chunk: 4M doubles, 32 MB for each of the two distance blocks


def _as_conditions(x, what: str = "x") -> tuple[list[torch.Tensor], str]:
    """``x`` as a list of ``(T_c, D)`` float64 tensors, and the form to give results back in.

    Accepts ``(T, D)``, ``(C, T, D)`` or a sequence of ``(T_c, D)`` arrays or tensors.
    """
    if isinstance(x, (list, tuple)):
        if not x:
            raise CogmapError(f"{what} holds no conditions")
        parts = [_as_tensor(p, f"{what}[{i}]") for i, p in enumerate(x)]
        form = "list"
    else:
        t = _as_tensor(x, what, allow_3d=True)
        parts, form = (list(t.unbind(0)), "stacked") if t.dim() == 3 else ([t], "single")
    widths = {p.shape[1] for p in parts}
    if len(widths) != 1:
        raise CogmapError(f"every condition of {what} must have the same number of dimensions, got {sorted(widths)}")
    for i, p in enumerate(parts):
        if p.shape[0] < 2:
            raise CogmapError(f"{what}: condition {i} has {p.shape[0]} time point(s); tangling needs at least 2")
    return parts, form


def _as_tensor(value, what: str, allow_3d: bool = False) -> torch.Tensor:
    t = value if torch.is_tensor(value) else torch.as_tensor(np.asarray(value, dtype=np.float64))
    if t.dim() not in ((2, 3) if allow_3d else (2,)):
        shapes = "(T, D), (conditions, T, D) or a list of (T, D)" if allow_3d else "(T, D)"
        raise CogmapError(f"{what} must have shape {shapes}, got {tuple(t.shape)}")
    t = t.to(torch.float64)
    if not torch.isfinite(t).all():
        raise CogmapError(f"{what} contains NaN or infinite values")
    return t


def _give_back(values: torch.Tensor, lengths: list[int], form: str, like) -> object:
    """Per-time values in the form ``x`` came in: ``(T,)``, ``(C, T)`` or a list; NumPy unless ``x`` was a tensor."""
    as_numpy = not (torch.is_tensor(like) or (isinstance(like, (list, tuple)) and torch.is_tensor(like[0])))
    pieces = list(values.split(lengths))
    if as_numpy:
        pieces = [p.cpu().numpy() for p in pieces]
    if form == "single":
        return pieces[0]
    if form == "stacked":
        return np.stack(pieces) if as_numpy else torch.stack(pieces)
    return pieces


def derivatives(parts: list[torch.Tensor], dt: float) -> torch.Tensor:
    """Backward differences over ``dt`` within each condition, all conditions stacked ``(sum T_c, D)``."""
    pieces = []
    for p in parts:
        d = p.diff(dim=0)
        pieces.append(torch.cat([d[:1], d]) / dt)  # the first time takes the second's derivative
    return torch.cat(pieces)


def max_tangling(x: torch.Tensor, x_dot: torch.Tensor, eps: float, same_condition: torch.Tensor | None = None,
                 chunk_entries: int = CHUNK_ENTRIES) -> tuple[torch.Tensor, torch.Tensor]:
    """``Q(t)`` and the ``t'`` attaining it, over all pairs of rows of ``x`` and ``x_dot`` ``(N, D)``.

    Rows are compared a chunk at a time (``chunk_entries`` pairs), with squared distances from
    the expansion ``|a|^2 + |b|^2 - 2 a.b`` in float64. ``same_condition`` (condition index per
    row) restricts ``t'`` to ``t``'s own condition.
    """
    n = x.shape[0]
    sq_x, sq_v = x.pow(2).sum(-1), x_dot.pow(2).sum(-1)
    q_max = torch.empty(n, dtype=x.dtype, device=x.device)
    partner = torch.empty(n, dtype=torch.long, device=x.device)
    rows = max(1, chunk_entries // max(n, 1))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        d_state = (sq_x[start:stop, None] + sq_x[None] - 2 * x[start:stop] @ x.T).clamp_min(0)
        d_flow = (sq_v[start:stop, None] + sq_v[None] - 2 * x_dot[start:stop] @ x_dot.T).clamp_min(0)
        q = d_flow / (d_state + eps)
        if same_condition is not None:
            q = q.masked_fill(same_condition[start:stop, None] != same_condition[None], -1.0)
        q_max[start:stop], partner[start:stop] = q.max(dim=1)
    return q_max, partner


def _check_scalar(name: str, value, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or \
            (value <= 0 if positive else value < 0):
        raise CogmapError(f"{name} must be a {'positive' if positive else 'non-negative'} finite number, got {value!r}")
    return float(value)


def _top_components(x: torch.Tensor, k: int) -> torch.Tensor:
    """The top ``k`` principal axes ``(D, k)`` of (already centred) rows ``x``."""
    _, _, vh = torch.linalg.svd(x, full_matrices=False)
    return vh[:k].T


def tangling(x, dt: float = 1.0, eps: float | None = None, n_pcs: int | None = None, device=None):
    """Tangling ``Q(t)`` of every time point of ``x``.

    Args:
        x: states ``(T, D)``, ``(conditions, T, D)`` or a list of ``(T_c, D)`` arrays (NumPy or
            torch); all conditions are compared with each other.
        dt: time between samples; derivatives are backward differences divided by ``dt``.
        eps: the constant in the denominator; default ``0.1 x`` the total variance of the states
            analysed (the sum over dimensions of each dimension's variance over all times and
            conditions, after the projection when ``n_pcs`` is given), which makes Q invariant to
            the data's scale.
        n_pcs: project the (mean-centred) states on their top ``n_pcs`` principal components first.
        device: where to compute (default: ``x``'s device for tensors, else the CPU).

    Returns:
        ``Q`` shaped like ``x`` without its last axis: ``(T,)``, ``(conditions, T)`` or a list;
        a NumPy array for NumPy input, a tensor for tensor input.
    """
    parts, form = _as_conditions(x)
    lengths = [p.shape[0] for p in parts]
    states = torch.cat(parts)
    if device is not None or states.device.type != "cpu":
        states = states.to(device if device is not None else states.device)
    if n_pcs is not None:
        if not isinstance(n_pcs, int) or isinstance(n_pcs, bool) or n_pcs < 1:
            raise CogmapError(f"n_pcs must be a positive integer, got {n_pcs!r}")
        centred = states - states.mean(0)
        states = centred @ _top_components(centred, min(n_pcs, states.shape[1]))
    dt = _check_scalar("dt", dt)
    x_dot = derivatives(list(states.split(lengths)), dt)
    if eps is None:
        eps = ALPHA * float(states.var(dim=0).sum())
    eps = _check_scalar("eps", eps)
    q, _ = max_tangling(states, x_dot, eps)
    return _give_back(q, lengths, form, x)


@dataclass(frozen=True)
class TangleAnalysis:
    """The reference analysis's results (Russo's ``tangleAnalysis.m``), per time point of all conditions."""

    q: np.ndarray  # (N,) Q of every analysed time point, conditions one after the other
    partner: np.ndarray  # (N,) the time point each one is most tangled with
    condition: np.ndarray  # (N,) condition index of each time point
    x: np.ndarray  # (N, K) the projections analysed
    x_dot: np.ndarray  # (N, K) their derivatives
    eps: float
    n_pcs: int

    def per_condition(self) -> list[np.ndarray]:
        return [self.q[self.condition == c] for c in range(int(self.condition.max()) + 1)]


def tangle_analysis(conditions: Sequence, dt: float, n_pcs: int | None = 8, soften_norm: float | None = None,
                    alpha: float = ALPHA, time_step: int = 1, within_conditions_only: bool = False,
                    eps: float | None = None, device=None) -> TangleAnalysis:
    """Tangling as Russo et al.'s ``tangleAnalysis.m`` computes it, from ``(T_c, D)`` activity per condition.

    Each unit is divided by its range over all times and conditions plus ``soften_norm`` (the
    reference uses 5 for firing rates, 0 for EMG; None skips it), the data are mean-centred and
    projected on their top ``n_pcs`` principal components (None: all), derivatives are taken
    within each condition, and ``eps = alpha x`` the summed variances of the projections.
    ``time_step`` > 1 keeps every ``time_step``-th time point (after the derivatives), as the
    reference does to save time; ``within_conditions_only`` compares each time only with times
    of its own condition.
    """
    parts, _ = _as_conditions(list(conditions) if isinstance(conditions, (list, tuple)) else conditions, "conditions")
    if not isinstance(time_step, int) or time_step < 1:
        raise CogmapError(f"time_step must be a positive integer, got {time_step!r}")
    lengths = [p.shape[0] for p in parts]
    activity = torch.cat(parts)
    if device is not None:
        activity = activity.to(device)
    if soften_norm is not None:
        soften_norm = _check_scalar("soften_norm", soften_norm, positive=False)
        span = activity.amax(0) - activity.amin(0) + soften_norm
        if bool((span == 0).any()):
            raise CogmapError("a unit never changes; soft normalisation with soften_norm 0 would divide by 0")
        activity = activity / span
    activity = activity - activity.mean(0)
    k = activity.shape[1] if n_pcs is None else min(int(n_pcs), activity.shape[1])
    states = activity @ _top_components(activity, k)
    x_dot = derivatives(list(states.split(lengths)), _check_scalar("dt", dt))
    eps = _check_scalar("alpha", alpha) * float(states.var(dim=0).sum()) if eps is None else _check_scalar("eps", eps)
    condition = torch.cat([torch.full((n,), c, dtype=torch.long) for c, n in enumerate(lengths)]).to(states.device)
    keep = torch.arange(len(states), device=states.device)[::time_step]
    states, x_dot, condition = states[keep], x_dot[keep], condition[keep]
    q, partner = max_tangling(states, x_dot, eps, condition if within_conditions_only else None)
    return TangleAnalysis(q.cpu().numpy(), partner.cpu().numpy(), condition.cpu().numpy(), states.cpu().numpy(),
                          x_dot.cpu().numpy(), eps, k)
