"""One run folder and one set of rules for --out, --force and --resume, for every trainer."""

import re

import numpy as np
import pytest
import torch
import yaml

import cogmap
from cogmap.errors import CogmapError
from cogmap.pathint.data import generate
from cogmap.runs import changed_settings, check_run_folder, holds_run, prepare_run_folder, save_config
from cogmap.worldmodels.train import WorldModelConfig


def test_a_new_run_needs_an_empty_or_absent_folder(tmp_path):
    assert prepare_run_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b" and (tmp_path / "a" / "b").is_dir()
    (tmp_path / "empty").mkdir()
    assert prepare_run_folder(tmp_path / "empty").is_dir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep me")
    for force in (False, True):  # --force deletes a run, never a folder of something else
        with pytest.raises(CogmapError, match="is not empty and holds no run; choose another --out"):
            prepare_run_folder(tmp_path / "notes", force=force)
    assert (tmp_path / "notes" / "mine.txt").read_text() == "keep me"


def test_a_folder_holding_a_run_is_replaced_only_with_force_and_resumed_only_with_resume(tmp_path, monkeypatch):
    run = tmp_path / "run"
    save_config(prepare_run_folder(run), {"seed": 3})
    (run / "evaluation").mkdir()
    assert holds_run(run) and not holds_run(tmp_path)
    with pytest.raises(CogmapError, match="already holds a run; use --resume to continue it or --force to replace it"):
        prepare_run_folder(run)
    assert check_run_folder(run, resume=True) == run
    with pytest.raises(CogmapError, match="contradict"):
        check_run_folder(run, force=True, resume=True)
    prepare_run_folder(run, force=True)
    assert run.is_dir() and not any(run.iterdir())  # replaced whole: the old run's evaluation went with it
    save_config(run, {"seed": 4})
    monkeypatch.chdir(run)
    with pytest.raises(CogmapError, match="the folder you are working in"):
        prepare_run_folder(".", force=True)
    assert (run / "config.yaml").is_file()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CogmapError, match="--resume: .* holds no run to continue"):
        check_run_folder(prepare_run_folder(tmp_path / "fresh"), resume=True)


