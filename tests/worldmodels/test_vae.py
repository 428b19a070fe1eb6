"""The homeomorphic VAE (Falorsi et al. 2018), the seed's Table 1 baseline: its density on SO(3), its loss, its config."""

import math

import pytest
import torch
from scipy.stats import multivariate_normal

from cogmap.errors import CogmapError
from cogmap.geometry import so3
from cogmap.worldmodels.model import LOG_VOLUME_SO3, WorldModel, elbo_loss, log_wrapped_normal_so3


@pytest.mark.parametrize("scales", [(0.5, 0.5, 0.5), (0.3, 0.9, 1.5)])
def test_the_wrapped_normal_is_a_density_on_so3(scales):
    # Its mean over Haar-uniform rotations times the group's volume is its integral: 1.
    rotations = so3.random(400_000, torch.Generator().manual_seed(0), dtype=torch.float64)
    epsilon = so3.log(rotations)
    log_scale = torch.log(torch.tensor(scales, dtype=torch.float64)).expand_as(epsilon)
    integral = log_wrapped_normal_so3(epsilon, log_scale).exp().mean() * math.exp(LOG_VOLUME_SO3)
    assert float(integral) == pytest.approx(1.0, abs=0.03)


def test_near_the_mean_a_narrow_wrapped_normal_is_the_gaussian_times_the_volume_change():
    scales = torch.tensor([0.05, 0.08, 0.1], dtype=torch.float64)
    epsilon = torch.randn(50, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * scales
    ours = log_wrapped_normal_so3(epsilon, scales.log().expand_as(epsilon))
    theta = epsilon.norm(dim=1)
    gaussian = multivariate_normal(mean=[0, 0, 0], cov=torch.diag(scales ** 2).numpy()).logpdf(epsilon.numpy())
    volume = torch.log(theta ** 2 / (2 - 2 * torch.cos(theta)))  # the exponential map's, by hand
    assert torch.allclose(ours, torch.as_tensor(gaussian) + volume, atol=1e-6)


def test_the_elbo_trains_the_encoder_its_spread_and_the_decoder():
    torch.manual_seed(0)
    model = WorldModel("matmul", size=16, channels=4, hidden=16, latent="rotation", domain="teapot", vae=True)
    images = torch.rand(8, 1, 16, 16)
    loss, parts = elbo_loss(model, images, torch.Generator().manual_seed(0))
    loss.backward()
    for part in (model.encoder, model.log_scale, model.decoder):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters())
    assert parts["positive"] > 0 and math.isfinite(parts["negative"])
    assert model.encode(images).shape == (8, 1, 3, 3)  # a world model as any other: the mean rotation
    with pytest.raises(CogmapError, match="rotation of each SO"):
        WorldModel("matmul", size=16, latent="vectors", vae=True)
    with pytest.raises(CogmapError, match="needs a world model built with vae"):
        elbo_loss(WorldModel("matmul", size=16, latent="rotation"), images)


def test_the_vae_config_is_a_rotation_latent_on_so3_joints():
    from cogmap.worldmodels.train import WorldModelConfig

    assert WorldModelConfig(loss="vae", latent="rotation").loss == "vae"
    for overrides in ({"latent": "vectors"}, {"latent": "rotation", "transition": "none"},
                      {"latent": "rotation", "domain": "planar_arm"}):
        with pytest.raises(CogmapError, match="homeomorphic VAE"):
            WorldModelConfig(loss="vae", **overrides)


def test_kl_weight_belongs_to_the_vae_and_is_a_weight():
    from cogmap.worldmodels.train import WorldModelConfig

    assert WorldModelConfig(loss="vae", latent="rotation", kl_weight=0.0).kl_weight == 0.0
    for overrides in ({"loss": "vae", "latent": "rotation", "kl_weight": -1.0}, {"kl_weight": 0.5}):
        with pytest.raises(CogmapError, match="kl_weight"):
            WorldModelConfig(**overrides)
