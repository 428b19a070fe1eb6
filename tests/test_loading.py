"""cogmap.load opens every kind of file cogmap writes, shipped ones included, and refuses anything else in one line."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import cogmap
from cogmap.pathint.data import GenerationConfig, generate
from cogmap.pathint.model import StateEstimationModel, load_path_integrator
from cogmap.rl.policy import Policy, load_policy
from cogmap.worldmodels.model import WorldModel
from cogmap.worldmodels.train import load_world_model

PRETRAINED = Path(__file__).resolve().parents[1] / "pretrained"


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    first, second = a.state_dict(), b.state_dict()
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def test_a_path_integrator_loads_and_takes_what_the_generator_produces():
    model = cogmap.load(PRETRAINED / "so3x2_gru.ckpt")
    assert isinstance(model, StateEstimationModel) and not model.training
    assert same_weights(model, load_path_integrator(PRETRAINED / "so3x2_gru.ckpt"))
    batch = generate(GenerationConfig(seq_len=50), 64, split="val")
    codes = model.predict(batch.velocities, batch.initial_code)
    assert codes.shape == batch.targets.shape

    def peak_hits(code):  # how often the most active cell of each joint is the target's
        return (code.reshape(64, 50, 2, -1).argmax(-1) == batch.targets.reshape(64, 50, 2, -1).argmax(-1)).float().mean()

    stay_still = batch.initial_code[:, None].expand_as(batch.targets)
    assert peak_hits(codes) > peak_hits(stay_still) + 0.3


def test_the_grid_cell_model_is_a_path_integrator_too():
    assert isinstance(cogmap.load(PRETRAINED / "box_grid_dog.ckpt"), StateEstimationModel)


def test_a_policy_loads_and_acts_on_the_environments_own_observation():
    policy = cogmap.load(PRETRAINED / "control" / "pendulum_fo_rnn.pt")
    assert isinstance(policy, Policy)
    assert same_weights(policy.agent, load_policy(PRETRAINED / "control" / "pendulum_fo_rnn.pt").agent)
    action = policy.reset(1).act(np.array([1.0, 0.0, 0.5], dtype=np.float32))
    assert action.shape == (1,) and np.isfinite(action).all() and abs(action[0]) <= 2.0


def test_a_world_model_loads_and_encodes_what_its_domain_renders():
    path = PRETRAINED / "equivariance" / "teapot_sen.pt"
    model = cogmap.load(path)
    assert isinstance(model, WorldModel) and not model.training
    assert same_weights(model, load_world_model(path))
    poses = model.domain.random_poses(4, torch.Generator().manual_seed(0))
    latent = model.encode(model.domain.render(poses, model.size).float()[:, None])
    assert latent.shape == (4, *model.latent_shape)


def test_run_folders_give_their_best_or_last_checkpoint(tmp_path):
    integrator = tmp_path / "gru"
    (integrator / "checkpoints").mkdir(parents=True)
    shutil.copy(PRETRAINED / "so3x2_rnn.ckpt", integrator / "checkpoints" / "last.ckpt")
    shutil.copy(PRETRAINED / "so3x2_gru.ckpt", integrator / "checkpoints" / "best.ckpt")
    assert same_weights(cogmap.load(integrator), load_path_integrator(PRETRAINED / "so3x2_gru.ckpt"))

    controller = tmp_path / "pendulum"
    (controller / "checkpoints").mkdir(parents=True)
    shutil.copy(PRETRAINED / "control" / "pendulum_fo_gru.pt", controller / "checkpoints" / "update_0009.pt")
    shutil.copy(PRETRAINED / "control" / "pendulum_fo_rnn.pt", controller / "checkpoints" / "update_0010.pt")
    assert cogmap.load(controller).config.cell == "rnn"  # the last update

    world = tmp_path / "teapot"
    world.mkdir()
    shutil.copy(PRETRAINED / "equivariance" / "teapot_none.pt", world / "model.pt")
    assert isinstance(cogmap.load(world), WorldModel)


def _one_line_error(path, match):
    with pytest.raises(cogmap.CogmapError, match=match) as error:
        cogmap.load(path)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_missing_damaged_and_foreign_files_are_one_error_naming_the_file(tmp_path):
    _one_line_error(tmp_path / "nothing.pt", "does not exist")
    _one_line_error(tmp_path, "not a cogmap run")

    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((PRETRAINED / "control" / "pendulum_fo_rnn.pt").read_bytes()[:2000])
    _one_line_error(truncated, "damaged|not a PyTorch file")

    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(bytes(range(256)) * 8)
    _one_line_error(garbage, "not a PyTorch file")

    tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor)
    _one_line_error(tensor, "not a cogmap checkpoint")

    foreign = tmp_path / "foreign.pt"
    torch.save({"format": "someone-else", "state_dict": {}}, foreign)
    _one_line_error(foreign, "'someone-else' file")

    empty = tmp_path / "empty.pt"
    torch.save({}, empty)
    _one_line_error(empty, "not a cogmap checkpoint")


def test_a_file_of_the_right_kind_with_wrong_weights_is_said_to_be_that(tmp_path):
    saved = torch.load(PRETRAINED / "equivariance" / "teapot_sen.pt", weights_only=True)
    saved["state_dict"] = {k: v[..., :1] for k, v in saved["state_dict"].items()}
    broken = tmp_path / "model.pt"
    torch.save(saved, broken)
    _one_line_error(broken, "weights do not fit")


def test_a_device_the_machine_lacks_is_refused_as_such():
    # cuda:99 exists nowhere: "no CUDA" on a CPU machine, "N CUDA device(s)" on a GPU one
    for path in ("equivariance/teapot_none.pt", "control/pendulum_fo_rnn.pt", "so3x2_rnn.ckpt"):
        with pytest.raises(cogmap.CogmapError, match=r"cuda:99: (CUDA is not available|this machine has \d+ CUDA)"):
            cogmap.load(PRETRAINED / path, device="cuda:99")
