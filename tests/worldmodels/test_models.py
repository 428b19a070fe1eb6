"""Trajectories of the rotating object, the world models, their training, loading and evaluation."""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from cogmap.analysis.equivariance import random_pairs
from cogmap.cli.main import main
from cogmap.errors import CogmapError
from cogmap.geometry import so3
from cogmap.worldmodels import (
    ACTION_NAMES,
    WorldModel,
    action_rotations,
    conjugate_actions,
    cube_rotations,
    evaluate,
    get_domain,
    latent_rotations,
    load_world_model,
    load_world_model_config,
    render,
    rigid_trajectories,
    train,
    trajectories,
)
from cogmap.worldmodels.train import WorldModelConfig, misses
from tests.processes import free_port


def test_trajectories_follow_their_actions_and_repeat_by_seed():
    data = rigid_trajectories(5, steps=3, size=16, seed=4)
    g = action_rotations(math.pi / 6, dtype=torch.float64)
    for t in range(3):
        expected = g[data.actions[:, t]] @ data.poses[:, t, 0]
        assert torch.allclose(data.poses[:, t + 1, 0], expected, atol=1e-12)
    assert torch.allclose(data.observations[:, 2, 0], render(data.poses[:, 2, 0], 16).float(), atol=1e-5)
    again = rigid_trajectories(5, steps=3, size=16, seed=4)
    assert torch.equal(again.observations, data.observations) and torch.equal(again.actions, data.actions)
    assert not torch.equal(rigid_trajectories(5, steps=3, size=16, seed=5).actions, data.actions)
    only = rigid_trajectories(50, steps=2, actions=["yaw+", "roll-"], size=16, seed=0)
    assert set(only.actions.unique().tolist()) == {ACTION_NAMES.index("yaw+"), ACTION_NAMES.index("roll-")}


def test_the_cube_rotations_relabel_the_actions():
    cube = cube_rotations(torch.float64)
    assert cube.shape == (24, 3, 3) and len({tuple(m.flatten().tolist()) for m in cube}) == 24
    assert torch.allclose(cube @ cube.transpose(-1, -2), torch.eye(3, dtype=torch.float64).expand(24, 3, 3))
    g = action_rotations(0.4, dtype=torch.float64)
    relabelled = conjugate_actions(cube)
    for i in range(24):
        assert sorted(relabelled[i].tolist()) == list(range(6))  # a permutation of the actions
        for a in range(6):
            assert torch.allclose(cube[i] @ g[a] @ cube[i].T, g[relabelled[i, a]], atol=1e-12)
    with pytest.raises(CogmapError, match="cube"):
        conjugate_actions(so3.exp(torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)))


def test_the_equivariant_transition_turns_the_latent_by_the_actions_rotation():
    model = WorldModel("matmul", size=16, vectors=2)
    z = torch.randn(6, 1, 2, 3)
    actions = torch.arange(6)
    g = action_rotations(math.pi / 6)
    stepped = model.step(z, actions)
    for a in range(6):
        assert torch.allclose(stepped[a, 0], (g[a] @ z[a, 0].T).T, atol=1e-6)
    # pitch+ then pitch- comes back; a rollout is the steps in turn
    back = model.rollout(z, torch.tensor([[0, 1]] * 6))
    assert torch.allclose(back[:, -1], z, atol=1e-5) and back.shape == (6, 2, 1, 2, 3)
    baseline = WorldModel("none", size=16, vectors=2)
    assert baseline.step(z, actions).shape == z.shape
    with pytest.raises(CogmapError, match="images must be"):
        model.encode(torch.zeros(2, 1, 32, 32))
    with pytest.raises(CogmapError, match="transition"):
        WorldModel("conv")


def test_a_rotation_latent_is_a_rotation_matrix():
    model = WorldModel("matmul", size=16, latent="rotation", vectors=5)
    z = model.encode(torch.rand(7, 1, 16, 16))[:, 0]
    assert model.encode(torch.rand(7, 1, 16, 16)).shape == (7, 1, 3, 3) and model.vectors == 3
    assert torch.allclose(z @ z.transpose(-1, -2), torch.eye(3).expand(7, 3, 3), atol=1e-5)
    assert torch.allclose(torch.linalg.det(z), torch.ones(7), atol=1e-5)
    with pytest.raises(CogmapError, match="latent must be"):
        WorldModel("matmul", latent="quaternion")


