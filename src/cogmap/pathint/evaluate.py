"""Evaluating a path integrator next to the references that give its numbers meaning.

On the same validation trajectories, per time step: the model; chance (a uniform code);
"stay still" (the start pose's code forever, a predictor that never integrates); and the
floor set by decoding, the pose read back from the exact target code.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from cogmap.errors import CogmapError, check_positive_int
from cogmap.pathint.data import GenerationConfig, Trajectories, generate
from cogmap.pathint.metrics import accuracy, kl_divergence, stay_still_prediction


@dataclass(frozen=True)
class Scores:
    """One predictor's scores: means over steps and trajectories, and the per-step curves.

    Geodesic errors are in degrees on the angular spaces and in metres in the box
    (:attr:`GenerationConfig.distance_unit`); the field keeps its historical name.
    """

    accuracy: float
    kl: float | None
    geodesic_error_deg: float | None
    accuracy_per_step: list[float]
    kl_per_step: list[float] | None
    geodesic_error_deg_per_step: list[float] | None

    @classmethod
    def from_curves(cls, acc: torch.Tensor, kl: torch.Tensor | None, geo: torch.Tensor | None) -> "Scores":
        return cls(float(acc.mean()), float(kl.mean()) if kl is not None else None,
                   float(geo.mean()) if geo is not None else None, acc.tolist(),
                   kl.tolist() if kl is not None else None, geo.tolist() if geo is not None else None)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


REFERENCES = (("model", "model"), ("stay_still", "stay still"), ("chance", "chance"),
              ("exact_code_decoding", "exact code (floor)"))


@dataclass(frozen=True)
class Evaluation:
    """A model's scores per time step next to chance, stay-still and the decoding floor, on the same trajectories."""

    trajectories: int
    steps: int
    decoded_trajectories: int
    generation: GenerationConfig
    model: Scores
    stay_still: Scores
    chance: Scores
    exact_code_decoding: Scores

    def to_json(self) -> dict:
        return {"trajectories": self.trajectories, "steps": self.steps, "decoded_trajectories": self.decoded_trajectories,
                "generation": self.generation.to_dict(),
                **{key: getattr(self, key).to_json() for key, _ in REFERENCES}}

    def table(self) -> str:
        """A short text table of the overall scores."""
        lines = [f"{self.trajectories} validation trajectories of {self.steps} steps "
                 f"(geodesic errors on {self.decoded_trajectories})",
                 f"{'':22} {'accuracy':>9} {'KL':>8} {'geodesic error':>15}"]
        unit = self.generation.distance_unit
        for key, label in REFERENCES:
            r = getattr(self, key)
            kl = f"{r.kl:.4f}" if r.kl is not None else "-"
            geo = f"{r.geodesic_error_deg:.2f} {unit}" if r.geodesic_error_deg is not None else "-"
            lines.append(f"{label:22} {r.accuracy:>9.4f} {kl:>8} {geo:>15}")
        return "\n".join(lines)


def _decode_error(generation, cells, codes: torch.Tensor, states: torch.Tensor, refine_steps: int) -> torch.Tensor:
    """Mean over joints of the distance between decoded and true poses, ``(N, T)``, in the space's report unit."""
    decoded = cells.decode(codes, refine_steps=refine_steps)
    return generation.report_distance(cells.manifold.distance(decoded, states)).mean(-1)


def check_evaluation_arguments(n: int, seq_len: int | None = None, long: int | None = None, n_decode: int = 1,
                               flags: dict | None = None) -> None:
    """The arguments of :func:`evaluate`, checked before any work; ``flags`` names them as the user typed them."""
    flags = {"n": "n", "seq_len": "seq_len", "long": "long", "n_decode": "n_decode", **(flags or {})}
    if not isinstance(n, int) or n < 1:
        raise CogmapError(f"{flags['n']} must be >= 1, got {n}")
    if seq_len is not None and (not isinstance(seq_len, int) or seq_len < 1):
        raise CogmapError(f"{flags['seq_len']} must be >= 1, got {seq_len}")
    if long is not None and (not isinstance(long, int) or long < 0):
        raise CogmapError(f"{flags['long']} must be >= 0 (0 skips it), got {long}")
    if not isinstance(n_decode, int) or n_decode < 1:
        raise CogmapError(f"{flags['n_decode']} must be >= 1, got {n_decode}")


def check_trajectories_fit(generation: GenerationConfig, n: int, key: str = "trajectories") -> None:
    """Refuse ``n`` validation trajectories that the free memory cannot hold, before generating any."""
    from cogmap.errors import check_memory
    from cogmap.pathint.data import generated_bytes

    check_memory(generated_bytes(generation, n), f"{n:,} trajectories of {generation.seq_len} steps ({key}={n})",
                 f"ask for fewer ({key}=N) or shorter ones")


