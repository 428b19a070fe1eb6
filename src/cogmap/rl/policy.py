"""A trained controller as a user holds it, and its checkpoints: load it with one call, feed it what the environment returns.

>>> policy = load_policy("pretrained/control/pendulum_fo_rnn.pt")     # or a run folder
>>> policy.reset(num_envs=1)
>>> action = policy.act(observation)                                 # Gymnasium's own observation

The policy owns everything its agent was trained with: the observation scaling, the action
bounds, the recurrent state between calls (:attr:`Policy.state`) and the config. With
``record=True`` every call keeps the observation, the recurrent state, the hidden output and the
action, for the analyses of :mod:`cogmap.analysis` (:meth:`Policy.recording`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cogmap.config import parse, to_dict
from cogmap.devices import resolve_device
from cogmap.envs import BatchedPendulum, VectorEnv, go1, pool
from cogmap.errors import CogmapError
from cogmap.files import load_torch_file
from cogmap.rl.agents import RecurrentActorCritic
from cogmap.rl.config import PPOConfig, make_env_for
from cogmap.runs import POLICY, check_header, has_header, save_checkpoint

# Files written before the one checkpoint header (cogmap.runs), still read: version 2 (observation
# scaling and action bounds inside the agent, the env's description saved) and version 1 (no format
# field; pendulum only, scaling done outside the agent).
POLICY_FORMAT = "cogmap-policy"


@dataclass(frozen=True)
class Recording:
    """What :meth:`Policy.act` kept with ``record=True``, one row per call: ``(T, N, ...)`` arrays."""

    observations: np.ndarray  # (T, N, O) as given to act
    states: np.ndarray  # (T, N, S) the recurrent state before each step (LSTM: h and c side by side)
    hidden: np.ndarray  # (T, N, H) the core's output after each step
    actions: np.ndarray  # (T, N, A) as returned (sampled when act was not deterministic)
    means: np.ndarray  # (T, N, A) the network's own output, the Gaussian's mean (the actions of a deterministic act)

    def __len__(self) -> int:
        return self.observations.shape[0]


class Policy:
    """A recurrent agent with its recurrent state, its environment's action bounds and its config."""

    def __init__(self, agent: RecurrentActorCritic, config=None, update: int | None = None,
                 source: str | None = None):
        self.agent, self.config, self.update, self.source = agent.eval(), config, update, source
        self.state: torch.Tensor | None = None
        self._record: list[tuple[torch.Tensor, ...]] = []

    @property
    def device(self) -> torch.device:
        return self.agent.log_std.device

    @property
    def observation_dim(self) -> int:
        return self.agent.observation_dim

    @property
    def action_dim(self) -> int:
        return self.agent.action_dim

    def _kept_columns(self, width: int) -> np.ndarray | None:
        """The columns the agent sees of a ``width``-wide observation, where the environment's own is wider than
        the agent's because cogmap dropped the previous action from it in training (``without_last_action``):
        EnvPool's Go1 task and the Python twin made without that option both hand the policy all 48."""
        cfg = self.config
        if cfg is None or not cfg.env_kwargs.get("without_last_action") or width == self.observation_dim:
            return None
        drop = pool.LAST_ACTION.get(cfg.env.removeprefix(pool.PREFIX), go1.LAST_ACTION if cfg.env == "go1" else None)
        if drop is None or width - (drop.stop - drop.start) != self.observation_dim:
            return None
        return np.r_[0:drop.start, drop.stop:width]

    def to(self, device=None, dtype: torch.dtype | None = None) -> "Policy":
        """Move the agent (and its state) to ``device`` and/or ``dtype``; observations follow it in :meth:`act`."""
        self.agent.to(device=None if device is None else resolve_device(device), dtype=dtype)
        if self.state is not None:
            self.state = self.state.to(device=self.device, dtype=self.agent.log_std.dtype)
        return self

    def reset(self, num_envs: int = 1) -> "Policy":
        """Start new episodes in ``num_envs`` environments: a zero recurrent state, an empty recording."""
        if not isinstance(num_envs, int) or isinstance(num_envs, bool) or num_envs < 1:
            raise CogmapError(f"num_envs must be a positive integer, got {num_envs!r}")
        self.state = self.agent.initial_state(num_envs, self.device)
        self._record = []
        return self

    @torch.no_grad()
    def act(self, observation, deterministic: bool = True, record: bool = False,
            generator: torch.Generator | None = None):
        """The action for ``observation``, exactly as the environment returned it.

        ``observation`` is one observation ``(O,)`` or a batch ``(N, O)``, a NumPy array (or list)
        or a tensor, or a dict holding it under ``"state"`` (EnvPool's Go1, beside its privileged
        state); a walker trained ``without_last_action`` also takes the task's whole observation and
        drops the previous action itself. The action comes back in the same form, ``(A,)`` or
        ``(N, A)``: a float32 NumPy array for NumPy input, ready for ``env.step``, or a tensor on the
        input's device.
        ``deterministic=False`` samples from the Gaussian policy (noise from ``generator``) and
        clips to the action bounds. Without :meth:`reset`, the first call starts episodes for
        its batch.
        """
        if isinstance(observation, Mapping):  # EnvPool's and Playground's: the actor's under "state"
            if "state" not in observation:
                raise CogmapError(f"an observation given as a dict must hold the actor's under 'state' (EnvPool's "
                                  f"name); it holds {', '.join(map(str, observation))}")
            observation = observation["state"]
        as_tensor = torch.is_tensor(observation)
        obs = observation if as_tensor else torch.as_tensor(np.asarray(observation, dtype=np.float32))
        single = obs.dim() == 1
        if single:
            obs = obs[None]
        keep = self._kept_columns(obs.shape[-1]) if obs.dim() == 2 else None
        if keep is not None:  # the environment's full observation; the agent never saw its previous action
            obs = obs[:, torch.as_tensor(keep, device=obs.device)]
        if obs.dim() != 2 or obs.shape[-1] != self.observation_dim:
            raise CogmapError(f"observation must have shape ({self.observation_dim},) or (N, {self.observation_dim}), "
                              f"got {tuple(observation.shape) if hasattr(observation, 'shape') else observation!r}")
        obs = obs.to(device=self.device, dtype=self.agent.log_std.dtype)
        if self.state is None:
            self.reset(obs.shape[0])
        if self.state.shape[0] != obs.shape[0]:
            raise CogmapError(f"the policy was reset for {self.state.shape[0]} environment(s) but got "
                              f"{obs.shape[0]} observation(s); call policy.reset(num_envs={obs.shape[0]})")
        step = self.agent(obs, self.state)
        action = step.mean
        if not deterministic:
            noise = torch.randn(action.shape, generator=generator).to(action.device)
            action = torch.maximum(torch.minimum(action + self.agent.log_std.exp() * noise, self.agent.action_high),
                                   self.agent.action_low)
        if record:
            self._record.append((obs, self.state, step.hidden, action, step.mean))
        self.state = step.state
        if single:
            action = action[0]
        if as_tensor:
            return action.to(device=observation.device, dtype=torch.float32)
        return action.cpu().numpy().astype(np.float32)

    def recording(self) -> Recording:
        """The steps recorded since the last :meth:`reset` (see :class:`Recording`)."""
        if not self._record:
            raise CogmapError("nothing recorded: call policy.act(..., record=True)")
        columns = [torch.stack(column).cpu().numpy() for column in zip(*self._record)]
        return Recording(*columns)

    def __repr__(self) -> str:
        cfg = self.config
        where = f" from {self.source}" if self.source else ""
        what = f"{cfg.cell.upper()} {cfg.hidden} on {cfg.env}" if cfg is not None else "agent"
        return f"Policy({what}, update {self.update}{where})"


