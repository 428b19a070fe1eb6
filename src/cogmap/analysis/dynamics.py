"""Dynamics of recurrent networks: fixed points, Jacobians, eigenvalues, integration timescales.

A recurrent update is any function ``step(state (N, S), input (N, I)) -> state (N, S)``;
:func:`recurrent_step` makes one from a one-layer ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM`` (for the
LSTM the state is ``(h, c)`` concatenated, ``S = 2 * hidden``, since both carry memory).

- Fixed points (Sussillo & Barak 2013): minimise ``q(h) = 1/2 ||step(h, u) - h||^2`` from many
  initial states at once; keep points with ``q`` below a tolerance; merge duplicates closer
  than ``unique_tolerance``, keeping the lowest-``q`` representative.
- Jacobians with respect to the state and the input at any expansion points (batched, exact,
  by automatic differentiation), eigenvalues sorted by magnitude, stability (all ``|lambda| < 1``).
- Timescales (Maheswaranathan et al. 2019): ``tau = |1 / ln|lambda||`` steps per mode, and
  confidence intervals of the slowest modes over expansion points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cogmap.errors import CogmapError, check_positive, check_positive_int

Step = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def recurrent_step(module: nn.Module) -> Step:
    """The one-step update of a one-layer, unidirectional ``nn.RNN``/``nn.GRU``/``nn.LSTM``.

    Written out from the module's weights (PyTorch's equations), so that it can be batched and
    differentiated with ``torch.func``; it equals one step of the module itself.
    """
    if not isinstance(module, (nn.RNN, nn.GRU, nn.LSTM)) or module.num_layers != 1 or module.bidirectional:
        raise CogmapError("recurrent_step needs a one-layer, unidirectional nn.RNN, nn.GRU or nn.LSTM")
    if getattr(module, "proj_size", 0):
        raise CogmapError("LSTMs with proj_size are not supported")
    hidden = module.hidden_size
    w_ih, w_hh = module.weight_ih_l0, module.weight_hh_l0
    b_ih = module.bias_ih_l0 if module.bias else torch.zeros(w_ih.shape[0], dtype=w_ih.dtype, device=w_ih.device)
    b_hh = module.bias_hh_l0 if module.bias else torch.zeros_like(b_ih)

    def step(state: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        gi = inputs @ w_ih.T + b_ih
        if isinstance(module, nn.LSTM):
            h, c = state[..., :hidden], state[..., hidden:]
            i, f, g, o = (gi + h @ w_hh.T + b_hh).chunk(4, dim=-1)
            c1 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            return torch.cat([torch.sigmoid(o) * torch.tanh(c1), c1], dim=-1)
        gh = state @ w_hh.T + b_hh
        if isinstance(module, nn.GRU):
            ir, iz, in_ = gi.chunk(3, dim=-1)
            hr, hz, hn = gh.chunk(3, dim=-1)
            r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
            return (1 - z) * torch.tanh(in_ + r * hn) + z * state
        activation = torch.tanh if module.nonlinearity == "tanh" else torch.relu
        return activation(gi + gh)

    return step


def _broadcast_inputs(inputs: torch.Tensor, n: int) -> torch.Tensor:
    inputs = torch.as_tensor(inputs)
    if inputs.dim() == 1:
        inputs = inputs.expand(n, inputs.shape[0])
    if inputs.dim() != 2 or inputs.shape[0] != n:
        raise CogmapError(f"inputs must have shape (input_dim,) or ({n}, input_dim), got {tuple(inputs.shape)}")
    return inputs


def jacobians(step: Step, states: torch.Tensor, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``d step / d state`` ``(N, S, S)`` and ``d step / d input`` ``(N, S, I)`` at each expansion point."""
    if states.dim() != 2:
        raise CogmapError(f"states must have shape (N, state_dim), got {tuple(states.shape)}")
    inputs = _broadcast_inputs(inputs, states.shape[0]).to(states)

    def one(h, u):
        return step(h[None], u[None])[0]

    j_state, j_input = torch.func.vmap(torch.func.jacrev(one, argnums=(0, 1)))(states.detach(), inputs.detach())
    return j_state.detach(), j_input.detach()


def sorted_eigenvalues(matrices: torch.Tensor) -> torch.Tensor:
    """Eigenvalues ``(N, S)`` (complex) of each matrix, largest magnitude first."""
    values = torch.linalg.eigvals(matrices.double())
    order = values.abs().argsort(dim=-1, descending=True)
    return values.gather(-1, order)


def is_stable(eigenvalues: torch.Tensor) -> torch.Tensor:
    """``(N,)``: every eigenvalue strictly inside the unit circle (a stable discrete-time fixed point)."""
    return (eigenvalues.abs() < 1).all(dim=-1)


def timescales(eigenvalues: torch.Tensor, dt: float = 1.0) -> torch.Tensor:
    """``|1 / ln|lambda||`` per eigenvalue, times ``dt`` (steps by default); inf for ``|lambda| = 1``."""
    magnitude = eigenvalues.abs().double()
    return (dt / magnitude.log().abs()).where(magnitude != 1, torch.full_like(magnitude, float("inf")))


@dataclass
class TimescaleSummary:
    mean: np.ndarray  # (k,) geometric means of the k slowest modes over expansion points
    lower: np.ndarray
    upper: np.ndarray
    confidence: float


