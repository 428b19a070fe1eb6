import json

import numpy as np
import pytest
import yaml
from PIL import Image


def test_treeworld_run_writes_metrics_plot_record_and_animation(tmp_path, cli):
    config = tmp_path / "world.yaml"
    config.write_text("num_trees: 10\nembedding_dim: 16\n")
    out = tmp_path / "run"
    result = cli("treeworld", "run", "--agent", "drive", "--steps", "60", "--seed", "3", "--config", config,
                    "--set", "tree_spacing=50", "--out", out, "--animate", "--stride", "10")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["agent"] == "drive" and metrics["steps"] == 60 and metrics["seed"] == 3
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["num_trees"] == 10 and saved["tree_spacing"] == 50
    record = np.load(out / "record.npz")
    assert record["location"].shape == (61, 2) and record["health"][-1] == pytest.approx(metrics["health"])
    assert Image.open(out / "run.png").size[0] > 300
    gif = Image.open(out / "run.gif")
    assert gif.n_frames == 7  # steps 0, 10, ..., 60


def test_treeworld_survival_compares_agents(tmp_path, cli):
    result = cli("treeworld", "survival", "--agents", "random,drive", "--worlds", "2", "--steps", "80",
                    "--set", "embedding_dim=16", "--set", "max_health=100", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "survival.json").read_text())
    assert set(data) == {"random", "drive"} and len(data["drive"]["runs"]) == 2
    random_runs = data["random"]["runs"]
    assert data["random"]["summary"]["survival_mean"] == pytest.approx(np.mean([r["steps"] for r in random_runs]))
    assert (tmp_path / "survival.png").is_file()


@pytest.mark.parametrize("args,needle", [
    (["treeworld", "run", "--agent", "greedy"], "invalid choice"),
    (["treeworld", "run", "--set", "num_trees=-3"], "num_trees"),
    (["treeworld", "run", "--set", "eat_distance=-1"], "eat_distance"),
    (["treeworld", "run", "--set", "trees"], "key=value"),
    (["treeworld", "run", "--set", "colour=red"], "colour"),
    (["treeworld", "run", "--steps", "0"], "--steps"),
    (["treeworld", "survival", "--agents", "random,greedy"], "--agents"),
    (["treeworld", "survival", "--action-noise", "1,-1"], "--action-noise"),
    (["treeworld", "survival", "--batch", "0"], "--batch"),
])
def test_treeworld_bad_input_is_one_line_and_exit_2(tmp_path, args, needle, cli):
    result = cli(*args, "--out", tmp_path / "x")
    assert result.returncode == 2
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x" / "metrics.json").exists()


def test_treeworld_localize_end_to_end_on_a_small_grid(tmp_path, cli):
    result = cli("treeworld", "localize", "--experiment", "spiral-no-memory,circle-memory", "--steps", "40",
                    "--grid-size", "41", "--grid-extent", "400", "--set", "embedding_dim=16", "--animate",
                    "--stride", "10", "--out", tmp_path)
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
    result = cli("treeworld", "run", "--agent", "drive-phase", "--action-noise", "1", "--steps", "40",
                 "--set", "embedding_dim=16", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] == 40 and 0 < metrics["localization_error_mean"] < 40
    assert (tmp_path / "localization.png").is_file() and (tmp_path / "run.png").is_file()


def test_survival_runs_every_agent_at_every_motor_noise(tmp_path, cli):
    result = cli("treeworld", "survival", "--agents", "drive,drive-odometry", "--action-noise", "0,2", "--worlds", "3",
                 "--steps", "60", "--batch", "2", "--set", "embedding_dim=16", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "survival.json").read_text())
    assert sorted(data) == ["drive, noise 0", "drive, noise 2", "drive-odometry, noise 0", "drive-odometry, noise 2"]
    assert [r["seed"] for r in data["drive-odometry, noise 2"]["runs"]] == [0, 1, 2]
    assert data["drive-odometry, noise 0"]["summary"]["localization_error_mean"] < 1e-3
    assert data["drive-odometry, noise 2"]["summary"]["localization_error_mean"] > 0.5
    assert len(data["drive-odometry, noise 2"]["runs"][0]["localization_error_every_100"]) == 1
    assert (tmp_path / "survival.png").is_file()


def test_treeworld_localize_runs_both_localizers_side_by_side(tmp_path, cli):
    result = cli("treeworld", "localize", "--experiment", "spiral-far", "--localizer", "tem2d,phase", "--steps", "30",
                 "--set", "embedding_dim=16", "--animate", "--stride", "10", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "localization.json").read_text())
    phase = data["summary"]["spiral-far (phase)"]
    assert phase["localizer"] == "phase" and "grid_size" not in phase and phase["error_mean_max"] < 1e-3
    assert data["summary"]["spiral-far"]["localizer"] == "tem2d"
    assert len(data["per_step"]["spiral-far (phase)"]["sd"]) == 30
    assert Image.open(tmp_path / "spiral-far-phase.gif").n_frames == 4


@pytest.mark.parametrize("args,needle", [
    (["--experiment", "square"], "--experiment"),
    (["--memory-mix", "2"], "--memory-mix"),
    (["--grid-size", "40"], "grid_size"),
    (["--localizer", "tem2d,grid"], "--localizer"),
    (["--localizer", ","], "--localizer"),
])
def test_treeworld_localize_bad_input(tmp_path, args, needle, cli):
    result = cli("treeworld", "localize", *args, "--steps", "5", "--out", tmp_path / "x")
    assert result.returncode == 2 and needle in result.stderr
