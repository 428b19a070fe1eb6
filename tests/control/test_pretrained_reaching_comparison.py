"""The reaching comparison's shipped policies reproduce RESULTS.md's table (issue 20, section 6).

Every policy of the table is in ``pretrained/control/reaching``; its success rate and mean final
distance on the table's 500 deterministic episodes are recorded below. The arm's episodes are
batched and cheap, so all are rerun in full and must match to rounding; Reacher's run one at a
time, so each policy plays the first 100 of the 500, and its success rate must lie within four
binomial sds (plus two points) of the recorded one: 100 episodes are what that tolerance needs.
"""

import math
from pathlib import Path

import pytest

from cogmap.rl import load_policy, reach_episodes, reacher_episodes
from tests.tiers import tiered

REACHING = Path(__file__).resolve().parents[2] / "pretrained" / "control" / "reaching"

# success rate, mean final distance (m) on 500 episodes: runs/reaching/*/*/seed*/reaching.json
REPORTED = {
    "arm_embedding_mlp_seed0": (0.322, 0.159),
    "arm_embedding_mlp_seed1": (0.19, 0.1894),
    "arm_embedding_mlp_seed2": (0.288, 0.1599),
    "arm_embedding_mlp_seed3": (0.306, 0.1577),
    "arm_embedding_mlp_seed4": (0.168, 0.1918),
    "arm_pose_mlp_seed0": (0.908, 0.0476),
    "arm_pose_mlp_seed1": (0.918, 0.0506),
    "arm_pose_mlp_seed2": (0.908, 0.0493),
    "arm_pose_mlp_seed3": (0.896, 0.0539),
    "arm_pose_mlp_seed4": (0.874, 0.0536),
    "arm_velocities_gru_seed0": (0.0, 0.5795),
    "arm_velocities_gru_seed1": (0.004, 0.4749),
    "arm_velocities_gru_seed2": (0.02, 0.446),
    "arm_velocities_gru_seed3": (0.012, 0.4781),
    "arm_velocities_gru_seed4": (0.012, 0.4205),
    "arm_velocities_mlp_seed0": (0.002, 0.6667),
    "arm_velocities_mlp_seed1": (0.0, 0.7425),
    "arm_velocities_mlp_seed2": (0.002, 0.6874),
    "arm_velocities_mlp_seed3": (0.006, 0.6198),
    "arm_velocities_mlp_seed4": (0.002, 0.6984),
    "reacher_blind_seed0": (0.006, 0.1088),
    "reacher_blind_seed1": (0.004, 0.1225),
    "reacher_blind_seed2": (0.014, 0.1318),
    "reacher_blind_seed3": (0.034, 0.1204),
    "reacher_blind_seed4": (0.008, 0.1349),
    "reacher_blind_embedding_seed0": (0.194, 0.0408),
    "reacher_blind_embedding_seed1": (0.262, 0.0378),
    "reacher_blind_embedding_seed2": (0.23, 0.0421),
    "reacher_blind_embedding_seed3": (0.248, 0.0386),
    "reacher_blind_embedding_seed4": (0.178, 0.0424),
    "reacher_blind_gru_seed0": (0.202, 0.0404),
    "reacher_blind_gru_seed1": (0.488, 0.0258),
    "reacher_blind_gru_seed2": (0.376, 0.0307),
    "reacher_blind_gru_seed3": (0.508, 0.0217),
    "reacher_blind_gru_seed4": (0.474, 0.0265),
    "reacher_full_seed0": (0.932, 0.0093),
    "reacher_full_seed1": (0.976, 0.0068),
    "reacher_full_seed2": (0.924, 0.0101),
    "reacher_full_seed3": (0.832, 0.0117),
    "reacher_full_seed4": (0.94, 0.0077),
    "reacher_full_embedding_seed0": (0.374, 0.0301),
    "reacher_full_embedding_seed1": (0.304, 0.0332),
    "reacher_full_embedding_seed2": (0.246, 0.0436),
    "reacher_full_embedding_seed3": (0.26, 0.0441),
    "reacher_full_embedding_seed4": (0.266, 0.037),
}


@pytest.mark.parametrize("name", tiered(list(REPORTED), fast=["arm_pose_mlp_seed0", "reacher_full_seed1"]))
def test_every_shipped_policy_scores_as_reported(name):
    policy = load_policy(REACHING / f"{name}.pt")
    success, distance = REPORTED[name]
    if name.startswith("arm_"):
        measured = reach_episodes(policy, 500, **policy.config.env_kwargs)
        assert measured["success_rate"] == pytest.approx(success, abs=0.005)
        assert measured["final_distance_mean"] == pytest.approx(distance, abs=0.002)
        return
    measured = reacher_episodes(policy, 100, **policy.config.env_kwargs)
    assert measured["success_rate"] == pytest.approx(success, abs=4 * math.sqrt(success * (1 - success) / 100) + 0.02)
    assert measured["final_distance_mean"] == pytest.approx(distance, rel=0.3)
