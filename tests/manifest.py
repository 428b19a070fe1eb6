"""The recorded figures of the shipped files, read from their one home: ``pretrained/manifest.json``."""

import functools
import json
from pathlib import Path

PRETRAINED = Path(__file__).resolve().parents[1] / "pretrained"


@functools.cache
def manifest() -> dict:
    return json.loads((PRETRAINED / "manifest.json").read_text())


def recorded(path: str) -> dict:
    """The recorded figures of the shipped file at ``path`` (relative to ``pretrained/``)."""
    return manifest()["files"][path]["figures"]


def shipped(folder: str = "", suffix: str = "") -> list[str]:
    """The names (stems) of the shipped files in ``folder`` that have recorded figures, in order."""
    prefix = f"{folder}/" if folder else ""
    return [Path(p).stem for p in manifest()["files"]
            if p.startswith(prefix) and "/" not in p[len(prefix):] and p.endswith(suffix)]
