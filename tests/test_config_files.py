"""Config files: one may extend another and hold only its difference; every shipped config resolves and parses."""

from pathlib import Path

import pytest

from cogmap.config import load, read_config
from cogmap.errors import CogmapError
from cogmap.pathint.train import TrainConfig
from cogmap.rl.config import PPOConfig
from cogmap.studies.sweep import SweepConfig
from cogmap.studies.tracking import TrackingConfig
from cogmap.studies.walking import WalkingConfig
from cogmap.worldmodels.train import WorldModelConfig

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
CLASSES = {"control": PPOConfig, "equivariance": WorldModelConfig, "pathint": TrainConfig, "sweeps": SweepConfig,
           "tangling": WalkingConfig, "tracking": TrackingConfig}
# Study configs name no model: the model is given on the command line.
SOURCE = {"tangling": ["source=runs/control/go1_lstm/seed0"], "tracking": ["runs=[runs/control/go1_lstm/seed0]"]}


def test_a_config_extends_another_key_by_key(tmp_path):
    (tmp_path / "base.yaml").write_text("lr: 0.1\nmodel:\n  cell: gru\n  hidden: 64\nsteps: [1, 2]\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "middle.yaml").write_text("extends: ../base.yaml\nmodel:\n  hidden: 128\n")
    (tmp_path / "sub" / "leaf.yaml").write_text("extends: middle.yaml   # relative to this file\nsteps: [3]\n")
    assert read_config(tmp_path / "sub" / "leaf.yaml") == {"lr": 0.1, "model": {"cell": "gru", "hidden": 128}, "steps": [3]}


def test_bad_extends_are_one_error_naming_the_file(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nx: 1\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(CogmapError, match="extends itself"):
        read_config(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("extends: nowhere.yaml\n")
    with pytest.raises(CogmapError, match=r"c.yaml extends nowhere.yaml, which does not exist"):
        read_config(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("extends: [a.yaml]\n")
    with pytest.raises(CogmapError, match="extends must be the path of another config file"):
        read_config(tmp_path / "d.yaml")
    (tmp_path / "e.yaml").write_text("extends: broken.yaml\n")
    (tmp_path / "broken.yaml").write_text("model: [1, 2\n")
    with pytest.raises(CogmapError, match="broken.yaml is not valid YAML"):
        read_config(tmp_path / "e.yaml")


def test_an_extended_config_overrides_and_command_line_words_override_both(tmp_path):
    (tmp_path / "base.yaml").write_text("cell: gru\nhidden: 32\n")
    (tmp_path / "variant.yaml").write_text("extends: base.yaml\ncell: lstm\n")
    config = load(PPOConfig, tmp_path / "variant.yaml", ["hidden=16"])
    assert (config.cell, config.hidden) == ("lstm", 16)


@pytest.mark.parametrize("path", sorted(CONFIGS.rglob("*.yaml")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_config_resolves_and_parses(path):
    if path.name == "data.yaml":  # cogmap generate's: the shape of a training config's data section
        from cogmap.pathint.data import DataFileConfig

        spec = load(DataFileConfig, path)
        assert spec.generation == load(CLASSES["pathint"], CONFIGS / "pathint" / "gru.yaml").generation
        return
    load(CLASSES[path.parent.name], path, SOURCE.get(path.parent.name, []))


def test_the_variants_hold_their_difference_only():
    # e.g. the LSTM's pendulum run is the GRU's but for the cell
    variant, base = (load(PPOConfig, CONFIGS / "control" / f"pendulum_fo_{cell}.yaml") for cell in ("lstm", "gru"))
    assert variant.cell == "lstm" and base.cell == "gru"
    assert {k: v for k, v in vars(variant).items() if k != "cell"} == {k: v for k, v in vars(base).items() if k != "cell"}
    assert len((CONFIGS / "control" / "pendulum_fo_lstm.yaml").read_text().splitlines()) < 8


def test_the_config_system_answers_to_its_former_name_too():
    import cogmap.config
    import cogmap.typed

    assert cogmap.typed.load is cogmap.config.load and cogmap.typed.parse is cogmap.config.parse


def test_an_optional_section_reports_the_key_inside_it():
    from cogmap.studies.path_integration import BaselineConfig

    with pytest.raises(CogmapError, match=r"^generation.cells must be an integer >= 1, got -3$"):
        load(BaselineConfig, None, ["generation.cells=-3"])
    assert load(BaselineConfig, None, ["generation.cells=8"]).generation.cells == 8
    assert load(BaselineConfig, None, []).generation is None


def _source_config(policy: Path) -> Path:
    """The config file a shipped policy was trained from, by its name (reaching/arm_pose_mlp_seed3 -> reach_pose_mlp)."""
    import re

    name = re.sub(r"_seed\d+$", "", policy.stem)
    name = "reach_" + name[4:] if name.startswith("arm_") else name
    if name.startswith("reacher_") and not name.endswith(("_mlp", "_gru")):
        name += "_mlp"
    return CONFIGS / "control" / f"{name}.yaml"


SHIPPED_POLICIES = sorted(p for p in (CONFIGS.parent / "pretrained" / "control").rglob("*.pt")
                          if p.parent.name == "reaching" or p.stem.startswith(("pendulum_", "cheetah_", "ant_")))


@pytest.mark.parametrize("policy", SHIPPED_POLICIES, ids=lambda p: p.stem)
def test_each_config_still_resolves_to_the_settings_its_shipped_policies_were_trained_with(policy):
    # A default changed in PPOConfig reaches every config that leaves the key out: this pins each config
    # file to the settings saved in the policies trained from it (only the seed, device and init_from,
    # given on the command line, may differ).
    from cogmap.config import parse, to_dict
    from cogmap.files import load_torch_file

    saved = load_torch_file(policy, "policy")
    trained = to_dict(parse(PPOConfig, saved["config"]))
    resolved = to_dict(load(PPOConfig, _source_config(policy)))
    differs = {k: (trained[k], resolved[k]) for k in resolved
               if trained[k] != resolved[k] and k not in ("seed", "device", "init_from")}
    assert not differs, f"{_source_config(policy).name} no longer gives {policy.name}'s settings: {differs}"
