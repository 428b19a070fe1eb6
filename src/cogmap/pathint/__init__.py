"""Path integration: trajectories of articulated joints, their place-cell codes, and (later) the networks that track them."""

from cogmap.pathint.data import (
    FORMAT_VERSION,
    GenerationConfig,
    OnlineTrajectories,
    Trajectories,
    TrajectoryFile,
    generate,
    integrate_joints,
    iter_generate,
    write_trajectory_file,
)

__all__ = ["GenerationConfig", "Trajectories", "generate", "iter_generate", "integrate_joints",
           "write_trajectory_file", "TrajectoryFile", "OnlineTrajectories", "FORMAT_VERSION"]
