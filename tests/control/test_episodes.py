"""The one episode runner, on a batch whose episodes end at known steps."""

import pytest
import torch

from cogmap.envs.vector import Transition
from cogmap.errors import CogmapError
from cogmap.rl.episodes import evaluate, run_episodes


class Countdown:
    """Environment i ends its episode at step i + 2; the reward of step t is t (1, 2, ...), in every row."""

    num_envs = 3

    def reset(self):
        self.t = 0
        return torch.zeros(3, 1)

    def step(self, action):
        self.t += 1
        done = torch.tensor([self.t == i + 2 for i in range(3)])
        observation = torch.full((3, 1), float(self.t))
        return Transition(observation, torch.full((3,), float(self.t)), done, torch.zeros(3, dtype=torch.bool),
                          observation)


class Still:
    """A controller that records what it was shown."""

    def __init__(self):
        self.seen = []

    def reset(self, n):
        self.seen.append(("reset", n))
        return self

    def act(self, observation, deterministic=True):
        assert deterministic
        self.seen.append(float(observation[0, 0]))
        return torch.zeros(len(observation), 1)


def test_each_episode_counts_the_rewards_up_to_its_own_end():
    controller = Still()
    run = run_episodes(controller, Countdown(), watch={"clock": lambda env: torch.full((3,), float(env.t))})
    # env 0 ends at step 2 (1 + 2), env 1 at 3 (1 + 2 + 3), env 2 at 4 (1 + 2 + 3 + 4)
    assert run.returns.tolist() == [3.0, 6.0, 10.0] and run.steps == 4
    assert run.watched["clock"].shape == (3, 4) and run.watched["clock"][0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert controller.seen == [("reset", 3), 0.0, 1.0, 2.0, 3.0]
    assert evaluate(Still(), Countdown()).tolist() == [3.0, 6.0, 10.0]
    assert run_episodes(Still(), Countdown(), steps=2).returns.tolist() == [3.0, 3.0, 3.0]  # a fixed number of steps
    with pytest.raises(CogmapError, match="still running after 3 steps"):
        run_episodes(Still(), Countdown(), max_steps=3)
