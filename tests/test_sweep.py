"""`cogmap sweep`: a grid x seeds of one trainer, measured, tabulated, resumable; on submitit's engines."""

import csv
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from cogmap.config import parse
from cogmap.errors import CogmapError
from cogmap.studies import sweep
from cogmap.studies.sweep import SweepConfig, cell_name, flatten, plan

REPOSITORY = Path(__file__).resolve().parents[1]
# Two updates of two pendulums: seconds per run.
TINY = ["total_steps=800", "num_envs=2", "minibatches=2", "epochs=2", "hidden=8", "head=8", "eval_episodes=2"]
TIMING = {"steps_per_s", "elapsed_s"}  # the only columns two identical runs may differ in


def tiny_sweep(tmp_path: Path, **extra) -> Path:
    spec = {"trainer": "control train", "config": str(REPOSITORY / "configs/control/pendulum_po_gru.yaml"),
            "settings": TINY, "grid": {"noise_repeat": [1, 4]}, "seeds": [0, 1],
            "measures": [{"study": "control evaluate", "name": "final", "settings": ["episodes=6", "seed=3"]}],
            "metrics": ["return=eval_return_mean", "final.runs.0.return_mean", "no.such.metric"], "engine": "debug",
            **extra}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A tiny sweep run once, in this process (engine=debug)."""
    from cogmap.cli.main import main

    tmp = tmp_path_factory.mktemp("sweep")
    out = tmp / "out"
    threads = torch.get_num_threads()
    assert main(["sweep", "--config", str(tiny_sweep(tmp)), "--out", str(out), "--quiet"]) == 0
    assert torch.get_num_threads() == threads  # its runs' one thread each is not left to the caller
    return out


def test_every_run_is_the_trainer_and_its_measures_with_the_cells_settings(finished):
    from cogmap.config import load
    from cogmap.rl.config import PPOConfig
    from cogmap.rl.episodes import score_policy
    from cogmap.rl.policy import load_policy

    runs = read_csv(finished / "runs.csv")
    assert [(r["noise_repeat"], r["seed"]) for r in runs] == [("1", "0"), ("1", "1"), ("4", "0"), ("4", "1")]
    for row in runs:
        folder = Path(row["run"])
        assert folder == finished / "runs" / f"noise_repeat={row['noise_repeat']}" / f"seed{row['seed']}"
        config = load(PPOConfig, folder / "config.yaml")
        assert (config.noise_repeat, config.seed, config.total_steps) == (int(row["noise_repeat"]), int(row["seed"]), 800)
        assert len(list((folder / "checkpoints").glob("update_*.pt"))) == 2
        # The run's final evaluation, as the trainer wrote it, and the measure, played again here.
        last = read_csv(folder / "metrics.csv")[-1]
        assert float(row["eval_return_mean"]) == float(last["eval_return_mean"])
        again = score_policy(load_policy(folder), 6, 3)
        assert float(row["final.runs.0.return_mean"]) == pytest.approx(again["return_mean"], rel=1e-6)
        assert (folder / "measures" / "final" / "evaluation.json").is_file()


def test_the_table_is_each_cells_mean_and_sd_over_its_seeds(finished):
    runs, table = read_csv(finished / "runs.csv"), read_csv(finished / "table.csv")
    assert [row["noise_repeat"] for row in table] == ["1", "4"] and all(row["seeds"] == "0 1" for row in table)
    for row in table:
        values = [float(r["eval_return_mean"]) for r in runs if r["noise_repeat"] == row["noise_repeat"]]
        assert float(row["eval_return_mean_mean"]) == pytest.approx(statistics.fmean(values))
        assert float(row["eval_return_mean_sd"]) == pytest.approx(statistics.stdev(values))  # sample sd, n - 1
        assert row["eval_return_mean_n"] == "2"
    markdown = (finished / "table.md").read_text().splitlines()
    assert markdown[0] == "| noise_repeat | seeds | return | final.runs.0.return_mean |"
    first = table[0]
    assert markdown[2].startswith(f"| 1 | 2 | {float(first['eval_return_mean_mean']):.4g} +- ")
    saved = json.loads((finished / "sweep.json").read_text())
    assert len(saved["runs"]) == 4 and saved["failures"] == []
    assert (finished / "sweep.png").is_file() and (finished / "config.yaml").is_file()


def test_the_same_command_again_reads_the_finished_runs_and_trains_nothing(finished, capsys):
    from cogmap.cli.main import main

    checkpoint = finished / "runs" / "noise_repeat=1" / "seed0" / "checkpoints" / "update_0002.pt"
    before = checkpoint.stat().st_mtime_ns
    table = (finished / "table.csv").read_text()
    assert main(["sweep", "--config", str(finished.parent / "sweep.yaml"), "--out", str(finished)]) == 0
    assert checkpoint.stat().st_mtime_ns == before and (finished / "table.csv").read_text() == table
    printed = capsys.readouterr().out
    assert "[4/4] noise_repeat=4, seed 1: done" in printed
    assert "no run has the metric(s) no.such.metric" in printed


def test_a_seed_added_later_runs_alone_and_a_changed_sweep_is_refused(finished, tmp_path, capsys):
    from cogmap.cli.main import main

    config = str(finished.parent / "sweep.yaml")
    assert main(["sweep", "--config", config, "--out", str(finished), "--quiet", "seeds=[0,1,2]"]) == 0
    assert len(read_csv(finished / "runs.csv")) == 6 and read_csv(finished / "table.csv")[0]["seeds"] == "0 1 2"
    assert main(["sweep", "--config", config, "--out", str(finished), "settings=[total_steps=1200]"]) == 2
    assert "differs in settings" in capsys.readouterr().err
    assert main(["sweep", "--config", config, "--out", str(finished), "grid={lr: [0.001]}"]) == 2
    assert "grid's keys" in capsys.readouterr().err
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep me")
    assert main(["sweep", "--config", config, "--out", str(tmp_path / "notes"), "--force"]) == 2
    assert "holds no sweep" in capsys.readouterr().err and (tmp_path / "notes" / "mine.txt").is_file()


def test_a_run_that_fails_is_reported_and_the_others_are_tabulated(tmp_path, capsys):
    from cogmap.cli.main import main

    broken = ["total_steps=800", "num_envs=2", "minibatches=2", "epochs=1", "hidden=8", "head=8", "eval_episodes=2",
              "init_from=" + str(tmp_path / "missing.pt")]
    path = tiny_sweep(tmp_path, settings=broken, grid={"noise_repeat": [1]}, seeds=[0], measures=[])
    assert main(["sweep", "--config", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    printed = capsys.readouterr().out
    assert "1 of 1 runs failed" in printed and "missing.pt" in printed
    assert json.loads((tmp_path / "out" / "sweep.json").read_text())["failures"][0]["seed"] == 0


def test_impossible_settings_are_refused_before_anything_runs(tmp_path):
    config = SweepConfig(config=str(REPOSITORY / "configs/control/pendulum_po_gru.yaml"), grid={"hidden": [8, -1]})
    with pytest.raises(CogmapError, match=r"run hidden=-1, seed 0: hidden must be an integer >= 1"):
        plan(config, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(CogmapError, match="run celll=gru, seed 0: unknown key"):
        plan(SweepConfig(config=config.config, grid={"celll": ["gru"]}), tmp_path / "out")
    with pytest.raises(CogmapError, match="config is required"):
        SweepConfig()
    with pytest.raises(CogmapError, match="grid.lr lists a value twice"):
        SweepConfig(config="x.yaml", grid={"lr": [0.1, 0.1]})
    with pytest.raises(CogmapError, match="list the seeds under seeds"):
        SweepConfig(config="x.yaml", grid={"seed": [1, 2]})
    with pytest.raises(CogmapError, match="config nowhere.yaml does not exist"):
        plan(SweepConfig(config="nowhere.yaml"), tmp_path / "out")
    measured = parse(SweepConfig, {"config": config.config,
                                   "measures": [{"study": "control evaluate", "settings": ["runs=[a]"]}]})
    with pytest.raises(CogmapError, match="runs is the trained run"):
        plan(measured, tmp_path / "out")


def test_cells_are_named_by_their_values_and_configs_by_their_stem():
    assert cell_name({"lr": 0.001, "encoder": [64, 32], "env": "cogmap/ArmReach-v0"}) == \
        "lr=0.001,encoder=[64,32],env=cogmap-ArmReach-v0"
    assert cell_name({"config": "configs/control/reach_pose_mlp.yaml"}) == "config=reach_pose_mlp"
    assert cell_name({}) == "base"


def test_flatten_names_every_number_by_its_path():
    result = {"a": 1, "b": {"c": 2.5, "d": "text", "e": True}, "runs": [{"x": 3}], "curve": [1, 2], "none": None}
    assert flatten(result, "m") == {"m.a": 1.0, "m.b.c": 2.5, "m.runs.0.x": 3.0}


def test_every_shipped_sweep_plans(monkeypatch, tmp_path):
    monkeypatch.chdir(REPOSITORY)
    shipped = sorted((REPOSITORY / "configs" / "sweeps").glob("*.yaml"))
    assert len(shipped) >= 4
    for path in shipped:
        config = sweep.load_sweep_config(path)
        specs = plan(config, tmp_path / path.stem)
        assert len(specs) == len(config.cells) * len(config.seeds)


def test_the_slurm_engine_asks_for_the_configured_resources(tmp_path, monkeypatch):
    # No cluster here: a stand-in srun lets submitit build the job script that sbatch would get.
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "srun").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "srun").chmod(0o755)
    config = parse(SweepConfig, {"config": "x.yaml", "engine": "slurm", "timeout_min": 90, "slurm": {
        "partition": "cpu", "account": "lab", "cpus_per_task": 4, "mem_gb": 16, "setup": ["source venv/bin/activate"]}})
    with pytest.raises(CogmapError, match="engine=slurm: .*srun"):
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        sweep.slurm_executor(config, tmp_path / "jobs")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    executor = sweep.slurm_executor(config, tmp_path / "jobs")
    script = executor._executor._make_submission_file_text("python -u -m submitit.core._submit x", "uid")
    for line in ("#SBATCH --partition=cpu", "#SBATCH --account=lab", "#SBATCH --cpus-per-task=4", "#SBATCH --mem=16GB",
                 "#SBATCH --time=90", "#SBATCH --job-name=cogmap-sweep", "source venv/bin/activate"):
        assert line in script


@pytest.mark.slow
def test_a_sweep_killed_mid_run_resumes_on_the_local_engine_to_the_same_table(tmp_path):
    """submitit's local engine: each run is its own process. Kill the whole sweep (launcher and jobs)
    while a run trains, start it again, and the table equals an uninterrupted sweep's (byte-exact resume)."""
    from cogmap.cli.main import main

    longer = [s if not s.startswith("total_steps") else "total_steps=4000" for s in TINY]
    path = tiny_sweep(tmp_path, settings=longer, engine="local", workers=2, measures=[])
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY / "src")}
    command = [sys.executable, "-m", "cogmap", "sweep", "--config", str(path), "--out", str(out)]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    resumable = []
    while time.time() < deadline and not resumable:
        time.sleep(0.2)
        resumable = [p for p in out.glob("runs/*/seed*/checkpoints/update_0002.pt")
                     if not (p.parent.parent / "sweep-run.json").exists()]
    assert resumable, "no run reached its second update in time"
    os.killpg(process.pid, signal.SIGKILL)  # the launcher and every job it started
    process.wait()
    assert not (out / "table.csv").exists()
    cut = resumable[0].parent.parent
    updates_at_cut = len(list((cut / "checkpoints").glob("update_*.pt")))
    assert updates_at_cut < 10
    assert main(["sweep", "--config", str(path), "--out", str(out), "--quiet"]) == 0
    whole = tmp_path / "whole"
    assert main(["sweep", "--config", str(path), "--out", str(whole), "--quiet", "engine=debug"]) == 0
    resumed, reference = read_csv(out / "runs.csv"), read_csv(whole / "runs.csv")
    assert len(resumed) == 4
    for a, b in zip(resumed, reference):
        assert {k: v for k, v in a.items() if k not in TIMING | {"run"}} == \
            {k: v for k, v in b.items() if k not in TIMING | {"run"}}
    rows = read_csv(cut / "metrics.csv")
    assert [int(r["update"]) for r in rows] == list(range(1, 11))  # continued, not started again