def test_a_sphere_latent_has_unit_norm_per_joint_and_turns_like_vectors():
    model = WorldModel("matmul", size=16, latent="sphere", vectors=4, domain="arm")
    z = model.encode(torch.rand(5, 1, 16, 16))
    assert z.shape == (5, 2, 4, 3)
    assert torch.allclose(z.flatten(2).norm(dim=2), torch.ones(5, 2), atol=1e-6)
    stepped = model.step(z, torch.tensor([0, 3, 4, 1, 5]))
    assert torch.allclose(stepped.flatten(2).norm(dim=2), torch.ones(5, 2), atol=1e-6)  # turning keeps the sphere


def test_the_supervised_ceiling_regresses_onto_the_transposed_pose():
    from cogmap.worldmodels.model import pose_loss

    model = WorldModel("matmul", size=16, vectors=3, domain="arm")
    poses = get_domain("arm").random_poses(4, torch.Generator().manual_seed(2))
    model.encode = lambda p: p.transpose(-1, -2).float()  # an oracle reading each joint's R^T
    loss, _ = pose_loss(model, poses, poses)
    assert float(loss) == pytest.approx(0.0, abs=1e-10)
    model.encode = lambda p: torch.zeros(len(p), 2, 3, 3)  # nothing read: ||R^T||^2 = 3 per joint, 6 per pose
    loss, _ = pose_loss(model, poses, poses)
    assert float(loss) == pytest.approx(6.0, rel=1e-6)
    with pytest.raises(CogmapError, match="vectors = 3"):
        pose_loss(WorldModel("matmul", size=16, vectors=2), poses[:, :1], poses[:, :1])


@pytest.mark.parametrize("words", [["latent=sphere", "twist_negatives=true"], ["loss=supervised"],
                                   ["loss=infonce"]])
def test_the_other_objectives_train(words, tmp_path):
    config = load_world_model_config(None, ["transitions=128", "epochs=2", "size=16", "batch_size=32",
                                            "progress=false", "channels=8", "hidden=32", *words])
    model = train(config, tmp_path)
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    losses = [float(r.split(",")[header.index("train/loss")]) for r in rows[1:] if r.split(",")[header.index("train/loss")]]
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    images = rigid_trajectories(3, 1, size=16, seed=1).observations[:, 0]
    assert torch.equal(load_world_model(tmp_path).encode(images), model.eval().encode(images))


def test_training_lowers_the_loss_and_the_saved_model_loads_and_encodes_alike(tmp_path):
    config = load_world_model_config(None, ["transitions=256", "epochs=3", "size=16", "batch_size=64",
                                            "progress=false", "channels=8", "hidden=32"])
    model = train(config, tmp_path)
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    losses = [float(r.split(",")[header.index("train/loss")]) for r in rows[1:] if r.split(",")[header.index("train/loss")]]
    assert len(losses) == 3 and losses[-1] < losses[0]
    loaded = load_world_model(tmp_path)
    images = rigid_trajectories(4, 1, size=16, seed=9).observations[:, 0]
    assert torch.equal(loaded.encode(images), model.eval().encode(images))
    result = evaluate(loaded, trajectories=20, steps=2, ks=(1, 5))
    assert set(result) >= {"ee", "die_1_step", "die_2_step", "1_step_pessimistic", "2_step_optimistic"}
    assert 0 <= result["1_step_pessimistic"]["hits@1"] <= result["1_step_optimistic"]["hits@1"] <= 1
    few = evaluate(loaded, trajectories=3, steps=1)  # ranks beyond the 3 candidates are left out, not an error
    assert set(few["1_step_pessimistic"]) >= {"hits@1"} and "hits@5" not in few["1_step_pessimistic"]
    turns = latent_rotations(loaded, frames=6)
    assert set(turns) == {"pitch", "yaw", "roll"} and len(turns["yaw"]["latent_angle"]) == 6
    assert turns["yaw"]["latent_angle"][0] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("domain", ["teapot", "planar_arm"])  # the 3-D arm hides poses: see test_domains
