"""A PPO run cut short, as a machine going down or Ctrl-C would cut it, to test ``--resume``."""

import pytest

from cogmap.rl import ppo


def train_until_cut(config, run_dir, monkeypatch, collects: int) -> None:
    """Train ``config`` in ``run_dir`` until the ``collects``-th rollout starts, which raises KeyboardInterrupt."""
    real, calls = ppo.collect, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == collects:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(ppo, "collect", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ppo.train(config, run_dir, progress=False)
    monkeypatch.setattr(ppo, "collect", real)
