"""Dropout x weight decay for the GRU path integrator at a fixed budget (issue 20, section 5).

Every cell of the grid is trained from the same seed on the same fresh-trajectory stream
(`configs/pathint/gru.yaml`, the log-code encoder, lr 3e-3 cosine-annealed to 1e-5 over
the budget), then evaluated at the training length and at 500 steps, then analysed
(harmonics, symmetry, topology, PCA, linear probe). The report is a Markdown table and a
figure of heat maps. Each stage skips what an earlier run finished, so an interrupted sweep
resumes where it stopped:

    python experiments/regularisation_sweep.py                 # all stages, 2 cells at a time
    python experiments/regularisation_sweep.py --stage report  # only the table and figure

Dropout acts where the model has it: between the readout's LayerNorm and its linear map.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("train", "measure", "report")


def cell_name(dropout: float, weight_decay: float) -> str:
    """``reg_d0.2_wd1.0e-4``: the run's folder under ``--log-dir`` and ``--out``."""
    if weight_decay:
        mantissa, exponent = f"{weight_decay:.1e}".split("e")
        return f"reg_d{dropout}_wd{mantissa}e{int(exponent)}"
    return f"reg_d{dropout}_wd0.0"


def run(command: list[str], log: Path) -> None:
    """One command with one CPU thread (cells run side by side), its output in ``log``; a failure stops the sweep."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    print("+", " ".join(command), flush=True)
    with open(log, "a") as out:
        if subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT).returncode:
            raise SystemExit(f"failed: {' '.join(command)} (see {log})")


def train(args, dropout: float, weight_decay: float) -> None:
    name = cell_name(dropout, weight_decay)
    if (args.log_dir / name / "checkpoints" / "last.ckpt").is_file():
        return
    epochs = args.trajectories // 100_000
    run([sys.executable, "-m", "cogmap", "train", "--config", "configs/pathint/gru.yaml", "data.source=online",
         "data.n_train=100000", "data.n_val=2000", f"model.dropout={dropout}", f"optim.weight_decay={weight_decay}",
         "model.encode=log", "optim.lr=3e-3", "optim.min_lr=1e-5", f"trainer.max_epochs={epochs}",
         f"trainer.log_dir={args.log_dir}", f"trainer.name={name}", "trainer.progress=false"],
        args.log_dir / f"{name}.log")


def measure(args, dropout: float, weight_decay: float) -> None:
    name = cell_name(dropout, weight_decay)
    ckpt = args.log_dir / name / "checkpoints" / "last.ckpt"
    out = args.out / name
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "evaluate" / "metrics.json").is_file():
        run([sys.executable, "-m", "cogmap", "evaluate", str(ckpt), "trajectories=2000", "long=500", "decode=64",
             "--out", str(out / "evaluate"), "--force", "--workers", "1"], out / "measure.log")
    if not (out / "analyze" / "summary.json").is_file():
        run([sys.executable, "-m", "cogmap", "analyze", str(ckpt), "tsne_points=0", "--out", str(out / "analyze"),
             "--force", "--workers", "1"], out / "measure.log")


def row(args, dropout: float, weight_decay: float) -> dict:
    out = args.out / cell_name(dropout, weight_decay)
    try:
        metrics = json.loads((out / "evaluate" / "metrics.json").read_text())
        summary = json.loads((out / "analyze" / "summary.json").read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"{out.name} has no complete measurements ({error}); run the train and measure stages") from None
    peaks = [summary["harmonics"]["model"][j]["peaks"] for j in ("joint 1", "joint 2")]
    symmetry = summary["symmetry"]["unexplained_change"]["trained network"]["mean"]
    topology = summary.get("topology", {}).get("one joint moving", {})
    shows_rp3 = [topology[j]["trained tuning map"]["Z/2"]["classes"] == {"H1": 1, "H2": 1, "H3": 1}
                 and topology[j]["trained tuning map"]["Z/3"]["classes"] == {"H1": 0, "H2": 0, "H3": 1}
                 for j in topology]
    return {"dropout": dropout, "weight_decay": weight_decay,
            "accuracy": metrics["train_length"]["model"]["accuracy"],
            "error_deg": metrics["train_length"]["model"]["geodesic_error_deg"],
            "accuracy_500": metrics["long"]["model"]["accuracy"],
            "error_500_deg": metrics["long"]["model"]["geodesic_error_deg"],
            "degree_1": sum(p["degree 1"] for p in peaks) / 2, "degree_2_up": sum(p["degree >= 2"] for p in peaks) / 2,
            "unexplained_change": symmetry, "probe_r2": summary["linear_probe_r2"]["all joints"],
            "participation_ratio": summary["pca"]["participation_ratio"],
            "tuning_map_rp3": f"{sum(shows_rp3)}/{len(shows_rp3)}" if shows_rp3 else "-"}


def report(args) -> None:
    import numpy as np

    from cogmap.viz.plots import save_figure, subplots

    rows = [row(args, d, w) for d in args.dropout for w in args.weight_decay]
    lines = ["| dropout | weight decay | accuracy | error | accuracy, 500 steps | error, 500 | units peaking at degree 1 "
             "/ at 2 or more (per joint) | symmetry: unexplained change | probe R^2 | participation ratio "
             "| tuning map is RP^3 |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['dropout']} | {r['weight_decay']:g} | {r['accuracy']:.4f} | {r['error_deg']:.2f} deg "
                     f"| {r['accuracy_500']:.4f} | {r['error_500_deg']:.2f} deg | {100 * r['degree_1']:.0f}% "
                     f"/ {100 * r['degree_2_up']:.0f}% | {r['unexplained_change']:.3f} | {r['probe_r2']:.3f} "
                     f"| {r['participation_ratio']:.1f} | {r['tuning_map_rp3']} joints |")
    (args.out / "table.md").write_text("\n".join(lines) + "\n")
    (args.out / "table.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(lines))
    measures = (("accuracy", "accuracy, 100 steps"), ("accuracy_500", "accuracy, 500 steps"),
                ("error_500_deg", "geodesic error, 500 steps (deg)"), ("degree_1", "units peaking at degree 1 (per joint)"),
                ("unexplained_change", "symmetry: unexplained change"), ("participation_ratio", "participation ratio"))
    fig, axes = subplots(2, 3, figsize=(11, 7))
    for ax, (key, label) in zip(axes.flat, measures):
        grid = np.array([[next(r[key] for r in rows if r["dropout"] == d and r["weight_decay"] == w)
                          for w in args.weight_decay] for d in args.dropout])
        image = ax.imshow(grid, cmap="viridis")
        for (i, j), value in np.ndenumerate(grid):
            ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=8,
                    color="w" if value < grid.min() + 0.5 * np.ptp(grid) else "k")
        ax.set_xticks(range(len(args.weight_decay)), [f"{w:g}" for w in args.weight_decay], fontsize=8)
        ax.set_yticks(range(len(args.dropout)), [f"{d:g}" for d in args.dropout], fontsize=8)
        ax.set_xlabel("weight decay", fontsize=8)
        ax.set_ylabel("dropout", fontsize=8)
        ax.set_title(label, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046).ax.tick_params(labelsize=7)
    fig.suptitle(f"GRU path integrator, {args.trajectories:,} training trajectories per cell", fontsize=10)
    fig.tight_layout()
    save_figure(fig, args.out / "regularisation.png")
    print(f"wrote {args.out / 'table.md'} and {args.out / 'regularisation.png'}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dropout", type=float, nargs="+", default=[0.0, 0.2, 0.5])
    p.add_argument("--weight-decay", dest="weight_decay", type=float, nargs="+", default=[0.0, 1e-4, 1e-2])
    p.add_argument("--trajectories", type=int, default=400_000, help="training budget per cell, a multiple of 100000")
    p.add_argument("--jobs", type=int, default=2, help="cells trained or measured side by side (one thread each)")
    p.add_argument("--log-dir", dest="log_dir", type=Path, default=Path("logs/regsweep"))
    p.add_argument("--out", type=Path, default=Path("runs/regsweep"))
    p.add_argument("--stage", choices=(*STAGES, "all"), default="all")
    args = p.parse_args(argv)
    if args.trajectories < 100_000 or args.trajectories % 100_000:
        p.error("--trajectories must be a positive multiple of 100000 (epochs of 100k fresh trajectories)")
    args.log_dir, args.out = ROOT / args.log_dir, ROOT / args.out
    args.log_dir.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    cells = [(d, w) for d in args.dropout for w in args.weight_decay]
    for stage, work in (("train", train), ("measure", measure)):
        if args.stage in (stage, "all"):
            with ThreadPoolExecutor(args.jobs) as pool:
                list(pool.map(work, [args] * len(cells), *zip(*cells)))
    if args.stage in ("report", "all"):
        report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
