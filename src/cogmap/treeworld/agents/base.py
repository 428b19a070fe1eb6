"""What an agent sees each step, and the interface every Tree World agent implements."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Observation:
    """One world's senses and body state before the agent acts (tensors are 1-D, unbatched).

    ``location`` is the true position: agents that use it are told where they are (the
    specification's "perfectly known location" proof of concept); a localizer must not read it.
    ``tasted`` is +1 after eating edible fruit on the last step, -1 after poison, 0 otherwise.
    """

    step: int
    location: torch.Tensor  # (2,)
    heading: torch.Tensor  # (2,), unit
    health: float
    smell: torch.Tensor  # (D,)
    nearest_distance: float  # inf when no tree is within the sensing range
    nearest_location: torch.Tensor  # (2,), NaN when none
    sight: torch.Tensor  # (D,), zeros when nothing is seen
    sight_distance: float
    sight_location: torch.Tensor  # (2,), NaN when nothing is seen
    tasted: int = 0


class AgentModel:
    """A controller: ``get_action(observation) -> (position_delta or None to rest, heading)``.

    ``heading`` may be None to face the direction of movement (or keep the old heading when
    resting). ``reset()`` forgets everything at the start of a run; ``train()`` is an optional
    learning step that :meth:`TreeWorld.run` calls every ``train_every`` steps.
    """

    def get_action(self, observation: Observation) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        raise NotImplementedError

    def reset(self) -> None:
        pass

    def train(self) -> None:
        pass
