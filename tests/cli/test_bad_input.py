"""Every command family, fed broken files and impossible values: one line on stderr, exit status 2, nothing left behind."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cogmap.cli.main import main

PRETRAINED = Path(__file__).resolve().parents[2] / "pretrained"

CONFIG_COMMANDS = [
    ["generate", "--quiet", "--out", "{tmp}/x.pt"],
    ["baseline", "--out", "{tmp}/out"],
    ["train"],
    ["treeworld", "run", "--out", "{tmp}/out"],
    ["treeworld", "survival", "--out", "{tmp}/out"],
    ["treeworld", "localize", "--out", "{tmp}/out"],
    ["control", "train", "--out", "{tmp}/out"],
    ["equivariance", "train", "--out", "{tmp}/out"],
    ["evaluate", "--out", "{tmp}/out"],
    ["analyze", "--out", "{tmp}/out"],
    ["control", "evaluate", "--out", "{tmp}/out"],
    ["control", "analyze", "--out", "{tmp}/out"],
    ["control", "tangling", "--out", "{tmp}/out"],
    ["control", "tracking", "--out", "{tmp}/out"],
    ["control", "similarity", "--out", "{tmp}/out"],
    ["control", "groups", "--out", "{tmp}/out"],
    ["equivariance", "evaluate", "--out", "{tmp}/out"],
    ["equivariance", "ambiguity", "--out", "{tmp}/out"],
    ["equivariance", "samples", "--out", "{tmp}/out"],
]

BROKEN_CONFIGS = {
    "binary": bytes(range(256)) * 4,  # not text at all
    "non-UTF-8": "caf\u00e9: 1\n".encode("latin-1"),
    "truncated": b"model:\n  cell: [gru, lstm\n",  # cut off in the middle of a list
    "not a mapping": b"- 1\n- 2\n",
    "empty": b"# nothing but a comment\n",
}

EXPECTED = {"binary": "not UTF-8", "non-UTF-8": "not UTF-8", "truncated": "not valid YAML",
            "not a mapping": "must hold a mapping", "empty": "is empty"}


def run(argv, capsys):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


@pytest.mark.parametrize("broken", list(BROKEN_CONFIGS))
@pytest.mark.parametrize("command", CONFIG_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_broken_config_file_is_one_line_and_exit_2(command, broken, tmp_path, capsys):
    config = tmp_path / "broken.yaml"
    config.write_bytes(BROKEN_CONFIGS[broken])
    argv = [a.format(tmp=tmp_path) for a in command] + ["--config", config]
    code, err = run(argv, capsys)
    assert code == 2 and len(err) == 1, err
    assert str(config) in err[0] and EXPECTED[broken] in err[0], err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.yaml"]  # nothing created


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """A garbage file and a truncated checkpoint of each kind."""
    folder = tmp_path_factory.mktemp("damaged")
    garbage = folder / "garbage.ckpt"
    garbage.write_bytes(os.urandom(5000))
    truncated = folder / "truncated.ckpt"
    truncated.write_bytes((PRETRAINED / "so3x2_rnn.ckpt").read_bytes()[:50_000])
    foreign = folder / "foreign.ckpt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    runs = {}
    policy = (PRETRAINED / "control" / "pendulum_po_gru.pt").read_bytes()
    for name, payload in (("garbage", os.urandom(3000)), ("truncated", policy[: len(policy) // 2])):
        run_dir = folder / f"run_{name}" / "checkpoints"
        run_dir.mkdir(parents=True)
        (run_dir / "update_0001.pt").write_bytes(payload)
        runs[name] = run_dir.parent
    return {"garbage": garbage, "truncated": truncated, "foreign": foreign, "runs": runs}


@pytest.mark.parametrize("kind", ["garbage", "truncated", "foreign"])
@pytest.mark.parametrize("command", [["evaluate"], ["analyze"], ["train", "model.init_from={ckpt}"]],
                         ids=lambda c: c[0])
def test_a_damaged_checkpoint_is_one_line_and_exit_2(command, kind, damaged, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default outputs would go here: nothing may appear
    ckpt = damaged[kind]
    argv = [a.format(ckpt=ckpt) for a in command]
    if "{ckpt}" not in " ".join(command):
        argv.append(ckpt)
    else:
        argv += ["trainer.max_epochs=1", f"trainer.log_dir={tmp_path}/logs"]
    code, err = run(argv, capsys)
    assert code == 2 and len(err) == 1, err
    assert str(ckpt) in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("kind", ["garbage", "truncated", "foreign"])
@pytest.mark.parametrize("command", [["equivariance", "evaluate"], ["control", "tangling"], ["control", "evaluate"],
                                     ["control", "tracking"]], ids=" ".join)
def test_a_damaged_model_file_is_one_line_and_exit_2(command, kind, damaged, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = run([*command, damaged[kind]], capsys)
    assert code == 2 and len(err) == 1, err
    assert str(damaged[kind]) in err[0] and "Traceback" not in err[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["garbage", "truncated"])
@pytest.mark.parametrize("action", ["evaluate", "analyze"])
def test_a_run_with_damaged_checkpoints_is_one_line_and_exit_2(action, kind, damaged, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_dir = damaged["runs"][kind]
    code, err = run(["control", action, run_dir], capsys)
    assert code == 2 and len(err) == 1 and "update_0001.pt" in err[0], err
    assert not (run_dir / "analysis").exists() and not (tmp_path / "runs").exists()


def test_overrides_are_accepted_anywhere_on_the_line(tmp_path, capsys):
    from cogmap.cli.main import build_parser, parse

    args = parse(build_parser(), ["train", "--resume", "trainer.log_dir=X", "--workers", "1", "model.cell=rnn"])
    assert args.resume and args.workers == 1 and args.overrides == ["trainer.log_dir=X", "model.cell=rnn"]
    args = parse(build_parser(), ["treeworld", "run", "--quiet", "world.num_trees=3", "--set", "world.max_move=4"])
    assert args.quiet and args.overrides == ["world.num_trees=3"] and args.set == ["world.max_move=4"]
    code, err = run(["cells", "samples=10", "stray"], capsys)
    assert code == 2 and "override 'stray' must look like key=value" in err[0]


def test_a_closed_pipe_ends_quietly_with_status_0(tmp_path):
    # The reader is gone before cogmap writes a byte: every write fails with EPIPE.
    process = subprocess.Popen([sys.executable, "-m", "cogmap", "cells", "samples=200", "kernels=[vmf,rbf]",
                                "sigma=[0.1,0.2,0.3,0.4]", "--out", str(tmp_path / "cells")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0 and err.decode().strip() == ""


def test_failed_commands_leave_nothing_behind(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = run(["treeworld", "localize", "grid_size=40", "--out", tmp_path / "loc"], capsys)
    assert code == 2 and "grid_size" in err[0] and not (tmp_path / "loc").exists()
    from matplotlib import animation

    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)  # a machine without ffmpeg
    code, err = run(["treeworld", "run", "steps=5", "animation=mp4", "--out", tmp_path / "movie"], capsys)
    assert code == 2 and "ffmpeg" in err[0] and not (tmp_path / "movie").exists()
    code, err = run(["analyze", "pretrained/nothing.ckpt"], capsys)
    assert code == 2 and not (tmp_path / "runs").exists()


def test_an_allocation_no_check_foresaw_is_still_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    # The fallback behind the up-front checks: what torch raises when the machine cannot allocate.
    from cogmap.studies import place_cells

    def too_big(config, progress=True):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:118] data. DefaultCPUAllocator: can't allocate memory: you "
                           "tried to allocate 1600000000000000 bytes. Error code 12 (Cannot allocate memory)")

    monkeypatch.setattr(place_cells, "run", too_big)
    code, err = run(["cells", "--out", tmp_path / "cells"], capsys)
    assert code == 2 and len(err) == 1 and "not enough memory for these settings (1,490,116.1 GiB" in err[0], err
    assert not (tmp_path / "cells").exists()


@pytest.mark.parametrize("words, says", [
    (["evaluate", "pretrained/so3x2_gru.ckpt", "trajectories=999999999999"],
     "999,999,999,999 trajectories of 100 steps (trajectories=999999999999) need about 33,088,028.4 GiB"),
    (["analyze", "pretrained/so3x2_gru.ckpt", "trajectories=999999999999"], "(trajectories=999999999999) need about"),
    (["treeworld", "survival", "worlds=100000000000"], "200,000,000,000 runs of up to 5,000 steps (worlds=100000000000"),
    (["treeworld", "run", "world.num_trees=1000000000"], "(world.num_trees=1000000000, world.embedding_dim=1024) need"),
    (["treeworld", "localize", "grid_size=100001"], "belief maps of 100,001 x 100,001 cells (grid_size=100001) need"),
    (["cells", "samples=99999999999"], "99,999,999,999 states x 32 cells (samples=99999999999, cells=32) need"),
    (["equivariance", "ambiguity", "arm", "size=100000"], "20,500 images of 100,000 x 100,000 pixels (size=100000"),
    (["equivariance", "samples", "size=1000000"], "5 x 8 images of 1,000,000 x 1,000,000 pixels (size=1000000"),
])
def test_sizes_beyond_the_free_memory_are_refused_up_front_naming_the_setting(words, says, tmp_path, capsys, monkeypatch):
    from cogmap import errors

    monkeypatch.setattr(errors, "available_memory", lambda: 16 * 2**30)  # the same answer on every machine
    code, err = run([*words, "--out", tmp_path / "out"], capsys)
    assert code == 2 and len(err) == 1 and says in err[0] and "but 16.0 GiB are free" in err[0], err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("words, says", [
    (["control", "train", "seed=-1"], "seed must be an integer from 0 to 2^63 - 1 (a seed), got -1"),
    (["generate", "generation.seed=-1"], "seed must be"),
    (["control", "train", "seed=100000000000000000000000"], "seed must fit in 64 bits"),
    (["control", "train", "total_steps=100000000000000000000"], "total_steps must fit in 64 bits"),
    (["treeworld", "localize", "affinity_exponent=nan"], "affinity_exponent must be a number, got nan"),
    (["treeworld", "survival", "agents=[drive,drive]"], "agents lists 'drive' twice"),
    (["treeworld", "survival", "action_noise=[0,1]"], "the random agent has no motor noise"),
    (["treeworld", "run", "action_noise=1"], "the random agent has no motor or odometry noise"),
    (["treeworld", "run", "world.max_move=1e308"], "world.max_move must be at most 1e+06 world units"),
    (["control", "analyze", "missing_run"], "missing_run does not exist"),
])
def test_impossible_settings_are_one_line_naming_the_setting(words, says, tmp_path, capsys):
    code, err = run([*words, "--out", tmp_path / "out"], capsys)
    assert code == 2 and len(err) == 1 and says in err[0], err
    assert not (tmp_path / "out").exists()


def test_a_failed_training_leaves_no_folder_it_made(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = Path(__file__).resolve().parents[2] / "configs" / "pathint" / "gru.yaml"
    code, err = run(["train", "--config", config, "data.source=file", f"data.path={tmp_path / 'missing.pt'}"], capsys)
    assert code == 2 and "missing.pt does not exist" in err[0]
    assert list(tmp_path.iterdir()) == []  # not even logs/pathint


@pytest.mark.slow  # a fresh process, to see what it imported
def test_a_missing_input_is_said_before_lightning_is_imported(tmp_path):
    # An error exit should not pay for Lightning (seconds on a busy machine): the checks come first.
    script = ("import sys; from cogmap.cli.main import main; "
              "code = main(['train', 'data.source=file', 'data.path=missing.pt']); "
              "print(code, 'lightning' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.stdout.split() == ["2", "False"], result.stderr[-2000:]
    assert "data file missing.pt does not exist" in result.stderr
