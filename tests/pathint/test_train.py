import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cogmap.errors import CogmapError
from cogmap.pathint.data import GenerationConfig, write_trajectory_file
from cogmap.pathint.model import StateEstimationModel
from cogmap.pathint.train import load_config, slim_checkpoint, train
from tests.processes import free_port

TINY = ["data.source=online", "data.n_train=256", "data.n_val=64", "data.batch_size=64", "data.generation={seq_len: 10}",
        "model.hidden=16", "trainer.progress=false"]


def rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(CogmapError, match="model.hiden"):
        load_config(None, ["model.hiden=3"])
    with pytest.raises(CogmapError, match="unknown key.*modle"):
        load_config(None, ["modle.hidden=3"])
    with pytest.raises(CogmapError, match="model.hidden must be an integer"):
        load_config(None, ["model.hidden=big"])
    with pytest.raises(CogmapError, match=r"unknown key.*hidden; did you mean model.hidden\? known: model, optim"):
        load_config(None, ["hidden=3"])
    with pytest.raises(CogmapError, match="section.key=value"):
        load_config(None, ["model.hidden"])
    with pytest.raises(CogmapError, match="data.generation.kappa"):
        load_config(None, ["data.generation={kappa: -1}"])
    with pytest.raises(CogmapError, match="data.generation.kernel must be one of"):
        load_config(None, ["data.generation.kernel=box"])
    with pytest.raises(CogmapError, match="optim.lr"):
        load_config(None, ["optim.lr=0"])
    with pytest.raises(CogmapError, match="trainer.loggers entries"):
        load_config(None, ["trainer.loggers=[csv, mlflow]"])
    with pytest.raises(CogmapError, match="model.encode"):
        load_config(None, ["model.encode=sqrt"])
    assert load_config(None, ["optim.lr=3e-3"]).optim.lr == 0.003  # YAML 1.1 reads 3e-3 as a string
    # ... and so it does in nested sections and in files (once refused: the generation section had no types).
    assert load_config(None, ["data.generation.dt=1e-2"]).generation.dt == 0.01
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text("data:\n  generation:\n    dt: 1e-2\n    seq_len: 1e2\ntrainer:\n  max_epochs: 2\n")
    from_file = load_config(yaml_file, ["data.generation.cells=8"])
    assert (from_file.generation.dt, from_file.generation.seq_len, from_file.generation.cells) == (0.01, 100, 8)
    assert from_file.trainer.max_epochs == 2
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(CogmapError, match="not UTF-8"):
        load_config(binary)
    config = load_config("configs/pathint/gru.yaml", ["trainer.max_epochs=3"])
    assert config.trainer.max_epochs == 3 and config.model.cell == "gru" and config.model.hidden == 256
    assert config.model.encode == "code"
    from cogmap.pathint.train import build_model

    built = build_model(load_config(None, ["model.encode=log", "model.hidden=8"]))
    assert built.net.encode == "log" and built.hparams.encode == "log"


def test_shipped_configs_have_the_seed_defaults():
    for cell in ("rnn", "gru", "lstm"):
        config = load_config(f"configs/pathint/{cell}.yaml")
        assert config.model.cell == cell and config.model.hidden == 256 and config.model.dropout == 0.5
        assert (config.optim.lr, config.optim.weight_decay, config.optim.min_lr, config.optim.grad_clip) == (1e-3, 1e-4, 1e-6, 1.0)
        assert config.data.batch_size == 128 and config.trainer.max_epochs == 200
        assert (config.data.n_train, config.data.n_val) == (100_000, 5_000)
        assert config.generation == GenerationConfig()


def test_resume_continues_from_the_saved_epoch(tmp_path):
    first = load_config(None, TINY + [f"trainer.log_dir={tmp_path}", "trainer.max_epochs=1"])
    run = train(first)
    saved = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert saved["epoch"] == 0 and saved["global_step"] == 4
    with pytest.raises(CogmapError, match="already holds a run"):
        train(first)
    second = load_config(None, TINY + [f"trainer.log_dir={tmp_path}", "trainer.max_epochs=3"])
    train(second, resume=True)
    resumed = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert resumed["epoch"] == 2 and resumed["global_step"] == 12  # 4 more batches per epoch, from epoch 1
    epochs = sorted({int(r["epoch"]) for r in rows(run / "metrics.csv")})
    assert epochs == [0, 1, 2]  # the first attempt's rows are kept
    with pytest.raises(CogmapError, match="no checkpoint"):
        train(load_config(None, TINY + [f"trainer.log_dir={tmp_path}", "trainer.name=other"]), resume=True)


