"""Robot, fk, ik, jacobian on numpy arrays: FK against Pinocchio's reference poses
(../shared/robot-data/*/fk_reference*.json), IK -> FK round trips, the Jacobian against
finite differences of FK, errors naming the argument."""

import json

import numpy as np
import pytest

import cella

# bundled robot -> (robot-data directory, reference file): the same base_link -> tool0 chain
BUNDLED_REFERENCES = {
    "ur5e": ("ur5e", "fk_reference.json"),
    "kuka_kr6_r700": ("kuka_kr6_r700_sixx", "fk_reference.json"),
    "abb_irb2400": ("abb_irb2400", "fk_reference.json"),
    "fanuc_lrmate200id": ("fanuc_lrmate200id", "fk_reference.json"),
    "staubli_tx2_60": ("staubli_tx2_60", "fk_reference.json"),
}


def rotation(quat_xyzw):
    x, y, z, w = quat_xyzw
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def references(robot_data):
    manifest = json.loads((robot_data / "manifest.json").read_text())
    for name, robot in manifest["robots"].items():
        for urdf in robot["urdfs"]:
            yield name, robot_data / robot["dir"], urdf


def check_against(robot, reference):
    assert robot.joint_names == reference["joint_names"]
    samples = reference["samples"]
    assert len(samples) == 10
    q = np.array([s["q"] for s in samples])
    poses = robot.fk(q)
    assert poses.shape == (10, 4, 4)
    for s, T in zip(samples, poses):
        np.testing.assert_allclose(T[:3, 3], s["position"], atol=1e-9)
        np.testing.assert_allclose(T[:3, :3], rotation(s["quaternion_xyzw"]), atol=1e-9)
        np.testing.assert_array_equal(T[3], [0, 0, 0, 1])
        # one state gives the same pose as the batch
        np.testing.assert_array_equal(robot.fk(np.array(s["q"])), T)


def test_fk_of_every_reference_urdf_matches_pinocchio(robot_data):
    checked = 0
    for _, directory, urdf in references(robot_data):
        reference = json.loads((directory / urdf["fk_reference"]).read_text())
        robot = cella.Robot.from_urdf(
            directory / urdf["file"], base=urdf["base_link"], tip=urdf["tip_link"]
        )
        check_against(robot, reference)
        checked += 1
    assert checked == 10


def test_fk_of_the_bundled_robots_matches_pinocchio(robot_data):
    for name, (directory, file) in BUNDLED_REFERENCES.items():
        robot = cella.Robot(name)
        assert robot.tcp_frame == "tool0" and robot.base_link == "base_link", name
        check_against(robot, json.loads((robot_data / directory / file).read_text()))


@pytest.mark.parametrize("name", cella.Robot.bundled())
def test_ik_solutions_reach_the_fk_pose_and_the_nearest_is_the_seed(name):
    robot = cella.Robot(name)
    rng = np.random.default_rng(7)
    lower, upper = np.maximum(robot.lower, -np.pi), np.minimum(robot.upper, np.pi)
    analytic = robot.solver != "numerical"
    tolerance = 1e-9 if analytic else 1e-6
    for _ in range(50):
        q = rng.uniform(lower + 0.05, upper - 0.05)
        T = robot.fk(q)
        solutions = robot.ik(T, seed=q)
        assert solutions.ndim == 2 and solutions.shape[1] == robot.dof
        assert len(solutions) >= 1
        for s in solutions:
            assert np.all(s >= robot.lower - 1e-12) and np.all(s <= robot.upper + 1e-12)
            reached = robot.fk(s)
            np.testing.assert_allclose(reached[:3, 3], T[:3, 3], atol=tolerance)
            np.testing.assert_allclose(reached[:3, :3], T[:3, :3], atol=tolerance)
        if analytic:
            # every configuration is found: the seed's own is first (to 1e-5 rad: near the
            # elbow singularity a joint is ill-conditioned while the pose matches to 1e-9)
            np.testing.assert_allclose(solutions[0], q, atol=1e-5)


def test_a_pose_as_seven_values_is_the_same_pose(robot_data):
    robot = cella.Robot("ur5e")
    reference = json.loads((robot_data / "ur5e" / "fk_reference.json").read_text())
    for s in reference["samples"][1:4]:
        T = np.eye(4)
        T[:3, :3] = rotation(s["quaternion_xyzw"])
        T[:3, 3] = s["position"]
        a = robot.ik(T, seed=s["q"])
        b = robot.ik(np.concatenate([s["position"], s["quaternion_xyzw"]]), seed=s["q"])
        assert len(a) >= 1
        np.testing.assert_allclose(a, b, atol=1e-9)
        # the reference state is among the solutions (up to whole turns of a joint)
        d = np.abs(np.angle(np.exp(1j * (a - np.array(s["q"])))))
        assert d.max(axis=1).min() < 1e-6


def test_a_pose_out_of_reach_has_no_solution():
    robot = cella.Robot("ur5e")
    T = np.eye(4)
    T[:3, 3] = [5.0, 0.0, 0.0]
    solutions = robot.ik(T)
    assert solutions.shape == (0, 6)


def test_the_jacobian_is_the_derivative_of_fk():
    robot = cella.Robot("kuka_kr6_r700")
    q = np.array([0.3, -1.2, 1.1, 0.4, 0.9, -0.2])
    J = robot.jacobian(q)
    assert J.shape == (6, 6)
    h = 1e-6
    for j in range(6):
        dq = np.zeros(6)
        dq[j] = h
        Tp, Tm = robot.fk(q + dq), robot.fk(q - dq)
        v = (Tp[:3, 3] - Tm[:3, 3]) / (2 * h)
        np.testing.assert_allclose(J[:3, j], v, atol=1e-6)
        # angular velocity: the skew part of dR Rᵀ
        W = (Tp[:3, :3] - Tm[:3, :3]) / (2 * h) @ robot.fk(q)[:3, :3].T
        np.testing.assert_allclose(J[3:, j], [W[2, 1], W[0, 2], W[1, 0]], atol=1e-6)
    batch = robot.jacobian(np.stack([q, q]))
    assert batch.shape == (2, 6, 6)
    np.testing.assert_array_equal(batch[1], J)


def test_bad_arguments_name_the_field():
    robot = cella.Robot("ur5e")
    with pytest.raises(cella.InvalidInput) as e:
        robot.fk([0.0] * 5)
    assert e.value.field == "q"
    assert isinstance(e.value, ValueError)
    with pytest.raises(cella.InvalidInput) as e:
        robot.fk([0.0, 0.0, 0.0, float("nan"), 0.0, 0.0])
    assert e.value.field == "q[3]"
    with pytest.raises(cella.InvalidInput) as e:
        robot.ik(np.eye(3))
    assert e.value.field == "pose"
    with pytest.raises(cella.InvalidInput) as e:
        robot.ik([0, 0, 0, 0, 0, 0, 2.0])  # quaternion of norm 2
    assert e.value.field == "pose"
    with pytest.raises(cella.InvalidInput) as e:
        robot.ik(np.eye(4), seed=[0.0, 1.0])
    assert e.value.field == "seed"
    with pytest.raises(cella.NotFound) as e:
        cella.Robot("r2d2")
    assert (e.value.kind, e.value.name, e.value.field) == ("robot", "r2d2", "robot")
    assert isinstance(e.value, LookupError)