def test_an_encoder_that_is_equivariant_by_construction_scores_perfectly(domain):
    # An oracle: a "network" that reads the pose off a lookup of rendered images is exactly
    # equivariant, so EE = DIE = 0 and every prediction ranks first. Its lookup holds every image
    # the evaluation will show it: the test trajectories and their turned copies, drawn here with
    # the evaluation's own seeds.
    size, n, steps, seed = 16, 30, 2, 3

    class Oracle(WorldModel):
        def encode(self, images):
            flat = images.reshape(len(images), -1)
            index = torch.cdist(flat, self.known_images).argmin(1)
            return self.known_poses[index].transpose(-1, -2)  # per joint, rows R_j e_i: turned by g_j as z g_j^T

    space = get_domain(domain)
    oracle = Oracle("matmul", size=size, domain=domain, vectors=space.dim)
    data = trajectories(n, steps, None, math.pi / 6, size, seed, domain)
    g, _ = space.symmetries(n, torch.Generator().manual_seed(seed + 1))
    pairs = torch.as_tensor(random_pairs(n, seed))
    known = [data.poses.reshape(-1, *data.poses.shape[2:]), g @ data.poses[:, 0]]
    known += [g @ data.poses[pairs, horizon] for horizon in (1, steps)]
    # and the full turns of latent_rotations (12 frames from each of its 4 random starting poses)
    start = space.random_poses(4, torch.Generator().manual_seed(0))
    angles = torch.arange(12, dtype=torch.float64) * 2 * math.pi / 12
    plus = [a for a, name in enumerate(space.action_names) if name.endswith("+")]
    known += [(space.turns(torch.full((12,), a), angles)[:, None] @ start[None]).reshape(-1, *start.shape[1:])
              for a in plus]
    oracle.known_poses = torch.cat(known).float()
    oracle.known_images = space.render(torch.cat(known), size).float().reshape(len(oracle.known_poses), -1)
    result = evaluate(oracle, trajectories=n, steps=steps, seed=seed)
    assert result["ee"] == pytest.approx(0.0, abs=1e-5)
    assert result["die_1_step"] == pytest.approx(0.0, abs=1e-5) and result["die_2_step"] == pytest.approx(0.0, abs=1e-5)
    assert result["1_step_pessimistic"]["hits@1"] == 1.0 and result["2_step_pessimistic"]["mrr"] == 1.0
    assert result["candidates"]["sizes"] == [10, n]
    assert result["candidates"]["hits@1_2_step"] == {"10": pytest.approx(1.0), str(n): pytest.approx(1.0)}
    assert result["misses"]["1_step"]["count"] == result["misses"]["2_step"]["count"] == 0
    for turn in latent_rotations(oracle, frames=12, starts=4).values():
        folded = [min(a, 2 * math.pi - a) for a in turn["true_angle"]]
        assert turn["latent_angle"] == pytest.approx(folded, abs=1e-3)
        assert max(turn["turn_error"]) < 1e-5 and max(turn["distance_to_truth"]) < 1e-3
    # Mixing the latent's vectors keeps it equivariant (z -> M z commutes with z -> z g^T); mixing
    # their coordinates (z -> z M) does not.
    mix = torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.2, 0.0, 1.0]])[:space.dim, :space.dim]
    oracle.known_poses = oracle.known_poses @ mix
    assert evaluate(oracle, trajectories=n, steps=steps, seed=seed)["ee"] == pytest.approx(0.0, abs=1e-5)
    oracle.known_poses = mix.T @ oracle.known_poses
    assert evaluate(oracle, trajectories=n, steps=steps, seed=seed)["ee"] > 0.05


