"""Training and evaluating the world models (Lightning), and loading them back in one call.

``train(config, run_dir)`` renders the training transitions of the config's domain (the
teapot-like object, the arm, the planar arm; seeded), trains with the
contrastive loss for ``epochs`` and writes the run folder of :mod:`cogmap.runs`: ``config.yaml``,
``metrics.csv`` (Lightning's CSV logger, one row per epoch), ``checkpoints/resume.ckpt`` after
every epoch (what ``resume=True`` continues from, to the same bytes as an uninterrupted run: each
epoch's shuffle and negatives are seeded by the epoch) and, at the end, ``checkpoints/model.pt``:
the weights with the config, which :func:`load_world_model` turns back into a
:class:`~cogmap.worldmodels.model.WorldModel` that takes the images
:func:`~cogmap.worldmodels.data.trajectories` produces. (Runs written before the checkpoints
folder hold ``model.pt`` at their top; they load the same.)

``evaluate(model, ...)`` renders fresh test trajectories (all the domain's actions, whatever the
model was trained on) and measures next-state prediction (Hits@k and MRR at 1 and ``steps``
steps, both tie rules), the equivariance error of the encoder under random symmetries of the
domain (:meth:`~cogmap.worldmodels.domains.Domain.symmetries`), and the distance-invariance error
of the predictions (:mod:`cogmap.analysis.equivariance`): each prediction is paired with another
trajectory's true latent, and the pair's distance is compared with that of the same pair turned
by one symmetry (the prediction's from the turned trajectory, with its relabelled actions; the
partner's from the turned image). It also gives Hits@1 among fewer candidates (how the score
depends on how densely the test poses cover the group) and, for the missed predictions, how far
the pose they were taken for lies from the truth (:func:`misses`).
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from cogmap.analysis.equivariance import (
    candidate_counts,
    distance_invariance_error,
    equivariance_error,
    hits_among,
    hits_per_row,
    miss_summary,
    nearest_other,
    nearest_rivals,
    random_pairs,
    ranking_metrics,
)
from cogmap.config import check_choices, choice, load, parse, to_dict
from cogmap.devices import resolve_device
from cogmap.errors import CogmapError, check_memory
from cogmap.files import load_torch_file, read_yaml_mapping
from cogmap.geometry import so3
from cogmap.runs import (
    WORLD_MODEL,
    WORLD_MODEL_RESUME,
    changed_settings,
    check_header,
    check_run_folder,
    checkpoint_header,
    has_header,
    prepare_run_folder,
    process_rank,
    save_checkpoint,
    save_config,
    tensorboard_installed,
)
from cogmap.trainer import leave_process_group, metrics_logger, quiet_lightning
from cogmap.worldmodels.data import parse_actions, trajectories
from cogmap.worldmodels.domains import DOMAINS, pose_distance, rotation_angle, turn_latents
from cogmap.worldmodels.model import (
    LATENTS,
    LOSSES,
    NEGATIVES,
    TRANSITIONS,
    WorldModel,
    contrastive_loss,
    elbo_loss,
    encode_in_batches,
    pose_loss,
    twist_poses,
)
from cogmap.worldmodels.objects import (
    RENDERERS,
    TRANSITION_KINDS,
    ObjectWorldModel,
    allowed_actions,
    evaluate_objects,
    hinge_loss,
)
from cogmap.worldmodels.objects import transitions as grid_transitions

# Files written before the one checkpoint header (cogmap.runs), still read.
FORMAT = "cogmap-world-model"
VERSION = 2


@dataclass
class WorldModelConfig:
    # teapot (SO(3)), arm (SO(3) x SO(3)), planar_arm (SO(2) x SO(2)); or C-SWM's grid world of pushed objects
    # (C4, its quarter turns) drawn as 2-D shapes or 3-D cubes: an object-slot model (cogmap.worldmodels.objects)
    domain: str = choice("teapot", tuple(DOMAINS) + tuple(RENDERERS))
    # "matmul": equivariant (SEN); "none": an MLP (the baseline); "full" (grid world only): equivariant from
    # the pixels on (the Full baseline)
    transition: str = choice("matmul", TRANSITIONS + ("full",))
    latent: str = choice("vectors", LATENTS)  # "rotation": the latent is a rotation matrix (3 orthonormal rows)
    vectors: int = 3  # vectors per joint in the latent (d for a rotation)
    channels: int = 32  # of the first convolutions (the last two have twice as many)
    hidden: int = 256
    size: int = 64  # image side in pixels (the grid world's is 10 x width)
    objects: int = 5  # the grid world's objects (and the model's slots)
    width: int = 5  # the grid world's side in cells
    step: float = math.pi / 6  # radians per action
    # None: all; e.g. [pitch+, yaw+, roll+] for the generalisation test; the grid world's are push directions
    # (up, right, down, left), e.g. [up]
    train_actions: list[str] | None = None
    transitions: int = 10_000  # training transitions (each two rendered images)
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    sigma: float = 0.5  # energy scale of the hinge loss (C-SWM)
    margin: float = 1.0
    negatives: str = choice("sample", NEGATIVES)  # "joints": one hinge per joint (see contrastive_loss)
    twist_negatives: bool = False  # also the next pose turned about its latent's own axis (see twist_poses)
    # "infonce": a softmax over the batch's latents (see contrastive_loss); "supervised": not a world
    # model but its ceiling, the encoder regressed onto the true pose (see pose_loss); "vae": the
    # homeomorphic VAE of Falorsi et al. 2018 (latent: rotation; see elbo_loss), a baseline of the seed's Table 1
    loss: str = choice("hinge", LOSSES)
    kl_weight: float = 1.0  # loss: vae only: the KL term's weight (1: the ELBO)
    seed: int = 0
    device: str = "cpu"  # cpu, cuda, cuda:N or auto: where the model trains (the data is rendered on the CPU)
    # Processes (on the CPU) or GPUs that train together; more than one needs strategy: ddp (each takes a
    # share of every epoch's shuffled transitions, the gradients averaged).
    devices: int = 1
    strategy: str = choice("auto", ("auto", "ddp"))
    progress: bool = True

    def __post_init__(self):
        check_choices(self)
        device = resolve_device(self.device, "device")
        if self.devices > 1 and self.strategy != "ddp":
            raise CogmapError(f"devices={self.devices} trains in {self.devices} processes: set strategy=ddp")
        if self.devices > 1 and device.type == "cuda" and device.index:
            raise CogmapError(f"devices={self.devices} takes the first {self.devices} GPUs: write device=cuda, "
                              f"not {self.device}")
        if self.devices > 1 and self.transitions // self.devices < self.batch_size:
            raise CogmapError(f"transitions ({self.transitions}) shared by {self.devices} processes leave less than "
                              f"one batch ({self.batch_size}) each")
        for name in ("vectors", "channels", "hidden", "size", "transitions", "epochs", "batch_size", "devices"):
            if getattr(self, name) < 1:
                raise CogmapError(f"{name} must be positive, got {getattr(self, name)}")
        if self.size % 16:
            raise CogmapError(f"size must be a multiple of 16, got {self.size}")
        if not 0 < self.step < 2 * math.pi:
            raise CogmapError(f"step must be in (0, 2 pi) radians, got {self.step}")
        if self.grid:
            self._check_grid()
        else:
            parse_actions(self.train_actions, self.domain)
        for name in ("lr", "sigma", "margin"):
            if not 0 < getattr(self, name) < math.inf:
                raise CogmapError(f"{name} must be a positive finite number, got {getattr(self, name)}")
        if not 0 <= self.kl_weight < math.inf or (self.kl_weight != 1.0 and self.loss != "vae"):
            raise CogmapError(f"kl_weight weighs the VAE's KL term (loss: vae): a finite number >= 0, got "
                              f"{self.kl_weight} with loss: {self.loss}")
        if self.transition == "full" and not self.grid:
            raise CogmapError("transition: full (equivariant from the pixels) is built for the grid world "
                              f"(domain: shapes or cubes), not the {self.domain}")
        if self.grid:
            return
        if self.twist_negatives and DOMAINS[self.domain].dim != 3:
            raise CogmapError(f"twist_negatives turns 3-D joints about their latent's axis; the {self.domain}'s joints "
                              f"are planar (a turn in the plane keeps no vector)")
        if self.twist_negatives and self.loss != "hinge":
            raise CogmapError(f"twist_negatives adds a hinge; it does not go with loss: {self.loss}")
        if self.loss == "vae" and (self.latent != "rotation" or self.transition != "matmul"
                                   or DOMAINS[self.domain].dim != 3):
            raise CogmapError("loss: vae is the homeomorphic VAE: its latent is a rotation of each SO(3) joint "
                              f"(latent: rotation, transition: matmul, the teapot or the arm), got latent: {self.latent}, "
                              f"transition: {self.transition} on the {self.domain}")
        if self.loss == "supervised" and (self.vectors != DOMAINS[self.domain].dim or self.latent != "vectors"
                                          or self.transition != "matmul"):
            raise CogmapError(f"loss: supervised regresses a vectors latent with vectors = {DOMAINS[self.domain].dim} "
                              f"(one per axis of a joint) and the matmul transition")

    @property
    def grid(self) -> bool:
        """Whether the domain is the grid world of pushed objects."""
        return self.domain in RENDERERS

    def _check_grid(self) -> None:
        from cogmap.worldmodels import grid

        allowed_actions(1, self.train_actions)  # push directions, or one error naming them
        for name, value, default in (("latent", self.latent, "vectors"), ("loss", self.loss, "hinge"),
                                     ("negatives", self.negatives, "sample"), ("twist_negatives", self.twist_negatives, False)):
            if value != default:
                raise CogmapError(f"{name}: {value} is a setting of the rotating bodies' models; the {self.domain} "
                                  f"model is C-SWM's, trained by its hinge loss")
        for name in ("objects", "width"):
            if getattr(self, name) < 1:
                raise CogmapError(f"{name} must be positive, got {getattr(self, name)}")
        grid.random_states(1, self.width, self.objects)  # they fit on the grid, or one error
        if self.domain == "cubes" and self.width != 5:
            raise CogmapError(f"the 3-D cubes are drawn on C-SWM's 5 x 5 grid, got width {self.width}")
        # the training set's images, held as bytes: two per transition
        check_memory(2 * self.transitions * 3 * (10 * self.width) ** 2,
                     f"{self.transitions:,} transitions of {10 * self.width} x {10 * self.width} RGB images",
                     "ask for fewer transitions")


def load_world_model_config(path=None, overrides=()) -> WorldModelConfig:
    return load(WorldModelConfig, path, overrides)


def build_model(config: WorldModelConfig) -> WorldModel | ObjectWorldModel:
    if config.grid:
        return ObjectWorldModel(config.objects, config.width, 2, config.hidden, config.channels,
                                TRANSITION_KINDS[config.transition], "pixels" if config.domain == "cubes" else "cells")
    return WorldModel(config.transition, config.size, config.vectors, config.channels, config.hidden, config.step,
                      config.latent, config.domain, vae=config.loss == "vae")


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch's randomness (its shuffle, its negatives): a function of the epoch alone, so
    that a resumed run draws what an uninterrupted one draws."""
    return (seed * 1_000_003 + epoch * 7_919 + 1) % 2**63


