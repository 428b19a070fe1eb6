"""Recurrent controllers trained by reinforcement learning, and their environments."""

from cogmap.control.envs import BatchedPendulum

__all__ = ["BatchedPendulum"]
