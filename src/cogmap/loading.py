"""``cogmap.load(path_or_run)``: any checkpoint or run folder cogmap writes, as the object a user works with.

One call opens what every trainer of cogmap writes, the shipped files in ``pretrained/``
included, and returns it ready for raw inputs:

- a path integrator or grid-cell network (``cogmap train``: ``<run>/checkpoints/best.ckpt``,
  ``last.ckpt``, or a ``.ckpt`` in ``pretrained/``) is a
  :class:`~cogmap.pathint.model.StateEstimationModel` in eval mode;
- a controller (``cogmap control train``: ``<run>/checkpoints/update_NNNN.pt``) is a
  :class:`~cogmap.rl.policy.Policy` (``reset``, ``act``);
- a world model (``cogmap equivariance train``: ``<run>/checkpoints/model.pt``) is a
  :class:`~cogmap.worldmodels.model.WorldModel` in eval mode.

A file is recognised by what it holds, not by its name: every checkpoint cogmap writes begins
with one header (:func:`cogmap.runs.checkpoint_header`: format, version, kind, config); files
written before it are still read (a controller's and a world model's carried a ``format``
field of their own, a path integrator's was a Lightning checkpoint with its hyperparameters).
A run folder gives its best checkpoint where the trainer keeps one (the path integrators'
lowest validation loss), else its last. A missing, damaged or foreign file
is one :class:`~cogmap.errors.CogmapError` naming the file; nothing of the file is executed
(tensors and plain data only).

This module sits above every package that trains something (it is the only one that knows
them all) and below the command line.
"""

from __future__ import annotations

from pathlib import Path

from cogmap.devices import resolve_device
from cogmap.errors import CogmapError
from cogmap.files import load_torch_file
from cogmap.runs import PATH_INTEGRATOR, POLICY, PPO_RESUME, WORLD_MODEL, WORLD_MODEL_RESUME, has_header

KINDS = (PATH_INTEGRATOR, POLICY, WORLD_MODEL)  # what cogmap.load returns objects for

# The ``format`` field of the files written before the one checkpoint header (a path integrator's
# Lightning checkpoint then had none).
_FORMATS = {"cogmap-policy": POLICY, "cogmap-world-model": WORLD_MODEL}


def kind_of(payload, path: Path) -> str:
    """Which kind of trained object a checkpoint's payload is (one of :data:`KINDS`)."""
    if not isinstance(payload, dict):
        raise CogmapError(f"{path} is not a cogmap checkpoint (it holds a {type(payload).__name__}, not a mapping)")
    if has_header(payload):
        kind = payload.get("kind")
        if kind in (PPO_RESUME, WORLD_MODEL_RESUME):
            raise CogmapError(f"{path} is the state a run resumes from, not a trained object; load the run folder "
                              "or its checkpoints (checkpoints/update_*.pt, checkpoints/model.pt)")
        if kind not in KINDS:
            raise CogmapError(f"{path} holds a {kind!r}; cogmap.load opens {', '.join(KINDS)}")
        return kind
    fmt = payload.get("format")
    if fmt is not None:
        if fmt not in _FORMATS:
            raise CogmapError(f"{path} is a {fmt!r} file; cogmap.load opens {', '.join(sorted(_FORMATS))} files "
                              "and path-integrator checkpoints")
        return _FORMATS[fmt]
    if isinstance(payload.get("hyper_parameters"), dict):
        return PATH_INTEGRATOR
    if isinstance(payload.get("config"), dict) and isinstance(payload.get("state_dict"), dict):
        return POLICY  # the first controller files (pendulum only) were written before the format field
    raise CogmapError(f"{path} is not a cogmap checkpoint (no format, no hyperparameters, no config and weights)")


def checkpoint_of(run: Path) -> Path:
    """The checkpoint a run folder stands for: the best one where the trainer keeps one, else the last."""
    candidates = [run / "checkpoints" / "best.ckpt", run / "checkpoints" / "last.ckpt", run / "checkpoints" / "model.pt",
                  run / "model.pt"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    updates = sorted((run / "checkpoints").glob("update_*.pt"))
    if updates:
        return updates[-1]
    raise CogmapError(f"{run} is a folder but not a cogmap run: it holds none of checkpoints/best.ckpt, "
                      "checkpoints/last.ckpt, checkpoints/model.pt, checkpoints/update_*.pt or model.pt")


def load(path_or_run, device=None, kind: str | None = None):
    """The trained object in a checkpoint file or a run folder, on ``device`` (default CPU), ready to use.

    With ``kind`` (one of :data:`KINDS`), a file of another kind is an error that says what it holds.

    >>> import cogmap
    >>> model = cogmap.load("pretrained/so3x2_gru.ckpt")                  # a path integrator
    >>> codes = model.predict(batch.velocities, batch.initial_code)       # what the generator produces
    >>> policy = cogmap.load("pretrained/control/pendulum_fo_rnn.pt")      # a Policy
    >>> action = policy.act(observation)                                  # what the environment returns
    >>> world = cogmap.load("pretrained/equivariance/teapot_sen.pt")       # a world model
    >>> latent = world.encode(images)                                     # what its domain renders
    """
    device = resolve_device(device)  # a device the machine lacks is said to be that, before any file is read
    path = Path(path_or_run)
    if not path.exists():
        raise CogmapError(f"{path} does not exist")
    if path.is_dir():
        path = checkpoint_of(path)
    payload = load_torch_file(path, "checkpoint")  # read once: the kind's builder takes the payload
    found = kind_of(payload, path)
    if kind is not None and found != kind:
        raise CogmapError(f"{path} holds a {found}, not a {kind}")
    # Only the kind's own package is imported: a policy needs neither Lightning nor the renderers.
    if found == PATH_INTEGRATOR:
        from cogmap.pathint.model import path_integrator_from_payload

        return path_integrator_from_payload(payload, path, device)
    if found == POLICY:
        from cogmap.rl.policy import policy_from_payload

        return policy_from_payload(payload, path, device)
    from cogmap.worldmodels.train import world_model_from_payload

    return world_model_from_payload(payload, path, device)
