"""Self-motion models that drive agents through their spaces."""

from cogmap.motion.ou import INITIAL_VELOCITIES, OrnsteinUhlenbeck
from cogmap.motion.rat import RatMotion, RatTrajectories

__all__ = ["OrnsteinUhlenbeck", "INITIAL_VELOCITIES", "RatMotion", "RatTrajectories"]
