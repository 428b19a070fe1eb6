"""The reaching pilot's shipped policies reproduce RESULTS.md's table (issue 20, section 6)."""

from pathlib import Path

import pytest

from cogmap.rl import load_policy, reach_episodes
from tests.manifest import recorded, shipped

CONTROL = Path(__file__).resolve().parents[2] / "pretrained" / "control"

# RESULTS.md, "The embedding in a controller: a first pilot": 500 deterministic episodes.
# Recorded in pretrained/manifest.json.
REPORTED = {name[len("reach_"):-len("_seed0")]: (figures["return_mean"], figures["final_distance_mean"])
            for name in shipped("control") if name.startswith("reach_")
            for figures in [recorded(f"control/{name}.pt")]}


@pytest.mark.parametrize("name", list(REPORTED))
def test_the_pilot_policies_score_as_reported(name):
    policy = load_policy(CONTROL / f"reach_{name}_seed0.pt")
    result = reach_episodes(policy, 500, **policy.config.env_kwargs)
    reported_return, reported_distance = REPORTED[name]
    assert result["return_mean"] == pytest.approx(reported_return, abs=1.0)
    assert result["final_distance_mean"] == pytest.approx(reported_distance, abs=0.02)


def test_seeing_the_pose_is_the_best_of_the_pilot():
    distances = {name: reach_episodes(p, 200, **p.config.env_kwargs)["final_distance_mean"]
                 for name in REPORTED for p in [load_policy(CONTROL / f"reach_{name}_seed0.pt")]}
    assert min(distances, key=distances.get) == "pose_mlp_5m"
    assert distances["pose_mlp"] < min(distances[n] for n in ("embedding_mlp", "velocities_gru", "velocities_mlp"))
