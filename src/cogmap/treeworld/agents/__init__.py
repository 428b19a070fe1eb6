"""Tree World agents: ``get_action(observation) -> (position_delta or None, heading)``."""

from cogmap.treeworld.agents.base import AgentModel, Observation
from cogmap.treeworld.agents.drive import DriveForager
from cogmap.treeworld.agents.localizing import AGENT_SOURCES, SelfLocalizingForager, make_localizer, match_distance
from cogmap.treeworld.agents.simple import CircleTracer, PathTracer, RandomForager, SpiralTracer

AGENTS = ("random", "spiral", "circle", "drive", "drive-tem2d", "drive-phase", "drive-odometry", "drive-landmarks")

__all__ = ["AGENTS", "AgentModel", "CircleTracer", "DriveForager", "Observation", "PathTracer", "RandomForager",
           "SelfLocalizingForager", "SpiralTracer", "make_agent"]


def make_agent(name: str, config, seed: int = 0, action_noise: float = 0.0, reanchor: bool = True) -> AgentModel:
    """One of :data:`AGENTS` with settings that suit ``config`` (a TreeWorldConfig).

    The drive foragers: ``drive`` is told its true location; ``drive-tem2d`` and ``drive-phase``
    localize themselves from odometry and smell (TEM2d, affinity-gated memory; the phase code);
    ``drive-odometry`` is the phase code with its memory correction switched off (path
    integration alone); ``drive-landmarks`` is that path integration corrected by the trees it
    recognises, whose map is always fixed (:class:`SelfLocalizingForager`). ``action_noise`` is
    their motor noise (sd per axis, unperceived), and for the tracers their odometry noise;
    ``reanchor`` False keeps a drive forager's trees where it first met them (see
    :meth:`DriveForager._remember`).
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
    source = AGENT_SOURCES[name]
    landmarks = source == "landmarks"
    forager = DriveForager.from_config(config, seed=seed, match_distance=match_distance(config, source),
                                       reanchor=reanchor and not landmarks)
    return SelfLocalizingForager(forager, make_localizer(source, config, action_noise=action_noise),
                                 action_noise=action_noise, seed=seed, landmarks=landmarks)