def test_files_in_the_way_are_refused_before_anything_is_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CogmapError, match="is a file, not a folder"):
        check_run_folder(blocker)
    with pytest.raises(CogmapError, match=f"{blocker} is a file, not a folder"):
        prepare_run_folder(blocker / "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_the_config_is_saved_as_yaml_and_changes_are_named(tmp_path):
    config = WorldModelConfig(epochs=3)
    save_config(tmp_path, config)
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert saved["epochs"] == 3 and saved["device"] == "cpu"
    assert changed_settings(saved, {**saved, "epochs": 5, "lr": 0.5}, may_change=("epochs",)) == ["lr"]
    assert changed_settings(saved, saved) == []


def test_a_world_model_trains_where_its_config_says_and_a_missing_device_is_one_line(tmp_path, cli):
    result = cli("equivariance", "train", "device=cuda:99", "--out", tmp_path / "run")  # on no machine
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1
    assert re.fullmatch(r"cogmap: error: device cuda:99: (CUDA is not available on this machine; use cpu"
                        r"|this machine has \d+ CUDA device\(s\))", lines[0]), lines
    assert not (tmp_path / "run").exists()


def test_every_trainer_keeps_the_rules(tmp_path, cli):
    tiny_world = ["transitions=64", "epochs=1", "batch_size=32", "size=16", "channels=4", "hidden=16", "--quiet"]
    assert cli("equivariance", "train", *tiny_world, "--out", tmp_path / "world").returncode == 0
    again = cli("equivariance", "train", *tiny_world, "--out", tmp_path / "world")
    assert again.returncode == 2 and "already holds a run" in again.stderr
    assert cli("equivariance", "train", *tiny_world, "--out", tmp_path / "world", "--force").returncode == 0
    world = cogmap.load(tmp_path / "world")  # one call, then what its domain renders
    poses = world.domain.random_poses(2, torch.Generator().manual_seed(0))
    assert world.encode(world.domain.render(poses, world.size).float()[:, None]).shape == (2, *world.latent_shape)

    tiny_integrator = ["data.source=online", "data.n_train=64", "data.n_val=16", "data.batch_size=32", "model.hidden=8",
                       "data.generation={seq_len: 5}", "trainer.max_epochs=1", "trainer.progress=false"]
    out = tmp_path / "integrator"
    assert cli("train", *tiny_integrator, "--out", out).returncode == 0
    assert (out / "checkpoints" / "best.ckpt").is_file() and (out / "config.yaml").is_file()
    refused = cli("train", *tiny_integrator, "--out", out)
    assert refused.returncode == 2 and "already holds a run; use --resume to continue it or --force" in refused.stderr
    assert cli("train", *tiny_integrator, "--out", out, "--force").returncode == 0
    model = cogmap.load(out)  # one call, then what the generator produces
    batch = generate(model.generation, 3, split="val")
    assert model.predict(batch.velocities, batch.initial_code).shape == batch.targets.shape

    # A run that fails before its first checkpoint (here: its data file is missing) leaves nothing behind.
    failed = cli("train", *tiny_integrator, "data.source=file", f"data.path={tmp_path / 'nothing.pt'}",
                 "--out", tmp_path / "failed")
    assert failed.returncode == 2 and "does not exist" in failed.stderr
    assert not (tmp_path / "failed").exists()


def _scalars(folder) -> dict:
    """Every scalar series in the TensorBoard event files under ``folder``: tag -> {step: value}."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    series = {}
    for events in folder.rglob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            series.setdefault(tag, {}).update({e.step: e.value for e in accumulator.Scalars(tag)})
    return series


def test_every_trainer_writes_the_curves_of_its_metrics_csv_for_tensorboard(tmp_path, cli):
    pytest.importorskip("tensorboard")  # the tensorboard extra, which CI installs
    import csv

    assert cli("control", "train", "hidden=8", "head=8", "num_envs=2", "minibatches=2", "total_steps=800",
               "eval_episodes=2", "--quiet", "--out", tmp_path / "ppo").returncode == 0
    rows = list(csv.DictReader(open(tmp_path / "ppo" / "metrics.csv")))
    curves = _scalars(tmp_path / "ppo" / "tensorboard")
    assert {int(r["steps"]): float(r["train_return"]) for r in rows} == pytest.approx(curves["ppo/train_return"])
    policy = cogmap.load(tmp_path / "ppo")  # one call, then the pendulum's own observation
    assert policy.reset(1).act(np.array([1.0, 0.0], dtype=np.float32)).shape == (1,)
    assert curves["ppo/eval_return_mean"] == pytest.approx({int(rows[-1]["steps"]): float(rows[-1]["eval_return_mean"])})

    assert cli("equivariance", "train", "transitions=64", "epochs=2", "batch_size=32", "size=16", "channels=4",
               "hidden=16", "--quiet", "--out", tmp_path / "world").returncode == 0
    losses = [float(r["train/loss"]) for r in csv.DictReader(open(tmp_path / "world" / "metrics.csv"))]
    assert sorted(_scalars(tmp_path / "world" / "tensorboard")["train/loss"].values()) == pytest.approx(sorted(losses))

    assert cli("train", "data.source=online", "data.n_train=64", "data.n_val=16", "data.batch_size=32", "model.hidden=8",
               "data.generation={seq_len: 5}", "trainer.max_epochs=2", "trainer.progress=false",
               "--out", tmp_path / "integrator").returncode == 0
    validation = [float(r["val/loss"]) for r in csv.DictReader(open(tmp_path / "integrator" / "metrics.csv"))
                  if r.get("val/loss")]
    assert len(validation) == 2
    assert sorted(_scalars(tmp_path / "integrator" / "tensorboard")["val/loss"].values()) == pytest.approx(sorted(validation))


def test_only_the_first_process_of_a_multi_process_run_checks_its_folder(monkeypatch):
    from cogmap.runs import process_rank

    for name in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert process_rank() == 0
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert process_rank() == 1
    monkeypatch.setenv("RANK", "3")  # the global rank first
    assert process_rank() == 3


def _header(path) -> dict:
    saved = torch.load(path, weights_only=True)
    return {key: saved.get(key) for key in ("format", "version", "kind")} | {"config": type(saved.get("config"))}


def test_every_trainer_writes_the_one_checkpoint_header(tmp_path, cli):
    from cogmap.runs import CHECKPOINT_VERSION

    expected = {"format": "cogmap-checkpoint", "version": CHECKPOINT_VERSION, "config": dict}
    assert cli("control", "train", "hidden=8", "head=8", "num_envs=2", "minibatches=2", "total_steps=400",
               "eval_episodes=2", "--quiet", "--out", tmp_path / "ppo").returncode == 0
    assert _header(tmp_path / "ppo" / "checkpoints" / "update_0001.pt") == {**expected, "kind": "policy"}
    assert _header(tmp_path / "ppo" / "resume.pt") == {**expected, "kind": "ppo-resume"}
    assert torch.load(tmp_path / "ppo" / "checkpoints" / "update_0001.pt", weights_only=True)["config"]["hidden"] == 8
    assert cli("equivariance", "train", "transitions=64", "epochs=1", "batch_size=32", "size=16", "channels=4",
               "hidden=16", "--quiet", "--out", tmp_path / "world").returncode == 0
    assert _header(tmp_path / "world" / "checkpoints" / "model.pt") == {**expected, "kind": "world-model"}
    assert _header(tmp_path / "world" / "checkpoints" / "resume.ckpt") == {**expected, "kind": "world-model-resume"}
    assert cli("train", "data.source=online", "data.n_train=64", "data.n_val=16", "data.batch_size=32", "model.hidden=8",
               "data.generation={seq_len: 5}", "trainer.max_epochs=1", "trainer.progress=false",
               "--out", tmp_path / "integrator").returncode == 0
    for name in ("best.ckpt", "last.ckpt"):
        path = tmp_path / "integrator" / "checkpoints" / name
        assert _header(path) == {**expected, "kind": "path-integrator"}
        # the header's config is the training run's config.yaml, key for key
        assert torch.load(path, weights_only=True)["config"] == yaml.safe_load((tmp_path / "integrator" / "config.yaml").read_text())
    # what cogmap.load makes of each, and what it refuses
    assert type(cogmap.load(tmp_path / "ppo")).__name__ == "Policy"
    assert type(cogmap.load(tmp_path / "world")).__name__ == "WorldModel"
    assert type(cogmap.load(tmp_path / "integrator")).__name__ == "StateEstimationModel"
    with pytest.raises(CogmapError, match="the state a run resumes from, not a trained object"):
        cogmap.load(tmp_path / "ppo" / "resume.pt")
    newer = torch.load(tmp_path / "world" / "checkpoints" / "model.pt", weights_only=True)
    newer["version"] = CHECKPOINT_VERSION + 1
    torch.save(newer, tmp_path / "newer.pt")
    with pytest.raises(CogmapError, match="format version 2; this cogmap reads up to 1"):
        cogmap.load(tmp_path / "newer.pt")
    with pytest.raises(CogmapError, match="holds a world-model, not a policy"):
        cogmap.load(tmp_path / "world", kind="policy")


@pytest.mark.slow  # a PPO training twice; the fast tier resumes a run in test_ppo
def test_a_run_begun_before_the_header_still_resumes_to_the_same_bytes(tmp_path, monkeypatch):
    # resume.pt as the cogmap before the one header wrote it (flat keys): a run begun then continues exactly
    from cogmap.rl import PPOConfig
    from cogmap.rl.ppo import train
    from tests.interruption import train_until_cut

    config = PPOConfig(hidden=8, head=8, num_envs=2, minibatches=2, total_steps=3 * 400, seed=5, eval_episodes=2)
    train(config, tmp_path / "whole", progress=False)
    train_until_cut(config, tmp_path / "cut", monkeypatch, collects=3)
    saved = torch.load(tmp_path / "cut" / "resume.pt", weights_only=True)
    old = {**saved["state"], "update": saved["update"], "steps": saved["steps"], "elapsed_s": saved["elapsed_s"]}
    old["state"] = old.pop("recurrent_state")
    torch.save(old, tmp_path / "cut" / "resume.pt")
    train(config, tmp_path / "cut", progress=False, resume=True)
    whole = torch.load(tmp_path / "whole" / "checkpoints" / "update_0003.pt", weights_only=True)["state"]
    resumed = torch.load(tmp_path / "cut" / "checkpoints" / "update_0003.pt", weights_only=True)["state"]
    assert whole.keys() == resumed.keys() and all(torch.equal(whole[k], resumed[k]) for k in whole)


def test_the_one_metrics_writer_appends_widens_and_trims(tmp_path):
    import csv

    from cogmap.runs import MetricsLog

    log = MetricsLog(tmp_path, columns=["update", "loss"])
    log.start()
    assert (tmp_path / "metrics.csv").read_text().strip() == "update,loss"
    log.append({"update": 1, "loss": 0.5})
    log.append({"update": 2, "loss": 0.25, "val/loss": 0.3})  # a new column widens the file, rows kept
    log.append({"update": 3, "loss": 0.125})
    log.update_last({"eval": 7})
    with open(tmp_path / "metrics.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["update", "loss", "val/loss", "eval"]
        assert list(reader) == [{"update": "1", "loss": "0.5", "val/loss": "", "eval": ""},
                                {"update": "2", "loss": "0.25", "val/loss": "0.3", "eval": ""},
                                {"update": "3", "loss": "0.125", "val/loss": "", "eval": "7"}]
    log.keep(lambda row: int(row["update"]) < 3)  # a resumed run redoes update 3
    assert [row["update"] for row in log.rows()] == ["1", "2"]
    assert MetricsLog(tmp_path / "nothing").rows() == []


def test_a_resumed_lightning_run_drops_the_rows_it_redoes(tmp_path):
    from cogmap.runs import MetricsLog
    from cogmap.trainer import metrics_logger

    log = MetricsLog(tmp_path)
    for epoch in range(4):  # epochs 2 and 3 were logged after the checkpoint of epoch 1
        log.append({"step": 10 * epoch, "epoch": epoch, "train/loss": 1.0 / (epoch + 1)})
    logger = metrics_logger(tmp_path, resume_epoch=1)
    assert [row["epoch"] for row in log.rows()] == ["0", "1"]
    logger.log_metrics({"train/loss": torch.tensor(0.4), "epoch": 2}, step=20)
    assert log.rows()[-1] == {"step": "20", "epoch": "2", "train/loss": "0.4000000059604645"}
