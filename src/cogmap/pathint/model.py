"""Recurrent path integrators: angular velocities in, place-cell codes of the pose out.

The network is told where it starts (the place-cell code of the start pose, through a linear
encoder into its initial state) and must integrate velocities from there. ``encode="code"``
(the reference setup's) maps the code itself; ``encode="log"`` maps its log, centred per joint, which is
linear in the pose (see :meth:`PathIntegrator.encoder_input`). The output head is LayerNorm,
dropout and a linear map to one log-softmax over cells per joint.

LSTM cell state: the encoder produces both the initial hidden state and the initial cell
state (one linear map to ``2 * hidden`` numbers, split in two), so the start pose can be held
in the memory the LSTM actually integrates with.
"""

from __future__ import annotations

import math

import lightning as L
import torch
from torch import nn

from cogmap.devices import resolve_device
from cogmap.errors import CogmapError, check_choice, check_positive_int
from cogmap.files import load_torch_file
from cogmap.pathint.choices import CELLS, ENCODINGS, INITS, NONLINEARITIES, OPTIMIZERS, READOUTS  # noqa: F401
from cogmap.pathint.metrics import accuracy, kl_divergence
from cogmap.runs import PATH_INTEGRATOR, check_header, checkpoint_header, has_header

IDENTITY_INPUT_GAIN = 0.1  # input weights of init="identity", relative to PyTorch's default

Hidden = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def encoder_features(initial_code: torch.Tensor, encode: str, cells: int) -> torch.Tensor:
    """The code itself (``encode="code"``), or its log centred per joint of ``cells`` cells ("log").

    A vMF code is ``exp(kappa cos d_i) / Z`` and ``cos d_i`` is linear in the pose's rotation
    matrix, so the centred log-code is an exact linear function of the pose (``Z`` cancels).
    Encoded linearly, it hands the network a start state that is linear in the pose; the code
    itself would have to be inverted through ``log`` by the recurrent dynamics during the first
    steps, which is where the ``code`` encoder's error is largest.
    """
    if encode == "code":
        return initial_code
    log_code = initial_code.clamp_min(torch.finfo(initial_code.dtype).tiny).log()
    log_code = log_code.unflatten(-1, (-1, cells))
    return (log_code - log_code.mean(dim=-1, keepdim=True)).flatten(-2)


