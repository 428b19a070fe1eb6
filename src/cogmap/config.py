"""The one config system: typed dataclasses filled from YAML files and ``key=value`` overrides.

Every config of cogmap is a dataclass (sections are nested dataclasses). :func:`parse` fills
one from a mapping, recursively, checking each value against the field's annotation and each
choice against the list the field declares with :func:`choice`; an unknown key, a wrong type
or a bad choice is a :class:`~cogmap.errors.CogmapError` naming the full dotted key.
:func:`load` reads a YAML file (:func:`read_config`: a file may ``extends:`` another and hold
only its difference), merges ``key.sub=value`` overrides (:func:`parse_overrides`) and parses
the result.

Values read as YAML 1.2 does: ``1e-2`` is a number (YAML 1.1, which PyYAML follows, reads it
as a string), in files and overrides alike.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from cogmap.errors import CogmapError
from cogmap.files import read_yaml_mapping, yaml_load

INT64 = 2**63


def choice(default: Any, choices: Sequence[Any]) -> Any:
    """A dataclass field whose value must be one of ``choices`` (checked by :func:`parse` and :func:`check_choices`)."""
    return dataclasses.field(default=default, metadata={"choices": tuple(choices)})


def choices_of(cls, name: str) -> tuple:
    """The choices a field of the dataclass ``cls`` declares."""
    return next(f.metadata["choices"] for f in dataclasses.fields(cls) if f.name == name)


def check_choices(instance, prefix: str = "") -> None:
    """Raise for a field whose value is not among its declared choices (for ``__post_init__``)."""
    for f in dataclasses.fields(instance):
        options = f.metadata.get("choices")
        value = getattr(instance, f.name)
        if options is not None and value not in options:
            raise CogmapError(f"{prefix}{f.name} must be one of {', '.join(map(repr, options))}, got {value!r}")


def _type_name(kind) -> str:
    if kind is type(None):
        return "null"
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if args:
        return f"{typing.get_origin(kind).__name__} of {_type_name(args[0])}"
    return getattr(kind, "__name__", str(kind))


def _convert(key: str, value: Any, kind: Any) -> Any:
    """``value`` as ``kind`` (an annotation), or a CogmapError naming ``key``."""
    if kind is Any:
        return value
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        if type(value) in args:  # int | float: 1.0 stays a float (Lightning reads 1.0 and 1 differently)
            return value
        sections = [a for a in args if dataclasses.is_dataclass(a)]
        if isinstance(value, Mapping) and len(sections) == 1:  # a section's own error names its key
            return _convert(key, value, sections[0])
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(key, value, option)
            except CogmapError:
                pass
        raise CogmapError(f"{key} must be {_type_name(kind)}, got {value!r}")
    if dataclasses.is_dataclass(kind):
        if value is None:
            value = {}
        if isinstance(value, kind):
            return value
        return parse(kind, value, prefix=f"{key}.")
    if origin in (tuple, list) or kind in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise CogmapError(f"{key} must be a list, got {value!r}")
        element = args[0] if args else Any
        items = [_convert(f"{key}[{i}]", v, element) for i, v in enumerate(value)]
        return tuple(items) if (origin or kind) is tuple else items
    if origin is dict or kind is dict:
        if not isinstance(value, Mapping):
            raise CogmapError(f"{key} must be a mapping, got {value!r}")
        return dict(value)
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise CogmapError(f"{key} must be true or false, got {value!r}")
    if kind is int:
        if isinstance(value, float) and value.is_integer() and math.isfinite(value):
            value = int(value)  # 1e5 steps
        if not isinstance(value, int) or isinstance(value, bool):
            raise CogmapError(f"{key} must be an integer, got {value!r}")
        if not -INT64 <= value < INT64:  # torch, numpy and the progress bars hold integers in 64 bits
            raise CogmapError(f"{key} must fit in 64 bits (below 2^63 = {INT64:.3g}), got {value}")
        name = key.rpartition(".")[2].split("[")[0]
        if name in ("seed", "seeds") or name.endswith("_seed"):
            if value < 0:  # one rule for seeds everywhere: numpy's generators take no negative seed
                raise CogmapError(f"{key} must be an integer from 0 to 2^63 - 1 (a seed), got {value}")
        return value
    if kind is float:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise CogmapError(f"{key} must be a number, got {value!r}") from None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isnan(value):  # NaN passes every comparison a check makes, so it is refused here
                raise CogmapError(f"{key} must be a number, got nan")
            try:
                return float(value)
            except OverflowError:
                raise CogmapError(f"{key} is too large for a floating-point number, got {value}") from None
        raise CogmapError(f"{key} must be a number, got {value!r}")
    if kind is str:
        if isinstance(value, str):
            return value
        raise CogmapError(f"{key} must be a string, got {value!r}")
    if isinstance(kind, type) and not isinstance(value, kind):
        raise CogmapError(f"{key} must be of type {kind.__name__}, got {value!r}")
    return value


def parse(cls, values: Mapping | None, prefix: str = ""):
    """An instance of the dataclass ``cls`` from ``values``, every key, type and choice checked.

    Missing keys take the field's default; nested dataclass fields take nested mappings.
    Errors name the full key (``prefix`` + field name), e.g. ``data.generation.dt``. A class may
    define ``upgrade(values) -> values`` (a static method) to read settings written under an
    older layout, so files saved before a key moved keep loading.
    """
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise CogmapError(f"{prefix.rstrip('.') or 'config'} must be a mapping of keys to values, got {values!r}")
    upgrade = getattr(cls, "upgrade", None)
    if upgrade is not None:
        values = upgrade(values)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(str(k) for k in values if k not in fields)
    if unknown:
        hints = [f"{prefix}{section}.{key}" for key in unknown for section, kind in hints_of_sections(cls).items()
                 if key in {f.name for f in dataclasses.fields(kind)}]
        raise CogmapError(f"unknown key(s) {', '.join(prefix + k for k in unknown)}; "
                          + (f"did you mean {', '.join(hints)}? " if hints else "")
                          + f"known: {', '.join(prefix + k for k in fields)}")
    built = {}
    for name, value in values.items():
        key = prefix + name
        converted = _convert(key, value, hints[name])
        options = fields[name].metadata.get("choices")
        if options is not None and converted not in options:
            raise CogmapError(f"{key} must be one of {', '.join(map(repr, options))}, got {value!r}")
        built[name] = converted
    try:
        return cls(**built)
    except CogmapError as error:
        message = str(error)
        # Checks in __post_init__ name the bare field; give them the section.
        raise CogmapError(prefix + message if prefix and not message.startswith(prefix) else message) from None


def hints_of_sections(cls) -> dict:
    """The nested sections of the dataclass ``cls``: field name -> the section's dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)
            if f.init and dataclasses.is_dataclass(hints[f.name]) and isinstance(hints[f.name], type)}


