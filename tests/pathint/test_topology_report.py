"""The persistent-homology report of a path integrator: its clouds, their references and its settings."""

import numpy as np
import pytest

from cogmap.errors import CogmapError
from cogmap.pathint.data import GenerationConfig
from cogmap.pathint.model import StateEstimationModel
from cogmap.pathint.topology import CLOUDS, progress_steps, topology_analysis, tuning_map

pytest.importorskip("ripser", reason="the topology extra is installed in CI (pip install 'cogmap[topology]')")


def test_tuning_map_is_the_mean_over_the_nearest_poses():
    rng = np.random.default_rng(0)
    poses = rng.normal(size=(200, 3))
    states = rng.normal(size=(200, 5))
    mapped = tuning_map(states, poses, 7)
    for i in (0, 57, 199):  # by brute force
        nearest = np.argsort(np.linalg.norm(poses - poses[i], axis=1), kind="stable")[:7]
        assert np.allclose(mapped[i], states[nearest].mean(axis=0))
    # A state that is a smooth function of the pose plus history noise: averaging keeps the
    # function and shrinks the noise.
    poses = rng.uniform(-1, 1, size=(4000, 2))
    signal = np.c_[np.sin(3 * poses[:, 0]), poses[:, 1]]
    noisy = signal + rng.normal(scale=0.5, size=signal.shape)
    assert np.abs(tuning_map(noisy, poses, 25) - signal).mean() < 0.4 * np.abs(noisy - signal).mean()
    with pytest.raises(CogmapError, match="nearest poses"):
        tuning_map(states[:5], poses[:5], 6)


def test_one_joint_at_a_time_the_poses_show_real_projective_space():
    generation = GenerationConfig(seq_len=6)
    model = StateEstimationModel(hidden=10, generation=generation.to_dict())
    steps = []

    class Bar:
        def update(self, n):
            steps.append(n)

    result = topology_analysis(model, n_trajectories=600, landmarks=60, max_dim=1, progress=Bar())
    assert sum(steps) == progress_steps(2) == 2 * len(CLOUDS)
    assert set(result.joints) == {"joint 1", "joint 2"} and result.arm == {}
    for joint in ("joint 1", "joint 2"):
        assert set(result.joints[joint]) == set(CLOUDS)
        pose = result.joints[joint]["pose"]
        # The moving joint's rotations: H1 of RP^3 is Z/2, invisible with Z/3 coefficients.
        assert pose[2].classes == {1: 1} and pose[3].classes == {1: 0}
    summary = result.to_json()
    assert summary["settings"]["landmarks"] == 60 and summary["whole arm"] == {}
    assert summary["one joint moving"]["joint 1"]["pose"]["Z/2"]["classes"] == {"H1": 1}


def test_the_whole_arm_only_and_bad_settings():
    generation = GenerationConfig(seq_len=4)
    model = StateEstimationModel(hidden=8, generation=generation.to_dict())
    arm = topology_analysis(model, n_trajectories=200, landmarks=0, arm_landmarks=40)
    assert arm.joints == {} and set(arm.arm) == set(CLOUDS)
    assert set(arm.arm["pose"][2].lifetimes) == {1}  # H1 only
    with pytest.raises(CogmapError, match="nothing to do"):
        topology_analysis(model, landmarks=0)
    with pytest.raises(CogmapError, match="at most the 100 states"):
        topology_analysis(model, n_trajectories=100, landmarks=101)
    with pytest.raises(CogmapError, match="landmarks must be an integer"):
        topology_analysis(model, landmarks=-1)
    box = GenerationConfig(manifold="box", joints=1)
    boxed = StateEstimationModel(hidden=8, velocity_dim=2, joints=1, cells=32, generation=box.to_dict())
    with pytest.raises(CogmapError, match="SO\\(3\\)"):
        topology_analysis(boxed)


@pytest.mark.slow
def test_the_shipped_grus_tuning_map_has_the_homology_of_rp3():
    # RESULTS.md, "Topology of the hidden states": joint 1's tuning map of the shipped GRU has one
    # class in each of H1-H3 with Z/2 and only H3's with Z/3, like the poses; its raw states none.
    from pathlib import Path

    from cogmap.pathint.model import load_path_integrator

    model = load_path_integrator(Path(__file__).resolve().parents[2] / "pretrained" / "so3x2_gru.ckpt")
    result = topology_analysis(model, joints=(0,), clouds=("trained tuning map", "trained network"))
    tuning = result.joints["joint 1"]["trained tuning map"]
    assert tuning[2].classes == {1: 1, 2: 1, 3: 1} and tuning[3].classes == {1: 0, 2: 0, 3: 1}
    assert result.joints["joint 1"]["trained network"][2].classes == {1: 0, 2: 0, 3: 0}
    with pytest.raises(CogmapError, match="clouds must be some of"):
        topology_analysis(model, clouds=("pose", "spikes"))
    with pytest.raises(CogmapError, match="joints must be indices"):
        topology_analysis(model, joints=(2,))