class PathIntegrator(nn.Module):
    """The plain PyTorch network behind :class:`StateEstimationModel`."""

    def __init__(self, cell: str = "gru", velocity_dim: int = 6, joints: int = 2, cells: int = 32,
                 hidden: int = 256, dropout: float = 0.5, init: str = "orthogonal", encode: str = "code",
                 nonlinearity: str = "tanh", bias: bool = True, readout: str = "norm"):
        super().__init__()
        check_choice("cell", cell, CELLS)
        check_choice("init", init, INITS)
        check_choice("encode", encode, ENCODINGS)
        check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
        check_choice("readout", readout, READOUTS)
        if nonlinearity != "tanh" and cell != "rnn":
            raise CogmapError(f"nonlinearity={nonlinearity} needs cell=rnn; a {cell}'s gates fix its own")
        if not isinstance(bias, bool):
            raise CogmapError(f"bias must be true or false, got {bias!r}")
        for name, value in (("velocity_dim", velocity_dim), ("joints", joints), ("cells", cells), ("hidden", hidden)):
            check_positive_int(name, value)
        if not 0 <= dropout < 1:
            raise CogmapError(f"dropout must be in [0, 1), got {dropout}")
        self.cell, self.velocity_dim, self.joints, self.cells, self.hidden = cell, velocity_dim, joints, cells, hidden
        self.encode, self.nonlinearity, self.bias, self.readout = encode, nonlinearity, bias, readout
        code_dim = joints * cells
        self.encoder = nn.Linear(code_dim, 2 * hidden if cell == "lstm" else hidden, bias=bias)
        if cell == "rnn":
            self.rnn = nn.RNN(velocity_dim, hidden, nonlinearity=nonlinearity, bias=bias, batch_first=True)
        else:
            self.rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell](velocity_dim, hidden, bias=bias, batch_first=True)
        if readout == "norm":
            self.head = nn.Sequential(nn.LayerNorm(hidden), nn.Dropout(dropout), nn.Linear(hidden, code_dim, bias=bias))
        else:
            self.head = nn.Linear(hidden, code_dim, bias=bias)
        if init != "default":
            self.recurrent_init(init)

    def recurrent_init(self, kind: str = "orthogonal") -> None:
        """Orthogonal or identity recurrent weights (per gate) and zero biases.

        ``identity`` also scales the input weights by :data:`IDENTITY_INPUT_GAIN`.
        ``init="default"`` keeps PyTorch's uniform init.
        """
        # Orthogonal recurrent weights keep gradients from exploding or dying over 100 steps at
        # the start of training (Saxe et al. 2014). They rotate the state at every step, though,
        # so a vanilla RNN read out by one fixed head must first unlearn the rotation before it
        # can even hold its start pose. Identity weights (Le et al. 2015) start it as a
        # near-perfect memory of its initial state, which is what an integrator needs; the
        # input weights are shrunk with them, or 100 steps of velocity input pile up into a
        # random walk that swamps the encoded start pose and saturates tanh.
        for name, weight in self.rnn.named_parameters():
            if name.startswith("weight_ih") and kind == "identity":
                weight.data.mul_(IDENTITY_INPUT_GAIN)
            elif name.startswith("weight_hh"):
                for block in weight.data.split(self.hidden, dim=0):
                    if kind == "identity":
                        nn.init.eye_(block)
                    else:
                        nn.init.orthogonal_(block)
            elif name.startswith("bias"):
                nn.init.zeros_(weight)

    @property
    def code_dim(self) -> int:
        return self.joints * self.cells

    def encoder_input(self, initial_code: torch.Tensor) -> torch.Tensor:
        """What the linear encoder sees: see :func:`encoder_features`."""
        return encoder_features(initial_code, self.encode, self.cells)

    def fit_encoder(self, initial_code: torch.Tensor, target: torch.Tensor) -> float:
        """Set the encoder to the least-squares affine map from these codes to ``target`` states.

        ``target`` is ``(B, hidden)``, or ``(B, 2 * hidden)`` for an LSTM (initial hidden, then
        cell state). This lets a trained network switch encodings: fitted to the old encoder's
        initial states, the new encoder starts the recurrent dynamics where they were trained to
        start. Returns the fraction of the target's variance left unexplained.
        """
        features = self.encoder_input(initial_code).double()
        target = target.double()
        if features.dim() != 2 or target.shape != (features.shape[0], self.encoder.out_features):
            raise CogmapError(f"fit_encoder needs codes (batch, {self.code_dim}) and targets "
                              f"(batch, {self.encoder.out_features}), got {tuple(initial_code.shape)} and {tuple(target.shape)}")
        design = torch.cat([features, torch.ones_like(features[:, :1])], dim=1)
        # Features can be rank deficient (the log-code spans only the 9 rotation entries per
        # joint; its other directions are the code's rounding noise), and a fit must not
        # amplify noise: cut singular values that the input's precision cannot resolve.
        rcond = 1e3 * torch.finfo(initial_code.dtype).eps
        solution = torch.linalg.lstsq(design, target, rcond=rcond, driver="gelsd").solution
        with torch.no_grad():
            self.encoder.weight.copy_(solution[:-1].T)
            self.encoder.bias.copy_(solution[-1])
        residual = target - design @ solution
        return (residual.pow(2).sum() / (target - target.mean(0)).pow(2).sum()).item()

    def encode_initial(self, initial_code: torch.Tensor) -> Hidden:
        """The network's initial state from the start pose's code ``(B, K*C)``."""
        if initial_code.dim() != 2 or initial_code.shape[-1] != self.code_dim:
            raise CogmapError(f"initial code must have shape (batch, {self.code_dim}), got {tuple(initial_code.shape)}")
        encoded = self.encoder(self.encoder_input(initial_code))
        if self.cell == "lstm":
            h0, c0 = encoded.chunk(2, dim=-1)
            return h0[None].contiguous(), c0[None].contiguous()
        return encoded[None]

    def _check_velocities(self, velocities: torch.Tensor) -> None:
        if not torch.is_tensor(velocities) or velocities.dim() != 3 or velocities.shape[-1] != self.velocity_dim:
            got = tuple(velocities.shape) if torch.is_tensor(velocities) else type(velocities).__name__
            raise CogmapError(f"velocities must have shape (batch, time, {self.velocity_dim}), got {got}")

    def forward(self, velocities: torch.Tensor, hidden: Hidden | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-joint log-probabilities ``(B, T, K*C)`` and hidden states ``(B, T, hidden)``.

        ``hidden`` is the initial state (from :meth:`encode_initial`); without it the network
        starts from zeros, i.e. without knowing where it is.
        """
        self._check_velocities(velocities)
        states, _ = self.rnn(velocities, hidden)
        logits = self.head(states).reshape(*states.shape[:2], self.joints, self.cells)
        return torch.log_softmax(logits, dim=-1).reshape(*states.shape[:2], self.code_dim), states


class StateEstimationModel(L.LightningModule):
    """A path integrator with its training objective, as a LightningModule.

    Loss: ``KL(target || prediction)`` per joint, averaged over joints, steps and the batch.
    Logged per epoch: ``{train,val}/loss``, ``{train,val}/accuracy`` (per-joint top-1 agreement,
    the reference setup's definition) and ``val/geodesic_error_deg`` (decoded pose against the truth, on a
    fixed subset of validation steps; see :meth:`validation_step`).
    """

    def __init__(self, cell: str = "gru", velocity_dim: int = 6, joints: int = 2, cells: int = 32, hidden: int = 256,
                 dropout: float = 0.5, lr: float = 1e-3, weight_decay: float = 1e-4, min_lr: float = 1e-6,
                 max_epochs: int = 200, generation: dict | None = None, init: str = "orthogonal",
                 encode: str = "code", nonlinearity: str = "tanh", bias: bool = True, readout: str = "norm",
                 optimizer: str = "adamw", recurrent_decay: float = 0.0):
        super().__init__()
        self.save_hyperparameters()
        check_choice("optimizer", optimizer, OPTIMIZERS)
        if not (isinstance(recurrent_decay, (int, float)) and math.isfinite(recurrent_decay) and recurrent_decay >= 0):
            raise CogmapError(f"recurrent_decay must be a number >= 0, got {recurrent_decay!r}")
        self.net = PathIntegrator(cell, velocity_dim, joints, cells, hidden, dropout, init, encode, nonlinearity, bias,
                                  readout)
        self._place_cells = None

    # -- the reference setup's public API ------------------------------------------------------------

    def forward(self, velocities: torch.Tensor, hidden: Hidden | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net(velocities, hidden)

    def _encode_init_pos(self, init_pc: torch.Tensor) -> Hidden:
        return self.net.encode_initial(init_pc)

    def _initial(self, velocities: torch.Tensor, init_pc: torch.Tensor | None) -> Hidden | None:
        if init_pc is None:
            return None
        if init_pc.shape[0] != velocities.shape[0]:
            raise CogmapError(f"init_pc has {init_pc.shape[0]} rows but velocities have {velocities.shape[0]}")
        return self._encode_init_pos(init_pc)

    def get_hidden_states(self, velocities: torch.Tensor, init_pc: torch.Tensor | None = None) -> torch.Tensor:
        """Hidden states ``(B, T, hidden)``, started from ``init_pc`` when it is given; the inputs
        may be on any device and in any float dtype (they are moved to the model's)."""
        velocities = self._own(velocities)
        return self.net(velocities, self._initial(velocities, None if init_pc is None else self._own(init_pc)))[1]

    def get_embedding(self, velocities: torch.Tensor, init_pc: torch.Tensor | None = None) -> torch.Tensor:
        """The last hidden state ``(B, hidden)``, started from ``init_pc`` when it is given."""
        return self.get_hidden_states(velocities, init_pc)[:, -1]

    # -- raw inputs in, codes and poses out ---------------------------------------------------

    def _own(self, tensor: torch.Tensor) -> torch.Tensor:
        """A tensor on this model's device and in its dtype (inputs may come from anywhere)."""
        parameter = next(self.parameters())
        return torch.as_tensor(tensor).to(device=parameter.device, dtype=parameter.dtype)

    @torch.no_grad()
    def predict(self, velocities: torch.Tensor, initial_code: torch.Tensor) -> torch.Tensor:
        """Predicted place-cell codes ``(B, T, K*C)`` (probabilities) from what the data generator gives.

        ``velocities (B, T, K*dim)`` and ``initial_code (B, K*C)`` are
        :class:`~cogmap.pathint.data.Trajectories`' ``velocities`` and ``initial_code`` as they come, on
        any device and in any float dtype; the start code is encoded inside (``model.encode``).
        """
        was_training = self.training
        self.eval()
        try:
            velocities, initial_code = self._own(velocities), self._own(initial_code)
            log_prediction, _ = self.net(velocities, self._initial(velocities, initial_code))
        finally:
            self.train(was_training)
        return log_prediction.exp()

    def predict_states(self, velocities: torch.Tensor, initial_code: torch.Tensor, refine_steps: int = 100) -> torch.Tensor:
        """The poses ``(B, T, K, *P)`` decoded from :meth:`predict`'s codes (on the CPU, float32)."""
        codes = self.predict(velocities, initial_code)
        return self.place_cells().decode(codes.float().cpu(), refine_steps=refine_steps)

    def decode_hidden(self, hidden: torch.Tensor, refine_steps: int = 100) -> torch.Tensor:
        """The poses ``(B, K, *P)`` that hidden states ``(B, hidden)`` stand for: the read-out's code,
        decoded (on the CPU, float32), as :meth:`predict_states` decodes every step of a run. For a
        network run elsewhere, e.g. a controller's observation that carries the state."""
        hidden = self._own(hidden)
        if hidden.dim() != 2 or hidden.shape[-1] != self.hparams.hidden:
            raise CogmapError(f"hidden states must have shape (batch, {self.hparams.hidden}), got {tuple(hidden.shape)}")
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                logits = self.net.head(hidden).reshape(len(hidden), self.net.joints, self.net.cells)
        finally:
            self.train(was_training)
        codes = torch.softmax(logits, dim=-1).reshape(len(hidden), -1)
        return self.place_cells().decode(codes.float().cpu(), refine_steps=refine_steps)

    @classmethod
    def load(cls, path, device=None) -> "StateEstimationModel":
        """A trained model from a checkpoint, in eval mode on ``device`` (default CPU): see :func:`load_path_integrator`."""
        return load_path_integrator(path, device)

    # -- training -----------------------------------------------------------------------------

    def _scores(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        log_prediction, _ = self.net(batch["velocities"], self._encode_init_pos(batch["initial_code"]))
        loss = kl_divergence(batch["targets"], log_prediction, self.net.joints).mean()
        acc = accuracy(batch["targets"], log_prediction, self.net.joints).mean()
        return loss, acc, log_prediction

    def recurrent_penalty(self) -> torch.Tensor:
        """``recurrent_decay`` times the summed squares of the recurrent weights (Sorscher et al.'s weight decay)."""
        weights = [w for name, w in self.net.rnn.named_parameters() if name.startswith("weight_hh")]
        return self.hparams.recurrent_decay * sum(w.pow(2).sum() for w in weights)

    def training_step(self, batch, batch_idx):
        loss, acc, _ = self._scores(batch)
        size = batch["velocities"].shape[0]
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=size, sync_dist=True)
        self.log("train/accuracy", acc, on_step=False, on_epoch=True, batch_size=size, sync_dist=True)
        if self.hparams.recurrent_decay:
            # Logged losses stay the KL alone, comparable across settings; the penalty only trains.
            loss = loss + self.recurrent_penalty()
        return loss

    def validation_step(self, batch, batch_idx):
        loss, acc, log_prediction = self._scores(batch)
        size = batch["velocities"].shape[0]
        self.log("val/loss", loss, prog_bar=True, batch_size=size, sync_dist=True)
        self.log("val/accuracy", acc, prog_bar=True, batch_size=size, sync_dist=True)
        if batch_idx == 0 and "states" in batch:
            # Decoding is an optimisation per state, so it runs on the first 32 trajectories of the
            # first batch only, at every 10th step: a fixed subset, comparable across epochs (a whole
            # batch of 128 took 10 s here, which dominated the quickstart's short epochs).
            error = self.geodesic_error(log_prediction[:32, 9::10].exp(), batch["states"][:32, 9::10])
            self.log("val/geodesic_error_deg", error.mean(), batch_size=error.numel(), sync_dist=True)

    def place_cells(self):
        """The place-cell code the model was trained on (from the saved generation parameters)."""
        if self._place_cells is None:
            self._place_cells = self.generation.place_cells()
        return self._place_cells

    @property
    def generation(self):
        """The :class:`~cogmap.pathint.data.GenerationConfig` of the data the model was trained on."""
        from cogmap.pathint.data import GenerationConfig

        if not self.hparams.generation:
            raise CogmapError("this model was saved without its generation parameters")
        return GenerationConfig.from_dict(self.hparams.generation)

    def geodesic_error(self, codes: torch.Tensor, states: torch.Tensor, refine_steps: int = 100) -> torch.Tensor:
        """Distance (degrees; metres in a box) between the poses decoded from ``codes (..., K*C)`` and the true
        ``states (..., K, *P)``, per joint."""
        cells = self.place_cells()
        with torch.no_grad():
            decoded = cells.decode(codes.float().cpu(), refine_steps=refine_steps)
            return self.generation.report_distance(cells.manifold.distance(decoded, states.float().cpu()))

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # The one checkpoint header of cogmap.runs beside Lightning's own keys, which keep the state
        # (Lightning reads them back to resume). The config is the training run's, when train() set it.
        checkpoint.update(checkpoint_header(PATH_INTEGRATOR, getattr(self, "run_config", None) or dict(self.hparams)))

    def configure_optimizers(self):
        optimiser_class = torch.optim.AdamW if self.hparams.optimizer == "adamw" else torch.optim.Adam
        optimiser = optimiser_class(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(1, self.hparams.max_epochs),
                                                              eta_min=self.hparams.min_lr)
        return {"optimizer": optimiser, "lr_scheduler": {"scheduler": schedule, "interval": "epoch"}}


def untrained_twin(model: StateEstimationModel, seed: int = 0) -> StateEstimationModel:
    """A freshly initialised model with ``model``'s settings (seeded), on its device, in eval mode: the
    control for what training put into a network."""
    hyper = {k: v for k, v in model.hparams.items() if k != "init_from"}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        twin = StateEstimationModel(**hyper)
    return twin.to(device=next(model.parameters()).device).eval()


def load_path_integrator(path, device=None) -> StateEstimationModel:
    """The one loader of path-integrator checkpoints (``cogmap train``'s ``.ckpt`` files, ``pretrained/``).

    Reads only tensors and plain data (``weights_only``), builds the model from the saved
    hyperparameters and loads its weights; a missing, damaged or foreign file, or weights that
    do not fit, is a :class:`~cogmap.errors.CogmapError` naming the file. ``device`` is checked
    against the machine first (``"cuda"`` without CUDA is said to be that, not a bad file).
    """
    device = resolve_device(device)
    return path_integrator_from_payload(load_torch_file(path, "checkpoint"), path, device)


def path_integrator_from_payload(payload, path, device=None) -> StateEstimationModel:
    """The model in a path-integrator checkpoint's payload (read from ``path``, named in errors)."""
    import inspect

    device = resolve_device(device)
    if has_header(payload):  # files written before the header have none: Lightning's keys alone
        check_header(payload, path, PATH_INTEGRATOR)
    if not isinstance(payload, dict) or not isinstance(payload.get("state_dict"), dict) \
            or not isinstance(payload.get("hyper_parameters"), dict):
        raise CogmapError(f"checkpoint {path} is not a cogmap path-integrator checkpoint (no weights and hyperparameters)")
    accepted = set(inspect.signature(StateEstimationModel.__init__).parameters) - {"self"}
    hyper = {k: v for k, v in payload["hyper_parameters"].items() if k in accepted}
    try:
        if hyper.get("generation"):
            from cogmap.pathint.data import GenerationConfig

            GenerationConfig.from_dict(hyper["generation"])
        model = StateEstimationModel(**hyper)
        model.load_state_dict(payload["state_dict"])
    except (CogmapError, TypeError, RuntimeError) as error:
        reason = " ".join(str(error).split())[:200]
        raise CogmapError(f"checkpoint {path} does not describe a usable model: {reason}") from None
    return model.to(device).eval()
