"""Pieces shared by the subcommands: one-line errors, config arguments, output folders, threads.

Rules every command follows:

- Settings: ``--config FILE.yaml`` and ``key=value`` overrides anywhere on the line
  (``section.key=value`` for nested configs; ``--set key=value`` is the same thing).
- Outputs go under the working folder (``runs/<command>/<name>``) unless ``--out`` is given,
  and an existing, non-empty output is never overwritten without ``--force``.
- Everything is checked before any work starts, and nothing is created for a command that fails
  its checks.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from cogmap.errors import CogmapError
from cogmap.files import (
    check_creatable,
    write_text_atomic,  # noqa: F401  (re-exported for the subcommands)
)


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def add_config_arguments(p, example: str, config_help: str = "YAML config file") -> None:
    """``--config``, ``--set`` and positional ``key=value`` overrides."""
    p.add_argument("--config", type=Path, help=config_help)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one setting (repeatable); the same as a KEY=VALUE word")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help=f"overrides anywhere on the line, e.g. {example}")


def overrides(args) -> list[str]:
    return list(getattr(args, "overrides", None) or []) + list(getattr(args, "set", None) or [])


def add_output_arguments(p, default: str) -> None:
    p.add_argument("--out", type=Path, help=f"output folder (default {default})")
    p.add_argument("--force", action="store_true", help="replace what an earlier run wrote there")


def source_label(path: Path) -> str:
    """A short, telling name of a checkpoint or run folder, for default output folders."""
    path = Path(path)
    if path.is_dir() or not path.suffix:
        return f"{path.parent.name}_{path.name}" if path.parent.name not in ("", ".") else path.name
    if path.parent.name == "checkpoints" and path.parent.parent.name:
        return f"{path.parent.parent.name}_{path.stem}"
    return path.stem


def output_dir(out: Path | None, default: Path, force: bool) -> Path:
    """The output folder to use, checked but not created: an existing non-empty folder needs ``force``."""
    path = Path(out) if out is not None else Path(default)
    if path.exists() and not path.is_dir():
        raise CogmapError(f"output {path} is a file, not a folder")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise CogmapError(f"output {path} is not empty; pass --force to replace its contents or choose another --out")
    check_creatable(path)
    return path


def create_output_dir(path: Path, force: bool) -> Path:
    """Create the folder :func:`output_dir` approved, emptying it first with ``force``."""
    if force and path.is_dir():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_file_output(path: Path, force: bool, flag: str = "--out") -> Path:
    """An output file: its folder must be creatable, and an existing file needs ``force``."""
    path = Path(path)
    if path.is_dir():
        raise CogmapError(f"{flag} {path} is a folder; give a file name")
    if path.exists() and not force:
        raise CogmapError(f"{flag} {path} exists; pass --force to overwrite it")
    check_creatable(path)
    return path


def comma_numbers(flag: str, text: str, minimum: float | None = None) -> list[float]:
    """A comma-separated list of finite numbers (each at least ``minimum`` when given); at least one."""
    import math

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) and (minimum is None or v >= minimum) for v in values):
        bound = "" if minimum is None else f" >= {minimum:g}"
        raise CogmapError(f"{flag} expects comma-separated numbers{bound}, got {text!r}")
    return values


def check_count(flag: str, value: int, minimum: int = 1) -> None:
    """A whole number of at least ``minimum``, named by the flag the user typed."""
    if value < minimum:
        raise CogmapError(f"{flag} must be >= {minimum}, got {value}")


def set_threads(workers: int | None) -> None:
    if workers is None:
        return
    if workers < 1:
        raise CogmapError(f"--workers must be >= 1, got {workers}")
    import torch

    torch.set_num_threads(workers)
