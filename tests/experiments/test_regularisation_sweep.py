"""The regularisation sweep's report: its table and figure from the runs' own output files."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sweep(load_experiment):
    return load_experiment("regularisation_sweep")


def _write_cell(out: Path, accuracy: float, rp3: bool):
    (out / "evaluate").mkdir(parents=True)
    (out / "analyze").mkdir(parents=True)
    model = {"accuracy": accuracy, "geodesic_error_deg": 10 * (1 - accuracy)}
    (out / "evaluate" / "metrics.json").write_text(json.dumps({"train_length": {"model": model},
                                                               "long": {"model": {**model, "accuracy": accuracy / 2}}}))
    peaks = {"degree 1": 0.5, "degree >= 2": 0.1, "untuned": 0.4}
    classes = ({"H1": 1, "H2": 1, "H3": 1}, {"H1": 0, "H2": 0, "H3": 1}) if rp3 else ({"H1": 0, "H2": 0, "H3": 0},) * 2
    tuning = {"trained tuning map": {"Z/2": {"classes": classes[0]}, "Z/3": {"classes": classes[1]}}}
    (out / "analyze" / "summary.json").write_text(json.dumps({
        "harmonics": {"model": {"joint 1": {"peaks": peaks}, "joint 2": {"peaks": {**peaks, "degree 1": 0.3}}}},
        "symmetry": {"unexplained_change": {"trained network": {"mean": 0.2}}},
        "topology": {"one joint moving": {"joint 1": tuning, "joint 2": tuning}},
        "linear_probe_r2": {"all joints": 0.9}, "pca": {"participation_ratio": 12.5}}))


def test_cell_names_are_the_run_folders(sweep):
    assert sweep.cell_name(0.2, 1e-4) == "reg_d0.2_wd1.0e-4"
    assert sweep.cell_name(0.0, 0.0) == "reg_d0.0_wd0.0" and sweep.cell_name(0.5, 1e-2) == "reg_d0.5_wd1.0e-2"


def test_report_reads_every_cell(sweep, tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "ROOT", tmp_path)
    accuracies = {(0.0, 0.0): 0.9, (0.0, 0.01): 0.8, (0.5, 0.0): 0.7, (0.5, 0.01): 0.6}
    for (d, w), a in accuracies.items():
        _write_cell(tmp_path / "runs" / sweep.cell_name(d, w), a, rp3=d == 0.0)
    sweep.main(["--stage", "report", "--dropout", "0", "0.5", "--weight-decay", "0", "0.01", "--out", "runs",
                "--log-dir", "logs"])
    rows = json.loads((tmp_path / "runs" / "table.json").read_text())
    assert [(r["dropout"], r["weight_decay"], r["accuracy"]) for r in rows] == [(*k, v) for k, v in accuracies.items()]
    assert rows[0]["degree_1"] == pytest.approx(0.4) and rows[0]["degree_2_up"] == pytest.approx(0.1)
    assert rows[0]["tuning_map_rp3"] == "2/2"
    assert rows[2]["tuning_map_rp3"] == "0/2"
    table = (tmp_path / "runs" / "table.md").read_text().splitlines()
    assert len(table) == 2 + 4 and table[-1].startswith("| 0.5 | 0.01 | 0.6000 | 4.00 deg | 0.3000 | 4.00 deg | 40% / 10% |")
    assert all(line.count("|") == table[0].count("|") for line in table)
    assert (tmp_path / "runs" / "regularisation.png").stat().st_size > 1000
    with pytest.raises(SystemExit, match="reg_d0.2_wd0.0 has no complete measurements"):
        sweep.main(["--stage", "report", "--dropout", "0.2", "--weight-decay", "0", "--out", "runs", "--log-dir", "logs"])


def test_a_budget_that_is_not_whole_epochs_is_refused(sweep, capsys):
    with pytest.raises(SystemExit) as exit_info:
        sweep.main(["--trajectories", "150000", "--stage", "report"])
    assert exit_info.value.code == 2 and "multiple of 100000" in capsys.readouterr().err
