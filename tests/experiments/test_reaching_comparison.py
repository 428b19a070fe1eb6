"""The reaching comparison's report (its table and figure from the runs' measurements) and its measure stage."""

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def study(load_experiment):
    return load_experiment("reaching_comparison")


def _measures(folder: Path, success: float, seed: int, drift: float | None = None):
    folder.mkdir(parents=True)
    point = {"success_rate": success, "final_distance_mean": 1 - success, "return_mean": -10 * (1 - success)}
    if drift is not None:
        point["integrator_error_deg"] = drift
    curve = [{"update": u, "steps": 1000 * u, **point, "success_rate": success * u / 3} for u in (1, 2, 3)]
    (folder / "reaching.json").write_text(json.dumps({"final": point, "curve": curve, "seed": seed}))


def test_the_report_averages_over_seeds(study, tmp_path):
    successes = {"pose_mlp": (0.9, 0.8), "embedding_mlp": (0.5, 0.3), "velocities_gru": (0.1, 0.1),
                 "velocities_mlp": (0.0, 0.02)}
    for agent, values in successes.items():
        for seed, value in zip((0, 1), values):
            _measures(tmp_path / "arm" / agent / f"seed{seed}", value, seed,
                      drift=(4.0, 6.0)[seed] if agent == "embedding_mlp" else None)
    study.main(["--stage", "report", "--tasks", "arm", "--seeds", "0", "1", "--episodes", "50", "--out", str(tmp_path)])
    table = (tmp_path / "table.md").read_text()
    # (90 + 80) / 2 = 85, sd of (90, 80) with ddof 1 = 7.07; (50 + 30) / 2 = 40, sd 14.1
    assert "| pose (MLP) | 85.0% +- 7.1 | 90.0 / 80.0 | 0.150 +- 0.071 | -1.5 +- 0.7 | - |" in table
    assert "| path integrator's state (MLP) | 40.0% +- 14.1 | 50.0 / 30.0 |" in table
    assert "| 5.0 +- 1.4 deg |" in table  # the drift of (4, 6) degrees
    assert "| (not learned) damped least squares on the true pose | 100.0% |" in table
    assert "| nothing (MLP) | 1.0% +- 1.4 |" in table
    rows = json.loads((tmp_path / "table.json").read_text())
    assert [r["agent"] for r in rows] == list(successes) and rows[0]["success_rate"] == [0.9, 0.8]
    assert (tmp_path / "reaching.png").stat().st_size > 10_000


def test_a_missing_measurement_is_one_clear_stop(study, tmp_path):
    with pytest.raises(SystemExit, match="reaching.json is missing"):
        study.main(["--stage", "report", "--tasks", "reacher", "--seeds", "0", "--out", str(tmp_path)])


def test_only_runs_with_their_final_evaluation_count_as_finished(study, tmp_path):
    assert not study.finished(tmp_path)
    (tmp_path / "metrics.csv").write_text("update,steps,eval_return_mean\n1,10,\n")
    assert not study.finished(tmp_path)
    (tmp_path / "metrics.csv").write_text("update,steps,eval_return_mean\n1,10,\n2,20,-4.5\n")
    assert study.finished(tmp_path)


def test_the_measure_stage_evaluates_checkpoints_along_training(study, tmp_path):
    from cogmap.rl.config import PPOConfig
    from cogmap.rl.ppo import train

    folder = tmp_path / "arm" / "pose_mlp" / "seed0"
    config = PPOConfig(env="arm_reach", env_kwargs={"observe": "pose", "steps": 5}, cell="mlp", hidden=8, head=8,
                       total_steps=60, num_envs=4, num_steps=5, epochs=1, minibatches=2, eval_episodes=2)
    train(config, folder, progress=False)
    args = study.main.__globals__["argparse"].Namespace(out=tmp_path, curve_points=2, curve_episodes=3, episodes=4)
    study.measure_run(args, "arm", "pose_mlp", 0)
    measured = json.loads((folder / "reaching.json").read_text())
    assert [p["update"] for p in measured["curve"]] == [1, 3] and [p["steps"] for p in measured["curve"]] == [20, 60]
    assert measured["final"]["episodes"] == 4 and measured["curve"][0]["episodes"] == 3
    assert 0 <= measured["final"]["success_rate"] <= 1
