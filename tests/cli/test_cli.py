import json
import shutil

import numpy as np
import pytest
import torch
import yaml

from cogmap.cli.main import SUBCOMMANDS
from cogmap.pathint.data import GenerationConfig, TrajectoryFile, generate


def test_console_script_is_installed():
    assert shutil.which("cogmap") is not None


def test_help_lists_every_subcommand_and_each_has_help(cli):
    result = cli("--help")
    assert result.returncode == 0
    names = [m.add_parser.__module__.rsplit(".", 1)[-1] for m in SUBCOMMANDS]
    for name in names:
        assert name in result.stdout
        sub = cli(name, "--help")
        assert sub.returncode == 0 and "usage: cogmap " + name in sub.stdout


def test_generate_end_to_end(tmp_path, cli):
    out = tmp_path / "nested" / "traj.pt"
    result = cli("generate", "n_train=300", "n_val=50", "generation.seq_len=15", "--workers", 1, "--quiet", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    data = TrajectoryFile(out)
    assert data.sizes == {"train": 300, "val": 50}
    assert data.config == GenerationConfig(seq_len=15)
    saved = yaml.safe_load((tmp_path / "nested" / "traj.config.yaml").read_text())
    assert saved["n_train"] == 300 and saved["generation"]["seq_len"] == 15 and saved["generation"]["kappa"] == 5.0
    # the saved settings are a config that makes the same file again
    again = cli("generate", "--config", tmp_path / "nested" / "traj.config.yaml", "--quiet", "--out", tmp_path / "again.pt")
    assert again.returncode == 0, again.stderr
    assert torch.equal(TrajectoryFile(tmp_path / "again.pt").split("val").velocities, data.split("val").velocities)
    fresh = generate(GenerationConfig(seq_len=15), 50, "val")
    assert torch.equal(data.split("val").velocities, fresh.velocities)
    assert not list(out.parent.glob("*.partial*"))


def test_generate_from_a_yaml_config_with_an_override(tmp_path, cli):
    config = tmp_path / "data.yaml"
    config.write_text("n_train: 40\nn_val: 8\ngeneration:\n  manifold: so2\n  joints: 3\n  cells: 12\n  seq_len: 5\n")
    out = tmp_path / "ring.pt"
    result = cli("generate", "--config", config, "generation.cells=10", "--quiet", "--out", out)
    assert result.returncode == 0, result.stderr
    data = TrajectoryFile(out)
    assert data.config.manifold == "so2" and data.config.joints == 3 and data.config.cells == 10


@pytest.mark.parametrize("args,needle", [
    (["generate", "generation.kappa=0"], "generation.kappa must be a positive"),
    (["generate", "generation.dt=-0.1"], "generation.dt must be a positive"),
    (["generate", "generation.ou_sigma=0"], "generation.ou_sigma must be a positive"),
    (["generate", "generation.ou_theta=-2"], "generation.ou_theta must be a positive"),
    (["generate", "generation.cells=0"], "generation.cells must be an integer"),
    (["generate", "generation.seq_len=0"], "generation.seq_len must be an integer"),
    (["generate", "n_train=0"], "n_train must be an integer"),
    (["generate", "n_val=0"], "n_val must be an integer"),
    (["generate", "seq_len=5"], "did you mean generation.seq_len?"),
    (["generate", "--seq-len", "5"], "--seq-len is not a flag"),
    (["generate", "generation.dt=fast"], "generation.dt must be a number"),
    (["generate", "--workers", "0"], "--workers must be >= 1"),
    (["generate", "generation.manifold=sphere"], "generation.manifold must be one of"),
    (["cells", "kernels=[laplace]"], "kernels must name kernels"),
    (["cells", "sigma=[0.3,-1]"], "sigma must be a list of positive numbers"),
    (["baseline", "trajectories=0"], "trajectories must be an integer >= 1"),
    (["baseline", "pretrained/so3x2_gru.ckpt", "generation.seq_len=5"], "data reads a file's own settings"),
    (["evaluate", "pretrained/so3x2_gru.ckpt", "seq_len=0"], "seq_len must be >= 1"),
    (["evaluate", "pretrained/so3x2_gru.ckpt", "long=-1"], "long must be >= 0"),
    (["evaluate", "pretrained/so3x2_gru.ckpt", "device=cuda:7"], "device cuda:7"),
    (["evaluate", "trajectories=5"], "checkpoint is required"),
    (["evaluate", "pretrained/so3x2_gru.ckpt", "pretrained/so3x2_rnn.ckpt"], "one checkpoint expected, got 2"),
    (["evaluate", "pretrained/so3x2_gru.ckpt", "--long", "5"], "--long is a setting, not a flag: write long=VALUE"),
    (["evaluate", "pretrained/so3x2_gru.ckpt", "--n", "5"], "settings are KEY=VALUE words, the keys: checkpoint, trajectories"),
    (["evaluate", "pretrained/equivariance/teapot_sen.pt"], "holds a world-model, not a path-integrator"),
    (["analyze", "tsne_points=3", "pretrained/so3x2_gru.ckpt"], "tsne_points must be 0"),
    (["train", "trainer.accelerator=gpu", "trainer.max_epochs=1"], "trainer.accelerator=gpu"),
])
def test_user_errors_print_one_line_and_exit_2(tmp_path, args, needle, cli):
    result = cli(*args, "--out", tmp_path / "x.pt")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.pt").exists()


def test_bad_config_file_and_bad_data_file(tmp_path, cli):
    config = tmp_path / "bad.yaml"
    config.write_text("kapa: 5\n")
    result = cli("generate", "--config", config, "--out", tmp_path / "x.pt")
    assert result.returncode == 2 and "unknown key(s) kapa" in result.stderr
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00" * 100)
    result = cli("baseline", junk, "--out", tmp_path / "b1")
    assert result.returncode == 2 and "not a PyTorch file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    folder = cli("baseline", f"data={tmp_path}", "--out", tmp_path / "b2")
    assert folder.returncode == 2 and "is a folder" in folder.stderr


def test_unusable_output_paths(tmp_path, cli):
    result = cli("generate", "n_train=10", "n_val=10", "--quiet", "--out", tmp_path)
    assert result.returncode == 2 and "is a folder" in result.stderr and "Traceback" not in result.stderr
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = cli("generate", "n_train=10", "n_val=10", "--quiet", "--out", blocker / "sub" / "x.pt")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert f"{blocker} is a file, not a folder" in result.stderr
    # An existing data file is kept unless --force.
    out = tmp_path / "data.pt"
    assert cli("generate", "n_train=10", "n_val=10", "generation.seq_len=5", "--quiet", "--out", out).returncode == 0
    before = out.read_bytes()
    again = cli("generate", "n_train=20", "n_val=10", "generation.seq_len=5", "--quiet", "--out", out)
    assert again.returncode == 2 and "--force" in again.stderr and out.read_bytes() == before
    forced = cli("generate", "n_train=20", "n_val=10", "generation.seq_len=5", "--quiet", "--out", out, "--force")
    assert forced.returncode == 0 and TrajectoryFile(out).sizes["train"] == 20


def test_baseline_scores_the_stay_still_predictor(tmp_path, cli):
    result = cli("baseline", "trajectories=64", "generation.seq_len=30", "--out", tmp_path / "scores")
    assert result.returncode == 0, result.stderr
    scores = json.loads((tmp_path / "scores" / "baseline.json").read_text())
    assert (tmp_path / "scores" / "baseline.png").stat().st_size > 1000
    assert scores["chance_accuracy"] == pytest.approx(1 / 32)
    stay = scores["stay_still"]
    # Right after the start the pose has barely moved; by the end it has drifted away.
    assert stay["accuracy_per_step"][0] > 0.9 and stay["accuracy_per_step"][-1] < stay["accuracy_per_step"][0]
    assert stay["kl_per_step"][0] < stay["kl_per_step"][-1]


def test_cells_reports_effective_numbers(tmp_path, cli):
    result = cli("cells", "kernels=[vmf,rbf_softmax]", "sigma=[0.3]", "samples=2000", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "effective_cells.json").read_text())["rows"]
    vmf = next(r for r in rows if r["kernel"] == "vmf")
    assert 3.5 < vmf["effective_mean"] < 6
    assert (tmp_path / "effective_cells.png").stat().st_size > 1000
    # The table's numbers, recomputed here from the definition exp(entropy) of each code.
    from cogmap.cells import PlaceCells, place_centres
    from cogmap.geometry import SO3

    generator = torch.Generator().manual_seed(0)
    centres = place_centres(SO3(), 32, "random", generator)
    codes = PlaceCells(SO3(), centres, "vmf", kappa=5.0).encode(SO3().random(2000, generator)).double()
    by_hand = torch.exp(-(codes * codes.log()).sum(-1)).mean()
    assert vmf["effective_mean"] == pytest.approx(float(by_hand), rel=1e-4)


