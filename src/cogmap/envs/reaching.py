"""Reaching with a two-joint arm whose joints rotate freely in 3-D: what a path integrator's state is good for.

The arm of the path integrators (SO(3) x SO(3)): a shoulder rotation ``R1`` and an elbow
rotation ``R2`` relative to it, links of length ``l1`` and ``l2`` along each rotated z axis, so
the hand is at ``l1 R1 e_z + l2 R1 R2 e_z``. The agent sets both joints' body-frame angular
velocities (6 numbers, rad/s, clipped to ``max_speed``); a step turns each joint by
``exp(omega dt)`` on the right, exactly as the path integrators' training data moves
(:func:`cogmap.pathint.data.integrate_joints`). Every episode starts from the identity pose
(the arm straight up) with a target drawn as the hand of a Haar-random pose (so every target is
reachable); the reward is minus the hand's distance to the target at every step (plus, by
option, ``progress_weight`` times its approach speed and ``success_bonus`` while within the
radius), and an episode is a success when that distance is below ``success_radius`` at its
last step. ``action_repeat`` holds each decision for that many steps of ``dt``.
:class:`PoseController` is a controller that is not learned (damped least squares on the pose).

What the agent observes (``observe``):

- ``velocities``: the target (3) and the angular velocities it has just applied (6), never its
  pose. A memoryless policy cannot tell where its hand is; a recurrent one can integrate.
- ``pose``: the same plus both joints' rotation matrices (18), the upper bound.
- ``embedding``: the same plus the hidden state of a frozen, pretrained path integrator
  (``integrator``: its checkpoint) fed the velocities the agent applied, from the start pose's
  place-cell code: the learned representation in place of the pose.

:class:`BatchedArmReach` is a batch of these in torch (the :class:`~cogmap.envs.vector.VectorEnv`
protocol PPO trains on; ``env: arm_reach`` in a control config); ``cogmap/ArmReach-v0`` is
one of them as a Gymnasium environment, for acting on what Gymnasium returns.
"""

from __future__ import annotations

import numpy as np
import torch

from cogmap.envs.vector import Transition
from cogmap.errors import CogmapError, check_choice, check_positive, check_positive_int
from cogmap.geometry import so3

REACH_OBSERVATIONS = ("velocities", "pose", "embedding")
ARM_REACH_ID = "cogmap/ArmReach-v0"


def hand_position(rotations: torch.Tensor, lengths: tuple[float, float] = (0.5, 0.5)) -> torch.Tensor:
    """The hand ``(..., 3)`` of poses ``(..., 2, 3, 3)``: ``l1 R1 e_z + l2 R1 R2 e_z``."""
    upper = rotations[..., 0, :, 2]                                   # R1 e_z
    fore = (rotations[..., 0, :, :] @ rotations[..., 1, :, 2:3])[..., 0]  # R1 R2 e_z
    return lengths[0] * upper + lengths[1] * fore


def hand_jacobian(rotations: torch.Tensor, lengths: tuple[float, float] = (0.5, 0.5)) -> torch.Tensor:
    """``(..., 3, 6)``: the hand's velocity per body-frame angular velocity of each joint.

    Turning ``R1`` to ``R1 exp(w1 dt)`` moves the hand by ``R1 (w1 x (l1 e_z + l2 R2 e_z)) dt``;
    turning ``R2`` moves it by ``l2 R1 R2 (w2 x e_z) dt``; ``a x b = -[b]_x a`` gives the columns.
    """
    r1, r2 = rotations[..., 0, :, :], rotations[..., 1, :, :]
    e_z = torch.zeros(3, dtype=rotations.dtype, device=rotations.device)
    e_z[2] = 1.0
    arm = lengths[0] * e_z + lengths[1] * r2[..., :, 2]                      # the arm below the shoulder, in R1's frame
    shoulder = -r1 @ so3.hat(arm)
    elbow = -lengths[1] * (r1 @ r2) @ so3.hat(e_z.expand_as(arm))
    return torch.cat([shoulder, elbow], dim=-1)


