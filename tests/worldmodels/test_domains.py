"""The domains: their actions, symmetries and distances against direct computation, the arm's renderer, identifiability."""

import json
import math
import statistics

import pytest
import torch

from cogmap.cli.main import main
from cogmap.errors import CogmapError
from cogmap.geometry import so3
from cogmap.worldmodels import (
    DOMAINS,
    Ellipsoid,
    WorldModel,
    get_domain,
    grid,
    pose_ambiguity,
    pose_distance,
    render,
    render_arm,
    trajectories,
)
from cogmap.worldmodels.arm import planar_to_spatial
from cogmap.worldmodels.domains import _domain, _signed
from cogmap.worldmodels.report import markdown_table, summarize


def _angle(rotation: torch.Tensor) -> float:
    d = rotation.shape[-1]
    return math.acos(max(-1.0, min(1.0, (float(torch.trace(rotation)) - (d - 2)) / 2)))


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_every_action_turns_one_joint_by_the_step_about_its_axis(name):
    domain = get_domain(name)
    step = 0.3
    matrices = domain.action_matrices(step, torch.float64)
    assert matrices.shape == (domain.actions, domain.joints, domain.dim, domain.dim)
    eye = torch.eye(domain.dim, dtype=torch.float64)
    for a in range(domain.actions):
        joint = domain.action_joints[a]
        for j in range(domain.joints):
            if j != joint:
                assert torch.equal(matrices[a, j], eye)
        g = matrices[a, joint]
        assert _angle(g) == pytest.approx(step, abs=1e-12)
        if domain.dim == 3:
            axis = torch.zeros(3, dtype=torch.float64)
            axis[domain.action_axes[a]] = domain.action_signs[a]
            assert torch.allclose(so3.log(g), step * axis, atol=1e-12)  # the axis and the sense
        else:
            assert float(g[1, 0]) == pytest.approx(domain.action_signs[a] * math.sin(step))
    # + then - comes back, action by action (the names come in +/- pairs)
    for a in range(0, domain.actions, 2):
        assert domain.action_names[a].endswith("+") and domain.action_names[a + 1].endswith("-")
        assert torch.allclose(matrices[a] @ matrices[a + 1], eye.expand_as(matrices[a]), atol=1e-12)


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_symmetries_relabel_the_actions_as_conjugation_does(name):
    domain = get_domain(name)
    g, relabel = domain.symmetries(40, torch.Generator().manual_seed(1))
    matrices = domain.action_matrices(0.4, torch.float64)
    assert g.shape == (40, domain.joints, domain.dim, domain.dim) and relabel.shape == (40, domain.actions)
    for i in range(40):
        assert sorted(relabel[i].tolist()) == list(range(domain.actions))  # a permutation
        assert not torch.allclose(g[i], torch.eye(domain.dim, dtype=torch.float64).expand_as(g[i]))
        for a in range(domain.actions):
            assert torch.allclose(g[i] @ matrices[a] @ g[i].transpose(-1, -2), matrices[relabel[i, a]], atol=1e-12)
    if domain.dim == 2:
        assert torch.equal(relabel, torch.arange(domain.actions).expand(40, -1))  # SO(2) commutes
    else:
        generic = so3.exp(torch.tensor([[[0.1, 0.2, 0.3]] * domain.joints], dtype=torch.float64))
        with pytest.raises(CogmapError, match="do not map the actions"):
            domain.relabel(generic)


def test_a_turned_trajectory_is_the_trajectory_of_the_relabelled_actions():
    domain = get_domain("arm")
    data = trajectories(6, 4, None, 0.5, 16, seed=2, domain="arm")
    g, relabel = domain.symmetries(6, torch.Generator().manual_seed(3))
    matrices = domain.action_matrices(0.5, torch.float64)
    pose = g @ data.poses[:, 0]
    for t, actions in enumerate(relabel.gather(1, data.actions).T):
        pose = matrices[actions] @ pose
        assert torch.allclose(pose, g @ data.poses[:, t + 1], atol=1e-12)


