"""Gymnasium's Reacher-v5 with a path integrator's state *added to* its observation.

Reacher-v5 is a planar two-hinge arm (its pose lives on the torus SO(2) x SO(2)); its
10-number observation is ``cos q (2), sin q (2), target (2), joint velocities (2),
fingertip - target (2)``, one step is 0.02 s, an episode 50 steps. ``cogmap/Reacher-v5``
wraps it:

- ``observe="full"``: Reacher's own 10 numbers (the pose is in them twice: the angles, and the
  fingertip's offset from the target).
- ``observe="blind"``: the target and the joint velocities only (4 numbers), so the agent must
  know its pose from its own motion.
- ``integrator=CKPT`` appends the hidden state of a frozen path integrator trained on
  SO(2) x SO(2) at Reacher's step (``configs/pathint/reacher_torus_gru.yaml``). It starts
  every episode from the code of the zero pose (Reacher starts within 0.1 rad of it) and is
  fed, each step, the mean of the joint velocities observed before and after the step: Reacher
  reports the velocity at the end of its step, and the trapezoid makes the integral of what is
  fed match the joints' turn (dead reckoning over 50 random-action steps: 0.0003 and 0.015 rad
  of error against 0.096 and 0.056 rad with the end velocity alone; RESULTS.md).

The embedding is *added*: the target's position stays in the observation (the original project
replaced it, which leaves nothing to reach for). ``info`` gains ``distance``, the fingertip's
distance to the target.
"""

from __future__ import annotations

import numpy as np
import torch

from cogmap.envs.reaching import frozen_integrator
from cogmap.errors import CogmapError, check_choice

REACHER_ID = "cogmap/Reacher-v5"
REACHER_OBSERVATIONS = ("full", "blind")
_BLIND = np.array([4, 5, 6, 7])  # the target and the joint velocities


def _make_reacher(observe: str = "full", integrator: str | None = None, **reacher_kwargs):
    import gymnasium as gym

    check_choice("observe", observe, REACHER_OBSERVATIONS)

    class ReacherObservation(gym.Wrapper):
        """Reacher-v5 observed as ``observe`` says, with the integrator's state appended."""

        def __init__(self, env):
            super().__init__(env)
            self.keep = slice(None) if observe == "full" else _BLIND
            self.model = None if integrator is None else frozen_integrator(integrator, "so2", env.unwrapped.dt,
                                                                            "Reacher", "cpu")
            width = (10 if observe == "full" else len(_BLIND)) + (0 if self.model is None else self.model.hparams.hidden)
            self.observation_space = gym.spaces.Box(-np.inf, np.inf, (width,), dtype=np.float64)
            self.hidden, self.velocity, self.start = None, None, None
            if self.model is not None:  # the zero pose's code, encoded once
                with torch.no_grad():
                    zero = torch.zeros(1, 2, 1)
                    self.start = self.model.net.encode_initial(self.model.place_cells().encode(zero).reshape(1, -1))

        def _observe(self, observation: np.ndarray) -> np.ndarray:
            parts = [observation[self.keep]]
            if self.model is not None:
                state = self.hidden[0] if isinstance(self.hidden, tuple) else self.hidden  # an LSTM's (h, c)
                parts.append(state[0, 0].numpy().astype(np.float64))
            return np.concatenate(parts)

        def reset(self, *, seed=None, options=None):
            observation, info = self.env.reset(seed=seed, options=options)
            self.hidden = self.start
            self.velocity = None if self.model is None else observation[6:8].copy()
            info["distance"] = float(np.linalg.norm(observation[8:10]))
            return self._observe(observation), info

        def step(self, action):
            observation, reward, terminated, truncated, info = self.env.step(action)
            if self.model is not None:
                velocity = observation[6:8]
                fed = torch.as_tensor((self.velocity + velocity) / 2, dtype=torch.float32).reshape(1, 1, 2)
                with torch.no_grad():
                    _, self.hidden = self.model.net.rnn(fed, self.hidden)
                self.velocity = velocity.copy()
            info["distance"] = float(np.linalg.norm(observation[8:10]))
            return self._observe(observation), reward, terminated, truncated, info

    try:
        reacher = gym.make("Reacher-v5", **reacher_kwargs)
    except (gym.error.Error, ImportError, ModuleNotFoundError) as error:
        raise CogmapError(f"Reacher-v5 cannot be made (pip install 'cogmap[mujoco]'): {error}") from None
    return ReacherObservation(reacher)


def register() -> None:
    """Register :data:`REACHER_ID` with Gymnasium (done when :mod:`cogmap.envs` is imported)."""
    import gymnasium as gym

    if REACHER_ID not in gym.registry:
        gym.register(id=REACHER_ID, entry_point=_make_reacher)
