"""The settings of a recurrent PPO run (:class:`PPOConfig`): the environment, the agent, the update, the budget.

One flat, typed dataclass: a YAML file under ``configs/control/`` maps onto it key for key, and
``key=value`` overrides change one field (:func:`load_control_config`); every check names the
key that failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cogmap.config import check_choices, choice, load
from cogmap.envs import OBSERVATION_MODES, VectorEnv, make_env
from cogmap.envs.pendulum import PENDULUM_OBSERVATION
from cogmap.envs.vector import WithPrivilegedState
from cogmap.errors import CogmapError, check_positive, check_positive_int
from cogmap.rl.agents import CELLS


@dataclass
class PPOConfig:
    # The defaults are the tuned settings of the default task, the partially observable pendulum with a
    # GRU core (configs/control/pendulum_po_gru.yaml, RESULTS.md's sweep); configs/control/*.yaml hold
    # every other task's settings.
    env: str = "pendulum"  # a name of cogmap.envs.BATCHED (pendulum, arm_reach) or any Gymnasium id with Box spaces
    # The environment's own settings, given to its constructor: e.g. {observation: full} for the pendulum
    # (default partial), {observe: pose} for the arm, {frame_skip: 5} for a Gymnasium id.
    env_kwargs: dict = field(default_factory=dict)
    cell: str = choice("gru", CELLS)
    hidden: int = 64
    head: int = 64
    encoder: tuple[int, ...] = ()  # widths of an MLP (tanh) between the observation and the recurrent core
    # "privileged": an asymmetric critic, an MLP of critic_layers on the full state the environment gives beside
    # the observation (EnvPool's privileged_state); "shared": the value head on the actor's core
    critic: str = choice("shared", ("shared", "privileged"))
    critic_layers: tuple[int, ...] = (512, 256)
    total_steps: int = 100_000
    num_envs: int = 16  # each update collects num_envs x num_steps steps
    num_steps: int = 200  # steps per environment per update (the pendulum's episode length)
    bptt: int | None = None  # truncated BPTT: rollouts cut into sequences of this many steps (None: whole rollouts)
    epochs: int = 20  # passes over each rollout
    minibatches: int = 8  # the rollouts' sequences are split among this many minibatches
    lr: float = 3e-3  # the starting learning rate
    # linear: decays to 0 over the run; adaptive: RSL-RL's rule (Rudin et al. 2022), divided by 1.5 after a
    # minibatch whose KL from the rollout's policy exceeds 2 x desired_kl, multiplied by 1.5 below half of it
    # (kept within [1e-5, 1e-2]); constant: lr throughout
    lr_schedule: str = choice("linear", ("linear", "adaptive", "constant"))
    desired_kl: float = 0.01
    gamma: float = 0.95
    gae_lambda: float = 0.95
    clip: float = 0.2
    value_coef: float = 0.5
    # The bonus is on the entropy per action dimension (the mean over dimensions): RSL-RL, Brax and SB3 put
    # theirs on the sum, so their coefficient c is c x action_dim here (0.01 for the Go1's 12 joints: 0.12).
    entropy_coef: float = 0.0
    max_grad_norm: float = 0.5
    reward_scale: float = 0.1
    log_std: float = 0.0
    noise_repeat: int = 4  # exploration noise is redrawn every this many steps (held in between: sustained pushes)
    normalize_observations: bool = False  # running mean/std of observations, frozen into the saved agent
    eval_episodes: int = 20
    checkpoint_every: int = 1  # keep the policy of every this many updates (and the last): long runs keep fewer
    seed: int = 0
    device: str = "cpu"  # cpu, cuda, cuda:N or auto
    # A saved agent (checkpoint or run folder) whose weights and observation statistics start the run:
    # fine-tuning on a changed task (e.g. a wider command range). Its network must have this config's shape.
    init_from: str | None = None

    def __post_init__(self):
        check_choices(self)
        for name in ("hidden", "head", "total_steps", "num_envs", "num_steps", "epochs", "minibatches",
                     "eval_episodes", "noise_repeat", "checkpoint_every"):
            check_positive_int(name, getattr(self, name))
        for name in ("lr", "clip", "max_grad_norm", "reward_scale", "desired_kl"):
            check_positive(name, getattr(self, name))
        for name in ("gamma", "gae_lambda"):
            if not 0 < getattr(self, name) <= 1:
                raise CogmapError(f"{name} must be in (0, 1], got {getattr(self, name)!r}")
        if self.bptt is not None:
            check_positive_int("bptt", self.bptt)
            if self.num_steps % self.bptt:
                raise CogmapError(f"num_steps ({self.num_steps}) must be a multiple of bptt ({self.bptt})")
        if self.minibatches > self.sequences:
            raise CogmapError(f"minibatches ({self.minibatches}) cannot exceed the {self.sequences} sequences of a "
                              f"rollout (num_envs x num_steps / bptt)")
        if not self.env or not isinstance(self.env, str):
            raise CogmapError(f"env must name an environment, got {self.env!r}")
        if self.env == "pendulum" and self.observation not in OBSERVATION_MODES:
            raise CogmapError(f"env_kwargs.observation must be one of {', '.join(map(repr, OBSERVATION_MODES))}, "
                              f"got {self.observation!r}")
        if self.init_from is not None and (not isinstance(self.init_from, str) or not self.init_from):
            raise CogmapError(f"init_from must be the path of a saved agent, got {self.init_from!r}")

    @staticmethod
    def upgrade(values):
        """Settings saved before the pendulum's ``observation`` moved into ``env_kwargs`` (every older checkpoint)."""
        if "observation" not in values:
            return values
        values = dict(values)
        mode = values.pop("observation")
        if values.get("env", "pendulum") == "pendulum":  # other tasks saved the unused default; it is dropped
            values["env_kwargs"] = {"observation": mode, **(values.get("env_kwargs") or {})}
        return values

    @property
    def observation(self) -> str | None:
        """The pendulum's observation mode (``env_kwargs.observation``), None for any other environment."""
        return self.env_kwargs.get("observation", PENDULUM_OBSERVATION) if self.env == "pendulum" else None

    @property
    def sequence_length(self) -> int:
        """Steps per BPTT sequence."""
        return self.num_steps if self.bptt is None else self.bptt

    @property
    def sequences(self) -> int:
        """BPTT sequences per rollout (every environment's rollout, cut into ``sequence_length`` steps)."""
        return self.num_envs * (self.num_steps // self.sequence_length)

    @property
    def updates(self) -> int:
        return max(1, self.total_steps // (self.num_envs * self.num_steps))

    @property
    def run_name(self) -> str:
        """A folder name from the task, its word-valued settings and the cell, e.g. ``pendulum_full_gru``."""
        words = [self.env.rsplit("/", 1)[-1]]
        words += [str(v) for k, v in sorted(self.env_kwargs.items()) if isinstance(v, str) and v.isidentifier()]
        if self.env == "pendulum" and "observation" not in self.env_kwargs:
            words.append(PENDULUM_OBSERVATION)
        return "_".join(words + [self.cell])


def load_control_config(path=None, overrides=()) -> PPOConfig:
    """A :class:`PPOConfig` from a YAML file (optional) and ``key=value`` overrides."""
    return load(PPOConfig, path, overrides)


def make_env_for(config: PPOConfig, num_envs: int | None = None, seed: int | None = None, device=None,
                 training: bool = False) -> VectorEnv:
    """The config's environment: ``num_envs`` copies (default the config's), seeded ``seed`` (default the config's).
    For ``training`` with ``critic: privileged``, its observations carry the privileged state after them (the
    critic's); the agent acts on the observation alone."""
    env = make_env(config.env, num_envs or config.num_envs, config.seed if seed is None else seed, device=device,
                   env_kwargs=config.env_kwargs)
    if training and config.critic == "privileged":
        try:
            return WithPrivilegedState(env)
        except CogmapError:
            if hasattr(env, "close"):
                env.close()
            raise
    return env