class EpochShuffle(torch.utils.data.Sampler):
    """A fresh permutation of ``n`` items each epoch, seeded by (``seed``, epoch); Lightning sets the epoch.

    In a run of ``world`` processes every process draws the same permutation and takes every
    ``world``-th item from its ``rank`` on: disjoint shares that together are the epoch.
    """

    def __init__(self, n: int, seed: int, rank: int = 0, world: int = 1):
        if not 0 <= rank < world:
            raise CogmapError(f"rank must be in [0, {world}), got {rank}")
        self.n, self.seed, self.epoch, self.rank, self.world = n, seed, 0, rank, world

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        return iter(torch.randperm(self.n, generator=generator)[self.rank::self.world].tolist())

    def __len__(self) -> int:
        return len(range(self.rank, self.n, self.world))


def _lightning_module(model: WorldModel, config: WorldModelConfig):
    import lightning as L

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = model
            self.shuffles = torch.Generator()

        def on_train_epoch_start(self):
            self.shuffles.manual_seed(epoch_seed(config.seed + 1, self.current_epoch))

        def on_save_checkpoint(self, checkpoint: dict) -> None:
            checkpoint.update(checkpoint_header(WORLD_MODEL_RESUME, to_dict(config)))

        def training_step(self, batch, _):
            observation, action, next_observation, next_pose = batch
            if config.grid:
                loss, parts = hinge_loss(self.model, observation, action, next_observation, config.sigma,
                                         config.margin, self.shuffles)
            elif config.loss == "supervised":
                loss, parts = pose_loss(self.model, next_observation, next_pose)
            elif config.loss == "vae":  # not a world model's loss: an autoencoder of both frames' images
                loss, parts = elbo_loss(self.model, torch.cat([observation, next_observation]), self.shuffles,
                                        config.kl_weight)
            else:
                twist = None
                if config.twist_negatives:
                    def twist(z_next):  # the poses the current latent cannot tell from the next ones, rendered
                        turned = twist_poses(z_next, next_pose, self.shuffles)
                        return self.model.domain.render(turned, config.size).to(observation)[:, None]
                loss, parts = contrastive_loss(self.model, observation, next_observation, action, config.sigma,
                                               config.margin, self.shuffles, config.negatives, config.loss, twist)
            return self._log(loss, parts, len(action))

        def _log(self, loss, parts, size):
            # sync_dist: a multi-process run logs the mean over its processes, once
            self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=size, prog_bar=True, sync_dist=True)
            self.log("train/positive", parts["positive"], on_step=False, on_epoch=True, batch_size=size, sync_dist=True)
            self.log("train/negative", parts["negative"], on_step=False, on_epoch=True, batch_size=size, sync_dist=True)
            return loss

        def configure_optimizers(self):
            return torch.optim.Adam(self.model.parameters(), lr=config.lr)

    return Module()


