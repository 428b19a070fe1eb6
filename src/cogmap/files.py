"""Reading and writing files: atomic writes (a reader sees the old file or the complete new one, never a
half-written one), and the one reader of config files and of checkpoints, each failure one clear error."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from cogmap.errors import CogmapError


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, plus YAML 1.2's exponent floats without a dot (``1e-2``, ``3E5``)."""


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
                              list("-+0123456789"))


def yaml_load(text: str) -> Any:
    """YAML text as Python values (safe: plain data only), numbers read as YAML 1.2 reads them."""
    return yaml.load(text, Loader=_Loader)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it replaces ``path``.

    If the block raises (or is interrupted), the temporary file is removed and ``path`` is
    left untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial" + path.suffix, dir=path.parent)
    except OSError as error:
        raise CogmapError(f"cannot write {path}: {error.strerror or error}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600 files; use the usual permissions
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def check_creatable(path: str | os.PathLike) -> None:
    """The nearest existing ancestor of ``path`` must be a folder, or nothing can be created there."""
    path = Path(path)
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise CogmapError(f"cannot write {path}: {parent} is a file, not a folder")
            return


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def _read_bytes(path: Path, what: str) -> bytes:
    if not path.exists():
        raise CogmapError(f"{what} {path} does not exist")
    if path.is_dir():
        raise CogmapError(f"{what} {path} is a directory, not a file")
    try:
        return path.read_bytes()
    except OSError as error:
        raise CogmapError(f"cannot read {what} {path}: {error.strerror or error}") from None


def _read_text(path: Path, what: str, kind: str) -> str:
    raw = _read_bytes(path, what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CogmapError(f"{what} {path} is not UTF-8 text (byte {error.start} cannot be decoded); "
                          "is it a binary file?") from None
    if "\x00" in text:
        raise CogmapError(f"{what} {path} is a binary file, not {kind} text")
    return text


def read_yaml_mapping(path: str | os.PathLike, what: str = "config file") -> dict:
    """The mapping at the top of a YAML file: the one reader of every config file.

    A missing file, a directory, a binary or non-UTF-8 file, invalid YAML, an empty file (no
    keys: more likely a failed copy than a wish for the defaults, which leaving the file out
    gives) or anything but a mapping is a :class:`CogmapError` naming the file and what is wrong
    with it.
    """
    path = Path(path)
    text = _read_text(path, what, "YAML")
    try:
        values = yaml_load(text)
    except yaml.YAMLError as error:
        raise CogmapError(f"{what} {path} is not valid YAML: {' '.join(str(error).split())}") from None
    if values is None:
        raise CogmapError(f"{what} {path} is empty (no keys); leave it out to use the defaults")
    if not isinstance(values, dict):
        raise CogmapError(f"{what} {path} must hold a mapping of keys to values, got {type(values).__name__}")
    return values


def read_json_mapping(path: str | os.PathLike, what: str = "result file") -> dict:
    """The mapping at the top of a JSON file a study wrote (its numbers), read as :func:`read_yaml_mapping` reads
    a config: a missing, unreadable, binary, non-UTF-8, truncated or non-mapping file is a :class:`CogmapError`
    naming the file and what is wrong with it."""
    import json

    path = Path(path)
    text = _read_text(path, what, "JSON")
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise CogmapError(f"{what} {path} is not valid JSON ({error.msg} at line {error.lineno}); "
                          "is it damaged or cut short?") from None
    if not isinstance(values, dict):
        raise CogmapError(f"{what} {path} must hold a mapping of keys to values, got {type(values).__name__}")
    return values


def load_torch_file(path: str | os.PathLike, what: str = "checkpoint", map_location="cpu", mmap: bool = False):
    """The payload of a file written by ``torch.save``: the one reader of every checkpoint and data file.

    Loads with ``weights_only=True`` (tensors and plain containers, never arbitrary objects), so
    a foreign file cannot run code. A missing file, a directory, a garbage, truncated or
    foreign file is a :class:`CogmapError` naming the file and what is wrong with it.
    """
    import pickle
    import zipfile

    import torch

    path = Path(path)
    if not path.exists():
        raise CogmapError(f"{what} {path} does not exist")
    if path.is_dir():
        raise CogmapError(f"{what} {path} is a directory, not a file")
    if not zipfile.is_zipfile(path):
        raise CogmapError(f"{what} {path} is not a PyTorch file (damaged, truncated or another format)")
    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as error:
        # weights_only refuses objects beyond tensors and plain containers.
        first = str(error).strip().splitlines()[0] if str(error).strip() else "unsupported content"
        raise CogmapError(f"{what} {path} holds objects cogmap does not load ({first[:120]})") from None
    except OSError as error:
        raise CogmapError(f"cannot read {what} {path}: {error.strerror or error}") from None
    except Exception as error:  # torch raises several types for damaged archives
        raise CogmapError(f"{what} {path} cannot be read; the file is damaged or truncated "
                          f"({error.__class__.__name__})") from None


def remove_stale_partials(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that interrupted :func:`atomic_path` writes of ``path`` left behind."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    stale = list(path.parent.glob(f".{glob.escape(path.name)}.*.partial{glob.escape(path.suffix)}"))
    for partial in stale:
        partial.unlink(missing_ok=True)
    return stale
