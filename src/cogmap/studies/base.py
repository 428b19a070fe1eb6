"""The shape every study has: a typed config in, a :class:`Result` out.

A study is a module with a config dataclass (its fields are the study's settings, their defaults
the recommended ones, each checked in ``__post_init__`` with an error naming the key) and a
function ``run(config, progress=True) -> Result``. The Result holds the numbers and knows how to
keep them: :meth:`Result.save` writes the config and the numbers (JSON), :meth:`Result.draw` its
figures, :meth:`Result.summary` says in a few lines what was found. The command line only reads
the config, calls ``run`` and writes what it returns (:func:`cogmap.cli.common.run_study`), so a
study runs the same from Python, a notebook or a shell.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import yaml

from cogmap.config import to_dict
from cogmap.files import write_text_atomic


class Result:
    """What a study returns. Subclasses set ``file`` and define ``to_json``, ``draw`` and ``summary``.

    Subclasses are dataclasses with a ``config`` field: the settings that produced them, saved
    beside the numbers so that ``--config <folder>/config.yaml`` repeats the study.
    """

    file: ClassVar[str] = "result.json"
    config: Any

    def to_json(self) -> dict:
        raise NotImplementedError

    def draw(self, folder: Path) -> list[Path]:
        """Write the figures into ``folder`` (which exists) and return their paths."""
        return []

    def summary(self) -> str:
        raise NotImplementedError

    def save(self, folder: str | Path, figures: bool = True) -> list[Path]:
        """``config.yaml``, the numbers (:attr:`file`) and, with ``figures``, the figures, in ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / "config.yaml", folder / self.file]
        write_text_atomic(written[0], yaml.safe_dump(to_dict(self.config), sort_keys=False))
        write_text_atomic(written[1], json.dumps(self.to_json(), indent=1))
        if figures:
            written += self.draw(folder)
        return written


def draw_figures(folder: Path, figures: dict) -> list[Path]:
    """Save matplotlib figures (name -> figure) as ``<folder>/<name>.png`` and close them."""
    import matplotlib.pyplot as plt

    from cogmap.viz.plots import save_figure

    paths = []
    for name, figure in figures.items():
        path = Path(folder) / f"{name}.png"
        save_figure(figure, path)
        plt.close(figure)
        paths.append(path)
    return paths