def test_train_evaluate_and_analyze_through_the_cli(tmp_path, cli):
    result = cli("train", "data.source=online", "data.n_train=128", "data.n_val=32", "data.batch_size=32",
                    "data.generation={seq_len: 8}", "model.hidden=16", "trainer.max_epochs=1", "trainer.progress=false",
                    f"trainer.log_dir={tmp_path}", "trainer.name=tiny", "--workers", 1)
    assert result.returncode == 0, result.stderr[-2000:]
    ckpt = tmp_path / "tiny" / "checkpoints" / "best.ckpt"
    assert ckpt.is_file() and (tmp_path / "tiny" / "checkpoints" / "last.ckpt").is_file()
    assert yaml.safe_load((tmp_path / "tiny" / "config.yaml").read_text())["model"]["hidden"] == 16
    result = cli("evaluate", ckpt, "trajectories=40", "long=16", "decode=8", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    evaluation = tmp_path / "runs" / "evaluate" / "tiny_best"  # under the working folder, named after the run
    report = json.loads((evaluation / "metrics.json").read_text())
    assert report["train_length"]["steps"] == 8 and report["long"]["steps"] == 16
    for key in ("model", "stay_still", "chance", "exact_code_decoding"):
        assert key in report["long"]
    assert report["long"]["chance"]["accuracy"] == pytest.approx(1 / 32)
    assert report["long"]["exact_code_decoding"]["geodesic_error_deg"] < 1.0
    assert (evaluation / "long.png").stat().st_size > 1000
    again = cli("evaluate", ckpt, "trajectories=40", "long=0", "decode=8", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    assert cli("evaluate", ckpt, "trajectories=40", "long=0", "decode=8", "--force", cwd=tmp_path).returncode == 0
    assert not (evaluation / "long.png").exists()  # --force replaced the folder's contents
    analysis = tmp_path / "analysis"
    result = cli("analyze", ckpt, "trajectories=6", "tsne_points=48", "harmonics_degree=1", "harmonics_trajectories=300",
                 "symmetry_elements=1", "topology_trajectories=300", "topology_landmarks=40", "--out", analysis)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((analysis / "summary.json").read_text())
    assert summary["units"] == 16 and summary["steps"] == 8
    # The PCA figures agree with an independent eigendecomposition of the same hidden states.
    from cogmap.pathint.model import StateEstimationModel

    model = StateEstimationModel.load_from_checkpoint(ckpt).eval()
    batch = generate(GenerationConfig(seq_len=8), 6, "val")
    with torch.no_grad():
        hidden = model.get_hidden_states(batch.velocities, batch.initial_code).reshape(-1, 16).double().numpy()
    eigen = np.sort(np.linalg.eigvalsh(np.cov(hidden, rowvar=False)))[::-1]
    assert summary["pca"]["components_for_95_percent"] == int(np.searchsorted(np.cumsum(eigen) / eigen.sum(), 0.95) + 1)
    assert summary["pca"]["participation_ratio"] == pytest.approx(eigen.sum() ** 2 / (eigen**2).sum(), rel=1e-6)
    assert set(summary["linear_probe_r2"]) == {"all joints", "joint1", "joint2"}
    for figure in ("pca_spectrum", "pca_scatter", "tsne_scatter", "single_trajectories", "tuning_curves", "harmonics",
                   "symmetry"):
        assert (analysis / f"{figure}.png").stat().st_size > 1000
    harmonics = summary["harmonics"]
    assert harmonics["samples"] == 300 and harmonics["max_degree"] == 1
    assert set(harmonics["model"]["joint 1"]["peaks"]) == {"degree 1", "degree >= 2", "untuned"}
    assert "harmonics, joint 1:" in result.stdout and "symmetry (held out" in result.stdout
    assert summary["symmetry"]["equivariance_error"]["pose"]["mean"] < 1e-6  # the poses are exactly equivariant
    assert (analysis / "symmetry.png").stat().st_size > 1000
    if "topology" in summary:  # the topology extra installed (it is in CI)
        assert summary["topology"]["settings"]["landmarks"] == 40
        assert summary["topology"]["one joint moving"]["joint 2"]["pose"]["Z/2"]["classes"]["H1"] == 1
        assert (analysis / "topology.png").stat().st_size > 1000 and "topology, joint 1 moving" in result.stdout
    bad = cli("analyze", ckpt, "topology_landmarks=301", "topology_trajectories=300", "--out", tmp_path / "bad")
    assert bad.returncode == 2 and "topology_landmarks must be 0 (skip) to topology_trajectories" in bad.stderr
    # the saved config repeats the study: the same numbers from --config alone
    again = cli("analyze", "--config", analysis / "config.yaml", "--out", tmp_path / "again")
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((tmp_path / "again" / "summary.json").read_text())["pca"] == summary["pca"]
    missing = cli("evaluate", tmp_path / "nope.ckpt")
    assert missing.returncode == 2 and "nope.ckpt does not exist" in missing.stderr


def test_quickstart_pipeline_on_a_tiny_budget(tmp_path, monkeypatch, capsys):
    # The real quickstart code path with its sizes shrunk; the full run is timed in RESULTS.md.
    from cogmap.cli.main import main
    from cogmap.studies import quickstart

    tiny = json.loads(json.dumps(quickstart.QUICKSTART))
    tiny["model"]["hidden"] = 16
    tiny["data"].update(n_train=64, n_val=16, batch_size=32, generation={"seq_len": 6})
    monkeypatch.setattr(quickstart, "QUICKSTART", tiny)
    monkeypatch.setattr(quickstart, "EVALUATIONS", (("short", 12, 16, 4), ("long", 30, 8, 2)))
    assert main(["quickstart", "--out", str(tmp_path), "trainer.max_epochs=1"]) == 0
    printed = capsys.readouterr().out
    assert "stay still" in printed and "report:" in printed
    report = tmp_path / "gru" / "report"
    assert (report / "report.md").is_file() and (report / "long.png").is_file()
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["long"]["steps"] == 30
    # where training stopped: 1 epoch of 64 trajectories in batches of 32
    assert {k: metrics["training"][k] for k in ("epochs_completed", "batches", "planned_epochs", "stopped_by")} == \
        {"epochs_completed": 1, "batches": 2, "planned_epochs": 1, "stopped_by": "epochs"}
    short = metrics["short"]
    beats = short["model"]["accuracy"] > short["stay_still"]["accuracy"]
    assert metrics["training"]["beats_stay_still"] is beats
    said = "does NOT beat the stay-still predictor" if not beats else "beats the stay-still predictor"
    assert said in (report / "report.md").read_text() and said in printed
    assert main(["quickstart", "--out", str(tmp_path), "trainer.max_epochs=1"]) == 2  # will not overwrite without --force
    assert main(["quickstart", "--out", str(tmp_path), "trainer.max_epochs=1", "--force"]) == 0


def test_the_quickstart_says_plainly_whether_it_beats_staying_still():
    from cogmap.studies.quickstart import verdict

    beats, said = verdict(0.61, 0.49)
    assert beats and said.startswith("The model beats the stay-still predictor: accuracy 0.610 against 0.490")
    beats, said = verdict(0.47, 0.50)
    assert not beats and said.startswith("The model does NOT beat the stay-still predictor (accuracy 0.470 against 0.500)")
    assert not verdict(0.5, 0.5)[0]  # a tie is not a win


@pytest.mark.parametrize("manifold", ["box", "torus2"])
def test_other_spaces_work_end_to_end(manifold, tmp_path, cli):
    data = tmp_path / f"{manifold}.pt"
    made = cli("generate", f"generation.manifold={manifold}", "n_train=256", "n_val=64", "generation.cells=16",
               "generation.seq_len=12", "--quiet",
               "--out", data)
    assert made.returncode == 0, made.stderr
    scored = cli("baseline", data, "--out", tmp_path / "baseline")
    assert scored.returncode == 0, scored.stderr
    assert ("m (means" if manifold == "box" else "deg (means") in scored.stdout  # metres in a box, degrees on a torus
    trained = cli("train", "data.source=file", f"data.path={data}", "data.n_train=256", "data.n_val=64",
                  "data.batch_size=64", f"data.generation={{manifold: {manifold}, cells: 16, seq_len: 12}}",
                  "model.hidden=16", "trainer.max_epochs=1", "trainer.progress=false", f"trainer.log_dir={tmp_path}",
                  "trainer.name=run")
    assert trained.returncode == 0, trained.stderr[-2000:]
    evaluated = cli("evaluate", tmp_path / "run", "trajectories=32", "long=0", "decode=4",
                    "--out", tmp_path / "evaluation")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    report = json.loads((tmp_path / "evaluation" / "metrics.json").read_text())["train_length"]
    assert report["generation"]["manifold"] == manifold and report["exact_code_decoding"]["accuracy"] == 1.0


def test_the_grid_cell_config_trains_and_analyze_scores_its_units(tmp_path, cli):
    trained = cli("train", "--config", "configs/pathint/box_grid.yaml", "model.hidden=16", "data.n_train=400",
                  "data.n_val=200", "data.generation.cells=32", "data.generation.seq_len=6", "trainer.max_epochs=1",
                  "trainer.progress=false", f"trainer.log_dir={tmp_path}", "trainer.name=grid", "--workers", 1)
    assert trained.returncode == 0, trained.stderr[-2000:]
    ckpt = tmp_path / "grid" / "checkpoints" / "last.ckpt"
    analysis = tmp_path / "analysis"
    result = cli("analyze", ckpt, "trajectories=4", "tsne_points=0", "grid_trajectories=300", "bins=10",
                 "--out", analysis)
    assert result.returncode == 0, result.stderr[-2000:]
    grid = json.loads((analysis / "summary.json").read_text())["grid"]
    assert grid["units"] == 16 and grid["bins"] == 10 and grid["samples"] == 300 * 6
    assert grid["unit_of_length"] == "cm" and 0 < grid["stay_still_error"] < grid["centre_error"]
    assert "grid scores:" in result.stdout and "decoded position error" in result.stdout
    for figure in ("grid_units", "grid_scores", "position_error"):
        assert (analysis / f"{figure}.png").stat().st_size > 1000
    bad = cli("analyze", ckpt, "bins=1", "--out", tmp_path / "again")
    assert bad.returncode == 2 and "bins must be at least 2" in bad.stderr
