import json

import numpy as np
import pytest
import yaml
from PIL import Image


def test_treeworld_run_writes_metrics_plot_record_and_animation(tmp_path, cli):
    config = tmp_path / "world.yaml"
    config.write_text("agent: drive\nworld:\n  num_trees: 10\n  embedding_dim: 16\n")
    out = tmp_path / "run"
    result = cli("treeworld", "run", "steps=60", "seed=3", "--config", config, "--set", "world.tree_spacing=50",
                 "--out", out, "animation=gif", "stride=10")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["agent"] == "drive" and metrics["steps"] == 60 and metrics["seed"] == 3
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["agent"] == "drive" and saved["world"]["num_trees"] == 10 and saved["world"]["tree_spacing"] == 50
    record = np.load(out / "record.npz")
    assert record["location"].shape == (61, 2) and record["health"][-1] == pytest.approx(metrics["health"])
    assert Image.open(out / "run.png").size[0] > 300
    gif = Image.open(out / "run.gif")
    assert gif.n_frames == 7  # steps 0, 10, ..., 60


def test_treeworld_survival_compares_agents(tmp_path, cli):
    result = cli("treeworld", "survival", "agents=[random,drive]", "worlds=2", "steps=80",
                 "--set", "world.embedding_dim=16", "--set", "world.max_health=100", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "survival.json").read_text())
    assert set(data) == {"random", "drive"} and len(data["drive"]["runs"]) == 2
    random_runs = data["random"]["runs"]
    assert data["random"]["summary"]["survival_mean"] == pytest.approx(np.mean([r["steps"] for r in random_runs]))
    assert (tmp_path / "survival.png").is_file()


def test_survival_can_play_fresh_worlds_from_a_first_seed(tmp_path, cli):
    from cogmap.treeworld import TreeWorldConfig
    from cogmap.treeworld.experiments import survival_runs

    result = cli("treeworld", "survival", "agents=[random]", "worlds=2", "first_seed=7", "steps=60",
                 "world.embedding_dim=16", "world.max_health=100", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    runs = json.loads((tmp_path / "survival.json").read_text())["random"]["runs"]
    expected = survival_runs("random", TreeWorldConfig(embedding_dim=16, max_health=100), [7, 8], 60)
    assert [(r["seed"], r["steps"], r["fruit_eaten"]) for r in runs] == \
        [(r["seed"], r["steps"], r["fruit_eaten"]) for r in expected]
    assert [r["seed"] for r in runs] == [7, 8]


@pytest.mark.parametrize("args,needle", [
    (["treeworld", "run", "agent=greedy"], "agent must be one of"),
    (["treeworld", "run", "--set", "world.num_trees=-3"], "world.num_trees"),
    (["treeworld", "run", "world.eat_distance=-1"], "world.eat_distance"),
    (["treeworld", "run", "num_trees=3"], "did you mean world.num_trees?"),
    (["treeworld", "run", "--set", "trees"], "key=value"),
    (["treeworld", "run", "--set", "world.colour=red"], "world.colour"),
    (["treeworld", "run", "steps=0"], "steps must be an integer >= 1"),
    (["treeworld", "run", "--steps", "5"], "--steps is a setting, not a flag: write steps=VALUE"),
    (["treeworld", "survival", "agents=[random,greedy]"], "agents must name agents"),
    (["treeworld", "survival", "action_noise=[1,-1]"], "action_noise must be a finite number >= 0"),
    (["treeworld", "survival", "batch=0"], "batch must be an integer >= 1"),
])
def test_treeworld_bad_input_is_one_line_and_exit_2(tmp_path, args, needle, cli):
    result = cli(*args, "--out", tmp_path / "x")
    assert result.returncode == 2
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x" / "metrics.json").exists()


def test_treeworld_localize_end_to_end_on_a_small_grid(tmp_path, cli):
    result = cli("treeworld", "localize", "experiments=[spiral-no-memory,circle-memory]", "steps=40", "grid_size=41",
                 "grid_extent=400", "world.embedding_dim=16", "animation=true", "stride=10", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "localization.json").read_text())
    summary = data["summary"]["spiral-no-memory"]
    assert summary["grid_size"] == 41 and summary["grid_scale"] == 10.0 and not summary["use_memory"]
    assert summary["error_mean_max"] < 10.0  # exact actions, no memory: within one cell
    assert len(data["per_step"]["circle-memory"]["error_mean"]) == 40
    assert data["summary"]["circle-memory"]["memory_mix"] == 0.5
    assert Image.open(tmp_path / "circle-memory.gif").n_frames == 5  # steps 0, 10, ..., 40
    assert (tmp_path / "localization.png").is_file()


def test_a_self_localizing_forager_run_pictures_where_it_believed_it_was(tmp_path, cli):
    result = cli("treeworld", "run", "agent=drive-phase", "action_noise=1", "steps=40", "world.embedding_dim=16",
                 "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] == 40 and 0 < metrics["localization_error_mean"] < 40
    assert (tmp_path / "localization.png").is_file() and (tmp_path / "run.png").is_file()


def test_survival_runs_every_agent_at_every_motor_noise(tmp_path, cli):
    result = cli("treeworld", "survival", "agents=[drive,drive-odometry]", "action_noise=[0,2]", "worlds=3", "steps=60",
                 "batch=2", "world.embedding_dim=16", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "survival.json").read_text())
    assert sorted(data) == ["drive, noise 0", "drive, noise 2", "drive-odometry, noise 0", "drive-odometry, noise 2"]
    assert [r["seed"] for r in data["drive-odometry, noise 2"]["runs"]] == [0, 1, 2]
    assert data["drive-odometry, noise 0"]["summary"]["localization_error_mean"] < 1e-3
    assert data["drive-odometry, noise 2"]["summary"]["localization_error_mean"] > 0.5
    assert len(data["drive-odometry, noise 2"]["runs"][0]["localization_error_every_100"]) == 1
    assert (tmp_path / "survival.png").is_file()


def test_treeworld_localize_runs_both_localizers_side_by_side(tmp_path, cli):
    result = cli("treeworld", "localize", "experiments=[spiral-far]", "localizers=[tem2d,phase]", "steps=30",
                 "world.embedding_dim=16", "animation=true", "stride=10", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "localization.json").read_text())
    phase = data["summary"]["spiral-far (phase)"]
    assert phase["localizer"] == "phase" and "grid_size" not in phase and phase["error_mean_max"] < 1e-3
    assert data["summary"]["spiral-far"]["localizer"] == "tem2d"
    assert len(data["per_step"]["spiral-far (phase)"]["sd"]) == 30
    assert Image.open(tmp_path / "spiral-far-phase.gif").n_frames == 4


@pytest.mark.parametrize("args,needle", [
    (["experiments=[square]"], "experiments must name experiments"),
    (["memory_mix=2"], "memory_mix must be in [0, 1]"),
    (["grid_size=40"], "grid_size"),
    (["localizers=[tem2d,grid]"], "localizers must name localizers"),
    (["localizers=[]"], "localizers must name localizers"),
])
def test_treeworld_localize_bad_input(tmp_path, args, needle, cli):
    result = cli("treeworld", "localize", *args, "steps=5", "--out", tmp_path / "x")
    assert result.returncode == 2 and needle in result.stderr