def test_a_failed_job_is_reported_by_its_error_and_its_log():
    class Failed:
        job_id = "42"

        class paths:
            stdout = "jobs/42_0_log.out"

        def result(self):
            raise RuntimeError("Job failed:\nTraceback (most recent call last):\n  ...\n"
                               "cogmap.errors.CogmapError: init_from missing.pt does not exist")

    reports = []
    sweep._collect("spec", Failed(), lambda spec, outcome, reason=None: reports.append((spec, outcome, reason)))
    assert reports == [("spec", None, "cogmap.errors.CogmapError: init_from missing.pt does not exist "
                                      "(job 42, log jobs/42_0_log.out)")]


def test_a_config_added_to_a_comparison_is_new_runs_and_a_changed_one_is_refused(tmp_path):
    from cogmap.cli.sweep import check_same_sweep
    from cogmap.config import to_dict

    for name, hidden in (("a", 8), ("b", 16)):
        (tmp_path / f"{name}.yaml").write_text(f"hidden: {hidden}\n")
    first = parse(SweepConfig, {"grid": {"config": [str(tmp_path / "a.yaml")]}})
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.yaml").write_text(yaml.safe_dump(to_dict(first)))
    (out / "trainer.yaml").write_text(yaml.safe_dump(sweep.trainer_settings(first)))
    more = parse(SweepConfig, {"grid": {"config": [str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")]}})
    check_same_sweep(out, more, sweep.trainer_settings(more))  # b's runs are new: allowed
    (tmp_path / "a.yaml").write_text("hidden: 32\n")
    with pytest.raises(CogmapError, match=r"differs in the trainer's settings read from .*a.yaml"):
        check_same_sweep(out, more, sweep.trainer_settings(more))


@pytest.fixture(scope="module")
def by_hand(tmp_path_factory):
    """The tiny sweep's run noise_repeat=4, seed 1, trained outside any sweep (as `cogmap control train` would)."""
    from cogmap.config import merge, parse_overrides, read_config
    from cogmap.rl.config import PPOConfig
    from cogmap.rl.ppo import train

    values = merge(read_config(REPOSITORY / "configs/control/pendulum_po_gru.yaml"),
                   parse_overrides(TINY + ["noise_repeat=4", "seed=1"]))
    run = tmp_path_factory.mktemp("by_hand") / "seed1"
    train(parse(PPOConfig, values), run, progress=False)
    return run


def test_a_run_trained_outside_the_sweep_is_adopted_measured_and_tabulated_not_trained_again(by_hand, tmp_path, capsys):
    from cogmap.cli.main import main
    from cogmap.rl.episodes import score_policy
    from cogmap.rl.policy import load_policy

    (by_hand / "measures" / "final").mkdir(parents=True)  # what another sweep measured stays behind
    (by_hand / "measures" / "final" / "evaluation.json").write_text('{"runs": [{"return_mean": 12345.0}]}')
    try:
        config = tiny_sweep(tmp_path, seeds=[1])
        out = tmp_path / "out"
        assert main(["sweep", "--config", str(config), "--out", str(out), "--quiet", "--adopt", str(by_hand)]) == 0
    finally:
        shutil.rmtree(by_hand / "measures")
    assert f"adopted {by_hand} as noise_repeat=4, seed 1" in capsys.readouterr().out
    placed = out / "runs" / "noise_repeat=4" / "seed1"
    for name in ("checkpoints/update_0002.pt", "resume.pt"):  # copied, not trained again
        assert (placed / name).stat().st_mtime_ns == (by_hand / name).stat().st_mtime_ns, name
    # continued like a killed run of the sweep's: the finished trainer only evaluates again, to the same figures
    assert (placed / "metrics.csv").read_text() == (by_hand / "metrics.csv").read_text()
    assert (by_hand / "resume.pt").is_file()  # the original is kept
    runs = {row["noise_repeat"]: row for row in read_csv(out / "runs.csv")}
    assert set(runs) == {"1", "4"}  # the other cell trained by the sweep itself
    assert float(runs["4"]["final.runs.0.return_mean"]) == pytest.approx(
        score_policy(load_policy(by_hand), 6, 3)["return_mean"], rel=1e-6)
    # The same command again: the run is the sweep's now; nothing is copied or trained again.
    assert main(["sweep", "--config", str(config), "--out", str(out), "--adopt", str(by_hand)]) == 0
    assert "the sweep already holds that run, kept" in capsys.readouterr().out


def test_a_run_to_adopt_that_is_no_planned_run_is_refused_before_anything_is_written(by_hand, tmp_path, capsys):
    from cogmap.cli.main import main

    out = tmp_path / "out"

    def refused(*words, **extra):
        config = tiny_sweep(tmp_path, **{"seeds": [1], **extra})
        assert main(["sweep", "--config", str(config), "--out", str(out), *words]) == 2
        assert not out.exists()
        return capsys.readouterr().err

    assert "the nearest, noise_repeat=1 seed 1, differs in noise_repeat" in refused("--adopt", str(by_hand),
                                                                                   grid={"noise_repeat": [1]})
    assert "differs in lr" in refused("--adopt", str(by_hand), settings=TINY + ["lr=0.01"])
    assert "not a run folder" in refused("--adopt", str(tmp_path))
    shutil.copytree(by_hand, tmp_path / "twin")
    assert "are both noise_repeat=4 seed 1" in refused("--adopt", str(by_hand), "--adopt", str(tmp_path / "twin"))
    config = (by_hand / "config.yaml").read_text()
    broken = {"config.yaml": [(b"\x00\x01\xff garbage", "not UTF-8"), (config.encode()[:40] + b"\n  - [", "YAML"),
                              (config.replace("hidden: 8", "hidden: -1").encode(), "hidden must be an integer >= 1")],
              "resume.pt": [(b"garbage", "not a PyTorch file"),
                            ((by_hand / "resume.pt").read_bytes()[:2000], "not a PyTorch file")]}
    for name, cases in broken.items():
        for content, said in cases:
            (tmp_path / "twin" / name).write_bytes(content)
            assert said in refused("--adopt", str(tmp_path / "twin")), (name, said)
        (tmp_path / "twin" / name).write_bytes((by_hand / name).read_bytes())
    (tmp_path / "twin" / "resume.pt").unlink()
    assert "has no resume.pt" in refused("--adopt", str(tmp_path / "twin"))
