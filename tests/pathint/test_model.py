import numpy as np
import pytest
import torch
from scipy.special import rel_entr

from cogmap.errors import CogmapError
from cogmap.geometry import so3
from cogmap.pathint.data import GenerationConfig, generate
from cogmap.pathint.model import PathIntegrator, StateEstimationModel

GEN = GenerationConfig(seq_len=12)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_shapes_of_the_seed_api(cell):
    model = StateEstimationModel(cell=cell, hidden=16).eval()
    v, c = torch.randn(3, 12, 6), torch.softmax(torch.randn(3, 64), -1)
    log_p, hidden = model(v, hidden=model._encode_init_pos(c))
    assert log_p.shape == (3, 12, 64) and hidden.shape == (3, 12, 16)
    assert torch.allclose(log_p.exp().reshape(3, 12, 2, 32).sum(-1), torch.ones(3, 12, 2), atol=1e-5)
    assert model.get_embedding(v, c).shape == (3, 16)
    assert model.get_hidden_states(v).shape == (3, 12, 16)
    if cell == "lstm":  # the start pose reaches the cell state too
        h0, c0 = model._encode_init_pos(c)
        assert h0.shape == c0.shape == (1, 3, 16) and not torch.equal(h0, c0)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_the_initial_code_is_used(cell):
    model = StateEstimationModel(cell=cell, hidden=16).eval()
    v = torch.randn(2, 12, 6)
    c1, c2 = torch.softmax(torch.randn(2, 64), -1), torch.softmax(torch.randn(2, 64), -1)
    zero = model.get_hidden_states(v)
    first = model.get_hidden_states(v, c1)
    assert not torch.allclose(first, zero)
    assert not torch.allclose(first, model.get_hidden_states(v, c2))
    assert torch.equal(model.get_embedding(v, c1), first[:, -1])
    # Same as calling the network with the encoded start, as in the seed's example.
    assert torch.equal(first, model(v, hidden=model._encode_init_pos(c1))[1])


def test_decoding_a_hidden_state_is_predicting_its_step():
    model = StateEstimationModel(hidden=16, generation=GEN.to_dict())
    model.train()  # dropout on: decode_hidden must read out in eval mode, as predict does, and restore the mode
    v, start = torch.randn(4, 7, 6), model.place_cells().encode(so3.random(8).reshape(4, 2, 3, 3))
    with torch.no_grad():
        hidden = model.get_hidden_states(v, start)
    assert torch.allclose(model.decode_hidden(hidden[:, 3], refine_steps=20),
                          model.predict_states(v, start, refine_steps=20)[:, 3], atol=1e-5)
    assert model.training
    with pytest.raises(CogmapError, match=r"hidden states must have shape \(batch, 16\)"):
        model.decode_hidden(hidden)


def test_wrong_shapes_state_what_is_expected():
    model = StateEstimationModel(hidden=8)
    with pytest.raises(CogmapError, match=r"velocities must have shape \(batch, time, 6\), got \(4, 6\)"):
        model(torch.randn(4, 6))
    with pytest.raises(CogmapError, match=r"initial code must have shape \(batch, 64\)"):
        model._encode_init_pos(torch.randn(4, 63))
    with pytest.raises(CogmapError, match="rows"):
        model.get_hidden_states(torch.randn(4, 5, 6), torch.rand(3, 64))
    with pytest.raises(CogmapError, match="cell"):
        PathIntegrator(cell="transformer")
    with pytest.raises(CogmapError, match="dropout"):
        PathIntegrator(dropout=1.0)


def test_loss_and_accuracy_match_an_independent_computation():
    model = StateEstimationModel(hidden=8, generation=GEN.to_dict()).eval()
    tr = generate(GEN, 6)
    batch = {"velocities": tr.velocities, "targets": tr.targets, "initial_code": tr.initial_code}
    loss, acc, log_p = model._scores(batch)
    p, q = tr.targets.double().numpy().reshape(6, 12, 2, 32), log_p.exp().double().detach().numpy().reshape(6, 12, 2, 32)
    expected_loss = rel_entr(p, q).sum(-1).mean()  # KL per joint, then mean over joints, steps, batch
    expected_acc = (p.argmax(-1) == q.argmax(-1)).mean()
    assert float(loss.detach()) == pytest.approx(expected_loss, rel=1e-4)
    assert float(acc) == pytest.approx(expected_acc)


def test_geodesic_error_of_exact_codes_is_small():
    model = StateEstimationModel(hidden=8, generation=GEN.to_dict())
    tr = generate(GEN, 4)
    error = model.geodesic_error(tr.targets[:, -1], tr.states[:, -1], refine_steps=100)
    assert error.shape == (4, 2) and float(error.max()) < 1.0
    with pytest.raises(CogmapError, match="generation parameters"):
        StateEstimationModel(hidden=8).place_cells()


def test_recurrent_weights_are_orthogonal_per_gate_at_start():
    net = PathIntegrator(cell="rnn", hidden=32)
    w = net.rnn.weight_hh_l0.detach()
    assert torch.allclose(w @ w.T, torch.eye(32), atol=1e-5)
    np.testing.assert_array_equal(net.rnn.bias_hh_l0.detach().numpy(), 0)
    for gate in PathIntegrator(cell="gru", hidden=16).rnn.weight_hh_l0.detach().split(16):
        assert torch.allclose(gate @ gate.T, torch.eye(16), atol=1e-5)
    default = PathIntegrator(cell="rnn", hidden=32, init="default").rnn.weight_hh_l0.detach()
    assert not torch.allclose(default @ default.T, torch.eye(32), atol=0.1)