def env_description(env: VectorEnv) -> dict:
    """What a saved agent needs to know of its environment (plain data, saved in every checkpoint)."""
    scale = getattr(env, "observation_scale", None)
    return {"observation_dim": int(env.observation_dim), "action_dim": int(env.action_dim),
            "critic_observation_dim": int(getattr(env, "critic_observation_dim", 0)),
            "action_low": [float(v) for v in env.action_low], "action_high": [float(v) for v in env.action_high],
            "observation_scale": None if scale is None else [float(v) for v in scale]}


def make_agent(config: PPOConfig, env: VectorEnv | dict | None = None) -> RecurrentActorCritic:
    """The agent for ``config`` on ``env`` (an environment or its :func:`env_description`)."""
    if env is None:
        env = make_env_for(config, num_envs=1, training=True)
    described = env if isinstance(env, dict) else env_description(env)
    return RecurrentActorCritic(described["observation_dim"], described["action_dim"], config.cell, config.hidden,
                                config.head, log_std=config.log_std, action_low=described["action_low"],
                                action_high=described["action_high"],
                                observation_scale=described["observation_scale"],
                                observation_clip=10.0 if config.normalize_observations else None,
                                encoder=config.encoder, critic_observation_dim=described.get("critic_observation_dim", 0),
                                critic_layers=config.critic_layers)


