"""The across-walker comparison of saved gait cycles (cogmap control similarity)."""

import numpy as np
import pytest

from cogmap.errors import CogmapError
from cogmap.studies.similarity import SimilarityConfig, load_cycles, run


def save_cycles(folder, commands, layers, **extra):
    folder.mkdir(parents=True)
    arrays = {f"{layer}/{k}": c for layer, cycles in layers.items() for k, c in enumerate(cycles)}
    np.savez(folder / "cycles.npz", commands=np.asarray(commands, float), **arrays, **extra)
    return str(folder)


def walker(rng, lengths, units=12):
    """Cycles of a 4-D rhythm (two harmonics, an offset per condition) in ``units`` units."""
    mix = rng.normal(size=(4, units))
    cycles = []
    for k, n in enumerate(lengths):
        t = 2 * np.pi * np.arange(n) / n
        latent = np.stack([np.cos(t), np.sin(t), 0.5 * np.cos(2 * t) + k, 0.5 * np.sin(2 * t) - k], 1)
        cycles.append(latent @ mix)
    return cycles, mix


def save_walker(folder, commands, trained, untrained, actuation=None):
    """One walker's cycles: its recurrent layer (and actuation, the same unless given) and an untrained twin's."""
    actuation = trained if actuation is None else actuation
    return save_cycles(folder, commands, {"recurrent": trained, "actuation": actuation,
                                          "untrained recurrent": untrained, "untrained actuation": untrained})


def test_walkers_that_are_linear_maps_of_one_rhythm_are_alike_and_an_unrelated_one_is_not(tmp_path):
    rng = np.random.default_rng(0)
    commands = [[1, 0, 0], [-1, 0, 0], [0, 0.5, 0]]
    a, _ = walker(rng, [40, 44, 38])
    # the same rhythm read out by other units, its cycles sampled at other lengths (another walker's gait period)
    t_lengths = [36, 50, 42]
    b = []
    mix_b = rng.normal(size=(4, 20))
    for k, n in enumerate(t_lengths):
        t = 2 * np.pi * np.arange(n) / n
        b.append(np.stack([np.cos(t), np.sin(t), 0.5 * np.cos(2 * t) + k, 0.5 * np.sin(2 * t) - k], 1) @ mix_b)
    noise = [rng.normal(size=(n, 12)) for n in (40, 44, 38)]
    fa = save_walker(tmp_path / "a", commands, a, noise)
    fb = save_walker(tmp_path / "b", commands, b, noise, actuation=noise)
    result = run(SimilarityConfig(folders=[fa, fb], k=4, points=60), progress=False)
    layers = result.pairs[0]["layers"]
    assert layers["recurrent"]["trained"]["cca_mean"] > 0.99  # equal up to resampling the cycles
    assert layers["actuation"]["trained"]["cca_mean"] < 0.8  # against noise
    assert layers["recurrent"]["untrained twins"]["cca_mean"] > 0.99  # the same noise on both sides
    assert "trained vs own untrained twin" in layers["recurrent"]
    assert "second vs own untrained twin" in layers["recurrent"]


def test_each_walker_is_compared_with_its_own_untrained_twin(tmp_path):
    # the second walker's "untrained" cycles are its trained ones (alike: CCA 1), the first walker's are noise
    rng = np.random.default_rng(3)
    commands = [[1, 0, 0], [-1, 0, 0], [0, 0.5, 0]]
    a, _ = walker(rng, [40, 44, 38])
    b, _ = walker(rng, [36, 50, 42])
    noise = [rng.normal(size=(n, 12)) for n in (40, 44, 38)]
    fa = save_walker(tmp_path / "a", commands, a, noise)
    fb = save_walker(tmp_path / "b", commands, b, b)
    result = run(SimilarityConfig(folders=[fa, fb], k=4, points=60), progress=False)
    recurrent = result.pairs[0]["layers"]["recurrent"]
    assert recurrent["second vs own untrained twin"]["cca_mean"] == pytest.approx(1.0, abs=1e-6)
    assert recurrent["trained vs own untrained twin"]["cca_mean"] < 0.9
    swapped = run(SimilarityConfig(folders=[fb, fa], k=4, points=60), progress=False).pairs[0]["layers"]["recurrent"]
    assert swapped["trained vs own untrained twin"]["cca_mean"] == pytest.approx(recurrent["second vs own untrained twin"]["cca_mean"])
    assert swapped["second vs own untrained twin"]["cca_mean"] == pytest.approx(recurrent["trained vs own untrained twin"]["cca_mean"])
    assert "(first) / 1.000 (second)" in result.summary()
    assert result.pairs[0]["twins"] == "unknown"  # saved without the untrained network's seed
    commands_back, cycles_back, twin_seed = load_cycles(fa)
    assert np.allclose(commands_back, commands) and len(cycles_back["recurrent"]) == 3 and twin_seed is None
    assert np.allclose(cycles_back["recurrent"][1], a[1])