def to_dict(instance) -> dict:
    """A dataclass as plain YAML-able data (nested mappings, tuples as lists)."""

    def plain(value):
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(instance)


_OVERRIDE = re.compile(r"^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*=")


def is_override(text: str) -> bool:
    """Whether a command-line word looks like ``key=value`` or ``section.key=value``."""
    return bool(_OVERRIDE.match(text))


def parse_overrides(items: Iterable[str]) -> dict:
    """``key=value`` and ``section.key=value`` words as a nested mapping; values read as YAML.

    ``--`` in a key is read as ``_`` (``n-train=5`` is ``n_train=5``).
    """
    values: dict = {}
    for item in items:
        if not is_override(item):
            raise CogmapError(f"override {item!r} must look like key=value or section.key=value, "
                              "e.g. trainer.max_epochs=5")
        key, _, raw = item.partition("=")
        parts = key.replace("-", "_").split(".")
        target = values
        for part in parts[:-1]:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                raise CogmapError(f"override {item!r}: {part} was given a value and sub-keys")
            target = nested
        try:
            target[parts[-1]] = yaml_load(raw)
        except yaml.YAMLError:
            raise CogmapError(f"override {item!r}: cannot read the value {raw!r}") from None
    return values


def merge(base: Mapping, extra: Mapping) -> dict:
    """``base`` updated by ``extra``, recursively for nested mappings."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def read_config(path) -> dict:
    """The settings of a config file, with those of the file it ``extends`` beneath them.

    A config may start with ``extends: other.yaml`` (a path relative to the file): the other
    file's settings are read first (and its own ``extends``, in turn), and this file's keys
    override them, nested sections key by key, so a variant holds only its difference. A
    missing file, a circle of files or an ``extends`` that is not a path is a
    :class:`~cogmap.errors.CogmapError` naming the file.
    """
    chain: list[Path] = []
    values: list[dict] = []
    path = Path(path)
    while True:
        if path.resolve() in chain:
            raise CogmapError(f"config {path} extends itself through {' -> '.join(str(p) for p in chain)}")
        chain.append(path.resolve())
        mapping = read_yaml_mapping(path)
        parent = mapping.pop("extends", None)
        values.append(mapping)
        if parent is None:
            break
        if not isinstance(parent, str) or not parent.strip():
            raise CogmapError(f"config {path}: extends must be the path of another config file, got {parent!r}")
        path = path.parent / parent
        if not path.is_file():
            raise CogmapError(f"config {chain[-1]} extends {parent}, which does not exist ({path})")
    merged: dict = {}
    for mapping in reversed(values):
        merged = merge(merged, mapping)
    return merged


def load(cls, path=None, overrides: Iterable[str] = (), base: Mapping | None = None):
    """``cls`` from ``base``, then the YAML file at ``path`` (and the files it extends), then ``key=value`` overrides."""
    values = dict(base or {})
    if path is not None:
        values = merge(values, read_config(path))
    return parse(cls, merge(values, parse_overrides(overrides)))
