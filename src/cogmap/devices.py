"""Which device to compute on: CPU by default, an accelerator when asked for and present."""

from __future__ import annotations

import torch

from cogmap.errors import CogmapError


def resolve_device(name: str | torch.device | None = None, flag: str = "device") -> torch.device:
    """``name`` as a :class:`torch.device`, checked against what this machine has.

    ``None`` and ``"cpu"`` are the CPU; ``"auto"`` is CUDA when available, else the CPU;
    ``"cuda"``/``"cuda:N"`` must exist here, and so must ``"mps"``. ``flag`` names the setting
    in the error (``--device``, ``trainer.accelerator``).
    """
    if name is None:
        return torch.device("cpu")
    if isinstance(name, str) and name.strip().lower() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise CogmapError(f"{flag} {name!r} is not a device; use cpu, cuda, cuda:N or auto") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise CogmapError(f"{flag} {name}: CUDA is not available on this machine; use cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise CogmapError(f"{flag} {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif device.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise CogmapError(f"{flag} {name}: MPS is not available on this machine; use cpu")
    elif device.type not in ("cpu", "meta"):
        raise CogmapError(f"{flag} {name!r} is not supported; use cpu, cuda, cuda:N or auto")
    return device
