"""Grid cells in a trained path integrator of a flat arena: rate maps, grid scores, decoded position error.

For a model of one animal in a box (Banino et al. 2018; Sorscher et al. 2019) or of one joint on
the flat 2-torus: every hidden unit's rate map over the arena from fresh validation
trajectories, its grid scores (:func:`cogmap.analysis.grid_scores`), and how far the position
decoded from the model's place-cell prediction lies from the truth, beside two baselines that
know nothing of the movement: the start position held still, and the arena's centre.

A score's chance level depends on the maps (their noise, their fall-off near walls), so beside
the fixed threshold 0.3 the same units' maps are scored with every trajectory's activity put
over another trajectory's positions; the 95th percentile of those scores is the shuffled
threshold (the field's usual control for grid cells).

Decoding follows the reference: the mean position of the ``k`` = 3 most active predicted place
cells (a circular mean per axis on the torus).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from cogmap.analysis.grid import GridScores, RateMapAccumulator, RateMaps, grid_scores
from cogmap.errors import CogmapError, check_positive_int
from cogmap.pathint.data import GenerationConfig, Trajectories, iter_generate

DECODE_CELLS = 3
GRID_THRESHOLD = 0.3  # score_60 above which a unit counts as grid-like (as in Banino et al.'s analyses)


@dataclass(frozen=True)
class Arena:
    """The 2-D arena of one joint: its bounds, whether it wraps, its centre and its unit of length."""

    bounds: tuple[tuple[float, float], tuple[float, float]]
    periodic: bool
    unit: str  # "cm" in a box (positions are metres), "rad" on the torus

    @property
    def scale(self) -> float:
        """Metres to centimetres in a box; radians stay radians."""
        return 100.0 if self.unit == "cm" else 1.0


def arena_of(generation: GenerationConfig) -> Arena:
    """The arena of a model trained on ``generation``: one position in a box, or one joint on the 2-torus."""
    if generation.joints != 1 or generation.manifold not in ("box", "torus2"):
        raise CogmapError(f"grid analysis needs one joint in a box or on a 2-torus; this model has "
                          f"{generation.joints} joint(s) on {generation.manifold}")
    if generation.manifold == "box":
        return Arena(((0.0, generation.box_size), (0.0, generation.box_size)), False, "cm")
    return Arena(((-math.pi, math.pi), (-math.pi, math.pi)), True, "rad")


def top_cells_decode(codes: torch.Tensor, centres: torch.Tensor, k: int = DECODE_CELLS,
                     periodic: bool = False) -> torch.Tensor:
    """Positions ``(..., 2)``: the mean centre of the ``k`` most active cells of each code ``(..., C)``."""
    top = codes.topk(k, dim=-1).indices
    chosen = centres[top]  # (..., k, 2)
    if periodic:
        return torch.atan2(chosen.sin().mean(-2), chosen.cos().mean(-2))
    return chosen.mean(-2)


@dataclass(frozen=True)
class SpatialAnalysis:
    """Rate maps and grid scores of every hidden unit, and decoded position errors (in ``arena.unit``)."""

    arena: Arena
    rate_maps: RateMaps
    scores: GridScores
    null_scores: GridScores  # the same units' maps with every trajectory's positions swapped for another's
    position_error: float  # mean over every step of every trajectory
    stay_still_error: float  # the start position, held
    centre_error: float  # the arena's centre, whatever happened
    samples: int

    @property
    def null_threshold(self) -> float:
        """The 95th percentile of the 60-degree scores of the position-shuffled maps."""
        null = self.null_scores.score_60
        null = null[np.isfinite(null)]
        return float(np.percentile(null, 95)) if null.size else float("nan")

    def to_json(self) -> dict:
        s60 = self.scores.score_60
        finite = s60[np.isfinite(s60)]
        best = self.scores.best(10)
        return {
            "samples": self.samples, "bins": int(self.rate_maps.maps.shape[-1]), "units": int(len(s60)),
            "unit_of_length": self.arena.unit,
            "fraction_score_60_above_0.3": self.scores.fraction_above(GRID_THRESHOLD),
            "shuffled_95th_percentile": self.null_threshold,
            "fraction_above_shuffled_95th": self.scores.fraction_above(self.null_threshold),
            "shuffled_fraction_above_0.3": self.null_scores.fraction_above(GRID_THRESHOLD),
            "median_score_60": float(np.median(finite)) if finite.size else None,
            "median_score_90": float(np.nanmedian(self.scores.score_90)) if finite.size else None,
            "best_units": best.tolist(),
            "their_score_60": [float(v) for v in s60[best]],
            "their_spacing": [float(v * self.rate_maps.bin_size * self.arena.scale) for v in self.scores.spacing[best]],
            "position_error": self.position_error, "stay_still_error": self.stay_still_error,
            "centre_error": self.centre_error,
        }


def _model_response(model) -> Callable[[Trajectories], tuple[torch.Tensor, torch.Tensor]]:
    model.eval()
    parameter = next(model.parameters())

    def respond(part: Trajectories) -> tuple[torch.Tensor, torch.Tensor]:
        velocities = part.velocities.to(device=parameter.device, dtype=parameter.dtype)
        initial = part.initial_code.to(device=parameter.device, dtype=parameter.dtype)
        return model.net(velocities, model.net.encode_initial(initial))

    return respond


@torch.no_grad()
def spatial_analysis(model, generation: GenerationConfig | None = None, n_trajectories: int = 5000, bins: int = 20,
                     smoothing: float = 0.0, chunk: int = 500, progress=None,
                     respond: Callable[[Trajectories], tuple[torch.Tensor, torch.Tensor]] | None = None
                     ) -> SpatialAnalysis:
    """Run ``model`` on ``n_trajectories`` validation trajectories and analyse its hidden units in space.

    ``bins`` per side (the reference's 20) and ``smoothing`` (Gaussian sd in bins, 0 = none, the
    reference's) make the rate maps; ``progress`` (a tqdm bar, optional) advances per trajectory.
    ``respond`` replaces the model's response to a chunk of trajectories, ``(log place-cell
    codes (B, T, C), hidden states (B, T, units))``: any recorded agent can be analysed the same
    way (``model`` is then only asked for nothing; pass ``generation``).
    """
    if generation is None:
        generation = model.generation
    arena = arena_of(generation)
    check_positive_int("n_trajectories", n_trajectories)
    check_positive_int("chunk", chunk)
    if respond is None:
        respond = _model_response(model)
    centres = generation.place_cells().populations[0].centres.to(torch.float64)
    accumulator = RateMapAccumulator(arena.bounds, bins)
    # The null: each trajectory's activity over another trajectory's positions. Occupancy, each
    # unit's activity and its time course are kept; only the link to position is broken.
    shuffled = RateMapAccumulator(arena.bounds, bins)
    centre = torch.tensor([sum(b) / 2 for b in arena.bounds], dtype=torch.float64)
    distance = generation.space.distance  # Euclidean in a box, wrapped on the torus
    totals = {"model": 0.0, "still": 0.0, "centre": 0.0}
    samples = 0
    for part in iter_generate(generation, n_trajectories, "val", chunk_size=chunk):
        log_codes, hidden = respond(part)
        positions = part.states[:, :, 0].to(torch.float64).cpu()    # (B, T, 2)
        if hidden.shape[:2] != positions.shape[:2] or log_codes.shape[:2] != positions.shape[:2]:
            raise CogmapError(f"the response must cover every step: got codes {tuple(log_codes.shape)} and hidden "
                              f"states {tuple(hidden.shape)} for {tuple(positions.shape[:2])} trajectories x steps")
        activity = hidden.reshape(-1, hidden.shape[-1]).double().cpu().numpy()
        accumulator.add(positions.reshape(-1, 2).numpy(), activity)
        other = positions.roll(max(1, len(positions) // 2), dims=0)
        shuffled.add(other.reshape(-1, 2).numpy(), activity)
        decoded = top_cells_decode(log_codes.double().cpu(), centres, periodic=arena.periodic)
        start = part.initial_states[:, None, 0].to(torch.float64).cpu()
        totals["model"] += distance(decoded, positions).sum().item()
        totals["still"] += distance(start.expand_as(positions), positions).sum().item()
        totals["centre"] += distance(centre.expand_as(positions), positions).sum().item()
        samples += positions.shape[0] * positions.shape[1]
        if progress is not None:
            progress.update(positions.shape[0])
    maps = accumulator.result(smoothing=smoothing, periodic=arena.periodic)
    scores = grid_scores(maps.maps, periodic=arena.periodic)
    null = grid_scores(shuffled.result(smoothing=smoothing, periodic=arena.periodic).maps, periodic=arena.periodic)
    return SpatialAnalysis(arena, maps, scores, null, arena.scale * totals["model"] / samples,
                           arena.scale * totals["still"] / samples, arena.scale * totals["centre"] / samples, samples)