def save_policy(path: Path, agent: RecurrentActorCritic, config: PPOConfig, env: dict, **numbers) -> None:
    """A checkpoint that :func:`load_policy` turns back into a working policy."""
    save_checkpoint(path, POLICY, to_dict(config), {k: v.cpu() for k, v in agent.state_dict().items()}, env=env,
                    **numbers)


def checkpoints(run_dir: str | Path) -> list[Path]:
    """The per-update checkpoints of a ``cogmap control train`` run, in order."""
    if not Path(run_dir).exists():
        raise CogmapError(f"{run_dir} does not exist")
    # in the order of their updates (past update 9999 the names are longer, and sort wrongly as text)
    found = sorted(Path(run_dir).glob("checkpoints/update_*.pt"), key=lambda p: (len(p.stem), p.stem))
    if not found:
        raise CogmapError(f"{run_dir} holds no checkpoints/update_*.pt; is it a `cogmap control train` run?")
    return found


def _legacy_env(config) -> dict:
    """The environment description that version-1 checkpoints (pendulum only) did not save."""
    env = BatchedPendulum(1, config.observation)
    return {"observation_dim": env.observation_dim, "action_dim": 1, "action_low": [-env.max_torque],
            "action_high": [env.max_torque], "observation_scale": env.observation_scale.tolist()}


def load_policy(path: str | Path, update: int | None = None, device=None) -> Policy:
    """A trained controller from a checkpoint file or a run folder (its last checkpoint, or ``update=N``).

    The one loader of controller checkpoints: files are read as tensors and plain data only,
    the saved config is validated, and any failure is a :class:`~cogmap.errors.CogmapError` that
    names the file.
    """
    device = resolve_device(device)
    path = Path(path)
    if path.is_dir():
        found = checkpoints(path)
        if update is None:
            path = found[-1]
        else:
            chosen = [p for p in found if p.stem == f"update_{update:04d}"]
            if not chosen:
                raise CogmapError(f"{path} has no checkpoint of update {update}; it has updates "
                                  f"{found[0].stem[7:].lstrip('0')}..{found[-1].stem[7:].lstrip('0')}")
            path = chosen[0]
    elif update is not None:
        raise CogmapError(f"update={update} picks a checkpoint of a run folder, but {path} is a file")
    return policy_from_payload(load_torch_file(path, "policy checkpoint"), path, device)


def policy_from_payload(saved, path: str | Path, device=None) -> Policy:
    """The :class:`Policy` in a controller checkpoint's payload (read from ``path``, named in errors)."""
    device = resolve_device(device)
    if has_header(saved):  # the one checkpoint header of cogmap.runs
        check_header(saved, path, POLICY)
        saved = {**saved, "state_dict": saved["state"]}
    elif not isinstance(saved, dict) or not isinstance(saved.get("state_dict"), dict) \
            or not isinstance(saved.get("config"), dict):
        raise CogmapError(f"policy checkpoint {path} is not a cogmap controller (no weights and config)")
    elif saved.get("format", POLICY_FORMAT) != POLICY_FORMAT:
        raise CogmapError(f"policy checkpoint {path} is a {saved.get('format')!r} file, not a cogmap controller")
    try:
        config = parse(PPOConfig, saved["config"])
    except CogmapError as error:
        raise CogmapError(f"policy checkpoint {path}: invalid config: {error}") from None
    legacy = "format" not in saved  # version 1: pendulum only, scaling done outside the agent
    env = _legacy_env(config) if legacy else saved.get("env")
    if not isinstance(env, dict):
        raise CogmapError(f"policy checkpoint {path} does not describe its environment")
    try:
        agent = make_agent(config, env)
        missing, unexpected = agent.load_state_dict(saved["state_dict"], strict=False)
        buffers = {name for name, _ in agent.named_buffers()}
        if unexpected or (set(missing) - buffers) or (missing and not legacy):
            raise RuntimeError(f"missing {missing}, unexpected {unexpected}")
    except (CogmapError, RuntimeError, KeyError, TypeError) as error:
        reason = " ".join(str(error).split())[:200]
        raise CogmapError(f"policy checkpoint {path} does not fit its config: {reason}") from None
    return Policy(agent.to(device), config, update=saved.get("update"), source=str(path))


def load_agent(checkpoint: str | Path) -> tuple[RecurrentActorCritic, PPOConfig]:
    """The agent and config of a checkpoint (or a run folder's last one); see :func:`load_policy`."""
    policy = load_policy(checkpoint)
    return policy.agent, policy.config
