"""Two kinds of walkers compared on their tangling studies, the walker as the unit (cogmap control groups)."""

import itertools
import json
import math

import pytest

from cogmap.cli.main import main
from cogmap.errors import CogmapError
from cogmap.studies.walker_groups import WalkerGroupsConfig, least_p_with_more, run, smallest_p


def save_tangling(folder, recurrent, actuation=None):
    """A tangling study's result with the per-condition median Q of two layers, as `cogmap control tangling` saves it."""
    folder.mkdir(parents=True)
    layers = {"recurrent": {"median_pooled": list(recurrent)}}
    if actuation is not None:
        layers["actuation"] = {"median_pooled": list(actuation)}
    (folder / "tangling.json").write_text(json.dumps({"tangling": layers}))
    return str(folder)


def exact_two_sided_p(a, b):
    """Mann-Whitney's exact two-sided p by brute force: the rank sum of ``a`` under every split of the pooled ranks
    (no ties), as extreme as the observed one from the null's mean."""
    pooled = sorted(a + b)
    ranks = {v: r + 1 for r, v in enumerate(pooled)}
    observed = sum(ranks[v] for v in a)
    mean = len(a) * (len(pooled) + 1) / 2
    sums = [sum(split) for split in itertools.combinations(range(1, len(pooled) + 1), len(a))]
    return min(1.0, sum(abs(s - mean) >= abs(observed - mean) - 1e-9 for s in sums) / len(sums))


def test_each_walker_counts_once_by_its_median_over_conditions_and_the_test_is_mann_whitneys_exact(tmp_path):
    # walkers' per-condition Q chosen so that each median is known by hand (odd counts: the middle value)
    with_q = [[5.0, 1.0, 3.0], [9.0, 7.0, 8.0], [2.0, 6.0, 4.0]]  # medians 3, 8, 4
    without_q = [[10.0, 12.0, 11.0], [5.5, 5.0, 6.5], [20.0, 1.0, 9.5]]  # medians 11, 5.5, 9.5
    groups = {"with": [save_tangling(tmp_path / f"w{k}", q) for k, q in enumerate(with_q)],
              "without": [save_tangling(tmp_path / f"o{k}", q) for k, q in enumerate(without_q)]}
    result = run(WalkerGroupsConfig(groups=groups))
    (entry,) = result.series
    assert [w["value"] for w in entry["walkers"]["with"]] == [3.0, 8.0, 4.0]
    assert [w["value"] for w in entry["walkers"]["without"]] == [11.0, 5.5, 9.5]
    assert all(w["conditions"] == 3 for group in entry["walkers"].values() for w in group)
    assert entry["test"]["median_ratio"] == pytest.approx(4.0 / 9.5)
    assert entry["test"]["p"] == pytest.approx(exact_two_sided_p([3.0, 8.0, 4.0], [11.0, 5.5, 9.5]))
    # by hand: ranks 1, 2, 4 sum to 7, 3.5 below the null's mean 10.5; of the 20 splits of ranks 1-6 only {1,2,3},
    # {1,2,4}, {3,5,6} and {4,5,6} lie as far out
    assert entry["test"]["p"] == pytest.approx(4 / 20)
    assert entry["test"]["smallest_p"] == pytest.approx(0.1)


def test_the_smallest_p_is_two_orderings_of_all_the_equally_likely_ones():
    # every walker of one kind above every one of the other: by hand, 2 of C(n_a + n_b, n_a) orderings
    assert smallest_p(2, 2) == pytest.approx(1 / 3)
    assert smallest_p(3, 3) == pytest.approx(0.1)
    assert smallest_p(4, 4) == pytest.approx(2 / 70)
    assert smallest_p(1, 1) == 1.0
    for n_a, n_b in ((2, 2), (3, 3), (4, 4), (2, 5)):
        separated = exact_two_sided_p(list(range(n_a)), list(range(10, 10 + n_b)))
        assert smallest_p(n_a, n_b) == pytest.approx(separated)
        assert smallest_p(n_a, n_b) == pytest.approx(min(1.0, 2 / math.comb(n_a + n_b, n_a)))


def rank_sum_p(a_ranks, n):
    """Mann-Whitney's exact two-sided p from the ranks (1..n, no ties) of group a, by brute force."""
    observed, mean = sum(a_ranks), len(a_ranks) * (n + 1) / 2
    sums = [sum(split) for split in itertools.combinations(range(1, n + 1), len(a_ranks))]
    return min(1.0, sum(abs(s - mean) >= abs(observed - mean) - 1e-9 for s in sums) / len(sums))


def least_p_by_every_placement(a, b, more):
    """The least p over every ranking the walkers could take once ``more`` join each group: the existing
    walkers keep their order, the new ones take any positions among them, in any order of kinds."""
    labels = [("a" if v in a else "b") for v in sorted(a + b)]
    n = len(labels) + 2 * more
    best = 1.0
    for new_positions in itertools.combinations(range(n), 2 * more):
        for new_a in itertools.combinations(new_positions, more):
            old = iter(labels)
            sequence = [("a" if k in new_a else "b") if k in new_positions else next(old) for k in range(n)]
            best = min(best, rank_sum_p([k + 1 for k, label in enumerate(sequence) if label == "a"], n))
    return best


