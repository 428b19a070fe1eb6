"""Walking at commanded velocities on Gymnasium's MuJoCo models (needs ``pip install "gymnasium[mujoco]"``).

The analogue, on a CPU, of the legged agents of Rush, Jayaram & Humbert (Anymal robots in
Isaac Gym tracking forward, lateral and turning velocity commands). Each episode draws a
command; it is appended to the observation, and the reward is for tracking it.

``cogmap/CheetahVelocity-v0`` (HalfCheetah-v5, the meta-RL "cheetah-vel" task extended to
backward running): the command is a forward velocity ``v*`` in m/s, negative for running
backwards (the analogue of Russo et al.'s forward and backward cycling). Reward per step:

    r = -|v_x - v*| - ctrl_cost_weight * |a|^2        (ctrl_cost_weight 0.05, as in cheetah-vel)

with ``v_x`` the torso's forward velocity over the step. Observation: HalfCheetah-v5's 17
numbers, then ``v*``. The walker acts every 2 physics steps, at 50 Hz (``frame_skip=2``; the
their robots ran at 50 Hz; HalfCheetah-v5's default, 20 Hz, samples its 4 Hz bounding gait at
only 5 points a cycle). Episodes are truncated after 1,000 steps (20 s); they never terminate.

``cogmap/AntVelocity-v0`` (Ant-v5): the command is (forward, lateral, turning) velocity in the
torso's frame, ``(u*, v*, r*)`` in m/s, m/s and rad/s. Reward per step, the tracking terms of the
legged-robot setups Rush et al. trained in (exponential kernels, bounded in [0, 1]):

    r = healthy_reward + exp(-((u - u*)^2 + (v - v*)^2) / sigma) + turn_weight * exp(-(r - r*)^2 / sigma)
        - ctrl_cost - contact_cost - linear_weight * (|u - u*| + |v - v*| + turn_weight |r - r*|)

with Ant-v5's own ``healthy_reward`` (1) and contact cost (5e-4 times the clipped external
contact forces squared), a control cost of ``ctrl_cost_weight`` |a|^2 (0.05; Ant-v5's 0.5 made
every step of an untrained ant cost more than staying alive earned, and the first runs learned
to fall over at once to end the episode), ``linear_weight`` 0 (a penalty that does not saturate:
a kernel's slope vanishes near its peak, and walkers trained on kernels alone undershot their
commands by up to 45%), ``sigma`` 0.1 (with the legged robots' 0.25, standing
still at a command of 0.2 m/s still earned 85% of the tracking reward, and a first run barely
walked at low commands), ``turn_weight`` 0.5, and ``(u, v)`` the
torso's displacement over the step rotated into its heading, ``r`` the change of heading over
the step. Observation: Ant-v5's 105 numbers, then ``(u*, v*, r*)``. The ant acts every 2 physics
steps, at 50 Hz, as the cheetah (Ant-v5's default is 20 Hz, at which the first run's gait cycles
were 4-8 steps long). Ant-v5 terminates an episode when the torso leaves heights [0.2, 1.0];
truncation after 1,000 steps (20 s).

Every step reports which feet touch the floor, ``info["contacts"]`` (booleans, from MuJoCo's
contact list: back and front foot for the cheetah, the four ankles for the ant), the measured
velocities ``info["velocity"]`` and the command ``info["command"]``, so that gait cycles can be cut
where a foot lifts off (:func:`cogmap.analysis.cycle_starts`).

Commands are drawn uniformly from the ranges given (``command_low``, ``command_high``) at each
reset, from the environment's seeded generator; ``command=`` fixes one for every episode (the
study's conditions), and ``reset(options={"command": c})`` sets it for one episode.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import gymnasium as gym
import numpy as np

from cogmap.errors import CogmapError

CHEETAH_ID = "cogmap/CheetahVelocity-v0"
ANT_ID = "cogmap/AntVelocity-v0"


def _require_mujoco() -> None:
    try:
        import mujoco  # noqa: F401
    except ImportError:
        raise CogmapError('the MuJoCo walkers need MuJoCo: pip install "gymnasium[mujoco]"') from None


@contextlib.contextmanager
def _quiet_compiler():
    """Compile Gymnasium's XML without MuJoCo's deprecation notice for its ``settotalmass``.

    MuJoCo 3.3+ prints that notice to stderr and appends it to MUJOCO_LOG.TXT in the working
    directory on every environment made; it concerns Gymnasium's asset, not the user. Any other
    MuJoCo warning is passed on as a Python warning. The previous handler is restored on exit.
    """
    import mujoco

    def handle(message: str) -> None:
        if "settotalmass" not in message:
            warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=2)

    previous = mujoco.get_mju_user_warning()
    mujoco.set_mju_user_warning(handle)
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(previous)


def _yaw(quaternion: np.ndarray) -> float:
    w, x, y, z = quaternion
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


class _Commanded:
    """What both walkers share: commands drawn per episode and added to the observation, feet contacts."""

    feet: tuple[str, ...] = ()

    def _setup(self, env, low, high, command):
        self.low, self.high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        if self.low.shape != self.high.shape or np.any(self.low > self.high):
            raise CogmapError(f"command ranges must be pairs low <= high, got {self.low.tolist()} and {self.high.tolist()}")
        self.fixed = None if command is None else self._check_command(command)
        self.command = self.low.copy()
        base = env.observation_space
        bound = np.maximum(np.abs(self.low), np.abs(self.high)).astype(np.float32)
        self.observation_space = gym.spaces.Box(np.concatenate([base.low, -bound]).astype(np.float32),
                                                np.concatenate([base.high, bound]).astype(np.float32), dtype=np.float32)
        import mujoco

        model = env.unwrapped.model
        self._floor = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "floor")
        self._feet = np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, name) for name in self.feet])

    def reset(self, *, seed=None, options=None):
        observation, info = self.env.reset(seed=seed, options=options)
        if seed is not None or not hasattr(self, "_commands"):
            # Commands have their own generator, seeded alongside the simulation's.
            self._commands = np.random.default_rng(None if seed is None else [seed, 1])
        self._draw_command(options)
        return self._observe(observation), {**info, "command": self.command.copy(), "contacts": self.contacts()}

    def _check_command(self, command) -> np.ndarray:
        c = np.atleast_1d(np.asarray(command, dtype=np.float64))
        if c.shape != self.low.shape or not np.all(np.isfinite(c)):
            raise CogmapError(f"a command must be {self.low.size} finite number(s), got {command!r}")
        return c

    def _draw_command(self, options) -> None:
        if options and "command" in options:
            self.command = self._check_command(options["command"])
        elif self.fixed is not None:
            self.command = self.fixed.copy()
        else:
            self.command = self._commands.uniform(self.low, self.high)

    def _observe(self, observation) -> np.ndarray:
        return np.concatenate([observation, self.command]).astype(np.float32)

    def contacts(self) -> np.ndarray:
        """Which feet touch the floor now, in the order of :attr:`feet`."""
        data = self.env.unwrapped.data
        touching = np.zeros(len(self._feet), dtype=bool)
        for contact in data.contact[:data.ncon]:
            pair = (contact.geom1, contact.geom2)
            if self._floor in pair:
                other = pair[1] if pair[0] == self._floor else pair[0]
                touching |= self._feet == other
        return touching


class CheetahVelocity(_Commanded, gym.Wrapper):
    feet = ("bfoot", "ffoot")

    def __init__(self, command_low: float = -2.0, command_high: float = 3.0, command: float | None = None,
                 ctrl_cost_weight: float = 0.05, frame_skip: int = 2, **kwargs):
        _require_mujoco()
        from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv

        with _quiet_compiler():
            gym.Wrapper.__init__(self, HalfCheetahEnv(frame_skip=frame_skip, **kwargs))
        self._setup(self.env, [command_low], [command_high], command)
        self.ctrl_cost_weight = float(ctrl_cost_weight)

    def step(self, action):
        observation, _, terminated, truncated, info = self.env.step(action)
        velocity = float(info["x_velocity"])
        ctrl = self.ctrl_cost_weight * float(np.sum(np.square(action)))
        reward = -abs(velocity - float(self.command[0])) - ctrl
        info = {**info, "velocity": np.array([velocity]), "command": self.command.copy(),
                "contacts": self.contacts(), "tracking_error": abs(velocity - float(self.command[0])),
                "reward_ctrl": -ctrl}
        return self._observe(observation), reward, terminated, truncated, info


class AntVelocity(_Commanded, gym.Wrapper):
    feet = ("left_ankle_geom", "right_ankle_geom", "third_ankle_geom", "fourth_ankle_geom")

    def __init__(self, command_low=(-0.5, -0.5, -0.5), command_high=(1.0, 0.5, 0.5), command=None,
                 turn_weight: float = 0.5, tracking_sigma: float = 0.1, ctrl_cost_weight: float = 0.05,
                 linear_weight: float = 0.0, frame_skip: int = 2, **kwargs):
        _require_mujoco()
        from gymnasium.envs.mujoco.ant_v5 import AntEnv

        with _quiet_compiler():
            gym.Wrapper.__init__(self, AntEnv(ctrl_cost_weight=ctrl_cost_weight, frame_skip=frame_skip, **kwargs))
        self._setup(self.env, command_low, command_high, command)
        self.turn_weight = float(turn_weight)
        if not tracking_sigma > 0:
            raise CogmapError(f"tracking_sigma must be positive, got {tracking_sigma}")
        self.tracking_sigma = float(tracking_sigma)
        if not (math.isfinite(linear_weight) and linear_weight >= 0):
            raise CogmapError(f"linear_weight must be a finite number >= 0, got {linear_weight}")
        self.linear_weight = float(linear_weight)

    def step(self, action):
        data = self.env.unwrapped.data
        yaw_before = _yaw(data.qpos[3:7])
        observation, _, terminated, truncated, info = self.env.step(action)
        yaw_after = _yaw(data.qpos[3:7])
        turn = math.remainder(yaw_after - yaw_before, 2 * math.pi) / self.env.unwrapped.dt
        heading = yaw_before + 0.5 * math.remainder(yaw_after - yaw_before, 2 * math.pi)
        vx, vy = float(info["x_velocity"]), float(info["y_velocity"])
        forward = math.cos(heading) * vx + math.sin(heading) * vy
        lateral = -math.sin(heading) * vx + math.cos(heading) * vy
        measured = np.array([forward, lateral, turn])
        errors = np.abs(measured - self.command)
        walking = math.exp(-(errors[0] ** 2 + errors[1] ** 2) / self.tracking_sigma)
        turning = math.exp(-errors[2] ** 2 / self.tracking_sigma)
        reward = (float(info["reward_survive"]) + walking + self.turn_weight * turning
                  + float(info["reward_ctrl"]) + float(info["reward_contact"])
                  - self.linear_weight * (errors[0] + errors[1] + self.turn_weight * errors[2]))
        info = {**info, "velocity": measured, "command": self.command.copy(), "contacts": self.contacts(),
                "tracking_error": errors}
        return self._observe(observation), reward, terminated, truncated, info


def register() -> None:
    """Register the walkers with Gymnasium (done when :mod:`cogmap.envs` is imported; MuJoCo is needed only to make them)."""
    import gymnasium as gym

    for env_id, entry in ((CHEETAH_ID, CheetahVelocity), (ANT_ID, AntVelocity)):
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry, max_episode_steps=1000)
