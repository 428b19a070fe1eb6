"""Entry point of the ``cogmap`` command."""

from __future__ import annotations

import sys

from cogmap import __version__
from cogmap.cli import analyze, baseline, cells, control, evaluate, generate, quickstart, train, treeworld
from cogmap.cli.common import ArgumentParser
from cogmap.errors import CogmapError

SUBCOMMANDS = (quickstart, generate, baseline, cells, train, evaluate, analyze, treeworld, control)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="cogmap", description="Train and dissect neural agents that learn a map of space "
                                                        "from their own movements.")
    parser.add_argument("--version", action="version", version=f"cogmap {__version__}")
    subparsers = parser.add_subparsers(title="subcommands", metavar="COMMAND", parser_class=ArgumentParser)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except CogmapError as error:
        sys.stderr.write(f"cogmap: error: {error}\n")
        return 2
    except OSError as error:  # an unwritable --out, a full disk, a directory where a file should be
        where = f": {error.filename}" if error.filename else ""
        sys.stderr.write(f"cogmap: error: {error.strerror or error}{where}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("cogmap: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