def test_the_least_p_more_walkers_could_give_by_hand_and_by_every_placement():
    # by hand: a = 3, 8, 4 and b = 11, 5.5, 9.5 interleave once (8 above 5.5). One more of each at the far
    # ends, a's below everyone and b's above: U = 1 (8 > 5.5), and of the C(8, 4) = 70 splits only U = 0, 1
    # and their mirrors 16, 15 lie as far out: p = 4/70. The other way round U = 8, the mean: p = 1.
    assert least_p_with_more([3.0, 8.0, 4.0], [11.0, 5.5, 9.5], 1) == pytest.approx(4 / 70)
    assert least_p_with_more([3.0, 8.0, 4.0], [11.0, 5.5, 9.5], 0) == pytest.approx(4 / 20)  # the test itself
    # the Go1's interleaving (the least and the most of one kind): no fourth walker brings it below 0.2
    assert least_p_with_more([1.0, 9.0, 2.0], [6.0, 5.0, 3.0], 1) == pytest.approx(0.2)
    assert least_p_by_every_placement([1.0, 9.0, 2.0], [6.0, 5.0, 3.0], 1) == pytest.approx(0.2)
    cases = [([1.0, 2.0], [3.0, 4.0], 1), ([1.0, 4.0], [2.0, 3.0], 2), ([2.0, 5.0, 6.0], [1.0, 3.0, 4.0], 1),
             ([1.0, 9.0, 2.0], [6.0, 5.0, 3.0], 2), ([7.0], [1.0, 2.0, 3.0], 2), ([1.0, 3.0], [2.0, 4.0, 5.0], 1)]
    for a, b, more in cases:
        assert least_p_with_more(a, b, more) == pytest.approx(least_p_by_every_placement(a, b, more)), (a, b, more)
    # separated groups: more walkers on the right ends give the least p of the larger groups
    assert least_p_with_more([1.0, 2.0], [3.0, 4.0], 2) == pytest.approx(smallest_p(4, 4))


def test_the_study_reports_what_more_walkers_could_show(tmp_path):
    groups = {"with": [save_tangling(tmp_path / f"w{k}", [q]) for k, q in enumerate([3.0, 8.0, 4.0])],
              "without": [save_tangling(tmp_path / f"o{k}", [q]) for k, q in enumerate([11.0, 5.5, 9.5])]}
    (entry,) = run(WalkerGroupsConfig(groups=groups)).series  # more=1 by default
    assert entry["test"]["more"] == 1 and entry["test"]["least_p_with_more"] == pytest.approx(4 / 70)
    result = run(WalkerGroupsConfig(groups=groups, more=0))
    assert "least_p_with_more" not in result.series[0]["test"] and "more of each" not in result.summary()
    assert "with 2 more of each, wherever they fell: at least" in run(WalkerGroupsConfig(groups=groups, more=2)).summary()


def test_the_ratio_is_the_actuations_tangling_over_the_layers_per_condition_then_the_median(tmp_path):
    a = save_tangling(tmp_path / "a", recurrent=[1.0, 2.0, 4.0], actuation=[3.0, 2.0, 6.0])  # 3, 1, 1.5 -> 1.5
    b = save_tangling(tmp_path / "b", recurrent=[2.0, 2.0, 2.0], actuation=[1.0, 8.0, 5.0])  # 0.5, 4, 2.5 -> 2.5
    result = run(WalkerGroupsConfig(groups={"x": [a], "y": [b]}, measure="ratio"))
    (entry,) = result.series
    assert entry["walkers"]["x"][0]["value"] == pytest.approx(1.5)
    assert entry["walkers"]["y"][0]["value"] == pytest.approx(2.5)
    assert entry["test"]["p"] == 1.0 and entry["test"]["smallest_p"] == 1.0  # one against one says nothing


def test_series_fill_the_placeholder_and_each_series_is_tested_apart(tmp_path):
    values = {"forward": ([1.0, 2.0], [10.0, 20.0]), "sideways": ([30.0, 40.0], [3.0, 4.0])}
    for series, (low, high) in values.items():
        for k, (p, q) in enumerate(zip(low, high)):
            save_tangling(tmp_path / f"a{k}_{series}", [p, p, p])
            save_tangling(tmp_path / f"b{k}_{series}", [q, q, q])
    groups = {"a": [str(tmp_path / f"a{k}_<series>") for k in range(2)],
              "b": [str(tmp_path / f"b{k}_<series>") for k in range(2)]}
    result = run(WalkerGroupsConfig(groups=groups, series=["forward", "sideways"]))
    forward, sideways = result.series
    assert forward["name"] == "forward" and [w["value"] for w in forward["walkers"]["a"]] == [1.0, 2.0]
    assert sideways["walkers"]["b"][1]["folder"] == str(tmp_path / "b1_sideways")
    assert forward["test"]["median_ratio"] == pytest.approx(1.5 / 15) and sideways["test"]["median_ratio"] == pytest.approx(10)
    # perfectly separated both ways, two walkers each: the least p two against two allow, 1/3
    assert forward["test"]["p"] == pytest.approx(1 / 3) and sideways["test"]["p"] == pytest.approx(1 / 3)
    written = result.save(tmp_path / "out")
    assert {p.name for p in written} == {"config.yaml", "groups.json", "groups.png"}
    saved = json.loads((tmp_path / "out" / "groups.json").read_text())
    assert saved["groups"] == ["a", "b"] and [s["name"] for s in saved["series"]] == ["forward", "sideways"]
    assert "least these group sizes allow: 0.333" in result.summary()


