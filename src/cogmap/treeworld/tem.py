"""TEM2d: a TEM-style localizer whose location is a probability map over an S x S grid.

Each step (the Tree World specification, "Implementing a TEM Module"):

1. predict: translate the last belief by the action (convolution with its kernel, optionally
   blurred for action noise);
2. optionally correct from memory: sample the memory for where the current sensation was met
   before near the last belief, and mix it in with weight ``lambda = 1 - a ** exponent``, where
   ``a`` is the cosine (clipped at 0) between what the memory expects to sense under the sample
   and under the last belief: if the memory's expectation has not changed, trust the movement
   model; ``memory_mix`` fixes ``lambda`` instead (the Tree World specification's first version used 1/2);
3. sharpen (``belief ** sharpen``, against the blur of repeated convolution) and renormalise;
4. loss: squared error between the sensation and what the memory expects under the new belief,
   plus, when the memory was used, the squared distances of the belief from the prediction
   and from the sample;
5. write (belief, sensation) to memory.

All of it is batched over worlds. :class:`LocalizingAgent` runs a TEM2d inside any agent that
reports its movement (``odometry``), for the Tree World specification's mapping experiments.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from cogmap.errors import CogmapError, check_memory, check_positive, check_positive_int
from cogmap.treeworld.agents.base import AgentModel, Observation
from cogmap.treeworld.kernels import apply_2d_translation, belief_mean, belief_spread, gaussian_belief
from cogmap.treeworld.memory import LocationBeliefMemory


class TEM2d(nn.Module):
    def __init__(self, grid_size: int = 101, sensory_dim: int = 1024, batch_size: int = 1, grid_extent: float = 1000.0,
                 max_action: float = 20.0, use_memory_to_localize: bool = True, affinity_exponent: float = 20.0,
                 memory_mix: float | None = None, sharpen: float = 1.05, action_blur: float | None = None,
                 memory_size: int = 1000, key_cells: int = 49, initial_sigma: float | None = None,
                 sample_threshold: float = 0.01, num_samples: int = 25, device=None):
        super().__init__()
        check_positive_int("grid_size", grid_size)
        if grid_size % 2 == 0:
            raise CogmapError(f"grid_size must be odd so that the origin is a cell, got {grid_size}")
        for name, value in (("grid_extent", grid_extent), ("max_action", max_action), ("sharpen", sharpen)):
            check_positive(name, value)
        if affinity_exponent < 0:
            raise CogmapError(f"affinity_exponent must be >= 0, got {affinity_exponent}")
        if memory_mix is not None and not 0 <= memory_mix <= 1:
            raise CogmapError(f"memory_mix must be in [0, 1], got {memory_mix}")
        # The belief map and the maps a step makes from it (the convolution's, the memory's, their mix).
        check_memory(8 * 4 * batch_size * grid_size**2, f"TEM2d's belief maps of {grid_size:,} x {grid_size:,} cells "
                     f"(grid_size={grid_size})", "ask for a coarser map (a smaller grid_size)")
        self.grid_size, self.batch_size, self.grid_extent = grid_size, batch_size, grid_extent
        self.grid_scale = grid_extent / (grid_size - 1)  # gamma, world units per cell
        self.filter_size = 2 * math.ceil(max_action / self.grid_scale) + 1
        self.use_memory_to_localize, self.affinity_exponent, self.memory_mix = use_memory_to_localize, affinity_exponent, memory_mix
        self.sharpen, self.action_blur = sharpen, action_blur
        self.initial_sigma = initial_sigma if initial_sigma is not None else self.grid_scale
        self.sample_threshold, self.num_samples = sample_threshold, num_samples
        self.memory = LocationBeliefMemory(grid_size, sensory_dim, batch_size, memory_size, key_cells, device=device)

    @property
    def device(self) -> torch.device:
        """Where the localizer computes (``tem.to(device)`` moves its memory; inputs are moved to it)."""
        return self.memory.device

    @property
    def dtype(self) -> torch.dtype:
        return self.memory.dtype

    def reset(self) -> None:
        self.memory.reset()

    def initial_belief(self) -> torch.Tensor:
        return gaussian_belief(self.grid_size, self.grid_scale, sigma=self.initial_sigma, batch=self.batch_size,
                               dtype=self.dtype, device=self.device)

    def forward(self, last_belief: torch.Tensor | None, action: torch.Tensor, senses: torch.Tensor):
        """New beliefs ``(B, S, S)``, the loss (a scalar) and the memory weight ``lambda`` per world ``(B,)``."""
        last = self.initial_belief() if last_belief is None else last_belief.to(device=self.device, dtype=self.dtype)
        action = torch.as_tensor(action).to(dtype=last.dtype, device=last.device).reshape(self.batch_size, 2)
        senses = torch.as_tensor(senses).to(dtype=last.dtype, device=last.device)
        predicted = apply_2d_translation(last, action, self.grid_scale, self.filter_size, blur=self.action_blur)
        mix = torch.zeros(self.batch_size, dtype=last.dtype, device=last.device)
        belief, sample = predicted, None
        if self.use_memory_to_localize and bool((self.memory.size > 0).any()):
            sample = self.memory.sample(senses, reference_location=last, threshold=self.sample_threshold,
                                        num_samples=self.num_samples)
            found = sample.sum(dim=(-2, -1)) > 1e-6
            if self.memory_mix is not None:
                mix = torch.full_like(mix, self.memory_mix)
            else:
                affinity = F.cosine_similarity(self.memory.read(sample), self.memory.read(last), dim=-1).clamp(0, 1)
                mix = 1 - affinity**self.affinity_exponent
            mix = mix * found
            belief = (1 - mix)[:, None, None] * predicted + mix[:, None, None] * sample
        if self.sharpen != 1.0:
            belief = belief.clamp_min(0) ** self.sharpen
        belief = belief / belief.sum(dim=(-2, -1), keepdim=True).clamp_min(1e-30)
        expected = self.memory.read(belief)
        loss = (senses - expected).pow(2).mean()
        if sample is not None:
            loss = loss + (belief - predicted).pow(2).mean() + (belief - sample).pow(2).mean()
        self.memory.write(belief, senses)
        return belief, loss, mix


@torch.no_grad()
def localize_step(localizer, belief: torch.Tensor | None, movement: torch.Tensor, senses: torch.Tensor,
                  action_noise: float | torch.Tensor | None = None):
    """One step of a :class:`TEM2d` or a :class:`~cogmap.treeworld.phase.PhaseLocalizer` for B worlds.

    Returns the estimate ``(B, 2)`` (float32), its sd per axis ``(B,)`` (TEM2d: the belief's
    spread), the memory weight ``(B,)``, the loss (TEM2d's scalar; the phase code's surprise per
    world) and TEM2d's new belief maps (None for the phase code, which keeps its own state).
    ``action_noise`` overrides the phase code's assumed odometry noise; TEM2d has none.
    """
    if isinstance(localizer, TEM2d):
        belief, loss, mix = localizer(belief, movement, senses)
        return (belief_mean(belief, localizer.grid_scale).float(), belief_spread(belief, localizer.grid_scale), mix,
                loss, belief)
    estimate, sd, mix = localizer(movement, senses, action_noise=action_noise)
    return estimate.float(), sd, mix, localizer.surprise, None


class LocalizingAgent(AgentModel):
    """An agent that moves as ``mover`` does and localizes itself from smell with a :class:`TEM2d`
    or a :class:`~cogmap.treeworld.phase.PhaseLocalizer`.

    The localizer sees only the agent's own report of its last movement (``mover.odometry``
    when the mover has one, the commanded movement otherwise) and the smell; never the true
    location. ``location_belief`` is TEM2d's belief map about where the current observation was
    made (None for the phase code, which has no map); ``estimates`` the estimated locations and
    ``uncertainties`` their sd per axis (the phase code's; TEM2d's belief's spread).
    """

    def __init__(self, mover: AgentModel, tem):
        if tem.batch_size != 1:
            raise CogmapError("a LocalizingAgent runs one world: build its localizer with batch_size=1")
        self.mover, self.tem = mover, tem
        self.reset()

    def reset(self) -> None:
        self.mover.reset()
        self.tem.reset()
        self._belief, self.last_action = None, torch.zeros(1, 2)
        self.losses, self.memory_weights, self.estimates, self.uncertainties = [], [], [], []

    @property
    def location_belief(self) -> torch.Tensor | None:
        """The current belief map ``(S, S)`` (rows y, columns x), None before the first step."""
        return None if self._belief is None else self._belief[0]

    def get_action(self, observation: Observation):
        estimate, spread, mix, loss, self._belief = localize_step(self.tem, self._belief, self.last_action,
                                                                  observation.smell[None])
        self.losses.append(float(loss.reshape(-1)[0]))
        self.memory_weights.append(float(mix[0]))
        self.estimates.append(estimate[0])
        self.uncertainties.append(float(spread[0]))
        move, heading = self.mover.get_action(observation)
        reported = getattr(self.mover, "odometry", None)
        self.last_action = (reported if reported is not None else (move if move is not None else torch.zeros(2)))
        self.last_action = torch.as_tensor(self.last_action, dtype=torch.float32).reshape(1, 2)
        return move, heading
