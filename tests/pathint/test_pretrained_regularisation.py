"""The shipped networks of the regularisation sweep reproduce RESULTS.md's table (section 5 of issue 20)."""

from functools import cache
from pathlib import Path

import pytest

from cogmap.pathint.evaluate import evaluate
from cogmap.pathint.model import load_path_integrator
from tests.manifest import recorded, shipped
from tests.tiers import tiered

SWEEP = Path(__file__).resolve().parents[2] / "pretrained" / "regularisation"

# RESULTS.md, "Regularisation: dropout x weight decay": accuracy at 100 and at 500 steps on 2,000
# validation trajectories. The checks use the first 300 of them.
REPORTED = {(float(name[5:8]), name[11:]): (figures["accuracy_100_steps"], figures["accuracy_500_steps"])
            for name in shipped("regularisation") for figures in [recorded(f"regularisation/{name}.ckpt")]}


@cache
def _accuracies(dropout, decay):
    model = load_path_integrator(SWEEP / f"gru_d{dropout}_wd{decay}.ckpt")
    assert model.hparams.dropout == dropout and model.hparams.weight_decay == float(decay)
    short = evaluate(model, model.generation, n=300, n_decode=1, refine_steps=1).model.accuracy
    long = evaluate(model, model.generation, n=300, seq_len=500, n_decode=1, refine_steps=1).model.accuracy
    return short, long


@pytest.mark.parametrize("dropout,decay", tiered(list(REPORTED), fast=[(0.2, "1.0e-4")]))
def test_each_cell_matches_its_row(dropout, decay):
    short, long = _accuracies(dropout, decay)
    reported_short, reported_long = REPORTED[dropout, decay]
    assert short == pytest.approx(reported_short, abs=0.01)
    assert long == pytest.approx(reported_long, abs=0.04)  # long runs vary more between trajectories


@pytest.mark.slow
def test_dropout_helps_past_the_training_length():
    # The table's consistent effect, on the same 300 trajectories: dropout 0.5 keeps more of the
    # pose at 500 steps than no dropout, at every weight decay.
    for decay in ("0.0", "1.0e-4", "1.0e-2"):
        assert _accuracies(0.5, decay)[1] > _accuracies(0.0, decay)[1] + 0.05
