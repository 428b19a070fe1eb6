"""The config system's former name: it is :mod:`cogmap.config` now (kept so that old imports work)."""

from cogmap.config import (  # noqa: F401
    check_choices,
    choice,
    choices_of,
    hints_of_sections,
    is_override,
    load,
    merge,
    parse,
    parse_overrides,
    read_config,
    to_dict,
)
