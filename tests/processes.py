"""Helpers of the tests that start several processes."""

import socket


def free_port() -> int:
    """A TCP port no one listens on now: each multi-process test its own rendezvous (MASTER_PORT)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
