"""Recurrent actor-critic: an RNN/GRU/LSTM core with tanh policy and value heads (the seed's sizes).

The core's state is one tensor ``(N, S)`` (for the LSTM, ``h`` and ``c`` side by side,
``S = 2 * hidden``), returned by every call so that hidden states can be recorded and analysed
(:func:`cogmap.analysis.dynamics.recurrent_step` gives the same update for fixed points and
Jacobians). The policy is Gaussian on the torque, with a learned, state-independent log
standard deviation; its mean is ``max_action * tanh(...)``.
"""

from __future__ import annotations

import torch
from torch import nn

from cogmap.errors import check_choice, check_positive_int

CELLS = ("rnn", "gru", "lstm")


class RecurrentActorCritic(nn.Module):
    def __init__(self, observation_dim: int, action_dim: int = 1, cell: str = "rnn", hidden: int = 64,
                 head: int = 64, max_action: float = 2.0, log_std: float = 0.0):
        super().__init__()
        check_choice("cell", cell, CELLS)
        for name, value in (("observation_dim", observation_dim), ("action_dim", action_dim), ("hidden", hidden),
                            ("head", head)):
            check_positive_int(name, value)
        self.cell, self.hidden, self.max_action = cell, hidden, max_action
        self.core = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](observation_dim, hidden, batch_first=True)
        self.policy = nn.Sequential(nn.Linear(hidden, head), nn.Tanh(), nn.Linear(head, action_dim))
        self.value = nn.Sequential(nn.Linear(hidden, head), nn.Tanh(), nn.Linear(head, 1))
        self.log_std = nn.Parameter(torch.full((action_dim,), float(log_std)))
        nn.init.orthogonal_(self.policy[-1].weight, 0.01)  # start near zero torque
        nn.init.zeros_(self.policy[-1].bias)

    @property
    def state_dim(self) -> int:
        return 2 * self.hidden if self.cell == "lstm" else self.hidden

    def initial_state(self, n: int, device=None) -> torch.Tensor:
        return torch.zeros(n, self.state_dim, device=device)

    def _core(self, observations: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.cell == "lstm":
            h, c = state[:, :self.hidden], state[:, self.hidden:]
            out, (h1, c1) = self.core(observations, (h[None].contiguous(), c[None].contiguous()))
            # Per-step states for the LSTM hold h only; the returned final state holds (h, c).
            return out, torch.cat([h1[0], c1[0]], dim=-1)
        out, h1 = self.core(observations, state[None].contiguous())
        return out, h1[0]

    def forward(self, observations: torch.Tensor, state: torch.Tensor):
        """For observations ``(N, T, obs)`` from ``state`` ``(N, S)``: action means ``(N, T, A)``,
        values ``(N, T)``, per-step hidden outputs ``(N, T, hidden)`` and the final state ``(N, S)``."""
        out, final = self._core(observations, state)
        mean = self.max_action * torch.tanh(self.policy(out))
        return mean, self.value(out)[..., 0], out, final

    def distribution(self, mean: torch.Tensor) -> torch.distributions.Normal:
        return torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))
