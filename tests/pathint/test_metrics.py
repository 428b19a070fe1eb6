import math

import pytest
import torch

from cogmap.errors import CogmapError
from cogmap.pathint.metrics import accuracy, kl_divergence, stay_still_prediction


def test_kl_by_hand():
    # Two joints of two cells each.
    target = torch.tensor([[0.5, 0.5, 1.0, 0.0]])
    prediction = torch.tensor([[0.25, 0.75, 0.5, 0.5]])
    joint0 = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    joint1 = 1.0 * math.log(1.0 / 0.5)  # the zero-probability cell adds nothing
    assert float(kl_divergence(target, prediction.log(), joints=2)) == pytest.approx((joint0 + joint1) / 2)
    assert float(kl_divergence(target, target.clamp_min(1e-30).log(), joints=2)) == pytest.approx(0, abs=1e-12)


def test_accuracy_by_hand():
    target = torch.tensor([[0.7, 0.2, 0.1, 0.1, 0.1, 0.8], [0.1, 0.8, 0.1, 0.6, 0.3, 0.1]])
    prediction = torch.tensor([[0.5, 0.4, 0.1, 0.9, 0.05, 0.05], [0.2, 0.7, 0.1, 0.5, 0.2, 0.3]])
    # Row 0: joint 0 right, joint 1 wrong; row 1: both right.
    assert accuracy(target, prediction, joints=2).tolist() == [0.5, 1.0]


def test_stay_still_repeats_the_initial_code():
    init = torch.tensor([[0.1, 0.9], [0.6, 0.4]])
    pred = stay_still_prediction(init, 3)
    assert pred.shape == (2, 3, 2) and torch.equal(pred[:, 2], init)


def test_shape_errors():
    with pytest.raises(CogmapError, match="differ in shape"):
        accuracy(torch.ones(2, 4), torch.ones(2, 6), joints=2)
    with pytest.raises(CogmapError, match="multiple of 3 joints"):
        kl_divergence(torch.ones(2, 4), torch.ones(2, 4), joints=3)
