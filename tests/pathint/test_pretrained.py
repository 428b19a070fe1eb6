from pathlib import Path

import pytest

from cogmap.pathint.data import GenerationConfig
from cogmap.pathint.evaluate import evaluate
from cogmap.pathint.model import StateEstimationModel
from tests.manifest import recorded

PRETRAINED = Path(__file__).resolve().parents[2] / "pretrained"


def test_shipped_gru_loads_and_integrates():
    model = StateEstimationModel.load_from_checkpoint(PRETRAINED / "so3x2_gru.ckpt", map_location="cpu")
    assert model.hparams.cell == "gru" and model.hparams.hidden == 256
    generation = GenerationConfig.from_dict(model.hparams.generation)
    assert generation == GenerationConfig()  # trained on the seed's data settings
    results = evaluate(model, generation, n=200, n_decode=4, refine_steps=5)
    # RESULTS.md reports 0.988 on 5,000 trajectories; 200 of them must land close, and far above
    # the predictor that never integrates.
    assert model.hparams.encode == "log"
    assert results.model.accuracy == pytest.approx(recorded("so3x2_gru.ckpt")["accuracy_100_steps"], abs=0.015)
    assert results.model.accuracy > results.stay_still.accuracy + 0.3


@pytest.mark.parametrize("cell,reported", [(c, recorded(f"so3x2_{c}.ckpt")["accuracy_100_steps"]) for c in ("rnn", "lstm")])
def test_shipped_rnn_and_lstm_load_and_match_their_reported_accuracy(cell, reported):
    model = StateEstimationModel.load_from_checkpoint(PRETRAINED / f"so3x2_{cell}.ckpt", map_location="cpu")
    assert model.hparams.cell == cell and model.hparams.hidden == 256
    generation = GenerationConfig.from_dict(model.hparams.generation)
    results = evaluate(model, generation, n=200, n_decode=4, refine_steps=5)
    assert results.model.accuracy == pytest.approx(reported, abs=0.04)  # RESULTS.md, on 5,000
    assert results.model.accuracy > results.stay_still.accuracy + 0.2


def test_shipped_reacher_torus_gru_matches_its_reported_accuracy():
    model = StateEstimationModel.load_from_checkpoint(PRETRAINED / "reacher_torus_gru.ckpt", map_location="cpu")
    generation = GenerationConfig.from_dict(model.hparams.generation)
    assert (generation.manifold, generation.joints, generation.dt, generation.seq_len) == ("so2", 2, 0.02, 50)
    results = evaluate(model, generation, n=300, n_decode=32, refine_steps=20)
    # RESULTS.md: 0.8826 and 0.66 deg on 5,000 trajectories of 50 steps
    assert results.model.accuracy == pytest.approx(recorded("reacher_torus_gru.ckpt")["accuracy_50_steps"], abs=0.03)
    assert results.model.geodesic_error_deg < 1.5 < 60 < results.stay_still.geodesic_error_deg