def test_the_commands_train_and_evaluate_end_to_end(tmp_path, capsys):
    run = tmp_path / "run"
    words = ["transitions=128", "epochs=1", "size=16", "batch_size=64", "channels=8", "hidden=32"]
    assert main(["equivariance", "train", "--out", str(run), "--quiet", *words]) == 0
    assert "Hits@1" in capsys.readouterr().out
    assert main(["equivariance", "train", "--out", str(run), "--quiet", *words]) == 2  # no overwrite without --force
    assert "--force" in capsys.readouterr().err
    assert main(["equivariance", "evaluate", str(run), "trajectories=20", "steps=2"]) == 0
    result = json.loads((run / "evaluation" / "evaluation.json").read_text())
    assert result["steps"] == 2 and (run / "evaluation" / "latent_rotations.png").stat().st_size > 0
    assert set(result["per_action"]) <= set(result["actions"]) and len(result["actions"]) == 6
    assert sum(entry["trajectories"] for entry in result["per_action"].values()) == 20
    # Restricted to the actions a model trained on the positive turns never saw; per action, Hits@1 averages back.
    out = tmp_path / "unseen"
    assert main(["equivariance", "evaluate", str(run), "trajectories=30", "steps=2", "actions=[pitch-,roll-]",
                 "--out", str(out)]) == 0
    result = json.loads((out / "evaluation.json").read_text())
    assert result["actions"] == ["pitch-", "roll-"] and set(result["per_action"]) == {"pitch-", "roll-"}
    weighted = sum(e["trajectories"] * e["hits@1_1_step"] for e in result["per_action"].values()) / 30
    assert weighted == pytest.approx(result["1_step_pessimistic"]["hits@1"])
    printed = capsys.readouterr().out
    assert "first action" in printed and "Hits@1 among 10 / 30 candidates" in printed
    # Hits@1 among fewer candidates falls back to the evaluation's own at its 30; what the misses were taken for.
    assert result["candidates"]["sizes"] == [10, 30]
    assert result["candidates"]["hits@1_1_step"]["30"] == pytest.approx(result["1_step_pessimistic"]["hits@1"])
    assert result["misses"]["1_step"]["count"] == round(30 * (1 - result["1_step_pessimistic"]["hits@1"]))
    assert (out / "misses.png").stat().st_size > 0


@pytest.mark.parametrize("words, needle", [
    (["train", "transition=conv"], "transition must be one of"),
    (["train", "size=20"], "multiple of 16"),
    (["train", "train_actions=[spin]"], "unknown action"),
    (["evaluate", "{teapot}", "actions=[spin]"], "unknown action"),
    (["evaluate", "{teapot}", "actions=[]"], "actions must be a list"),
    (["train", "domain=arm", "train_actions=[pitch+]"], "actions of the arm"),
    (["train", "negatives=pairs"], "negatives must be one of"),
    (["train", "loss=triplet"], "loss must be one of"),
    (["train", "domain=planar_arm", "vectors=2", "twist_negatives=true"], "planar"),
    (["train", "twist_negatives=perhaps"], "twist_negatives"),
    (["train", "twist_negatives=true", "loss=infonce"], "does not go with"),
    (["train", "loss=supervised", "vectors=2"], "vectors = 3"),
    (["train", "loss=supervised", "transition=none"], "matmul"),
    (["train", "domain=planar_arm", "loss=supervised", "vectors=3"], "vectors = 2"),
    (["train", "margin=inf"], "positive finite"),
    (["train", "domain=octopus"], "domain must be one of"),
    (["evaluate", "{missing}"], "does not exist"),
    (["evaluate", "{garbage}"], "model.pt is not a PyTorch file"),
    (["evaluate", "{run}", "trajectories=1"], "trajectories must be an integer >= 2"),
])
def test_bad_input_is_one_line_and_status_two(words, needle, tmp_path, capsys):
    garbage = tmp_path / "model.pt"
    garbage.write_bytes(b"not a model")
    teapot = Path(__file__).resolve().parents[2] / "pretrained" / "equivariance" / "teapot_sen.pt"
    words = [w.format(missing=tmp_path / "nothing.pt", garbage=garbage, run=tmp_path, teapot=teapot) for w in words]
    assert main(["equivariance", *words, "--out", str(tmp_path / "out")] if words[0] == "train" else
                ["equivariance", *words]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_what_the_misses_were_taken_for_by_hand():
    # Four poses of one SO(3) joint: T (a quarter turn about the world's z), T turned 10 degrees about the world's z,
    # T turned a half turn about its own (body) x axis, and T turned 150 degrees about body x. Rows 1 and 2 miss,
    # both taken for row 0: row 1 10 degrees from it (its nearest pose), row 2 a body half turn, 180 degrees, about
    # x in the body frame though T's x axis points along the world's y; row 2's nearest pose is row 3, 30 degrees.
    truth = Rotation.from_euler("z", 90, degrees=True)
    poses = [truth, Rotation.from_euler("z", 10, degrees=True) * truth,
             truth * Rotation.from_euler("x", 180, degrees=True), truth * Rotation.from_euler("x", 150, degrees=True)]
    matrices = torch.tensor(np.stack([r.as_matrix() for r in poses]))[:, None]  # (4, 1, 3, 3)
    result = misses(torch.tensor([True, False, False, True]), torch.tensor([1, 0, 0, 0]), matrices)
    assert result["count"] == 2
    assert result["each"]["rival"] == pytest.approx([10.0, 180.0], abs=1e-6)
    assert result["each"]["nearest"] == pytest.approx([10.0, 30.0], abs=1e-6)
    assert result["nearest"] == pytest.approx({"all": 20.0, "missed": 20.0}, abs=1e-6)  # of 10, 10, 30, 30
    assert result["rival"]["median"] == pytest.approx(95.0, abs=1e-6)
    assert result["rival"]["max"] == pytest.approx(180.0, abs=1e-6)
    assert result["rival_is_nearest"] == 0.5
    # One confusion (more than 90 degrees), about the body's x axis (a world-frame reading would say y).
    assert result["body_axis"] == {"confusions": 1, "x": 1.0, "y": 0.0, "z": 0.0}
    assert np.abs(result["each"]["body_axis"][1]) == pytest.approx([1.0, 0.0, 0.0], abs=1e-6)
    none = misses(torch.ones(4, dtype=torch.bool), torch.tensor([1, 0, 0, 0]), matrices)
    assert none["count"] == 0 and "rival" not in none
    with pytest.raises(CogmapError, match="one value per pose"):
        misses(torch.ones(3, dtype=torch.bool), torch.tensor([1, 0, 0, 0]), matrices)


def test_the_equivariant_part_recovers_a_known_map_and_its_rank():
    # z_j = M_j R_j^T exactly: the residual is 0 and the singular values are M's own (numpy's SVD).
    import numpy as np

    from cogmap.worldmodels.train import equivariant_part

    poses = get_domain("arm").random_poses(300, torch.Generator().manual_seed(0))
    shoulder = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.02]], dtype=torch.float64)
    elbow = torch.tensor([[0.3, 0.6, 0.0], [0.6, 1.2, 0.0]], dtype=torch.float64)  # rank 1
    elbow = torch.cat([elbow, torch.zeros(1, 3, dtype=torch.float64)])
    z = torch.stack([shoulder @ poses[:, 0].transpose(-1, -2), elbow @ poses[:, 1].transpose(-1, -2)], 1)
    part = equivariant_part(z, poses)
    expected = np.linalg.svd(shoulder.numpy(), compute_uv=False)
    assert part["joint0"]["residual"] == pytest.approx(0.0, abs=1e-12)
    norm = float(torch.linalg.norm(shoulder))  # = ||z|| for every sample
    assert part["joint0"]["singular_values"] == pytest.approx((expected / norm).tolist(), abs=1e-12)
    assert part["joint0"]["rank"] == 2 and part["joint1"]["rank"] == 1
    # A latent that ignores the pose has no equivariant part: all of it is residual, rank 0.
    constant = equivariant_part(torch.ones(300, 2, 3, 3, dtype=torch.float64), poses)["joint0"]
    assert constant["residual"] == pytest.approx(1.0, abs=0.15) and constant["rank"] == 0


