"""Recurrent actor-critic: an RNN/GRU/LSTM core with tanh policy and value heads (Rush et al.'s sizes).

The agent takes observations exactly as the environment gives them: the observation scaling
it was trained with (fixed, or running statistics frozen into it) is a buffer inside it,
applied first in :meth:`RecurrentActorCritic.forward`, and its actions are bounded by the
environment's action bounds (the policy mean is ``centre + half_range * tanh(...)``).

The core's state is one tensor ``(N, S)`` (for the LSTM, ``h`` and ``c`` side by side,
``S = 2 * hidden``; ``cell="mlp"``, a feed-forward control, has none: ``S = 0``), returned by
every call so that hidden states can be recorded and analysed
(:func:`cogmap.analysis.dynamics.recurrent_step` gives the same update, on the core's inputs,
for fixed points and Jacobians). An optional MLP encoder sits between the observation and the
core. The policy is Gaussian, with a learned, state-independent log standard deviation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from cogmap.errors import CogmapError, check_choice, check_positive_int

CELLS = ("rnn", "gru", "lstm", "mlp")  # "mlp": a feed-forward control, one tanh layer and no state


class AgentOutput(NamedTuple):
    """One call of the agent: with observations ``(N, T, O)`` every entry but ``state`` has a time
    axis; with one step ``(N, O)`` it has none."""

    mean: torch.Tensor  # (N, T, A) or (N, A): the policy's mean action, within the action bounds
    value: torch.Tensor  # (N, T) or (N,)
    hidden: torch.Tensor  # (N, T, hidden) or (N, hidden): the core's output h after each step
    state: torch.Tensor  # (N, S): the state after the last step


class ObservationNormalizer(nn.Module):
    """``(observation - shift) * scale``, with fixed factors or running statistics.

    Fixed: ``shift`` 0 and the environment's ``observation_scale``. Running
    (:meth:`update`): the mean and ``1 / sqrt(var + eps)`` of every observation seen, clipped
    to ``[-clip, clip]`` afterwards, as Gymnasium's NormalizeObservation does; the statistics
    are buffers, so they are saved with the agent and frozen when it is loaded.
    """

    def __init__(self, dim: int, scale: Sequence[float] | torch.Tensor | None = None, clip: float | None = None,
                 eps: float = 1e-8):
        super().__init__()
        scale = torch.ones(dim) if scale is None else torch.as_tensor(scale, dtype=torch.float32).reshape(-1)
        if scale.shape != (dim,):
            raise CogmapError(f"observation scale must have {dim} entries, got {tuple(scale.shape)}")
        self.register_buffer("shift", torch.zeros(dim))
        self.register_buffer("scale", scale.clone().float())
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("running_mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("running_var", torch.ones(dim, dtype=torch.float64))
        self.clip, self.eps = clip, eps

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Normalise ``(..., d)``: the first ``d`` components (an agent's observation without the critic's part)."""
        d = observations.shape[-1]
        out = (observations - self.shift[:d]) * self.scale[:d]
        return out.clamp(-self.clip, self.clip) if self.clip is not None else out

    @torch.no_grad()
    def update(self, observations: torch.Tensor) -> None:
        """Fold a batch ``(..., O)`` into the running mean and variance (Chan et al.'s parallel update)."""
        batch = observations.reshape(-1, observations.shape[-1]).to(torch.float64)
        n = batch.shape[0]
        if n == 0:
            return
        mean, var = batch.mean(0), batch.var(0, unbiased=False)
        total = self.count + n
        delta = mean - self.running_mean
        self.running_mean += delta * n / total
        self.running_var.copy_((self.running_var * self.count + var * n + delta**2 * self.count * n / total) / total)
        self.count.fill_(float(total))
        self.shift.copy_(self.running_mean.float())
        self.scale.copy_((self.running_var + self.eps).rsqrt().float())


