"""The shipped grid-cell network (RESULTS.md, "Grid cells in the flat box") loads with one call and has its recorded figures."""

from pathlib import Path

import pytest

from cogmap.pathint.model import StateEstimationModel
from cogmap.pathint.spatial import spatial_analysis
from tests.manifest import recorded

PRETRAINED = Path(__file__).resolve().parents[2] / "pretrained" / "box_grid_dog.ckpt"
# RESULTS.md, measured with `cogmap analyze` at its defaults (5,000 validation trajectories, 20 x 20 bins).
RECORDED = recorded("box_grid_dog.ckpt")  # pretrained/manifest.json


def test_the_shipped_box_model_has_its_recorded_grid_units_and_position_error():
    model = StateEstimationModel.load(PRETRAINED)
    hyper = model.hparams
    assert (hyper.cell, hyper.nonlinearity, hyper.bias, hyper.readout, hyper.hidden) == ("rnn", "relu", False, "linear", 512)
    assert model.generation.manifold == "box" and model.generation.kernel == "dog"
    result = spatial_analysis(model)
    summary = result.to_json()
    # The same trajectories and weights give the same numbers up to floating-point rounding.
    assert summary["fraction_score_60_above_0.3"] == pytest.approx(RECORDED["fraction_score_60_above_0.3"], abs=0.01)
    assert summary["fraction_above_shuffled_95th"] == pytest.approx(RECORDED["fraction_above_shuffled_95th"], abs=0.01)
    assert summary["position_error"] == pytest.approx(RECORDED["position_error"], rel=0.02)
    # It integrates: closer than holding the start, and far closer than guessing the centre.
    assert summary["position_error"] < summary["stay_still_error"] < summary["centre_error"]
    # More units are grid-like than the shuffled maps allow by chance (5%).
    assert summary["fraction_above_shuffled_95th"] > 0.05