def test_walkers_recorded_under_other_commands_or_without_cycles_are_refused(tmp_path):
    rng = np.random.default_rng(1)
    a, _ = walker(rng, [30, 30])
    fa = save_cycles(tmp_path / "a", [[1, 0, 0], [-1, 0, 0]], {"recurrent": a, "actuation": a})
    fb = save_cycles(tmp_path / "b", [[1, 0, 0], [0, 1, 0]], {"recurrent": a, "actuation": a})
    with pytest.raises(CogmapError, match="other commands"):
        run(SimilarityConfig(folders=[fa, fb]), progress=False)
    with pytest.raises(CogmapError, match="holds no cycles.npz"):
        run(SimilarityConfig(folders=[fa, str(tmp_path)]), progress=False)
    with pytest.raises(CogmapError, match="two or more"):
        SimilarityConfig(folders=[fa])
    (tmp_path / "foreign").mkdir()
    np.savez(tmp_path / "foreign" / "cycles.npz", commands=np.zeros((2, 3)), weights=np.zeros(3))
    with pytest.raises(CogmapError, match="not a cycles file"):
        run(SimilarityConfig(folders=[fa, str(tmp_path / "foreign")]), progress=False)
    whole = (tmp_path / "a" / "cycles.npz").read_bytes()
    for name, content in (("garbage", bytes(range(256)) * 4), ("truncated", whole[: len(whole) // 2])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "cycles.npz").write_bytes(content)
        with pytest.raises(CogmapError, match="not a cycles file"):
            run(SimilarityConfig(folders=[fa, str(tmp_path / name)]), progress=False)


def test_each_pair_says_whether_its_untrained_twins_were_one_network_or_two(tmp_path):
    rng = np.random.default_rng(2)
    commands = [[1, 0, 0], [-1, 0, 0]]
    a, _ = walker(rng, [30, 32])
    layers = {"recurrent": a, "actuation": a, "untrained recurrent": a, "untrained actuation": a}
    one = save_cycles(tmp_path / "one", commands, layers, twin_seed=np.array(1))
    same = save_cycles(tmp_path / "same", commands, layers, twin_seed=np.array(1))
    other = save_cycles(tmp_path / "other", commands, layers, twin_seed=np.array(2))
    result = run(SimilarityConfig(folders=[one, same, other], k=3), progress=False)
    kinds = {(pair["a"], pair["b"]): pair["twins"] for pair in result.pairs}
    assert kinds == {(one, same): "one network", (one, other): "independent", (same, other): "independent"}
    assert "untrained twins (independent)" in result.summary()
    assert load_cycles(other)[2] == 2
    odd = save_cycles(tmp_path / "odd", commands, layers, twin_seed=np.array([1.5, 2.0]))
    with pytest.raises(CogmapError, match="twin_seed is not one integer"):
        load_cycles(odd)


def test_the_tangling_study_saves_the_seed_of_its_untrained_network(tmp_path, monkeypatch, repository):
    from cogmap.studies.walking import WalkingConfig
    from cogmap.studies.walking import run as tangling

    monkeypatch.chdir(repository)
    for twin_seed, saved in ((None, 4), (7, 7)):  # the default: the study's seed + 1
        config = WalkingConfig(source="pretrained/control/cheetah_speed_lstm_seed0.pt", commands=[1, 2], envs=2,
                               steps=60, warmup=40, push=0, seed=3, twin_seed=twin_seed)
        folder = tmp_path / str(twin_seed)
        tangling(config, progress=False).save(folder, figures=False)
        assert load_cycles(folder)[2] == saved


@pytest.mark.slow
def test_the_tangling_study_saves_its_twins_seed_and_one_walker_against_itself_is_alike(tmp_path, monkeypatch,
                                                                                        repository):
    from cogmap.cli.main import main

    monkeypatch.chdir(repository)
    folders = []
    for name, twin in (("a", 5), ("b", 5), ("c", 6)):
        out = tmp_path / name
        args = ["control", "tangling", "pretrained/control/cheetah_speed_lstm_seed0.pt", "commands=[1, 2]", "envs=2",
                "steps=120", "warmup=60", "push=0", f"twin_seed={twin}", "--out", str(out), "--quiet"]
        assert main(args) == 0
        assert load_cycles(out)[2] == twin
        folders.append(str(out))
    result = run(SimilarityConfig(folders=folders, k=3), progress=False)
    by_pair = {(pair["a"], pair["b"]): pair for pair in result.pairs}
    same, other = by_pair[folders[0], folders[1]], by_pair[folders[0], folders[2]]
    assert same["twins"] == "one network" and other["twins"] == "independent"
    # The same walker, start states and untrained network: every comparison is of a thing with itself.
    for kind in ("trained", "untrained twins"):
        assert same["layers"]["recurrent"][kind]["cca_mean"] > 0.999
    assert other["layers"]["recurrent"]["trained"]["cca_mean"] > 0.999
    assert other["layers"]["recurrent"]["untrained twins"]["cca_mean"] < 0.999
