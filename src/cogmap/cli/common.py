"""Pieces shared by the subcommands: one-line errors, config arguments, output folders, threads.

Rules every command follows:

- Settings: ``--config FILE.yaml`` and ``key=value`` overrides anywhere on the line
  (``section.key=value`` for nested configs; ``--set key=value`` is the same thing). Flags are
  for input and output only (``--config``, ``--out``, ``--force``, ``--resume``, ``--quiet``,
  ``--workers``); a study's settings are keys of its config (:func:`add_study_arguments`).
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

from cogmap.config import hints_of_sections, is_override, load, merge, parse, parse_overrides, read_config
from cogmap.errors import CogmapError
from cogmap.files import (
    check_creatable,
    write_text_atomic,  # noqa: F401  (re-exported for the subcommands)
)
from cogmap.runs import check_run_folder


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


def trainer_config(args, settings):
    """A trainer's config: ``--config`` and the overrides; with ``--resume``, the run's own config.yaml
    (unless ``--config`` is given) under the overrides, read after the run folder is checked."""
    if not args.resume:
        return load(settings, args.config, overrides(args))
    if args.out is None:
        raise CogmapError("--resume needs --out, the run to continue")
    check_run_folder(args.out, args.force, resume=True)  # before its config.yaml is read
    return load(settings, args.config or args.out / "config.yaml", overrides(args))


def set_threads(workers: int | None) -> None:
    if workers is None:
        return
    if workers < 1:
        raise CogmapError(f"--workers must be >= 1, got {workers}")
    import torch

    torch.set_num_threads(workers)


def add_study_arguments(p, settings, default_out: str, source: tuple[str, str] | None = None, many: bool = False) -> None:
    """The arguments of a command that runs a study: its input, ``--config``, overrides, ``--out``, ``--force``.

    ``settings`` is the study's config dataclass; ``source`` (key, help) is a config key that may
    also be given as the first word (the checkpoint or run to study; several with ``many``).
    """
    if source is not None:
        key, text = source
        p.add_argument("source", nargs="*" if many else "?", metavar=key.upper(),
                       help=f"{text} (the same as {key}=...)")
        p.set_defaults(source_key=key, source_many=many)
    add_config_arguments(p, _example(settings), f"YAML file of {settings.__name__} settings")
    add_output_arguments(p, default_out)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--workers", type=int, help="CPU threads to use (does not change the results)")
    p.set_defaults(settings=settings)
    p.epilog = settings_epilog(settings)


def yaml_word(value) -> str:
    """A default as one would write it after ``KEY=`` (YAML: null, true, [a, b])."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_word(v) for v in value) + "]"
    return str(value)


def settings_epilog(settings) -> str:
    """Every key of a config with its default, read from the dataclass itself (so the help never drifts)."""
    import dataclasses

    def default(field) -> str:
        if field.default is not dataclasses.MISSING:
            value = field.default
        elif field.default_factory is not dataclasses.MISSING:
            value = field.default_factory()
        else:
            return "required"
        if dataclasses.is_dataclass(value):
            return f"section {type(value).__name__} ({field.name}.KEY=VALUE)"
        return "required" if value == "" else yaml_word(value)

    keys = ", ".join(f"{f.name}={default(f)}" for f in dataclasses.fields(settings) if f.init)
    return f"settings ({settings.__name__}, KEY=VALUE): {keys}"


def _example(settings) -> str:
    import dataclasses

    field = next(f for f in dataclasses.fields(settings)
                 if f.name not in ("checkpoint", "source", "runs", "data") and f.default is not dataclasses.MISSING)
    return f"{field.name}={field.default}"


def study_config(args):
    """The study's config: its ``--config`` file, then the source words, then the ``key=value`` overrides."""
    values = read_config(args.config) if args.config is not None else {}
    words = getattr(args, "source", None)
    words = [] if words is None else [str(w) for w in (words if args.source_many else [words])]
    # argparse hands the first words to the source and the rest to the overrides, whatever they look
    # like; sort them by their look: key=value words are settings, the others name the source
    words += [str(w) for w in args.overrides or []]
    source = [w for w in words if not is_override(w)]
    if source and not hasattr(args, "source_key"):
        raise CogmapError(f"override {source[0]!r} must look like key=value")
    if len(source) > 1 and not args.source_many:
        raise CogmapError(f"one {args.source_key} expected, got {len(source)}: {' '.join(source)}")
    if source:
        values = merge(values, {args.source_key: source if args.source_many else source[0]})
    settings = [w for w in words if is_override(w)] + list(args.set or [])
    return parse(settings_class(args.settings), merge(values, parse_overrides(settings)))


def run_study(args, run, default_out) -> int:
    """Read the config, check the output folder, run the study, save its Result and print its summary.

    ``default_out`` maps the config to the output folder used when ``--out`` is not given.
    """
    set_threads(args.workers)
    config = study_config(args)
    out = output_dir(args.out, args.out or default_out(config), args.force)
    result = run(config, progress=not args.quiet)
    create_output_dir(out, args.force)
    try:
        written = result.save(out)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # it was empty (or emptied by --force): leave no half result
        raise
    print(result.summary())
    print(f"wrote {', '.join(path.name for path in written)} in {out}")
    return 0


def settings_class(settings):
    """A command's config class, given as the class or as ``"module:Class"`` (for classes whose module
    is slow to import, e.g. Lightning's trainer: resolved only when a hint needs it)."""
    if isinstance(settings, str):
        import importlib

        module, _, name = settings.partition(":")
        return getattr(importlib.import_module(module), name)
    return settings


def setting_hint(settings, word: str) -> str | None:
    """For ``--some-key`` where ``some_key`` is a setting of the study: how to write it instead."""
    import dataclasses

    if settings is None or not word.startswith("--"):
        return None
    settings = settings_class(settings)
    flag = word.partition("=")[0]
    key = flag[2:].replace("-", "_")

    keys = [f.name for f in dataclasses.fields(settings)]
    if key in keys:
        return f"{flag} is a setting, not a flag: write {key}=VALUE"
    nested = [f"{section}.{key}" for section, kind in hints_of_sections(settings).items()
              if key in {f.name for f in dataclasses.fields(kind)}]
    if nested:
        return f"{flag} is not a flag: write {nested[0]}=VALUE"
    return f"unrecognized argument {flag}; settings are KEY=VALUE words, the keys: {', '.join(keys)}"
