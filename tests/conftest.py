import contextlib
import io
import os
from dataclasses import dataclass
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


@dataclass
class Completed:
    """What a ``cogmap`` command left: its exit status and everything it wrote to stdout and stderr."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def _run(*args, cwd=None) -> Completed:
    from cogmap.cli.main import main

    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    threads, here = torch.get_num_threads(), os.getcwd()
    os.chdir(cwd or REPOSITORY)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exit_:  # argparse's own exits: --help, usage errors
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        os.chdir(here)
        torch.set_num_threads(threads)  # --workers sets the process's threads
    return Completed(argv, code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    """Run the ``cogmap`` command in this process, as ``main(argv)`` (from the repository root unless ``cwd=``).

    In-process, so a test pays no second start of Python, torch and Lightning; the commands that
    need a real process (a closed pipe, a signal) start one themselves.
    """
    return _run


@pytest.fixture
def repository() -> Path:
    return REPOSITORY
