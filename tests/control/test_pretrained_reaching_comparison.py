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
from tests.manifest import recorded, shipped
from tests.tiers import tiered

REACHING = Path(__file__).resolve().parents[2] / "pretrained" / "control" / "reaching"

# success rate, mean final distance (m) on 500 episodes: runs/reaching/*/*/seed*/reaching.json, recorded in
# pretrained/manifest.json
REPORTED = {name: (figures["success_rate"], figures["final_distance_mean"]) for name in shipped("control/reaching")
            for figures in [recorded(f"control/reaching/{name}.pt")]}


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