def test_identity_init_holds_the_start_state_where_orthogonal_init_rotates_it():
    torch.manual_seed(0)
    identity = PathIntegrator(cell="rnn", hidden=64, init="identity")
    torch.manual_seed(0)
    default = PathIntegrator(cell="rnn", hidden=64, init="default")
    assert torch.equal(identity.rnn.weight_hh_l0.detach(), torch.eye(64))
    # Same draw of input weights, shrunk tenfold.
    assert torch.allclose(identity.rnn.weight_ih_l0, 0.1 * default.rnn.weight_ih_l0)
    orthogonal = PathIntegrator(cell="rnn", hidden=64, init="orthogonal")
    h0 = 0.05 * torch.randn(1, 8, 64)
    still = torch.zeros(8, 100, 6)
    with torch.no_grad():
        held = identity(still, h0)[1][:, -1]
        rotated = orthogonal(still, h0)[1][:, -1]
    cosine = torch.nn.functional.cosine_similarity
    assert cosine(held, h0[0]).min() > 0.99  # tanh(h) ~ h for small h: the state is kept
    assert cosine(rotated, h0[0]).abs().max() < 0.6  # 100 rotations later it points elsewhere


def test_log_encoding_is_linear_in_the_pose_and_code_encoding_is_the_code():
    tr = generate(GenerationConfig(seq_len=2), 400)
    log_net, code_net = PathIntegrator(hidden=8, encode="log"), PathIntegrator(hidden=8, encode="code")
    assert torch.equal(code_net.encoder_input(tr.initial_code), tr.initial_code)
    x = log_net.encoder_input(tr.initial_code).double()
    # Centred per joint: each joint's 32 entries sum to zero.
    assert torch.allclose(x.reshape(400, 2, 32).sum(-1), torch.zeros(400, 2, dtype=torch.double), atol=1e-4)
    # vMF log-density kappa * (tr(R^T C) - 1) / 2 is affine in R's entries: least squares on the
    # 18 rotation entries (+ 1) must explain it to float precision, and must not explain the code.
    design = torch.cat([tr.initial_states.reshape(400, 18).double(), torch.ones(400, 1, dtype=torch.double)], 1)

    def residual(target):
        fit = design @ torch.linalg.lstsq(design, target).solution
        return (target - fit).abs().max().item() / target.abs().max().item()

    assert residual(x) < 1e-5
    assert residual(tr.initial_code.double()) > 1e-2
    with pytest.raises(CogmapError, match="encode"):
        PathIntegrator(encode="sqrt")


def test_checkpoints_without_the_encode_setting_load_as_code_encoders(tmp_path):
    model = StateEstimationModel(hidden=8, encode="code")
    checkpoint = {"state_dict": model.state_dict(), "pytorch-lightning_version": "2.0.0",
                  "hyper_parameters": {k: v for k, v in model.hparams.items() if k != "encode"}}
    torch.save(checkpoint, tmp_path / "old.ckpt")
    loaded = StateEstimationModel.load_from_checkpoint(tmp_path / "old.ckpt")
    assert loaded.net.encode == "code"


def test_the_reference_grid_network_relu_no_biases_linear_readout_recurrent_decay():
    model = StateEstimationModel(cell="rnn", velocity_dim=2, joints=1, cells=24, hidden=20, dropout=0.0,
                                 nonlinearity="relu", bias=False, readout="linear", init="default",
                                 optimizer="adam", recurrent_decay=1e-3, weight_decay=0.0)
    names = {name for name, _ in model.named_parameters()}
    assert names == {"net.encoder.weight", "net.rnn.weight_ih_l0", "net.rnn.weight_hh_l0", "net.head.weight"}
    v, code = torch.randn(4, 7, 2), torch.softmax(torch.randn(4, 24), -1)
    log_p, hidden = model(v, model._encode_init_pos(code))
    assert (hidden >= 0).all() and (hidden == 0).any()  # ReLU states
    # The network by hand: h_t = relu(W_ih v_t + W_hh h_{t-1}), h_0 = E code, logits = D h_t.
    e, w_ih, w_hh, d = (model.net.encoder.weight, model.net.rnn.weight_ih_l0, model.net.rnn.weight_hh_l0,
                        model.net.head.weight)
    h = code @ e.T
    for t in range(7):
        h = torch.relu(v[:, t] @ w_ih.T + h @ w_hh.T)
        assert torch.allclose(hidden[:, t], h, atol=1e-5)
        assert torch.allclose(log_p[:, t], torch.log_softmax(h @ d.T, -1), atol=1e-5)
    assert model.recurrent_penalty().item() == pytest.approx(1e-3 * float((w_hh.detach() ** 2).sum()), rel=1e-6)
    optimiser = model.configure_optimizers()["optimizer"]
    assert type(optimiser) is torch.optim.Adam


def test_the_training_loss_adds_the_recurrent_penalty_only():
    model = StateEstimationModel(cell="rnn", hidden=8, dropout=0.0, recurrent_decay=0.5)
    batch = generate(GEN, 4, "train")
    batch = {"velocities": batch.velocities, "initial_code": batch.initial_code, "targets": batch.targets}
    model.log = lambda *args, **kwargs: None
    kl = model._scores(batch)[0]
    total = model.training_step(batch, 0)
    assert total.item() == pytest.approx(kl.item() + 0.5 * float((model.net.rnn.weight_hh_l0.detach() ** 2).sum()), rel=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"cell": "gru", "nonlinearity": "relu"}, "needs cell=rnn"),
    ({"nonlinearity": "softplus"}, "nonlinearity"),
    ({"readout": "mlp"}, "readout"),
    ({"optimizer": "sgd"}, "optimizer"),
    ({"recurrent_decay": -1.0}, "recurrent_decay"),
    ({"bias": "no"}, "bias"),
])
def test_bad_network_settings(kwargs, match):
    with pytest.raises(CogmapError, match=match):
        StateEstimationModel(**kwargs)