def test_training_from_a_file_and_checkpoint_round_trip(tmp_path):
    gen = GenerationConfig(seq_len=10)
    data = tmp_path / "traj.pt"
    write_trajectory_file(data, gen, 256, 64, progress=False)
    config = load_config(None, TINY[4:] + [f"data.path={data}", "data.batch_size=64", f"trainer.log_dir={tmp_path}",
                                           "trainer.max_epochs=2", "model.cell=lstm"])
    run = train(config)
    model = StateEstimationModel.load_from_checkpoint(run / "checkpoints" / "best.ckpt").eval()
    slim = slim_checkpoint(run / "checkpoints" / "best.ckpt", tmp_path / "slim.ckpt")
    assert slim.stat().st_size < 0.6 * (run / "checkpoints" / "best.ckpt").stat().st_size
    again = StateEstimationModel.load_from_checkpoint(slim).eval()
    v, c = torch.randn(2, 10, 6), torch.softmax(torch.randn(2, 64), -1)
    assert torch.equal(model(v, model._encode_init_pos(c))[0], again(v, again._encode_init_pos(c))[0])
    assert model.hparams.cell == "lstm" and GenerationConfig.from_dict(model.hparams.generation) == gen
    losses = [float(r["val/loss"]) for r in rows(run / "metrics.csv") if r["val/loss"]]
    assert len(losses) == 2 and all(l == l for l in losses)  # two epochs, no NaN
    mismatched = load_config(None, TINY[4:] + [f"data.path={data}", "data.generation={seq_len: 11}",
                                               f"trainer.log_dir={tmp_path}", "trainer.name=bad"])
    with pytest.raises(CogmapError, match="does not match"):
        train(mismatched)


