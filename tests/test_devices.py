"""Components follow ``.to()``: a second dtype (and PyTorch's shape-only ``meta`` device) catches tensors made on
the CPU by default, which would break on a GPU, without needing one."""

import numpy as np
import pytest
import torch

from cogmap.devices import resolve_device
from cogmap.errors import CogmapError
from cogmap.pathint.data import GenerationConfig, generate
from cogmap.pathint.model import StateEstimationModel
from cogmap.rl.agents import RecurrentActorCritic
from cogmap.rl.policy import Policy
from cogmap.rl.ppo import advantages
from cogmap.treeworld.tem import TEM2d


def test_resolve_device_checks_the_machine():
    assert resolve_device(None) == torch.device("cpu") and resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(CogmapError, match="not a device"):
        resolve_device("graphics-card")
    if not torch.cuda.is_available():
        with pytest.raises(CogmapError, match="--device cuda: CUDA is not available"):
            resolve_device("cuda", "--device")


def test_tem2d_and_its_memory_move_together():
    tem = TEM2d(grid_size=21, sensory_dim=4, grid_extent=200.0, memory_size=8, key_cells=9).double()
    assert tem.memory.senses.dtype == torch.float64 and "memory.senses" in tem.state_dict()
    belief = None
    for _ in range(6):  # inputs in another dtype are taken in the localizer's own
        belief, loss, mix = tem(belief, torch.tensor([[3.0, -2.0]]), torch.randn(1, 4, dtype=torch.float32))
    assert belief.dtype == torch.float64 and mix.dtype == torch.float64 and int(tem.memory.size) == 6
    assert torch.allclose(belief.sum(dim=(-2, -1)), torch.ones(1, dtype=torch.float64))
    tem.reset()
    assert int(tem.memory.size) == 0 and tem.memory.senses.dtype == torch.float64


def test_the_recurrent_agent_runs_on_meta_and_in_float64():
    agent = RecurrentActorCritic(3, 2, cell="lstm", observation_scale=[1, 1, 0.5]).to("meta")
    out = agent(torch.zeros(4, 7, 3, device="meta"))
    assert out.mean.device.type == "meta" and out.state.shape == (4, 128)
    rewards = torch.zeros(2, 5, device="meta")
    flags = torch.zeros(2, 5, dtype=torch.bool, device="meta")
    assert advantages(rewards, rewards, rewards, flags, flags, 0.9, 0.9)[0].device.type == "meta"
    policy = Policy(RecurrentActorCritic(3, cell="gru")).to(dtype=torch.float64)
    action = policy.act(np.zeros(3, dtype=np.float32))
    assert action.dtype == np.float32 and policy.state.dtype == torch.float64


def test_the_path_integrator_takes_inputs_of_any_dtype():
    generation = GenerationConfig(seq_len=5, cells=8)
    model = StateEstimationModel(hidden=8, cells=8, generation=generation.to_dict()).double()
    batch = generate(generation, 3, "val")
    codes = model.predict(batch.velocities, batch.initial_code)  # float32 in, the model's float64 inside
    assert codes.dtype == torch.float64 and codes.shape == (3, 5, 16)
    model = model.to("meta")
    assert model.predict(batch.velocities, batch.initial_code).device.type == "meta"
