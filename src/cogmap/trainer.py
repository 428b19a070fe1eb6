"""What every Lightning run of cogmap shares: Lightning's chatter kept out of the user's console."""

from __future__ import annotations

import contextlib
import logging
import warnings


@contextlib.contextmanager
def quiet_lightning():
    """Lightning's start-up lines (devices available, tips) and warnings that do not apply, silenced for one run.

    Scoped: the logger levels and warning filters are restored on exit.
    """
    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric", "lightning")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        # Our iterable datasets shard themselves per worker, which is what this warning asks for.
        warnings.filterwarnings("ignore", message=".*IterableDataset.*has `__len__` defined.*")
        warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
        warnings.filterwarnings("ignore", message=".*treespec, LeafSpec.*")
        # In-memory data sets need no loader workers.
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)
