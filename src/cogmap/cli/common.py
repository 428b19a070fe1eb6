"""Pieces shared by the subcommands: one-line errors, YAML configs, atomic writes."""

from __future__ import annotations

import argparse
import os
import sys

from cogmap.errors import CogmapError
from cogmap.files import read_yaml_mapping, write_text_atomic  # noqa: F401  (re-exported for the subcommands)


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def load_yaml_config(path: str | os.PathLike, allowed: set[str]) -> dict:
    """Keys of a flat YAML mapping; an unknown key or a non-mapping is an error naming it."""
    values = read_yaml_mapping(path)
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise CogmapError(f"config file {path}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    return values


def set_threads(workers: int | None) -> None:
    if workers is None:
        return
    if workers < 1:
        raise CogmapError(f"--workers must be >= 1, got {workers}")
    import torch

    torch.set_num_threads(workers)
