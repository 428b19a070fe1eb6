"""The one shape of studies and the one configuration surface of the command line."""

import argparse
import dataclasses
import json

import pytest
import yaml

from cogmap.cli.common import setting_hint
from cogmap.cli.main import build_parser, main
from cogmap.config import load
from cogmap.studies import place_cells, world_models

# Flags name inputs and outputs and the resources a run may use, never what is computed (a sweep's --adopt names
# runs to take in, which must be what the sweep would compute).
INPUT_OUTPUT = {"--config", "--set", "--out", "--force", "--resume", "--quiet", "--workers", "--chunk-size", "--adopt",
                "-h", "--help", "--version"}


def leaf_parsers(parser, name="cogmap"):
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        yield name, parser
    for action in subcommands:
        for word, sub in action.choices.items():
            yield from leaf_parsers(sub, f"{name} {word}")


def test_every_command_takes_its_settings_as_keys_and_its_flags_are_input_and_output_only():
    leaves = dict(leaf_parsers(build_parser()))
    assert len(leaves) == 23  # every action of every command family
    flags = {name: sorted({o for a in p._actions for o in a.option_strings} - INPUT_OUTPUT) for name, p in leaves.items()}
    assert {name: f for name, f in flags.items() if f} == {}
    # and every command that computes something knows its config class, for the hints below
    without = [name for name, p in leaves.items() if p.get_default("settings") is None]
    assert without == ["cogmap equivariance table"]  # it tabulates files; it computes nothing


def test_an_old_flag_says_which_key_to_write():
    config = place_cells.EffectiveCellsConfig
    assert setting_hint(config, "--samples") == "--samples is a setting, not a flag: write samples=VALUE"
    assert setting_hint(config, "--samples=5") == "--samples is a setting, not a flag: write samples=VALUE"
    assert "the keys: manifold, cells, kernels" in setting_hint(config, "--figure")
    assert setting_hint(world_models.AmbiguityConfig, "near") is None  # not a flag at all
    assert setting_hint("cogmap.pathint.data:DataFileConfig", "--seq-len") == \
        "--seq-len is not a flag: write generation.seq_len=VALUE"


def test_a_result_saves_its_config_its_numbers_and_its_figures(tmp_path):
    config = place_cells.EffectiveCellsConfig(kernels=["vmf", "rbf"], kappa=[2.0, 5.0], sigma=[0.3], samples=500)
    result = place_cells.run(config)
    written = result.save(tmp_path)
    assert [p.name for p in written] == ["config.yaml", "effective_cells.json", "effective_cells.png"]
    assert load(place_cells.EffectiveCellsConfig, tmp_path / "config.yaml") == config  # the study can be repeated
    assert json.loads((tmp_path / "effective_cells.json").read_text()) == result.to_json()
    assert len(result.to_json()["rows"]) == 3  # vmf at two kappas, rbf at one sigma
    assert "| vmf | kappa=2 |" in result.summary()


def test_the_saved_config_repeats_the_study_from_the_command_line(tmp_path, capsys):
    first = tmp_path / "first"
    assert main(["equivariance", "ambiguity", "planar_arm", "size=16", "queries=4", "references=40", "seed=3",
                 "--out", str(first), "--quiet"]) == 0
    saved = yaml.safe_load((first / "config.yaml").read_text())
    assert saved == dataclasses.asdict(world_models.AmbiguityConfig(domain="planar_arm", size=16, queries=4,
                                                                    references=40, seed=3))
    assert main(["equivariance", "ambiguity", "--config", str(first / "config.yaml"), "--out", str(tmp_path / "again"),
                 "--quiet"]) == 0
    assert (tmp_path / "again" / "ambiguity.json").read_text() == (first / "ambiguity.json").read_text()


@pytest.mark.parametrize("words, needle", [
    (["cells", "kernels=[vmf]", "stray.ckpt"], "override 'stray.ckpt' must look like key=value"),
    (["evaluate", "a.ckpt", "b.ckpt"], "one checkpoint expected, got 2"),
    (["evaluate", "trajectories=9"], "checkpoint is required"),
])
def test_words_are_sorted_by_their_look(words, needle, capsys):
    assert main(words) == 2
    assert needle in capsys.readouterr().err


def test_a_study_that_fails_while_saving_leaves_no_half_result(tmp_path, monkeypatch, capsys):
    def broken(self, folder):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(place_cells.EffectiveCellsResult, "draw", broken)
    assert main(["cells", "samples=100", "--out", str(tmp_path / "cells")]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert not (tmp_path / "cells").exists()


def test_each_command_lists_every_key_of_its_config_with_its_default():
    for name, parser in leaf_parsers(build_parser()):
        settings = parser.get_default("settings")
        if settings is None or isinstance(settings, str):  # the trainers' configs are documented by their YAML files
            continue
        help_text = " ".join(parser.format_help().split())
        for field in dataclasses.fields(settings):
            assert f"{field.name}=" in help_text, f"{name}: {field.name}"
    ambiguity = " ".join(dict(leaf_parsers(build_parser()))["cogmap equivariance ambiguity"].format_help().split())
    assert "domain=teapot" in ambiguity and "near=10.0" in ambiguity and "ratio=0.5" in ambiguity