def train(config: WorldModelConfig, run_dir: str | Path, force: bool = False, resume: bool = False) -> WorldModel:
    """Train one world model into the run folder ``run_dir`` (:mod:`cogmap.runs`: empty or absent, or
    replaced with ``force``; with ``resume``, the interrupted run there continues), on ``config.device``."""
    import lightning as L
    from lightning.pytorch.loggers import TensorBoardLogger

    device = resolve_device(config.device, "device")
    run_dir = Path(run_dir)
    last = run_dir / "checkpoints" / "resume.ckpt"
    if resume:
        check_run_folder(run_dir, force, resume)
        if not last.is_file():
            raise CogmapError(f"--resume: {run_dir} holds no checkpoints/resume.ckpt (a run that finished before "
                              "resumable runs, or not an equivariance train run)")
        resume_epoch = int(check_header(load_torch_file(last, "checkpoint to resume from"), last,
                                        WORLD_MODEL_RESUME).get("epoch", 0))
        saved = read_yaml_mapping(run_dir / "config.yaml")
        differs = changed_settings(saved, to_dict(config), may_change=("epochs", "progress", "device"))
        if differs:
            raise CogmapError(f"--resume: the config differs from the run's in {', '.join(differs)}; only epochs, "
                              "progress and device may change")
    rank = process_rank()  # the later processes of a multi-process run start inside fit(), in rank 0's folder
    if rank == 0:
        run_dir = prepare_run_folder(run_dir, force, resume)
        save_config(run_dir, config)
    dataset = training_set(config)
    with quiet_lightning(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_model(config)
        loader = torch.utils.data.DataLoader(dataset, batch_size=config.batch_size, drop_last=True,
                                             sampler=EpochShuffle(len(dataset), config.seed, rank, config.devices))
        accelerator = {"cpu": "cpu", "cuda": "gpu", "mps": "mps"}[device.type]
        devices = config.devices if config.devices > 1 else 1 if device.type != "cuda" else [device.index or 0]
        loggers = [metrics_logger(run_dir, resume_epoch if resume else None)]  # metrics.csv in the run folder
        if tensorboard_installed():
            loggers.append(TensorBoardLogger(run_dir, name="", version="tensorboard"))
        trainer = L.Trainer(max_epochs=config.epochs, accelerator=accelerator, devices=devices, logger=loggers,
                            strategy=config.strategy, callbacks=[save_for_resume(last)], enable_checkpointing=False,
                            enable_progress_bar=config.progress, enable_model_summary=False, log_every_n_steps=1,
                            deterministic=True, use_distributed_sampler=False)  # EpochShuffle shares the epoch
        try:
            trainer.fit(_lightning_module(model, config), loader, ckpt_path=str(last) if resume else None)
        except BaseException:
            if rank == 0 and not resume and not last.is_file():
                shutil.rmtree(run_dir, ignore_errors=True)  # nothing to resume yet: the folder was empty before this run
            raise
        first = trainer.is_global_zero
        leave_process_group()
    if first:  # one model file, written by the first process
        save_world_model(model.cpu().eval(), config, run_dir / "checkpoints" / "model.pt")
    return model


def training_set(config: WorldModelConfig) -> torch.utils.data.TensorDataset:
    """(observation, action, next observation, next pose or state) of ``config.transitions`` rendered transitions."""
    if config.grid:  # one push from each of as many random states (C-SWM's 100-step episodes are as uniform)
        data = grid_transitions(config.transitions, 1, config.width, config.objects, config.train_actions, config.seed,
                                RENDERERS[config.domain], as_bytes=True)
        return torch.utils.data.TensorDataset(data.images[:, 0], data.actions[:, 0], data.images[:, 1],
                                              data.states[:, 1])
    data = trajectories(config.transitions, 1, config.train_actions, config.step, config.size, config.seed,
                        config.domain)
    return torch.utils.data.TensorDataset(data.observations[:, 0], data.actions[:, 0], data.observations[:, 1],
                                          data.poses[:, 1])


def save_for_resume(path: Path):
    """A callback that writes the whole training state to ``path`` after every epoch, atomically."""
    import lightning as L

    from cogmap.files import atomic_path

    class SaveForResume(L.Callback):
        def on_train_epoch_end(self, trainer, module):
            if not trainer.is_global_zero:  # every process joins the save; only the first writes
                trainer.save_checkpoint(path)
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                trainer.save_checkpoint(tmp)

    return SaveForResume()


def save_world_model(model: WorldModel, config: WorldModelConfig, path: Path) -> None:
    save_checkpoint(path, WORLD_MODEL, to_dict(config), model.state_dict())


def load_world_model(path: str | Path, device=None) -> WorldModel:
    """A trained world model from its run folder or its ``model.pt``, in eval mode on ``device`` (default CPU);
    it takes the images its domain renders."""
    device = resolve_device(device)
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoints" / "model.pt" if (path / "checkpoints" / "model.pt").is_file() else path / "model.pt"
    return world_model_from_payload(load_torch_file(path, "world model"), path, device)


def world_model_from_payload(saved, path: str | Path, device=None) -> WorldModel:
    """The :class:`~cogmap.worldmodels.model.WorldModel` in a world-model file's payload (read from ``path``)."""
    device = resolve_device(device)
    if has_header(saved):  # the one checkpoint header of cogmap.runs
        weights = check_header(saved, path, WORLD_MODEL)["state"]
    elif not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise CogmapError(f"{path} is not a cogmap world model")
    elif saved.get("version") != VERSION:
        raise CogmapError(f"{path}: world model format version {saved.get('version')}, this cogmap reads {VERSION}")
    else:
        weights = saved["state_dict"]
    config = parse(WorldModelConfig, saved["config"])
    model = build_model(config)
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        raise CogmapError(f"{path}: weights do not fit the model its config describes ({str(error).splitlines()[0]})") \
            from None
    model.config = config
    return model.to(device).eval()


@torch.no_grad()
def evaluate(model: WorldModel, trajectories: int = 1000, steps: int = 10, seed: int = 12_345,
             ks: tuple = (1, 5, 10), actions=None) -> dict:
    """Next-state ranking at 1 and ``steps`` steps, EE and DIE, on fresh trajectories of the domain's actions (or of
    ``actions`` alone: names or indices, e.g. the ones a model never saw in training), Hits@1 per action, Hits@1
    among 10 to 3,000 candidates (``candidates``) and what the misses were taken for (``misses``).
    A model of the grid world: :func:`cogmap.worldmodels.objects.evaluate_objects` (``actions``: push directions)."""
    if isinstance(model, ObjectWorldModel):
        domain = model.config.domain if hasattr(model, "config") else "shapes"
        return evaluate_objects(model, trajectories, steps, seed, actions, domain, ks)
    config = model.config if hasattr(model, "config") else None
    size, domain = model.size, model.domain
    step = config.step if config is not None else math.pi / 6
    data = _trajectories(trajectories, steps, actions, step, size, seed, domain)
    n = len(data)
    ks = tuple(k for k in ks if k <= n) or (1,)  # a rank cannot exceed the candidates there are
    frames = encode_in_batches(model, data.observations.reshape(-1, 1, size, size)).reshape(n, steps + 1, *model.latent_shape)
    predictions = model.rollout(frames[:, 0], data.actions)  # (N, T, J, V, d)
    result = {"domain": domain.name, "trajectories": n, "steps": steps, "seed": seed,
              "actions": [domain.action_names[a] for a in parse_actions(actions, domain)]}
    # A random symmetry per trajectory, applied to the whole trajectory (its actions relabelled).
    g, relabel = domain.symmetries(n, torch.Generator().manual_seed(seed + 1))
    turned_start = encode_in_batches(model, domain.render(g @ data.poses[:, 0], size).float()[:, None])
    turned_predictions = model.rollout(turned_start, relabel.gather(1, data.actions))
    result["ee"] = equivariance_error(frames[:, 0], turned_start, lambda z: turn_latents(z, g))
    result["equivariant_part"] = equivariant_part(frames[:, 0], data.poses[:, 0])
    pairs = random_pairs(n, seed)
    scale = float(frames[:, 0].flatten(1).norm(dim=1).mean())
    for horizon in sorted({1, steps}):
        predicted, target = predictions[:, horizon - 1], frames[:, horizon]
        for ties in ("pessimistic", "optimistic"):
            ranking = ranking_metrics(predicted, target, k=ks, ties=ties, over="predictions")
            result[f"{horizon}_step_{ties}"] = ranking.to_json()
        # The partner's true latent, turned by the same symmetry as the prediction it is paired with.
        partner = encode_in_batches(model, domain.render(g @ data.poses[pairs, horizon], size).float()[:, None])
        result[f"die_{horizon}_step"] = distance_invariance_error(
            predicted, target[pairs], turned_predictions[:, horizon - 1], partner, scale=scale)
    # How the score depends on the candidates' density, and what the misses were taken for.
    sizes = candidate_counts(n)
    result["candidates"] = {"sizes": sizes}
    result["misses"] = {}
    for horizon in sorted({1, steps}):
        predicted, target = predictions[:, horizon - 1], frames[:, horizon]
        result["candidates"][f"hits@1_{horizon}_step"] = {
            str(size): value for size, value in hits_among(predicted, target, sizes).items()}
        hit = hits_per_row(predicted, target, k=1) == 1
        result["misses"][f"{horizon}_step"] = misses(hit, nearest_rivals(predicted, target), data.poses[:, horizon])
    # Hits@1 of the trajectories that begin with each action (at 1 step: that action's prediction alone).
    first = data.actions[:, 0].cpu().numpy()
    per_action = {}
    for horizon in sorted({1, steps}):
        hit = hits_per_row(predictions[:, horizon - 1], frames[:, horizon], k=1)
        for a in sorted(set(first.tolist())):
            entry = per_action.setdefault(domain.action_names[a], {"trajectories": int((first == a).sum())})
            entry[f"hits@1_{horizon}_step"] = float(hit[first == a].mean())
    result["per_action"] = per_action
    return result


_trajectories = trajectories  # evaluate's argument shadows the function's name

def misses(hit, rival, poses: torch.Tensor) -> dict:
    """What the missed predictions were taken for (:func:`~cogmap.analysis.equivariance.miss_summary`), in degrees:
    the pose distance from each missed row's true pose to its rival's (the trajectory whose prediction ranked
    first in its place), against the nearest candidate's pose.

    ``hit`` ``(N,)`` marks the rows ranked first, ``rival`` ``(N,)`` indexes each row's nearest other
    item (:func:`~cogmap.analysis.equivariance.nearest_rivals`) and ``poses`` ``(N, J, d, d)`` are the
    rows' true poses. Distances are geodesic on the joints' product group
    (:func:`~cogmap.worldmodels.domains.pose_distance`). Misses to far rivals (up to 180 degrees, a half
    turn) say the latent cannot tell some distinct poses apart. On SO(3) joints, ``body_axis`` says about
    which of the body's own axes the confusions (rivals more than 90 degrees away) turn: among them, the
    fraction whose turn ``R_i^T R_j`` (of the joint turned most) lies within 26 degrees of the body's x, y
    or z axis.
    """
    hit, rival = torch.as_tensor(hit, dtype=torch.bool), torch.as_tensor(rival, dtype=torch.long)
    poses = poses.double().cpu()
    n = len(poses)
    if hit.shape != (n,) or rival.shape != (n,):
        raise CogmapError(f"hit and rival must have one value per pose ({n}), got {tuple(hit.shape)} and "
                          f"{tuple(rival.shape)}")
    nearest = nearest_other(poses, pose_distance)
    missed = ~hit
    to_rival = pose_distance(poses[missed], poses[rival[missed]])
    result = miss_summary(hit, torch.rad2deg(to_rival), torch.rad2deg(nearest), "deg")
    if poses.shape[-1] == 3 and missed.any():
        # The turn from the truth to its rival in the truth's own (body) frame, R_i^T R_j, of the joint turned most:
        # which of the body's axes the model cannot tell a turn about.
        vectors = so3.log(poses[missed].transpose(-1, -2) @ poses[rival[missed]])  # (misses, J, 3)
        joint = vectors.norm(dim=-1).argmax(-1)
        vector = vectors[torch.arange(len(vectors)), joint]
        axis = vector / vector.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        confused = vector.norm(dim=-1) > math.pi / 2
        result["body_axis"] = {"confusions": int(confused.sum()), **{
            name: float((axis[confused, i].abs() > 0.9).double().mean()) if confused.any() else 0.0
            for i, name in enumerate("xyz")}}
        result["each"]["body_axis"] = axis.tolist()
    return result


def equivariant_part(latents: torch.Tensor, poses: torch.Tensor) -> dict:
    """How much of each joint's latent is the one equivariant map, and how many directions of the joint it keeps.

    The group acts on poses freely and transitively, so an equivariant latent is exactly
    ``z_j = M_j R_j^T`` for one fixed ``(vectors, d)`` matrix ``M_j`` (its value at the identity).
    ``M_j`` is fitted by least squares (``mean_i z_ij R_ij``, as ``R`` is orthogonal);
    ``residual`` is ``mean ||z - M R^T|| / mean ||z||``, and ``singular_values`` (divided by
    ``mean ||z||``, so that they are 0 for a latent with no equivariant part) say how many
    independent directions the latent turns: a rank-1 ``M`` keeps only where one body axis
    points (a sphere) and cannot tell apart poses turned about it, which EE alone does not
    reveal. ``rank`` counts the singular values above 0.1.
    """
    latents, poses = latents.double().cpu(), poses.double().cpu()
    result = {}
    for j in range(latents.shape[1]):
        m = (latents[:, j] @ poses[:, j]).mean(0)
        fitted = m @ poses[:, j].transpose(-1, -2)
        residual = float((latents[:, j] - fitted).flatten(1).norm(dim=1).mean()
                         / latents[:, j].flatten(1).norm(dim=1).mean().clamp(min=1e-12))
        values = torch.linalg.svdvals(m) / latents[:, j].flatten(1).norm(dim=1).mean().clamp(min=1e-12)
        result[f"joint{j}"] = {"residual": residual, "singular_values": values.tolist(),
                               "rank": int((values > 0.1).sum())}
    return result


@torch.no_grad()
def latent_rotations(model: WorldModel, frames: int = 36, seed: int = 0, starts: int = 16) -> dict:
    """How each joint's latent turns when the joint turns: full turns about each axis from random poses.

    For every axis a joint turns about (the domain's "+" actions), the joint is turned through a
    full circle from each of ``starts`` random poses; at each angle the joint's latent ``z_k`` is
    compared with the first, ``z_0``: the rotation ``Q_k`` that best maps ``z_0`` onto ``z_k``
    (Kabsch), its angle, its geodesic distance from the joint's true turn, and the part of
    ``z_k`` no rotation of ``z_0`` explains (relative residual); and the equivariance error along
    the turn, ``||z_k - z_0 G_k^T|| / ||z_0||`` with ``G_k`` the joint's true turn. Each is the
    median over the starting poses (one pose the encoder misreads, e.g. an arm seen end-on, would
    otherwise stand for all). An equivariant encoder turns its latent exactly as the joint turns:
    angle = true angle (folded into [0, pi]), distance, residual and error 0. A latent whose
    vectors are all parallel (rank 1, see :func:`equivariant_part`) leaves the Kabsch rotation
    free about their axis: then only the residual and the error along the turn mean anything.
    """
    domain = model.domain
    start = domain.random_poses(starts, torch.Generator().manual_seed(seed))  # (S, J, d, d)
    angles = torch.arange(frames, dtype=torch.float64) * 2 * math.pi / frames
    result = {}
    for a, name in enumerate(domain.action_names):
        if not name.endswith("+"):
            continue
        joint = domain.action_joints[a]
        truth = domain.turns(torch.full((frames,), a), angles)  # (frames, J, d, d)
        poses = (truth[:, None] @ start[None]).reshape(-1, *start.shape[1:])  # frame-major
        z = encode_in_batches(model, domain.render(poses, model.size).float()[:, None]).double()
        z = z.reshape(frames, starts, *z.shape[1:])[:, :, joint]  # (frames, S, V, d)
        # Kabsch: Q = argmin sum ||z_k - z_0 Q^T||^2 over rotations, for every start
        u, _, vt = torch.linalg.svd(z.transpose(-1, -2) @ z[:1])
        fix = torch.ones(frames, starts, domain.dim, dtype=torch.float64)
        fix[..., -1] = torch.sign(torch.linalg.det(u @ vt))
        q = u @ torch.diag_embed(fix) @ vt
        size = z.flatten(2).norm(dim=2).clamp(min=1e-12)
        residual = (z - z[:1] @ q.transpose(-1, -2)).flatten(2).norm(dim=2) / size
        turn = truth[:, None, joint]  # (frames, 1, d, d)
        error = (z - z[:1] @ turn.transpose(-1, -2)).flatten(2).norm(dim=2) / size[:1]

        def median(values):
            return values.median(dim=1).values.tolist()

        result[name[:-1]] = {"true_angle": angles.tolist(),
                             "latent_angle": median(rotation_angle(q)),
                             "distance_to_truth": median(rotation_angle(q.transpose(-1, -2) @ turn)),
                             "residual": median(residual),
                             "turn_error": median(error),
                             "starts": starts}
    return result


def summary_line(result: dict, steps: int) -> str:
    one, many = result["1_step_pessimistic"], result[f"{steps}_step_pessimistic"]
    return (f"Hits@1 {100 * one['hits@1']:.1f}% (1 step), {100 * many['hits@1']:.1f}% ({steps} steps); "
            f"MRR {100 * one['mrr']:.1f}%, {100 * many['mrr']:.1f}%; EE {result['ee']:.3f}; "
            f"DIE {result['die_1_step']:.4f} (1 step), {result[f'die_{steps}_step']:.4f} ({steps} steps)"
            + ("; equivariant part: rank " + ", ".join(str(j["rank"]) for j in result["equivariant_part"].values())
               + ", residual " + ", ".join(f"{j['residual']:.3f}" for j in result["equivariant_part"].values())
               if "equivariant_part" in result else ""))


__all__ = ["WorldModelConfig", "build_model", "equivariant_part", "evaluate", "latent_rotations", "load_world_model",
           "load_world_model_config", "save_world_model", "summary_line", "train"]