@pytest.mark.parametrize(("settings", "message"), [
    ({"groups": {"only": ["x"]}}, "exactly two groups"),
    ({"groups": {"a": ["x"], "b": []}}, "non-empty list"),
    ({"groups": {"a": ["x", "x"], "b": ["y"]}}, "names a folder twice"),
    ({"groups": {"a": ["x"], "b": ["x"]}}, "in both groups"),
    ({"groups": {"a": ["runs/x", "./runs/x/"], "b": ["y"]}}, "names a folder twice"),
    ({"groups": {"a": ["runs/x"], "b": ["y", "runs/../runs/x"]}}, "in both groups"),
    ({"groups": {"a": ["x_<series>"], "b": ["y"]}}, "give series"),
    ({"groups": {"a": ["x"], "b": ["y"]}, "series": ["forward"]}, "holds no <series>"),
    ({"groups": {"a": ["x"], "b": ["y"]}, "measure": "ratio", "layer": "actuation"}, "choose another layer"),
    ({"groups": {"a": ["x"], "b": ["y"]}, "more": -1}, "more must be a whole number"),
    ({"groups": {"a": ["x"], "b": ["y"]}, "more": 2.5}, "more must be a whole number"),
    ({"groups": {"a": ["x"], "b": ["y"]}, "more": True}, "more must be a whole number"),
    ({"groups": {"a": ["x"], "b": ["y"]}, "more": 10**6}, "more must be a whole number"),
])
def test_impossible_settings_are_refused_by_name(settings, message):
    with pytest.raises(CogmapError, match=message):
        WalkerGroupsConfig(**settings)


def test_unreadable_or_mismatched_studies_are_refused_by_name(tmp_path):
    good = save_tangling(tmp_path / "good", [1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
    (tmp_path / "empty").mkdir()
    broken = {"non_utf8": b"\xff\xfe{not json", "garbage": bytes(range(256)) * 4,
              "truncated": b'{"tangling": {"recurrent": {"median_pooled": [1.0, 2.',
              "a list": b"[1, 2, 3]", "no tangling": b'{"source": "x"}'}
    for name, raw in broken.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "tangling.json").write_bytes(raw)
    no_layer = save_tangling(tmp_path / "no_layer", [1.0])
    (tmp_path / "no_layer" / "tangling.json").write_text(json.dumps({"tangling": {"actuation": {"median_pooled": [1.0]}}}))
    negative = save_tangling(tmp_path / "negative", [1.0, -2.0, 3.0])
    fewer = save_tangling(tmp_path / "fewer", [1.0, 2.0])
    cases = [(str(tmp_path / "empty"), "holds no tangling.json"), (str(tmp_path / "non_utf8"), "not UTF-8 text"),
             (str(tmp_path / "garbage"), "not UTF-8 text"), (str(tmp_path / "truncated"), "not valid JSON"),
             (str(tmp_path / "a list"), "must hold a mapping"), (str(tmp_path / "no tangling"), "not a tangling study's result"),
             (no_layer, "has no layer 'recurrent'"), (negative, "not a list of positive numbers"),
             (fewer, "different numbers of conditions")]
    for folder, message in cases:
        with pytest.raises(CogmapError, match=message):
            run(WalkerGroupsConfig(groups={"a": [good], "b": [folder]}))
    # the ratio needs the actuation too
    with pytest.raises(CogmapError, match="has no layer 'actuation'"):
        run(WalkerGroupsConfig(groups={"a": [good], "b": [save_tangling(tmp_path / "rec_only", [1.0, 2.0, 3.0])]},
                               measure="ratio"))


def test_the_command_writes_its_result_and_a_bad_folder_is_one_line_and_exit_2(tmp_path, capsys):
    a = save_tangling(tmp_path / "a", [1.0, 2.0, 3.0])
    b = save_tangling(tmp_path / "b", [4.0, 5.0, 6.0])
    out = tmp_path / "out"
    assert main(["control", "groups", f"groups={{with: [{a}], without: [{b}]}}", "--out", str(out)]) == 0
    assert json.loads((out / "groups.json").read_text())["series"][0]["walkers"]["without"][0]["value"] == 5.0
    capsys.readouterr()
    code = main(["control", "groups", f"groups={{with: [{a}], without: [{tmp_path / 'missing'}]}}",
                 "--out", str(tmp_path / "out2")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "holds no tangling.json" in err[0]
    assert not (tmp_path / "out2").exists()
