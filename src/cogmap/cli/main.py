"""Entry point of the ``cogmap`` command."""

from __future__ import annotations

import logging
import os
import re
import sys

from cogmap import __version__
from cogmap.cli import (
    analyze,
    baseline,
    cells,
    control,
    equivariance,
    evaluate,
    generate,
    quickstart,
    sweep,
    train,
    treeworld,
)
from cogmap.cli.common import ArgumentParser, setting_hint
from cogmap.config import is_override
from cogmap.errors import CogmapError

SUBCOMMANDS = (quickstart, generate, baseline, cells, train, evaluate, analyze, treeworld, control, equivariance, sweep)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="cogmap", description="Train and dissect neural agents that learn a map of space "
                                                        "from their own movements.")
    parser.add_argument("--version", action="version", version=f"cogmap {__version__}")
    subparsers = parser.add_subparsers(title="subcommands", metavar="COMMAND", parser_class=ArgumentParser)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def parse(parser: ArgumentParser, argv: list[str] | None):
    """Parse ``argv``; ``key=value`` overrides may stand anywhere, after flags too."""
    args, extra = parser.parse_known_args(argv)
    for word in extra:
        hint = setting_hint(getattr(args, "settings", None), word)
        if hint:
            parser.error(hint)
    if extra:
        if hasattr(args, "overrides") and all(is_override(word) for word in extra):
            args.overrides = list(args.overrides or []) + extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _stdout_closed() -> int:
    """The reader of our output went away (``cogmap ... | head``): stop quietly, as Unix tools do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the final flush at exit cannot fail again
    except (OSError, ValueError):
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse(parser, argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    library = logging.getLogger("cogmap")
    library.addHandler(handler)
    library.setLevel(logging.INFO)
    try:
        code = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below, not at exit
        return code
    except BrokenPipeError:
        return _stdout_closed()
    except CogmapError as error:
        sys.stderr.write(f"cogmap: error: {error}\n")
        return 2
    except MemoryError:
        sys.stderr.write("cogmap: error: not enough memory for these settings; ask for fewer trajectories, samples or "
                         "steps\n")
        return 2
    except RuntimeError as error:
        reason = str(error)
        if "can't allocate memory" not in reason and "out of memory" not in reason.lower():
            raise
        asked = re.search(r"allocate (\d+) bytes", reason)
        size = f" ({int(asked.group(1)) / 2**30:,.1f} GiB asked for at once)" if asked else ""
        sys.stderr.write(f"cogmap: error: not enough memory for these settings{size}; ask for fewer trajectories, "
                         "samples or steps\n")
        return 2
    except OSError as error:  # an unwritable --out, a full disk, a directory where a file should be
        where = f": {error.filename}" if error.filename else ""
        sys.stderr.write(f"cogmap: error: {error.strerror or error}{where}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("cogmap: interrupted\n")
        return 130
    finally:
        library.removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
