"""The shipped world models (pretrained/equivariance, seed 0 of each row of RESULTS.md) load in one call and score
their recorded figures; and across them, what the seed claims: the equivariant model's latent turns with the body,
the baseline's does not, and only the equivariant model predicts the effect of actions it never saw."""

import functools
from pathlib import Path

import pytest

from cogmap.worldmodels import evaluate, load_world_model
from tests.manifest import recorded, shipped
from tests.tiers import tiered

PRETRAINED = Path(__file__).resolve().parents[2] / "pretrained" / "equivariance"

# RESULTS.md, "the shipped models": evaluate(model, trajectories=200, steps=10), seed 12345, i.e.
#   cogmap equivariance evaluate pretrained/equivariance/NAME.pt trajectories=200
# (Hits@1 in %, pessimistic ties, at 1 and 10 steps; EE), recorded in pretrained/manifest.json.
RECORDED = {name: tuple(recorded(f"equivariance/{name}.pt")[key] for key in ("hits@1_1_step", "hits@1_10_steps", "ee"))
            for name in shipped("equivariance")}


@functools.cache
def _evaluation(name: str) -> dict:
    return evaluate(load_world_model(PRETRAINED / f"{name}.pt"), trajectories=200, steps=10)


@pytest.mark.parametrize("name", tiered(sorted(RECORDED), fast=["teapot_sen_twist", "arm_sen", "shapes_up_sen"]))
def test_a_shipped_world_model_scores_its_recorded_figures(name):
    result = _evaluation(name)
    one, ten, ee = RECORDED[name]
    # The evaluation is seeded: only floating-point differences between machines move these.
    assert 100 * result["1_step_pessimistic"]["hits@1"] == pytest.approx(one, abs=2.0)
    assert 100 * result["10_step_pessimistic"]["hits@1"] == pytest.approx(ten, abs=2.0)
    assert result["ee"] == pytest.approx(ee, rel=0.05, abs=1e-3)  # (0 for the grid world's equivariant models)


@pytest.mark.slow
def test_the_equivariant_latent_turns_with_the_body_and_the_baselines_does_not():
    for domain in ("teapot", "planar_arm", "arm"):
        assert _evaluation(f"{domain}_sen")["ee"] < 0.3 < 1.0 < _evaluation(f"{domain}_none")["ee"]


@pytest.mark.slow
def test_only_the_equivariant_model_predicts_actions_it_never_saw():
    # Trained on the three positive turns, evaluated on all six: the equivariant transition knows
    # the negative turns' rotations, the MLP has never been given their one-hot codes.
    sen, sen_positive = _evaluation("teapot_sen"), _evaluation("teapot_sen_positive")
    none, none_positive = _evaluation("teapot_none"), _evaluation("teapot_none_positive")
    hits = "10_step_pessimistic"
    assert sen_positive[hits]["hits@1"] > 0.5 * sen[hits]["hits@1"]
    assert none_positive[hits]["hits@1"] < 0.5 * none[hits]["hits@1"]
    assert sen_positive[hits]["hits@1"] > none_positive[hits]["hits@1"]


@pytest.mark.slow
def test_one_hinge_per_joint_makes_the_planar_arms_latent_keep_its_elbow():
    # With the seed's single hinge the planar arm's latent holds the shoulder only; with one hinge
    # per joint it holds both, and next-state prediction follows.
    plain, joints = _evaluation("planar_arm_sen"), _evaluation("planar_arm_sen_joints")
    assert plain["equivariant_part"]["joint1"]["residual"] > 0.9 > 0.3 > joints["equivariant_part"]["joint1"]["residual"]
    assert joints["equivariant_part"]["joint0"]["residual"] < 0.1
    assert joints["1_step_pessimistic"]["hits@1"] > 1.5 * plain["1_step_pessimistic"]["hits@1"]


@pytest.mark.slow
def test_twisted_negatives_on_a_unit_latent_keep_the_teapots_whole_pose():
    # The seed's loss leaves a rank-1 latent (one body axis); the supervised encoder shows the
    # pixels hold all three; negatives turned about the latent's own axis on a unit-norm latent
    # give it a second one (two directions fix a rotation) and stay as equivariant as SEN.
    sen, twist = _evaluation("teapot_sen"), _evaluation("teapot_sen_twist")
    ceiling = _evaluation("teapot_supervised")
    assert sen["equivariant_part"]["joint0"]["rank"] == 1
    assert twist["equivariant_part"]["joint0"]["rank"] >= 2 and ceiling["equivariant_part"]["joint0"]["rank"] == 3
    assert twist["ee"] < 0.1 and twist["equivariant_part"]["joint0"]["residual"] < 0.1
    for hits in ("1_step_pessimistic", "10_step_pessimistic"):
        assert twist[hits]["hits@1"] > 0.95 > sen[hits]["hits@1"]