def test_pose_distance_is_the_root_sum_of_squared_joint_angles():
    x, z = torch.tensor([1.0, 0, 0], dtype=torch.float64), torch.tensor([0, 0, 1.0], dtype=torch.float64)
    start = so3.random(2, torch.Generator().manual_seed(0), dtype=torch.float64)
    turned = torch.stack([so3.exp(0.3 * x) @ start[0], so3.exp(-1.1 * z) @ start[1]])
    assert float(pose_distance(start, turned)) == pytest.approx(math.hypot(0.3, 1.1), abs=1e-9)
    c, s = math.cos(2.5), math.sin(2.5)
    planar = torch.tensor([[[c, -s], [s, c]], [[1.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)
    assert float(pose_distance(torch.eye(2, dtype=torch.float64).expand(2, 2, 2), planar)) == pytest.approx(2.5)


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_random_poses_are_rotations_spread_over_the_group(name):
    domain = get_domain(name)
    poses = domain.random_poses(4000, torch.Generator().manual_seed(5))
    eye = torch.eye(domain.dim, dtype=torch.float64)
    assert torch.allclose(poses @ poses.transpose(-1, -2), eye.expand_as(poses), atol=1e-9)
    assert torch.allclose(torch.linalg.det(poses), torch.ones(poses.shape[:2], dtype=torch.float64), atol=1e-9)
    assert poses.mean(0).abs().max() < 0.06  # Haar measure: E[R] = 0 (sd of a mean of 4000 ~ 0.01)


def test_the_arm_points_along_its_links_and_rolls_with_the_image():
    # Straight along +x: the image is lit from the shoulder (the centre) to the reach, 0.84 plus the
    # forearm's rounded end, and dark beyond the shoulder's ball on the left and above and below.
    image = render_arm(torch.eye(3, dtype=torch.float64).expand(1, 2, 3, 3), 32, light=(0, 0, 1))[0]
    x = (2 * torch.arange(32, dtype=torch.float64) + 1) / 32 - 1
    lit = x[(image > 0).any(0)]
    assert float(lit.min()) == pytest.approx(-0.14, abs=0.07) and float(lit.max()) == pytest.approx(0.86, abs=0.07)
    assert float(image[x.flip(0).abs() > 0.3].sum()) == 0.0  # rows more than 0.3 above or below the axis
    # Rolling the shoulder by 90 degrees about the viewing axis rolls the image by 90 degrees.
    poses = so3.random(8, torch.Generator().manual_seed(0), dtype=torch.float64).reshape(4, 2, 3, 3)
    roll = so3.exp(torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64))
    turned = poses.clone()
    turned[:, 0] = roll @ poses[:, 0]
    images, rolled = render_arm(poses, 32, light=(0, 0, 1)), render_arm(turned, 32, light=(0, 0, 1))
    assert torch.allclose(rolled, torch.rot90(images, 1, dims=(-2, -1)), atol=1e-9)
    # The planar arm is the 3-D arm with its joints turned about the viewing axis.
    planar = get_domain("planar_arm").random_poses(3, torch.Generator().manual_seed(1))
    assert torch.equal(get_domain("planar_arm").render(planar, 16), render_arm(planar_to_spatial(planar), 16))
    with pytest.raises(CogmapError, match="arm poses"):
        render_arm(torch.eye(3)[None])
    with pytest.raises(CogmapError, match="planar_arm poses"):
        get_domain("planar_arm").render(torch.eye(3).expand(1, 2, 3, 3))


def test_pose_ambiguity_tells_a_symmetric_body_from_a_marked_one():
    # A flat ellipse turning in the image plane looks the same after half a turn: every pose has a
    # far twin. With a large dark marker on one end, no pose has (a small one would not be enough:
    # the measure asks for a twin to differ by more than a 10 degree turn does).
    ellipse = Ellipsoid((0.0, 0.0, 0.0), (0.7, 0.3, 0.3), (0.0, 0.0, 0.0), 0.8)
    marker = Ellipsoid((0.5, 0.0, 0.2), (0.25, 0.25, 0.25), (0.0, 0.0, 0.0), 0.3)

    def disk(parts, name):
        return _domain(name, 1, 2, _signed(("spin",), (2,), 0),
                       lambda poses, size: render(planar_to_spatial(poses[:, 0]), size, parts), name)

    symmetric = pose_ambiguity(disk((ellipse,), "ellipse"), 32, queries=60, references=3000)
    marked = pose_ambiguity(disk((ellipse, marker), "marked"), 32, queries=60, references=3000)
    assert symmetric["ambiguous"] > 0.95 and marked["ambiguous"] < 0.05
    assert symmetric["median_ratio"] < 0.5 and marked["median_ratio"] > 1.0
    fractions = list(marked["ambiguous_at_ratio"].values())
    assert fractions == sorted(fractions)  # a looser ratio flags at least as many poses


def test_models_of_the_arms_keep_one_latent_per_joint():
    model = WorldModel("matmul", size=16, vectors=2, domain="arm")
    z = model.encode(torch.rand(5, 16, 16))
    assert z.shape == (5, 2, 2, 3) and model.latent_shape == (2, 2, 3)
    elbow = get_domain("arm").action_names.index("elbow-z+")
    stepped = model.step(z, torch.full((5,), elbow))
    assert torch.equal(stepped[:, 0], z[:, 0])  # the shoulder's latent stays
    g = get_domain("arm").action_matrices(math.pi / 6)[elbow, 1]
    assert torch.allclose(stepped[:, 1], z[:, 1] @ g.T, atol=1e-6)
    flat = WorldModel("matmul", size=16, latent="rotation", domain="planar_arm")
    r = flat.encode(torch.rand(4, 1, 16, 16))
    assert r.shape == (4, 2, 2, 2)
    assert torch.allclose(r @ r.transpose(-1, -2), torch.eye(2).expand_as(r), atol=1e-5)
    assert torch.allclose(torch.linalg.det(r), torch.ones(4, 2), atol=1e-5)
    baseline = WorldModel("none", size=16, domain="planar_arm", vectors=2)
    assert baseline.step(baseline.encode(torch.rand(3, 16, 16)), torch.tensor([0, 1, 3])).shape == (3, 2, 2, 2)
    with pytest.raises(CogmapError, match="domain must be one of"):
        WorldModel(domain="octopus")


def _fake_run(folder, hits, ee):
    (folder / "evaluation").mkdir(parents=True)
    result = {"steps": 10, "trajectories": 100, "ee": ee, "die_1_step": ee / 2, "die_10_step": ee / 3,
              "1_step_pessimistic": {"hits@1": hits, "mrr": hits}, "10_step_pessimistic": {"hits@1": hits / 2,
                                                                                          "mrr": hits / 2}}
    (folder / "evaluation" / "evaluation.json").write_text(json.dumps(result))


def test_the_table_gives_the_mean_and_sd_over_seeds(tmp_path, capsys):
    hits, ees = [0.5, 0.7, 0.9], [0.1, 0.2, 0.6]
    for seed, (h, e) in enumerate(zip(hits, ees)):
        _fake_run(tmp_path / "teapot_sen" / f"seed{seed}", h, e)
    _fake_run(tmp_path / "teapot_none" / "seed0", 0.25, 1.5)
    rows = {row["config"]: row for row in summarize([tmp_path / "teapot_sen", tmp_path / "teapot_none" / "seed0"])}
    sen = rows["teapot_sen"]
    assert sen["runs"] == 3
    assert sen["H@1 1 step (%)"] == pytest.approx((100 * statistics.mean(hits), 100 * statistics.stdev(hits)))
    assert sen["EE"] == pytest.approx((statistics.mean(ees), statistics.stdev(ees)))
    assert rows["teapot_none"]["H@1 10 steps (%)"] == pytest.approx((12.5, 0.0))
    assert "| teapot_sen | 3 | 70.0 ± 20.0 |" in markdown_table(list(rows.values()))
    assert main(["equivariance", "table", str(tmp_path / "teapot_sen"), "--out", str(tmp_path / "t.md")]) == 0
    assert "teapot_sen" in capsys.readouterr().out and (tmp_path / "t.md").read_text().startswith("| config")
    (tmp_path / "empty").mkdir()
    assert main(["equivariance", "table", str(tmp_path / "empty")]) == 2
    assert "no evaluated run" in capsys.readouterr().err
    _fake_run(tmp_path / "broken" / "seed0", 0.5, 0.1)
    edited = tmp_path / "broken" / "seed0" / "evaluation" / "evaluation.json"
    edited.write_text(edited.read_text().replace('"ee": 0.1', '"ee": "low"'))  # a hand-edited file
    assert main(["equivariance", "table", str(tmp_path / "broken")]) == 2
    assert "not a number" in capsys.readouterr().err


def test_the_ambiguity_command_measures_and_saves(tmp_path, capsys):
    out = tmp_path / "ambiguity"
    assert main(["equivariance", "ambiguity", "domain=planar_arm", "size=16", "queries=5", "references=50",
                 "--out", str(out)]) == 0
    result = json.loads((out / "ambiguity.json").read_text())
    assert result["domain"] == "planar_arm" and 0 <= result["ambiguous"] <= 1
    assert f"{100 * result['ambiguous']:.1f}% of 5 poses" in capsys.readouterr().out
    assert main(["equivariance", "ambiguity", "domain=octopus"]) == 2
    assert "domain must be one of" in capsys.readouterr().err
    assert main(["equivariance", "ambiguity", "domain=arm", "near=50"]) == 2
    assert "need 0 < near < far" in capsys.readouterr().err
    assert main(["equivariance", "ambiguity", "domain=arm", "ratio=0"]) == 2
    assert "ratio must be positive" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_the_samples_command_draws_every_domain(tmp_path, capsys):
    out = tmp_path / "samples"
    assert main(["equivariance", "samples", "--out", str(out), "size=16", "steps=2"]) == 0
    assert (out / "samples.png").stat().st_size > 0
    captions = json.loads((out / "samples.json").read_text())["captions"]
    assert set(captions) == {"teapot", "arm", "planar_arm", "shapes", "cubes"} and all(len(c) == 3 for c in captions.values())
    assert captions["shapes"][1] in grid.action_names(5)
    assert main(["equivariance", "samples", "--out", str(tmp_path / "x"), "domains=[octopus]"]) == 2
    assert "domain must be one of" in capsys.readouterr().err


def test_turn_latents_turns_each_vector_as_the_joint_turns_and_a_quarter_turn_tells_the_order():
    # A 180-degree turn equals its inverse, so it cannot tell z g^T from z g; a quarter turn can.
    from cogmap.worldmodels.domains import planar_rotation, turn_latents

    quarter = planar_rotation(torch.tensor([[math.pi / 2]], dtype=torch.float64))  # (1 sample, 1 joint, 2, 2)
    east = torch.tensor([[[[1.0, 0.0], [0.0, 2.0]]]], dtype=torch.float64)  # two vectors: (1, 0) and (0, 2)
    turned = turn_latents(east, quarter)
    assert torch.allclose(turned, torch.tensor([[[[0.0, 1.0], [-2.0, 0.0]]]], dtype=torch.float64), atol=1e-12)
    g = so3.random(5, torch.Generator().manual_seed(0), dtype=torch.float64).reshape(5, 1, 3, 3)
    z = torch.randn(5, 1, 4, 3, dtype=torch.float64)
    assert torch.allclose(turn_latents(z, g)[:, 0, 2], (g[:, 0] @ z[:, 0, 2, :, None])[..., 0])
    with pytest.raises(CogmapError, match="must agree"):
        turn_latents(z, quarter)