class RecurrentActorCritic(nn.Module):
    def __init__(self, observation_dim: int, action_dim: int = 1, cell: str = "rnn", hidden: int = 64,
                 head: int = 64, max_action: float = 2.0, log_std: float = 0.0,
                 action_low: Sequence[float] | None = None, action_high: Sequence[float] | None = None,
                 observation_scale: Sequence[float] | None = None, observation_clip: float | None = None,
                 encoder: Sequence[int] = (), critic_observation_dim: int = 0, critic_layers: Sequence[int] = (512, 256)):
        super().__init__()
        check_choice("cell", cell, CELLS)
        check_positive_int("critic_observation_dim", critic_observation_dim, minimum=0)
        for name, value in (("observation_dim", observation_dim), ("action_dim", action_dim), ("hidden", hidden),
                            ("head", head)):
            check_positive_int(name, value)
        low = torch.full((action_dim,), -float(max_action)) if action_low is None else torch.as_tensor(action_low, dtype=torch.float32)
        high = torch.full((action_dim,), float(max_action)) if action_high is None else torch.as_tensor(action_high, dtype=torch.float32)
        if low.shape != (action_dim,) or high.shape != (action_dim,) or not bool((high > low).all()):
            raise CogmapError(f"action bounds must be {action_dim} pairs with low < high, got {low.tolist()} and {high.tolist()}")
        self.cell, self.hidden, self.observation_dim, self.action_dim = cell, hidden, observation_dim, action_dim
        self.critic_observation_dim = critic_observation_dim
        if observation_scale is not None and critic_observation_dim:  # the critic's part keeps its own units
            observation_scale = list(observation_scale) + [1.0] * critic_observation_dim
        self.normalizer = ObservationNormalizer(observation_dim + critic_observation_dim, observation_scale,
                                                observation_clip)
        self.register_buffer("action_centre", (high + low) / 2)
        self.register_buffer("action_half_range", (high - low) / 2)
        # An optional MLP between the observation and the core (Rush et al.'s walkers: MLP, then LSTM).
        layers, width = [], observation_dim
        for size in encoder:
            check_positive_int("encoder width", size)
            layers += [nn.Linear(width, size), nn.Tanh()]
            width = size
        self.encoder = nn.Sequential(*layers)
        if cell == "mlp":
            self.core = nn.Sequential(nn.Linear(width, hidden), nn.Tanh())
        else:
            self.core = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](width, hidden, batch_first=True)
        self.policy = nn.Sequential(nn.Linear(hidden, head), nn.Tanh(), nn.Linear(head, action_dim))
        if critic_observation_dim:
            # An asymmetric critic: the value of the privileged (full, Markov) state the environment gives
            # beside the observation, through an MLP of its own; it needs no memory, so the agent's state
            # stays the actor's alone (the one the analyses study).
            layers, width = [], critic_observation_dim
            for size in critic_layers:
                check_positive_int("critic layer width", size)
                layers += [nn.Linear(width, size), nn.Tanh()]
                width = size
            self.value = nn.Sequential(*layers, nn.Linear(width, 1))
        else:
            self.value = nn.Sequential(nn.Linear(hidden, head), nn.Tanh(), nn.Linear(head, 1))
        self.log_std = nn.Parameter(torch.full((action_dim,), float(log_std)))
        nn.init.orthogonal_(self.policy[-1].weight, 0.01)  # start near the centre of the action range
        nn.init.zeros_(self.policy[-1].bias)

    @property
    def state_dim(self) -> int:
        return {"lstm": 2 * self.hidden, "mlp": 0}.get(self.cell, self.hidden)

    @property
    def recurrent(self) -> bool:
        return self.cell != "mlp"

    @property
    def action_low(self) -> torch.Tensor:
        return self.action_centre - self.action_half_range

    @property
    def action_high(self) -> torch.Tensor:
        return self.action_centre + self.action_half_range

    def initial_state(self, n: int, device=None) -> torch.Tensor:
        device = device if device is not None else self.log_std.device
        return torch.zeros(n, self.state_dim, device=device, dtype=self.log_std.dtype)

    def core_input(self, observations: torch.Tensor) -> torch.Tensor:
        """What the recurrent core sees: observations after the agent's own normalisation (and encoder).

        Fixed points and Jacobians of :func:`~cogmap.analysis.dynamics.recurrent_step` take
        inputs in these units.
        """
        return self.encoder(self.normalizer(observations[..., :self.observation_dim]))

    def _core(self, inputs: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.cell == "mlp":
            return self.core(inputs), state
        if self.cell == "lstm":
            h, c = state[:, :self.hidden], state[:, self.hidden:]
            out, (h1, c1) = self.core(inputs, (h[None].contiguous(), c[None].contiguous()))
            # Per-step outputs of the LSTM hold h only; the returned final state holds (h, c).
            return out, torch.cat([h1[0], c1[0]], dim=-1)
        out, h1 = self.core(inputs, state[None].contiguous())
        return out, h1[0]

    def _check(self, observations: torch.Tensor, state: torch.Tensor | None) -> None:
        o, s = self.observation_dim, self.state_dim
        widths = (o, o + self.critic_observation_dim)
        if not torch.is_tensor(observations) or observations.dim() not in (2, 3) or observations.shape[-1] not in widths:
            got = tuple(observations.shape) if torch.is_tensor(observations) else type(observations).__name__
            also = f" (or {widths[1]} with the critic's privileged state after them)" if self.critic_observation_dim else ""
            raise CogmapError(f"observations must be a tensor of shape (N, T, {o}) or (N, {o}){also}, got {got}")
        if state is not None and (not torch.is_tensor(state) or tuple(state.shape) != (observations.shape[0], s)):
            got = tuple(state.shape) if torch.is_tensor(state) else type(state).__name__
            raise CogmapError(f"state must have shape (N, {s}) with N = {observations.shape[0]} (the observations' "
                              f"batch), got {got}")

    def forward(self, observations: torch.Tensor, state: torch.Tensor | None = None) -> AgentOutput:
        """Run the agent on raw observations ``(N, T, O)`` (or one step, ``(N, O)``) from ``state``
        ``(N, S)`` (zeros when None): see :class:`AgentOutput`. An agent with an asymmetric critic
        takes the privileged state after the observation (``O + C`` wide) to give values; given the
        observation alone it acts, and its values are NaN."""
        self._check(observations, state)
        single = observations.dim() == 2
        if state is None:
            state = self.initial_state(observations.shape[0], observations.device)
        observations = observations[:, None] if single else observations
        o = self.observation_dim
        inputs = self.encoder(self.normalizer(observations[..., :o]))
        out, final = self._core(inputs, state)
        mean = self.action_centre + self.action_half_range * torch.tanh(self.policy(out))
        if not self.critic_observation_dim:
            value = self.value(out)[..., 0]
        elif observations.shape[-1] > o:
            value = self.value(self.normalizer(observations)[..., o:])[..., 0]
        else:
            value = out.new_full(out.shape[:-1], float("nan"))
        if single:
            return AgentOutput(mean[:, 0], value[:, 0], out[:, 0], final)
        return AgentOutput(mean, value, out, final)

    def distribution(self, mean: torch.Tensor) -> torch.distributions.Normal:
        return torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))
