import math

import pytest
import torch

from cogmap.pathint.data import GenerationConfig
from cogmap.pathint.evaluate import evaluate
from cogmap.pathint.model import StateEstimationModel

GEN = GenerationConfig(seq_len=6)


class Oracle(torch.nn.Module):
    """Predicts the exact target code, looked up by the velocities: an evaluation must score it perfectly."""

    def __init__(self, lookup):
        super().__init__()
        self.lookup = lookup
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def _encode_init_pos(self, code):
        return None

    def forward(self, velocities, hidden=None):
        key = float(velocities[0, 0, 0])
        return self.lookup[key].clamp_min(1e-30).log(), None


def test_an_oracle_scores_perfectly_and_references_are_right():
    from cogmap.pathint.data import generate

    tr = generate(GEN, 40, "val")
    lookup = {float(tr.velocities[i, 0, 0]): tr.targets[i:i + 10] for i in range(0, 40, 10)}
    results = evaluate(Oracle(lookup), GEN, n=40, batch_size=10, n_decode=10, refine_steps=100)
    assert results.model.accuracy == 1.0 and results.model.kl < 1e-6
    assert results.model.geodesic_error_deg < 1.0
    assert results.chance.accuracy == pytest.approx(1 / 32)
    # Chance KL is the mean of log(32) minus the target entropy.
    entropy = -(tr.targets * tr.targets.log()).reshape(40, 6, 2, 32).sum(-1).mean()
    assert results.chance.kl == pytest.approx(math.log(32) - float(entropy), rel=1e-4)
    assert results.stay_still.accuracy_per_step[0] > results.stay_still.accuracy_per_step[-1]


def test_longer_sequences_than_training():
    model = StateEstimationModel(hidden=8, generation=GEN.to_dict())
    results = evaluate(model, GEN, n=8, seq_len=30, n_decode=4, refine_steps=5)
    assert results.steps == 30 and len(results.model.accuracy_per_step) == 30


def test_evaluation_is_reproducible():
    model = StateEstimationModel(hidden=8, generation=GEN.to_dict())
    first = evaluate(model, GEN, n=8, n_decode=2, refine_steps=3)
    second = evaluate(model, GEN, n=8, n_decode=2, refine_steps=3)
    assert first == second
