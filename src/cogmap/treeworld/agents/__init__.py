"""Tree World agents: ``get_action(observation) -> (position_delta or None, heading)``."""

from cogmap.treeworld.agents.base import AgentModel, Observation
from cogmap.treeworld.agents.drive import DriveForager
from cogmap.treeworld.agents.localizing import SelfLocalizingForager
from cogmap.treeworld.agents.simple import CircleTracer, PathTracer, RandomForager, SpiralTracer

AGENTS = ("random", "spiral", "circle", "drive", "drive-tem2d", "drive-phase", "drive-odometry")

__all__ = ["AGENTS", "AgentModel", "CircleTracer", "DriveForager", "Observation", "PathTracer", "RandomForager",
           "SelfLocalizingForager", "SpiralTracer", "make_agent"]


def make_agent(name: str, config, seed: int = 0, action_noise: float = 0.0, reanchor: bool = True) -> AgentModel:
    """One of :data:`AGENTS` with settings that suit ``config`` (a TreeWorldConfig).

    The drive foragers: ``drive`` is told its true location; ``drive-tem2d`` and ``drive-phase``
    localize themselves from odometry and smell (TEM2d, affinity-gated memory; the phase code);
    ``drive-odometry`` is the phase code with its memory correction switched off (path
    integration alone). ``action_noise`` is their motor noise (sd per axis, unperceived), and for
    the tracers their odometry noise; ``reanchor`` False keeps a drive forager's trees where it
    first met them (see :meth:`DriveForager._remember`).
    """
    from cogmap.errors import check_choice

    check_choice("agent", name, AGENTS)
    if name == "random":
        return RandomForager(step_size=config.max_move / 2, arrive_distance=config.eat_distance / 2, seed=seed)
    if name == "spiral":
        return SpiralTracer(action_noise=action_noise, seed=seed)
    if name == "circle":
        return CircleTracer(action_noise=action_noise, seed=seed)
    if name == "drive" and action_noise == 0:
        return DriveForager.from_config(config, seed=seed, reanchor=reanchor)
    # A map in a drifting frame: a tree smelled again within twice the reach is the same tree.
    forager = DriveForager.from_config(config, seed=seed, match_distance=2 * config.eat_distance, reanchor=reanchor)
    localizer = None
    if name == "drive-tem2d":
        from cogmap.treeworld.tem import TEM2d

        localizer = TEM2d(sensory_dim=config.embedding_dim, memory_mix=None)
    elif name in ("drive-phase", "drive-odometry"):
        from cogmap.treeworld.phase import PhaseLocalizer

        localizer = PhaseLocalizer(sensory_dim=config.embedding_dim, action_noise=action_noise,
                                   use_memory_to_localize=name == "drive-phase")
    return SelfLocalizingForager(forager, localizer, action_noise=action_noise, seed=seed)