@pytest.mark.parametrize("negatives", ["sample", "joints"])
def test_the_contrastive_loss_by_hand(negatives):
    import numpy as np

    from cogmap.worldmodels import contrastive_loss

    model = WorldModel("matmul", size=16, vectors=1, domain="planar_arm")
    model.encode = lambda latents: latents  # hand the loss its latents directly
    rng = np.random.default_rng(0)
    z, z_next = rng.normal(size=(6, 2, 1, 2)) * 0.3, rng.normal(size=(6, 2, 1, 2)) * 0.3
    actions = np.array([0, 1, 2, 3, 0, 2])
    sigma, margin = 0.5, 1.0
    extra = rng.normal(size=(6, 2, 1, 2)) * 0.3  # the latents of one more negative per sample
    seen = []

    def twist(latents):
        seen.append(latents)
        return torch.tensor(extra, dtype=torch.float32)

    loss, parts = contrastive_loss(model, torch.tensor(z, dtype=torch.float32), torch.tensor(z_next, dtype=torch.float32),
                                   torch.tensor(actions), sigma, margin, torch.Generator().manual_seed(7), negatives,
                                   twist=twist)
    assert np.allclose(seen[0].numpy(), z_next) and not seen[0].requires_grad  # it is handed the next latents
    shuffle = torch.randperm(6, generator=torch.Generator().manual_seed(7)).numpy()
    step = 30 * np.pi / 180
    positive, negative = 0.0, 0.0
    for i in range(6):
        joint = actions[i] // 2
        angle = step if actions[i] % 2 == 0 else -step
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        predicted = z[i].copy()
        predicted[joint, 0] = rotation @ z[i, joint, 0]
        positive += ((predicted - z_next[i]) ** 2).sum() / (2 * sigma ** 2) / 6
        for other in (z[shuffle[i]], extra[i]):
            per_joint = ((other - z_next[i]) ** 2).sum(axis=(1, 2)) / (2 * sigma ** 2)
            if negatives == "sample":
                negative += max(0.0, margin - per_joint.sum()) / 6
            else:
                negative += np.maximum(0.0, margin - per_joint).mean() / 6
    assert parts["positive"] == pytest.approx(positive, rel=1e-5)
    assert parts["negative"] == pytest.approx(negative, rel=1e-5)
    assert float(loss) == pytest.approx(positive + negative, rel=1e-5)


