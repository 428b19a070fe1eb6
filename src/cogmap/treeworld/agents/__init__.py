"""Tree World agents: ``get_action(observation) -> (position_delta or None, heading)``."""

from cogmap.treeworld.agents.base import AgentModel, Observation
from cogmap.treeworld.agents.drive import DriveForager
from cogmap.treeworld.agents.simple import CircleTracer, PathTracer, RandomForager, SpiralTracer

AGENTS = ("random", "spiral", "circle", "drive")

__all__ = ["AGENTS", "AgentModel", "CircleTracer", "DriveForager", "Observation", "PathTracer", "RandomForager",
           "SpiralTracer", "make_agent"]


def make_agent(name: str, config, seed: int = 0, action_noise: float = 0.0) -> AgentModel:
    """One of :data:`AGENTS` with settings that suit ``config`` (a TreeWorldConfig)."""
    from cogmap.errors import check_choice

    check_choice("agent", name, AGENTS)
    if name == "random":
        return RandomForager(step_size=config.max_move / 2, arrive_distance=config.eat_distance / 2, seed=seed)
    if name == "spiral":
        return SpiralTracer(action_noise=action_noise, seed=seed)
    if name == "circle":
        return CircleTracer(action_noise=action_noise, seed=seed)
    return DriveForager.from_config(config, seed=seed)
