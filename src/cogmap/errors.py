"""Errors raised for bad user input, and the checks that raise them.

Every check names the offending argument and says what was expected, so that the CLI can
print one line and exit with status 2 instead of a traceback.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import torch


class CogmapError(ValueError):
    """Bad input from the user: a wrong argument, shape, value or file."""


class DataFileError(CogmapError):
    """A data file that is corrupt, truncated, foreign or of another format version."""


def check_positive(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise CogmapError(f"{name} must be a positive finite number, got {value!r}")


def check_positive_int(name: str, value: int, minimum: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise CogmapError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise CogmapError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def check_finite(name: str, tensor: torch.Tensor) -> None:
    if not torch.is_tensor(tensor):
        raise CogmapError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if not torch.isfinite(tensor).all():
        bad = int((~torch.isfinite(tensor)).sum())
        raise CogmapError(f"{name} contains {bad} NaN or infinite value(s)")


def check_trailing_shape(name: str, tensor: torch.Tensor, shape: Sequence[int], min_batch_dims: int = 0) -> None:
    """Require ``tensor.shape`` to end with ``shape`` (and have at least ``min_batch_dims`` more)."""
    if not torch.is_tensor(tensor):
        raise CogmapError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    shape = tuple(shape)
    got = tuple(tensor.shape)
    if len(got) < len(shape) + min_batch_dims or got[len(got) - len(shape):] != shape:
        batch = "(" + ", ".join(["..."] * max(min_batch_dims, 1)) if min_batch_dims else "(..."
        expected = batch + "".join(f", {s}" for s in shape) + ")"
        raise CogmapError(f"{name} must have shape {expected}, got {tuple(got)}")


def available_memory() -> int | None:
    """Bytes of memory free for allocation now (Linux and macOS), or None where it cannot be told."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:,.1f} GiB"


def check_memory(nbytes: float, what: str, fix: str) -> None:
    """Refuse, before anything is allocated, work whose arrays would not fit in the free memory.

    ``what`` names the arrays and the setting that sizes them ("1e12 trajectories (trajectories=...)");
    ``fix`` says what to ask for instead.
    """
    free = available_memory()
    if free is not None and nbytes > free:
        raise CogmapError(f"{what} need about {gib(nbytes)} of memory, but {gib(free)} are free; {fix}")