class PoseController:
    """A controller that is not learned: damped least squares on the true pose (``observe="pose"``).

    Each decision asks the hand to close ``gain`` times its offset to the target per second,
    ``w = J^T (J J^T + damping I)^-1 gain (target - hand)``, scaled down (not clipped, so the
    direction is kept) to the speed bound. It acts on the raw observations of
    ``BatchedArmReach(observe="pose")`` as a trained policy does, and shows what the task allows.
    """

    def __init__(self, gain: float = 10.0, damping: float = 1e-2, max_speed: float = 3.0,
                 lengths: tuple[float, float] = (0.5, 0.5)):
        for name, value in (("gain", gain), ("damping", damping), ("max_speed", max_speed)):
            check_positive(name, value)
        self.gain, self.damping, self.max_speed, self.lengths = float(gain), float(damping), float(max_speed), lengths
        self.device = torch.device("cpu")

    def reset(self, num_envs: int = 1) -> "PoseController":
        return self

    def act(self, observation, deterministic: bool = True) -> torch.Tensor:
        observation = torch.as_tensor(observation, dtype=torch.float64)
        if observation.shape[-1] != 27:
            raise CogmapError(f"the pose controller reads observe=pose observations (27 numbers), got "
                              f"{observation.shape[-1]}")
        target, rotations = observation[..., :3], observation[..., 9:27].reshape(*observation.shape[:-1], 2, 3, 3)
        rotations = so3.project(rotations)  # the observation is float32
        jacobian = hand_jacobian(rotations, self.lengths)
        wanted = self.gain * (target - hand_position(rotations, self.lengths))
        gram = jacobian @ jacobian.transpose(-1, -2) + self.damping * torch.eye(3, dtype=torch.float64)
        velocity = (jacobian.transpose(-1, -2) @ torch.linalg.solve(gram, wanted[..., None]))[..., 0]
        excess = velocity.abs().amax(-1, keepdim=True).clamp(min=self.max_speed) / self.max_speed
        return (velocity / excess).float()


def frozen_integrator(path, manifold: str, dt: float, stepper: str, device=None):
    """A pretrained path integrator with two joints on ``manifold``, trained at step ``dt``, frozen
    for use as an observation; any mismatch with the environment (``stepper``) is one line."""
    from cogmap.pathint.model import load_path_integrator

    model = load_path_integrator(path, device).eval()
    generation = model.generation
    space = {"so3": "SO(3) x SO(3)", "so2": "SO(2) x SO(2)"}[manifold]
    if generation.manifold != manifold or generation.joints != 2:
        raise CogmapError(f"the integrator {path} must be trained on {space} (manifold {manifold}, joints 2), not "
                          f"{generation.joints} joint(s) on {generation.manifold}")
    if abs(generation.dt - dt) > 1e-9:
        raise CogmapError(f"the integrator {path} was trained with dt {generation.dt}; {stepper} steps {dt}")
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


