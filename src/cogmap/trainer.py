"""What every Lightning run of cogmap shares: Lightning's chatter kept out of the user's console, and its
metrics written to the run's ``metrics.csv`` by the one writer every trainer uses."""

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


def metrics_logger(run_dir, resume_epoch: int | None = None):
    """A Lightning logger that writes every logged row to ``<run_dir>/metrics.csv`` through
    :class:`cogmap.runs.MetricsLog` (the writer PPO uses), at once, so the file can be watched.

    With ``resume_epoch`` (the epoch of the checkpoint a run resumes from), the rows of later epochs,
    written before the interruption and about to be redone, are dropped first.
    """
    from lightning.pytorch.loggers import Logger
    from lightning.pytorch.utilities import rank_zero_only

    from cogmap.runs import MetricsLog

    log = MetricsLog(run_dir)
    if resume_epoch is not None:
        log.keep(lambda row: not row.get("epoch") or int(float(row["epoch"])) <= resume_epoch)

    class MetricsLogger(Logger):
        @property
        def name(self):
            return "metrics"

        @property
        def version(self):
            return ""

        @property
        def log_dir(self):
            return str(run_dir)

        @rank_zero_only
        def log_hyperparams(self, params, *args, **kwargs):
            pass  # the run's config.yaml holds them

        @rank_zero_only
        def log_metrics(self, metrics, step=None):
            row = {key: (value.item() if hasattr(value, "item") else value) for key, value in metrics.items()}
            log.append({"step": step, **row} if step is not None else row)

    return MetricsLogger()


def leave_process_group() -> None:
    """After a multi-process fit, every process waits for the others and leaves the group together:
    one that exits while another still holds the group open is aborted by gloo ("terminate called
    without an active exception"), and Lightning then kills the rest."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