def timescale_intervals(eigenvalues: torch.Tensor, top: int = 5, confidence: float = 0.99,
                        dt: float = 1.0) -> TimescaleSummary:
    """Geometric mean and confidence interval of the ``top`` slowest timescales across expansion points.

    ``eigenvalues`` ``(N, S)`` in any order; mode ``k`` of each point is its k-th slowest (largest
    ``tau``: not always the k-th largest ``|lambda|``, since an eigenvalue outside the unit circle
    has a shorter timescale the larger it is), so the modes come out slowest first at every point
    and on average. Timescales are positive and heavy-tailed (an
    eigenvalue near the unit circle gives a huge one), so the Student-t interval is taken on
    their logarithms and mapped back: it is always positive and not dominated by one point.
    """
    from scipy import stats

    check_positive_int("top", top)
    if not 0 < confidence < 1:
        raise CogmapError(f"confidence must be in (0, 1), got {confidence}")
    slowest = timescales(eigenvalues, dt).sort(dim=-1, descending=True).values[:, :top]
    log_tau = np.log(slowest.numpy())
    n = log_tau.shape[0]
    centre = log_tau.mean(axis=0)
    if n < 2:
        return TimescaleSummary(np.exp(centre), np.exp(centre), np.exp(centre), confidence)
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * log_tau.std(axis=0, ddof=1) / np.sqrt(n)
    return TimescaleSummary(np.exp(centre), np.exp(centre - half), np.exp(centre + half), confidence)


def _newton_polish(step: Step, points: torch.Tensor, inputs: torch.Tensor, steps: int) -> torch.Tensor:
    """Newton steps on ``step(h) - h = 0``, each kept only where it lowers ``q`` (Adam stalls near minima)."""
    eye = torch.eye(points.shape[1], dtype=points.dtype, device=points.device)
    for _ in range(steps):
        with torch.no_grad():
            residual = step(points, inputs) - points
        j_state = jacobians(step, points, inputs)[0].detach()
        try:
            delta = torch.linalg.solve(j_state - eye, -residual[..., None])[..., 0]
        except RuntimeError:  # a singular system somewhere: fall back to least squares
            delta = torch.linalg.lstsq(j_state - eye, -residual[..., None]).solution[..., 0]
        candidate = (points + delta).detach()
        with torch.no_grad():
            better = (step(candidate, inputs) - candidate).pow(2).sum(-1) < residual.pow(2).sum(-1)
        better &= torch.isfinite(candidate).all(-1)
        points = torch.where(better[:, None], candidate, points)
    return points


@dataclass
class FixedPoints:
    states: torch.Tensor  # (K, S), lowest q first
    q: torch.Tensor  # (K,)
    eigenvalues: torch.Tensor  # (K, S), largest magnitude first
    stable: torch.Tensor  # (K,) bool
    candidates: int  # initial states tried
    converged: int  # of which reached q <= tolerance (before merging duplicates)


def find_fixed_points(step: Step, initial_states: torch.Tensor, inputs: torch.Tensor, iterations: int = 2000,
                      lr: float = 0.01, q_tolerance: float = 1e-10, unique_tolerance: float = 1e-3,
                      noise: float = 0.0, seed: int = 0, newton_steps: int = 10) -> FixedPoints:
    """Fixed points of ``step(., inputs)`` found from ``initial_states`` ``(N, S)`` (e.g. recorded states).

    All candidates descend ``q`` together with Adam, then up to ``newton_steps`` Newton steps on
    ``step(h) - h = 0`` polish them (a step is kept only where it lowers ``q``, so points far
    from any root stay where Adam left them); ``noise`` adds Gaussian jitter to the starts (to
    escape the recorded trajectory). Points with ``q > q_tolerance`` are dropped;
    points within ``unique_tolerance`` (Euclidean) of a lower-``q`` point are duplicates.
    """
    check_positive_int("iterations", iterations)
    check_positive("lr", lr)
    check_positive("q_tolerance", q_tolerance)
    if initial_states.dim() != 2:
        raise CogmapError(f"initial_states must have shape (N, state_dim), got {tuple(initial_states.shape)}")
    n = initial_states.shape[0]
    inputs = _broadcast_inputs(inputs, n).to(initial_states).detach()
    start = initial_states.detach().clone()
    if noise > 0:
        start = start + noise * torch.randn(start.shape, generator=torch.Generator().manual_seed(seed)).to(start)
    h = start.requires_grad_(True)
    optimiser = torch.optim.Adam([h], lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, iterations, eta_min=lr * 1e-3)
    for _ in range(iterations):
        q = 0.5 * (step(h, inputs) - h).pow(2).sum(-1)
        optimiser.zero_grad()
        q.sum().backward()  # the points are independent: the sum's gradient is each one's own
        optimiser.step()
        scheduler.step()
    points = _newton_polish(step, h.detach(), inputs, newton_steps)
    with torch.no_grad():
        q = 0.5 * (step(points, inputs) - points).pow(2).sum(-1)
    keep = q <= q_tolerance
    converged = int(keep.sum())
    points, q, used_inputs = points[keep], q[keep], inputs[keep]
    order = q.argsort()
    chosen: list[int] = []
    for i in order.tolist():
        if all(float((points[i] - points[j]).norm()) > unique_tolerance for j in chosen):
            chosen.append(i)
    index = torch.tensor(chosen, dtype=torch.long)
    points, q, used_inputs = points[index], q[index], used_inputs[index]
    if len(points):
        eigenvalues = sorted_eigenvalues(jacobians(step, points, used_inputs)[0])
    else:
        eigenvalues = torch.zeros(0, initial_states.shape[1], dtype=torch.complex128)
    return FixedPoints(points, q, eigenvalues, is_stable(eigenvalues), n, converged)