class BatchedArmReach:
    """``num_envs`` reaching arms in torch that reset themselves after ``steps`` steps."""

    action_dim = 6

    def __init__(self, num_envs: int = 16, seed: int = 0, device=None, observe: str = "velocities",
                 integrator: str | None = None, steps: int = 100, dt: float = 0.01, max_speed: float = 3.0,
                 lengths: tuple[float, float] = (0.5, 0.5), success_radius: float = 0.1,
                 success_bonus: float = 0.0, progress_weight: float = 0.0, action_repeat: int = 1):
        check_positive_int("num_envs", num_envs)
        check_positive_int("steps", steps)
        check_positive_int("action_repeat", action_repeat)
        self.action_repeat = action_repeat
        check_choice("observe", observe, REACH_OBSERVATIONS)
        for name, value in (("dt", dt), ("max_speed", max_speed), ("success_radius", success_radius)):
            check_positive(name, value)
        try:
            lengths = tuple(float(v) for v in lengths)
        except (TypeError, ValueError):
            raise CogmapError(f"lengths must be two positive link lengths, got {lengths!r}") from None
        if len(lengths) != 2 or not all(np.isfinite(v) and v > 0 for v in lengths):
            raise CogmapError(f"lengths must be two positive link lengths, got {lengths!r}")
        self.num_envs, self.observe, self.steps, self.dt = num_envs, observe, steps, float(dt)
        self.max_speed, self.lengths, self.success_radius = float(max_speed), lengths, float(success_radius)
        for name, value in (("success_bonus", success_bonus), ("progress_weight", progress_weight)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
                raise CogmapError(f"{name} must be a non-negative number, got {value!r}")
        self.success_bonus, self.progress_weight = float(success_bonus), float(progress_weight)
        self.device = torch.device(device or "cpu")
        self.generator = torch.Generator().manual_seed(seed)
        self.action_low = torch.full((6,), -self.max_speed, device=self.device)
        self.action_high = torch.full((6,), self.max_speed, device=self.device)
        self.integrator = None
        if observe == "embedding":
            if integrator is None:
                raise CogmapError("observe=embedding needs integrator: the checkpoint of a path integrator on "
                                  "SO(3) x SO(3)")
            self.integrator = frozen_integrator(integrator, "so3", self.dt, "this arm", self.device)
        elif integrator is not None:
            raise CogmapError(f"an integrator is used only with observe=embedding, not observe={observe}")
        self.rotations = torch.eye(3, dtype=torch.float64, device=self.device).expand(num_envs, 2, 3, 3).clone()
        self.last_rotations = self.rotations.clone()
        self.target = torch.zeros(num_envs, 3, dtype=torch.float64, device=self.device)
        self.velocity = torch.zeros(num_envs, 6, dtype=torch.float64, device=self.device)
        self.elapsed = torch.zeros(num_envs, dtype=torch.long, device=self.device)
        self.hidden = None
        self.last_distance = torch.full((num_envs,), float("nan"), dtype=torch.float64, device=self.device)
        self._previous = torch.zeros(num_envs, dtype=torch.float64, device=self.device)

    # -- the VectorEnv protocol ------------------------------------------------------------

    @property
    def observation_dim(self) -> int:
        extra = {"velocities": 0, "pose": 18, "embedding": 0 if self.integrator is None else self.integrator.hparams.hidden}
        return 9 + extra[self.observe]

    @property
    def observation_scale(self) -> torch.Tensor:
        """Velocities divided by their bound; the target (within the arm's reach, 1 m) and the pose's
        entries are already of order 1, and so is a path integrator's (tanh-bounded) state."""
        scale = torch.ones(self.observation_dim, device=self.device)
        scale[3:9] = 1.0 / self.max_speed
        return scale

    def _reset_rows(self, rows: torch.Tensor) -> None:
        n = len(rows)
        if n == 0:
            return
        poses = so3.random(2 * n, self.generator, dtype=torch.float64).to(self.device).reshape(n, 2, 3, 3)
        self.target[rows] = hand_position(poses, self.lengths)
        # Out of place: last_rotations and last_distance may share these tensors' storage.
        self.rotations = self.rotations.index_put((rows,), torch.eye(3, dtype=torch.float64, device=self.device))
        self.velocity[rows] = 0.0
        self.elapsed[rows] = 0
        start = (hand_position(self.rotations[rows], self.lengths) - self.target[rows]).norm(dim=-1)
        self._previous = self._previous.index_put((rows,), start)
        if self.integrator is not None:
            code = self.integrator.place_cells().encode(self.rotations[rows].float()).to(self.device)
            start = self.integrator.net.encode_initial(code)
            if self.hidden is None:
                self.hidden = tuple(torch.zeros(1, self.num_envs, s.shape[-1], device=self.device) for s in
                                    (start if isinstance(start, tuple) else (start,)))
            for buffer, value in zip(self.hidden, start if isinstance(start, tuple) else (start,)):
                buffer[:, rows] = value

    def _observation(self) -> torch.Tensor:
        parts = [self.target, self.velocity]
        if self.observe == "pose":
            parts.append(self.rotations.reshape(self.num_envs, 18))
        elif self.observe == "embedding":
            parts.append(self.hidden[0][0].double())
        return torch.cat(parts, dim=1).float()

    def reset(self) -> torch.Tensor:
        self._reset_rows(torch.arange(self.num_envs, device=self.device))
        return self._observation()

    def distance(self) -> torch.Tensor:
        """Each hand's distance to its target now ``(N,)``."""
        return (hand_position(self.rotations, self.lengths) - self.target).norm(dim=-1)

    @torch.no_grad()
    def step(self, action) -> Transition:
        action = torch.as_tensor(action, device=self.device).reshape(self.num_envs, 6).double()
        if not torch.isfinite(action).all():
            raise CogmapError("the action has non-finite values")
        self.velocity = torch.maximum(torch.minimum(action, self.action_high.double()), self.action_low.double())
        turn = so3.exp(self.velocity.reshape(self.num_envs, 2, 3) * self.dt)
        for _ in range(self.action_repeat):
            self.rotations = so3.project(self.rotations @ turn)
        if self.integrator is not None:
            h = self.hidden if len(self.hidden) == 2 else self.hidden[0]
            held = self.velocity.float()[:, None].expand(-1, self.action_repeat, -1).contiguous()
            _, h = self.integrator.net.rnn(held, h)
            self.hidden = tuple(h) if isinstance(h, tuple) else (h,)
        self.elapsed += 1
        distance = self.last_distance = self.distance()  # kept: the step may reset the arms
        reward = (-distance + self.success_bonus * (distance < self.success_radius)
                  + self.progress_weight * (self._previous - distance) / (self.dt * self.action_repeat))
        self._previous = distance
        truncated = self.elapsed >= self.steps
        final = self._observation()
        self.last_rotations = self.rotations  # the poses the episodes ended in (resets replace, not overwrite)
        rows = truncated.nonzero().flatten()
        self._reset_rows(rows)
        observation = self._observation() if len(rows) else final
        return Transition(observation, reward.float(), torch.zeros_like(truncated), truncated, final)


def make_batched(num_envs: int, seed: int = 0, device=None, env_kwargs: dict | None = None) -> BatchedArmReach:
    """The registry's factory (:func:`cogmap.envs.make_env`): the arm's options come in ``env_kwargs``."""
    try:
        return BatchedArmReach(num_envs, seed=seed, device=device, **(env_kwargs or {}))
    except TypeError as error:
        raise CogmapError(f"env_kwargs for arm_reach: {error}") from None


def _gymnasium_arm_reach(**kwargs):
    import gymnasium as gym

    class ArmReach(gym.Env):
        """One :class:`BatchedArmReach` as a Gymnasium environment (NumPy in and out)."""

        metadata = {"render_modes": []}

        def __init__(self, **options):
            self.arm = BatchedArmReach(1, **options)
            reach, speed = sum(self.arm.lengths), self.arm.max_speed
            high = np.concatenate([np.full(3, reach), np.full(6, speed),
                                   np.full(self.arm.observation_dim - 9, 1.0 if self.arm.observe == "pose" else np.inf)])
            high = high.astype(np.float32)
            self.observation_space = gym.spaces.Box(-high, high, dtype=np.float32)
            self.action_space = gym.spaces.Box(-self.arm.max_speed, self.arm.max_speed, shape=(6,), dtype=np.float32)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            if seed is not None:
                self.arm.generator.manual_seed(int(seed))
            return self.arm.reset()[0].cpu().numpy(), {}

        def step(self, action):
            transition = self.arm.step(torch.as_tensor(np.asarray(action, dtype=np.float64)))
            distance = float(self.arm.last_distance[0])
            info = {"distance": distance, "success": distance < self.arm.success_radius}
            # The batch resets itself at the step limit; Gymnasium's caller resets instead.
            return (transition.final_observation[0].cpu().numpy(), float(transition.reward[0]), False,
                    bool(transition.truncated[0]), info)

    return ArmReach(**kwargs)


def register() -> None:
    """Register :data:`ARM_REACH_ID` with Gymnasium (done when :mod:`cogmap.envs` is imported)."""
    import gymnasium as gym

    if ARM_REACH_ID not in gym.registry:
        gym.register(id=ARM_REACH_ID, entry_point=_gymnasium_arm_reach)
