"""Typed configs from YAML: values checked against a dataclass's defaults, errors naming the key."""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

import yaml

from cogmap.errors import CogmapError


def coerce(name: str, value: Any, default: Any, untyped: Iterable[str] = ()) -> Any:
    """``value`` with the default's type, or an error naming the key.

    Ints pass for floats, and so do strings such as ``3e-3`` that YAML 1.1 leaves unparsed;
    lists pass for tuples; keys whose default is ``None`` (or that are listed in ``untyped``)
    take anything.
    """
    if default is None or name in untyped:
        return value
    expected = type(default)
    if expected is float and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if expected is tuple and isinstance(value, list):
        value = tuple(value)
    ok = isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise CogmapError(f"{name} must be of type {expected.__name__}, got {value!r}")
    return float(value) if expected is float else value


def from_flat_dict(cls, values: dict, what: str = "config"):
    """An instance of the dataclass ``cls`` from a flat mapping, every key and type checked."""
    if not isinstance(values, dict):
        raise CogmapError(f"{what} must be a mapping, got {type(values).__name__}")
    defaults = cls()
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise CogmapError(f"unknown {what} key(s) {', '.join(unknown)}; known: {', '.join(sorted(fields))}")
    return cls(**{key: coerce(key, value, getattr(defaults, key)) for key, value in values.items()})


def parse_overrides(items: Iterable[str], nested: bool = True) -> dict:
    """``key=value`` strings (``section.key=value`` when ``nested``) as a mapping; values read as YAML."""
    values: dict = {}
    for item in items:
        key, sep, raw = item.partition("=")
        parts = key.split(".") if nested else [key]
        if not sep or not all(parts) or (nested and len(parts) < 2):
            example = "section.key=value, e.g. trainer.max_epochs=5" if nested else "key=value, e.g. num_trees=10"
            raise CogmapError(f"override {item!r} must look like {example}")
        target = values
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        try:
            target[parts[-1]] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise CogmapError(f"override {item!r}: cannot read the value {raw!r}") from None
    return values


def merge(base: dict, extra: dict) -> dict:
    """``base`` updated by ``extra``, recursively for nested mappings."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