@pytest.mark.slow
@pytest.mark.parametrize("config", [None, "box_grid.yaml"], ids=["so3x2", "grid_cells"])
def test_two_process_ddp_on_cpu(tmp_path, config):
    # DDP with the gloo backend on two CPU processes: each rank trains on half of the batches and
    # validates on half of the trajectories; rank 0 alone writes the run, and the metrics it logs
    # are gathered over both halves: the validation loss of the saved weights, as one process scores it.
    import lightning as L

    from cogmap.pathint.datamodule import TrajectoryDataModule

    base = ["--config", str(Path(__file__).resolve().parents[2] / "configs" / "pathint" / config)] if config else []
    args = TINY + [f"trainer.log_dir={tmp_path}", "trainer.max_epochs=1", "trainer.strategy=ddp", "trainer.name=run",
                   "trainer.devices=2", "trainer.accelerator=cpu"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", "MASTER_PORT": str(free_port())}
    result = subprocess.run([sys.executable, "-m", "cogmap", "train", "--workers", "1", *base, *args],
                            capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "run"
    assert result.stdout.count("run: ") == 1
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    saved = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert saved["global_step"] == 2  # 4 batches shared by 2 ranks
    logged = [float(r["val/loss"]) for r in rows(run / "metrics.csv") if r["val/loss"]]
    assert len(logged) == 1  # one epoch, logged once
    cfg = load_config(Path(base[1]) if base else None, args)
    data = TrajectoryDataModule(cfg.generation, cfg.data.source, cfg.data.path, cfg.data.n_train, cfg.data.n_val,
                                cfg.data.batch_size, 0, cfg.trainer.seed, cfg.data.epoch_offset)
    model = StateEstimationModel.load_from_checkpoint(run / "checkpoints" / "last.ckpt", map_location="cpu")
    alone = L.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False, enable_model_summary=False)
    scored = alone.validate(model, datamodule=data, verbose=False)[0]["val/loss"]
    assert logged[0] == pytest.approx(float(scored), rel=1e-5)


def test_init_from_starts_from_earlier_weights_and_refuses_other_architectures(tmp_path):
    from cogmap.pathint.train import build_model, load_weights

    run = train(load_config(None, TINY + [f"trainer.log_dir={tmp_path}", "trainer.max_epochs=1", "trainer.name=a"]))
    best = run / "checkpoints" / "best.ckpt"
    model = build_model(load_config(None, TINY))
    assert load_weights(model, best) is None  # same encoding: nothing refitted
    trained = StateEstimationModel.load_from_checkpoint(best, map_location="cpu")
    for name, value in trained.state_dict().items():
        assert torch.equal(model.state_dict()[name], value), name
    with pytest.raises(CogmapError, match="does not fit"):
        load_weights(build_model(load_config(None, TINY + ["model.hidden=8"])), best)
    with pytest.raises(CogmapError, match="init_from: checkpoint .*missing.ckpt does not exist"):
        load_weights(model, tmp_path / "missing.ckpt")
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(best.read_bytes()[:2000])
    with pytest.raises(CogmapError, match="init_from: .*truncated.ckpt"):
        load_weights(model, truncated)
    # Through the CLI config, with a learning rate too small to move anything: it ends where it began.
    continued = train(load_config(None, TINY + [f"trainer.log_dir={tmp_path}", "trainer.max_epochs=1", "trainer.name=b",
                                                f"model.init_from={best}", "data.epoch_offset=1", "optim.lr=1e-12",
                                                "optim.min_lr=1e-12"]))
    after = StateEstimationModel.load_from_checkpoint(continued / "checkpoints" / "last.ckpt", map_location="cpu")
    for name, value in trained.state_dict().items():
        assert torch.allclose(after.state_dict()[name], value, atol=1e-6), name


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_init_from_with_another_encoding_refits_the_encoder_to_the_old_initial_states(tmp_path, cell):
    import dataclasses

    from cogmap.pathint.data import generate
    from cogmap.pathint.train import ENCODER_FIT_POSES, load_weights

    generation = GenerationConfig(seq_len=3)
    old = StateEstimationModel(cell=cell, hidden=8, generation=generation.to_dict(), encode="code")
    torch.save({"state_dict": old.state_dict(), "hyper_parameters": dict(old.hparams)}, tmp_path / "code.ckpt")
    new = StateEstimationModel(cell=cell, hidden=8, generation=generation.to_dict(), encode="log")
    unexplained = load_weights(new, tmp_path / "code.ckpt")
    for name, value in old.state_dict().items():  # everything but the encoder is the checkpoint's
        if not name.startswith("net.encoder"):
            assert torch.equal(new.state_dict()[name], value), name
    # The centred log-code is affine in the rotation matrices, so the refitted encoder must give
    # the least-squares affine function of the 18 rotation entries that fits the old initial states.
    poses = generate(dataclasses.replace(generation, seq_len=1), ENCODER_FIT_POSES, "train")
    with torch.no_grad():
        target = old.net.encoder(poses.initial_code).double()
        refitted = new.net.encoder(new.net.encoder_input(poses.initial_code)).double()
    design = torch.cat([poses.initial_states.reshape(-1, 18).double(), torch.ones(ENCODER_FIT_POSES, 1).double()], 1)
    reference = design @ torch.linalg.lstsq(design, target).solution
    assert torch.allclose(refitted, reference, atol=1e-4 * target.abs().max().item())
    expected = ((target - reference) ** 2).sum() / ((target - target.mean(0)) ** 2).sum()
    assert unexplained == pytest.approx(expected.item(), rel=1e-3)
    assert 0 < unexplained < 1
    with pytest.raises(CogmapError, match="fit_encoder needs"):
        new.net.fit_encoder(poses.initial_code, target[:, :3])


def test_epoch_offset_draws_the_data_of_a_later_epoch():
    from cogmap.pathint.data import OnlineTrajectories
    from cogmap.pathint.datamodule import TrajectoryDataModule

    generation = GenerationConfig(seq_len=5)
    module = TrajectoryDataModule(generation, "online", n_train=64, n_val=8, batch_size=32, epoch_offset=3)
    module.setup()
    first = next(iter(module.train_dataloader()))
    online = OnlineTrajectories(generation, 32, 2)
    online.set_epoch(3)
    assert torch.equal(first["velocities"], online.batch(0)["velocities"])
    online.set_epoch(0)
    assert not torch.equal(first["velocities"], online.batch(0)["velocities"])


@pytest.mark.slow
def test_a_short_training_run_learns_to_integrate_beyond_staying_still(tmp_path):
    from cogmap.pathint.evaluate import evaluate
    from cogmap.pathint.model import load_path_integrator

    # Large steps (dt 0.1) move the arm far in 10 steps, so the predictor that never integrates
    # scores about 0.52; a 64-unit GRU trained for 12 s must do much better.
    run = train(load_config(None, [
        "data.source=online", "data.n_train=8192", "data.n_val=256", "data.batch_size=64",
        "data.generation={seq_len: 10, dt: 0.1, cells: 16}", "model.hidden=64", "model.dropout=0", "model.encode=log",
        "optim.lr=3e-3", "trainer.max_epochs=15", "trainer.progress=false", f"trainer.log_dir={tmp_path}",
        "trainer.name=learns"]))
    model = load_path_integrator(run / "checkpoints" / "best.ckpt")
    result = evaluate(model, model.generation, n=500, n_decode=8, refine_steps=10)
    assert result.model.accuracy > result.stay_still.accuracy + 0.2
    assert result.model.kl < 0.3 * result.stay_still.kl
    # The loaded model takes what the generator gives, on any dtype: its own predict() agrees with evaluate's path.
    from cogmap.pathint.data import generate

    batch = generate(model.generation, 8, "val")
    codes = model.predict(batch.velocities.double(), batch.initial_code.double())
    assert codes.shape == batch.targets.shape and torch.allclose(codes.sum(-1), torch.full((8, 10), 2.0), atol=1e-5)


def test_union_fields_keep_the_type_they_were_given():
    # Lightning reads limit_train_batches=1.0 as "all batches" and 1 as "one batch".
    assert load_config(None, ["trainer.limit_train_batches=1.0"]).trainer.limit_train_batches == 1.0
    assert isinstance(load_config(None, ["trainer.limit_train_batches=1.0"]).trainer.limit_train_batches, float)
    assert isinstance(load_config(None, ["trainer.limit_train_batches=1"]).trainer.limit_train_batches, int)
    assert load_config(None, ["trainer.limit_val_batches=null"]).trainer.limit_val_batches is None
    with pytest.raises(CogmapError, match="trainer.limit_train_batches must be int or float or null"):
        load_config(None, ["trainer.limit_train_batches=all"])

