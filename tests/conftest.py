import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import settings

# Property tests run a fixed, modest number of examples so that the suite stays fast and
# deterministic on CI.
settings.register_profile("cogmap", max_examples=60, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "cogmap"))
torch.set_num_threads(min(2, torch.get_num_threads()))

REPOSITORY = Path(__file__).resolve().parents[1]


def _run(*args, cwd=None, stdout=subprocess.PIPE):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "cogmap", *map(str, args)], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, cwd=cwd or REPOSITORY, env=env, timeout=300)


@pytest.fixture
def cli():
    """Run the ``cogmap`` command in a subprocess (from the repository root unless ``cwd=``)."""
    return _run


@pytest.fixture
def repository() -> Path:
    return REPOSITORY