@torch.no_grad()
def evaluate(model, generation: GenerationConfig, n: int = 5000, seq_len: int | None = None, batch_size: int = 500,
             n_decode: int = 256, refine_steps: int = 100, progress: bool = False) -> Evaluation:
    """Per-step and overall scores of ``model`` and the references on ``n`` validation trajectories.

    Geodesic errors decode poses, an optimisation per state, so they use the first ``n_decode``
    trajectories (every step); accuracy and KL use all ``n``.
    """
    from tqdm.auto import tqdm

    check_evaluation_arguments(n, seq_len, None, n_decode)
    check_positive_int("batch_size", batch_size)
    if seq_len is not None:
        generation = dataclasses.replace(generation, seq_len=seq_len)
    check_trajectories_fit(generation, n)
    model.eval()
    device = next(model.parameters()).device
    trajectories = generate(generation, n, "val")
    joints, steps = generation.joints, generation.seq_len
    sums = {name: torch.zeros(steps, dtype=torch.float64) for name in
            ("model_kl", "model_accuracy", "stay_kl", "stay_accuracy", "chance_kl")}
    model_codes = []
    uniform = torch.full((1, 1, generation.code_dim), 1.0 / generation.cells)
    for start in tqdm(range(0, n, batch_size), desc=f"scoring {steps} steps", unit="batch", disable=not progress):
        v = trajectories.velocities[start:start + batch_size]
        target = trajectories.targets[start:start + batch_size]
        init = trajectories.initial_code[start:start + batch_size]
        log_p, _ = model(v.to(device), model._encode_init_pos(init.to(device)))
        log_p = log_p.float().cpu()
        stay = stay_still_prediction(init, steps)
        sums["model_kl"] += kl_divergence(target, log_p, joints).sum(0)
        sums["model_accuracy"] += accuracy(target, log_p, joints).sum(0)
        sums["stay_kl"] += kl_divergence(target, stay.log(), joints).sum(0)
        sums["stay_accuracy"] += accuracy(target, stay, joints).sum(0)
        sums["chance_kl"] += kl_divergence(target, uniform.log().expand_as(target), joints).sum(0)
        if start < n_decode:
            model_codes.append(log_p[: n_decode - start].exp())
    per_step = {name: (value / n) for name, value in sums.items()}

    m = min(n, n_decode)
    cells = generation.place_cells()
    states = trajectories.states[:m]
    with tqdm(total=2, desc="decoding poses", unit="set", disable=not progress) as bar:
        model_error = _decode_error(generation, cells, torch.cat(model_codes)[:m], states, refine_steps)
        bar.update()
        exact_error = _decode_error(generation, cells, trajectories.targets[:m], states, refine_steps)
        bar.update()
    stay_error = generation.report_distance(
        cells.manifold.distance(trajectories.initial_states[:m, None].expand_as(states), states)).mean(-1)
    chance_acc = torch.full((steps,), 1.0 / generation.cells, dtype=torch.float64)
    result = Evaluation(
        trajectories=n, steps=steps, decoded_trajectories=m, generation=generation,
        model=Scores.from_curves(per_step["model_accuracy"], per_step["model_kl"], model_error.double().mean(0)),
        stay_still=Scores.from_curves(per_step["stay_accuracy"], per_step["stay_kl"], stay_error.double().mean(0)),
        chance=Scores.from_curves(chance_acc, per_step["chance_kl"], None),
        exact_code_decoding=Scores.from_curves(torch.ones(steps, dtype=torch.float64), None, exact_error.double().mean(0)),
    )
    if not math.isfinite(result.model.kl):
        raise CogmapError("the model's predictions are not finite (NaN or infinite KL)")
    return result


@dataclass(frozen=True)
class Baseline:
    """What a path integrator must beat: chance and the predictor that never moves ("stay still")."""

    trajectories: int
    steps: int
    split: str
    generation: GenerationConfig
    chance_accuracy: float
    stay_still: Scores

    def to_json(self) -> dict:
        return {"trajectories": self.trajectories, "steps": self.steps, "split": self.split,
                "config": self.generation.to_dict(), "chance_accuracy": self.chance_accuracy,
                "stay_still": self.stay_still.to_json()}


def baseline(config: GenerationConfig, batches: Iterable[Trajectories], split: str = "val") -> Baseline:
    """Chance and stay-still scores over batches of trajectories of ``config`` (generated or read from a file)."""
    total, count, steps = None, 0, config.seq_len
    for chunk in batches:
        steps = chunk.velocities.shape[1]
        stay = stay_still_prediction(chunk.initial_code, steps)
        kl = kl_divergence(chunk.targets, torch.log(stay), config.joints).sum(0)
        acc = accuracy(chunk.targets, stay, config.joints).sum(0)
        start = chunk.initial_states[:, None].expand_as(chunk.states)
        error = config.report_distance(config.space.distance(start, chunk.states)).mean(-1).sum(0)
        part = torch.stack([kl, acc, error]).double()
        total = part if total is None else total + part
        count += len(chunk)
    if not count:
        raise CogmapError("no trajectories to score")
    kl, acc, error = (total / count).unbind(0)
    return Baseline(count, steps, split, config, 1.0 / config.cells, Scores.from_curves(acc, kl, error))
