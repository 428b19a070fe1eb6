"""The test tiers: ``pytest -m "not slow"`` is the fast tier (minutes), plain ``pytest`` runs everything (CI).

A test over every shipped model of a table keeps a representative in the fast tier, so that the
fast tier still loads and re-measures each kind of shipped file; the rest of the table is slow.
"""

import pytest


def tiered(values, fast):
    """``values`` as parameters, those not in ``fast`` marked slow; a tuple value fills several argument names."""
    fast = set(fast)
    missing = fast - set(values)
    assert not missing, f"fast-tier representatives not among the parameters: {sorted(missing)}"

    def param(value, **marks):
        return pytest.param(*value, **marks) if isinstance(value, tuple) else pytest.param(value, **marks)

    return [param(v) if v in fast else param(v, marks=pytest.mark.slow) for v in values]