@pytest.mark.parametrize("negatives", ["sample", "joints"])
def test_the_infonce_loss_by_hand(negatives):
    import numpy as np

    from cogmap.worldmodels import contrastive_loss

    model = WorldModel("matmul", size=16, vectors=1, domain="planar_arm")
    model.encode = lambda latents: latents
    rng = np.random.default_rng(1)
    z, z_next = rng.normal(size=(5, 2, 1, 2)), rng.normal(size=(5, 2, 1, 2))
    actions = np.array([1, 0, 3, 2, 1])
    sigma = 0.7
    loss, parts = contrastive_loss(model, torch.tensor(z, dtype=torch.float32), torch.tensor(z_next, dtype=torch.float32),
                                   torch.tensor(actions), sigma, negatives=negatives, loss="infonce")
    step = 30 * np.pi / 180
    predicted = z.copy()
    for i, a in enumerate(actions):
        angle = step if a % 2 == 0 else -step
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        predicted[i, a // 2, 0] = rotation @ z[i, a // 2, 0]
    blocks = [slice(0, 1), slice(1, 2)] if negatives == "joints" else [slice(0, 2)]
    expected = []
    for block in blocks:
        candidates = np.concatenate([z_next, z])[:, block]
        cross_entropy = 0.0
        for i in range(5):
            energies = ((predicted[i, block] - candidates) ** 2).sum(axis=(1, 2, 3)) / (2 * sigma ** 2)
            cross_entropy += (energies[i] + np.log(np.exp(-energies).sum())) / 5
        expected.append(cross_entropy)
    assert float(loss) == pytest.approx(np.mean(expected), rel=1e-5)
    # A latent that ignores the pose cannot rank its own next latent first: the loss is log(2B).
    same = torch.ones(5, 2, 1, 2)
    flat, _ = contrastive_loss(model, same, same, torch.zeros(5, dtype=torch.long), sigma, loss="infonce")
    assert float(flat) == pytest.approx(math.log(10), rel=1e-5)


def test_twisted_poses_are_the_ones_a_rank_one_latent_confuses():
    from cogmap.worldmodels.model import twist_poses

    generator = torch.Generator().manual_seed(3)
    poses = so3.random(40, generator, dtype=torch.float64).reshape(20, 2, 3, 3)
    body = torch.nn.functional.normalize(torch.randn(2, 3, generator=generator, dtype=torch.float64), dim=-1)
    pointing = torch.einsum("bjde,je->bjd", poses, body)  # where each joint's body axis points
    scales = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    latent = scales[None, None, :, None] * pointing[:, :, None, :]  # (B, J, 3, 3): rank 1, rows parallel
    twisted = twist_poses(latent, poses, torch.Generator().manual_seed(4))
    # The latent, turned with the twisted pose, is the latent of the pose itself...
    assert torch.allclose(torch.einsum("bjde,je->bjd", twisted, body), pointing, atol=1e-10)
    # ...though the pose is another: turned by at least the smallest angle (45 degrees).
    angles = so3.distance(twisted.reshape(-1, 3, 3), poses.reshape(-1, 3, 3))
    assert bool((angles >= math.pi / 4 - 1e-9).all()) and bool((angles <= math.pi + 1e-9).all())
    assert torch.allclose(twisted @ twisted.transpose(-1, -2), torch.eye(3, dtype=torch.float64).expand(20, 2, 3, 3))
    # Planar joints have no turn that keeps a vector: their poses come back as they are.
    planar = get_domain("planar_arm").random_poses(4, generator)
    assert torch.equal(twist_poses(torch.ones(4, 2, 1, 2), planar), planar)


def test_an_interrupted_world_model_run_resumes_to_the_same_bytes(tmp_path, monkeypatch):
    import csv
    import importlib

    training = importlib.import_module("cogmap.worldmodels.train")  # the module; cogmap.worldmodels.train is its function

    config = load_world_model_config(None, ["transitions=96", "epochs=3", "size=16", "batch_size=32", "channels=4",
                                            "hidden=16", "progress=false"])
    training.train(config, tmp_path / "whole")
    real = training.EpochShuffle.__iter__

    class MachineDown(Exception):
        pass

    def cut(sampler):  # the machine goes down as the third epoch starts
        if sampler.epoch == 2:
            raise MachineDown
        return real(sampler)

    monkeypatch.setattr(training.EpochShuffle, "__iter__", cut)
    with pytest.raises(MachineDown):
        training.train(config, tmp_path / "cut")
    assert (tmp_path / "cut" / "checkpoints" / "resume.ckpt").is_file()  # kept: there is something to resume
    assert not (tmp_path / "cut" / "checkpoints" / "model.pt").exists()
    monkeypatch.setattr(training.EpochShuffle, "__iter__", real)
    with pytest.raises(CogmapError, match="already holds a run"):
        training.train(config, tmp_path / "cut")
    with pytest.raises(CogmapError, match="differs from the run's in lr"):
        training.train(dataclasses.replace(config, lr=0.5), tmp_path / "cut", resume=True)
    training.train(config, tmp_path / "cut", resume=True)
    whole, resumed = (torch.load(tmp_path / run / "checkpoints" / "model.pt", weights_only=True)["state"]
                      for run in ("whole", "cut"))
    assert whole.keys() == resumed.keys() and all(torch.equal(whole[k], resumed[k]) for k in whole)
    rows = [list(csv.DictReader(open(tmp_path / run / "metrics.csv"))) for run in ("whole", "cut")]
    assert [r["train/loss"] for r in rows[0]] == [r["train/loss"] for r in rows[1]] and len(rows[0]) == 3
    # each epoch draws its own shuffle
    sampler = training.EpochShuffle(10, seed=0)
    first = list(sampler)
    sampler.set_epoch(1)
    assert sorted(first) == sorted(sampler) == list(range(10)) and first != list(sampler)


def test_each_process_of_a_multi_process_run_takes_a_disjoint_share_of_the_same_epoch():
    from cogmap.worldmodels.train import EpochShuffle

    alone = EpochShuffle(11, seed=5)
    shares = [EpochShuffle(11, seed=5, rank=r, world=3) for r in range(3)]
    for epoch in (0, 4):
        for sampler in (alone, *shares):
            sampler.set_epoch(epoch)
        order = list(alone)
        assert [list(s) for s in shares] == [order[0::3], order[1::3], order[2::3]]
        assert sorted(i for s in shares for i in s) == list(range(11)) and [len(s) for s in shares] == [4, 4, 3]
    with pytest.raises(CogmapError, match="rank must be in"):
        EpochShuffle(11, seed=5, rank=3, world=3)
    with pytest.raises(CogmapError, match="set strategy=ddp"):
        WorldModelConfig(devices=2)
    with pytest.raises(CogmapError, match="less than one batch"):
        WorldModelConfig(devices=2, strategy="ddp", transitions=100, batch_size=64)


@pytest.mark.slow
def test_two_processes_train_one_world_model_with_one_row_of_metrics_per_epoch(tmp_path):
    # DDP on two CPU processes (gloo): each takes half of every epoch, the first writes the files.
    import os
    import subprocess
    import sys

    from cogmap.worldmodels.train import load_world_model

    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_PORT": str(free_port())}
    command = [sys.executable, "-m", "cogmap", "equivariance", "train", "domain=planar_arm", "transitions=64",
               "batch_size=8", "epochs=2", "size=16", "devices=2", "strategy=ddp", "--out", "run", "--quiet"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "run"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["model.pt", "resume.ckpt"]
    rows = (run / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 and [r.split(",")[-1] for r in rows[1:]] == ["0", "1"]  # one row per epoch
    saved = torch.load(run / "checkpoints" / "resume.ckpt", weights_only=False)
    assert saved["global_step"] == 2 * (64 // 2 // 8)  # each process: half the transitions, 4 batches an epoch
    assert result.stdout.count("quick check") == 1
    assert load_world_model(run).config.devices == 2