@pytest.mark.slow
def test_the_complete_latent_predicts_the_unseen_turns_as_well_as_the_seen_ones():
    # Trained on the three positive turns only, the unit latent with turned negatives predicts ten
    # random turns of either sign as well as when trained on all six: the transition's rotation
    # matrices carry the negative turns; the baseline trained on the same half never learns them.
    full, positive = _evaluation("teapot_sen_twist"), _evaluation("teapot_sen_twist_positive")
    baseline = _evaluation("teapot_none_positive")
    hits = "10_step_pessimistic"
    assert positive[hits]["hits@1"] > 0.95 and positive[hits]["hits@1"] > full[hits]["hits@1"] - 0.03
    assert baseline[hits]["hits@1"] < 0.1
    assert positive["equivariant_part"]["joint0"]["rank"] >= 2 and positive["ee"] < 0.1


@pytest.mark.slow
def test_more_images_lift_the_arms_labelled_ceiling_but_no_model_finds_its_elbow():
    # Four times the images read both joints better with labels; the elbow stays far from
    # equivariant (residual > 0.7) even so, and without labels it has no equivariant part at all.
    def elbow(name):
        return _evaluation(name)["equivariant_part"]["joint1"]["residual"]

    ceiling, more = _evaluation("arm_supervised"), _evaluation("arm_supervised_40k")
    assert more["1_step_pessimistic"]["hits@1"] > ceiling["1_step_pessimistic"]["hits@1"] + 0.05
    assert elbow("arm_supervised_40k") < elbow("arm_supervised")
    for name in ("arm_supervised_40k", "arm_supervised_40k_wide"):
        assert 0.7 < elbow(name) < 0.85
    for name in ("arm_sen_joints", "arm_sen_joints_40k", "arm_sen_joints_twist"):
        assert elbow(name) > 0.95


@pytest.mark.slow
def test_on_the_grid_world_only_the_equivariant_models_predict_pushes_they_never_saw():
    # The seed's Table 2, 2-D shapes: trained on pushes up only, tested on all four directions after 10 pushes.
    # SEN's and Full's transitions turn a push up into the other three by construction; C-SWM's has never been
    # given their codes, and its latent, never shown an object move sideways, folds the grid's columns together.
    none, sen, full = (_evaluation(f"shapes_up_{kind}") for kind in ("none", "sen", "full"))
    hits = "10_step_pessimistic"
    assert sen[hits]["hits@1"] > 0.95 and full[hits]["hits@1"] > 0.9 and none[hits]["hits@1"] < 0.3
    assert sen["ee"] < 1e-3 and full["ee"] < 1e-3 < 0.1 < none["ee"]
    for sideways in ("right", "left"):
        assert sen["per_action"][sideways]["hits@1_1_step"] > 0.95 > 0.75 > none["per_action"][sideways]["hits@1_1_step"]


@pytest.mark.slow
def test_on_the_cubes_only_sen_keeps_ten_pushes_apart():
    # The seed's Table 2, 3-D cubes, seed 0: trained on pushes up, right and down. On 200 test trajectories (few
    # candidates, so all score higher than on RESULTS.md's 10,000) SEN still ranks the true state first after 10
    # pushes nearly always; the baseline's and this Full's (two of its slots share an object) fall behind.
    none, sen, full = (_evaluation(f"cubes_urd_{kind}") for kind in ("none", "sen", "full"))
    hits = "10_step_pessimistic"
    assert sen[hits]["hits@1"] > 0.97 > 0.92 > max(none[hits]["hits@1"], full[hits]["hits@1"])
    assert none["ee"] > 1.0 > 0.5 > max(sen["ee"], full["ee"])  # no model is exactly equivariant on the cubes
    assert sen["per_action"]["left"]["hits@1_10_step"] > 0.95 > 0.9 > none["per_action"]["left"]["hits@1_10_step"]


@pytest.mark.slow
def test_the_homeomorphic_vaes_rotation_is_not_the_teapots():
    # The seed's Table 1 baseline: its latent is a rotation by construction, but nothing makes it turn with the
    # teapot, so turning it by the action's rotation predicts nothing (the seed: Hits@1 0.9%, EE 2.41).
    vae, sen = _evaluation("teapot_vae"), _evaluation("teapot_sen_twist")
    assert vae["10_step_pessimistic"]["hits@1"] < 0.1 < 0.95 < sen["10_step_pessimistic"]["hits@1"]
    assert vae["ee"] > 1.0 > 0.1 > sen["ee"]
    assert vae["equivariant_part"]["joint0"]["residual"] > 0.9
