"""Evaluating a path integrator next to the references that give its numbers meaning.

On the same validation trajectories, per time step: the model; chance (a uniform code);
"stay still" (the start pose's code forever, a predictor that never integrates); and the
floor set by decoding, the pose read back from the exact target code.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from cogmap.errors import CogmapError, check_positive_int
from cogmap.pathint.data import GenerationConfig, generate
from cogmap.pathint.metrics import accuracy, kl_divergence, stay_still_prediction


def _decode_error(cells, codes: torch.Tensor, states: torch.Tensor, refine_steps: int) -> torch.Tensor:
    """Mean over joints of the angle (degrees) between decoded and true poses, ``(N, T)``."""
    decoded = cells.decode(codes, refine_steps=refine_steps)
    return torch.rad2deg(cells.manifold.distance(decoded, states)).mean(-1)


@torch.no_grad()
def evaluate(model, generation: GenerationConfig, n: int = 5000, seq_len: int | None = None, batch_size: int = 500,
             n_decode: int = 256, refine_steps: int = 100) -> dict:
    """Per-step and overall scores of ``model`` and the references on ``n`` validation trajectories.

    Geodesic errors decode poses, an optimisation per state, so they use the first ``n_decode``
    trajectories (every step); accuracy and KL use all ``n``.
    """
    check_positive_int("n", n)
    check_positive_int("batch_size", batch_size)
    check_positive_int("n_decode", n_decode)
    if seq_len is not None:
        check_positive_int("seq_len", seq_len)
        generation = dataclasses.replace(generation, seq_len=seq_len)
    model.eval()
    device = next(model.parameters()).device
    trajectories = generate(generation, n, "val")
    joints, steps = generation.joints, generation.seq_len
    sums = {name: torch.zeros(steps, dtype=torch.float64) for name in
            ("model_kl", "model_accuracy", "stay_kl", "stay_accuracy", "chance_kl")}
    model_codes = []
    uniform = torch.full((1, 1, generation.code_dim), 1.0 / generation.cells)
    for start in range(0, n, batch_size):
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
    decoded = {
        "model": _decode_error(cells, torch.cat(model_codes)[:m], states, refine_steps),
        "stay": torch.rad2deg(cells.manifold.distance(trajectories.initial_states[:m, None].expand_as(states), states)).mean(-1),
        "exact": _decode_error(cells, trajectories.targets[:m], states, refine_steps),
    }
    error = {name: value.double().mean(0) for name, value in decoded.items()}

    def summary(kl, acc, geo):
        return {"kl": float(kl.mean()) if kl is not None else None, "accuracy": float(acc.mean()),
                "geodesic_error_deg": float(geo.mean()) if geo is not None else None,
                "kl_per_step": kl.tolist() if kl is not None else None, "accuracy_per_step": acc.tolist(),
                "geodesic_error_deg_per_step": geo.tolist() if geo is not None else None}

    chance_acc = torch.full((steps,), 1.0 / generation.cells, dtype=torch.float64)
    return {
        "trajectories": n, "steps": steps, "decoded_trajectories": m, "generation": generation.to_dict(),
        "model": summary(per_step["model_kl"], per_step["model_accuracy"], error["model"]),
        "stay_still": summary(per_step["stay_kl"], per_step["stay_accuracy"], error["stay"]),
        "chance": summary(per_step["chance_kl"], chance_acc, None),
        "exact_code_decoding": summary(None, torch.ones(steps, dtype=torch.float64), error["exact"]),
    }


def table(results: dict) -> str:
    """A short text table of the overall scores."""
    lines = [f"{results['trajectories']} validation trajectories of {results['steps']} steps "
             f"(geodesic errors on {results['decoded_trajectories']})",
             f"{'':22} {'accuracy':>9} {'KL':>8} {'geodesic error':>15}"]
    for key, label in (("model", "model"), ("stay_still", "stay still"), ("chance", "chance"),
                       ("exact_code_decoding", "exact code (floor)")):
        r = results[key]
        kl = f"{r['kl']:.4f}" if r["kl"] is not None else "-"
        geo = f"{r['geodesic_error_deg']:.2f} deg" if r["geodesic_error_deg"] is not None else "-"
        lines.append(f"{label:22} {r['accuracy']:>9.4f} {kl:>8} {geo:>15}")
    return "\n".join(lines)


def check_finite_results(results: dict) -> None:
    if not math.isfinite(results["model"]["kl"]):
        raise CogmapError("the model's predictions are not finite (NaN or infinite KL)")
