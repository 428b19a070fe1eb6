"""Path integration: trajectories of articulated joints, their place-cell codes, and the networks that track them.

"The reference setup" in this package's documentation is the task cogmap's path integrators were
built to reproduce (after Banino et al. 2018, on a curved space): a two-joint arm whose joints
rotate freely in 3-D (SO(3) x SO(3)), moved by Ornstein-Uhlenbeck angular velocities (sigma 1,
theta 2, dt 0.01) for 100 steps, coded by 32 von Mises-Fisher place cells per joint (kappa 5),
tracked by a 256-unit GRU trained on 100k trajectories; :class:`GenerationConfig`'s defaults.
"""

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
