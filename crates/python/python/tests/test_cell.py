"""Cell: built in code or from a cell file; check (validity and signed clearance of a batch),
plan (free, PTP, LIN; trajectories as arrays), retime, validate; errors with the field names
of the CLI and gRPC; the GIL released while planning."""

import json
import sys
import threading

import numpy as np
import pytest

import cella
from conftest import REPO

HOME_UR5E = np.array([0.0, -np.pi / 2, np.pi / 2, -np.pi / 2, -np.pi / 2, 0.0])


def arm_on_table():
    """A UR5e standing on a table top (z = 0.75), as in the cell crate's example."""
    cell = cella.Cell("one arm on a table", padding=0.0)
    cell.add_box("table", (0.5, 0.5, 0.375), (0.3, 0.0, 0.375))
    cell.add_robot("arm", "ur5e", xyz=(0.0, 0.0, 0.75), mounted_on="table")
    return cell


def arm_and_pillar():
    """A UR5e on the floor and a pillar 1 rad round from its home TCP, as far out: the
    straight joint motion turning the base 2 rad goes through it."""
    robot = cella.Robot("ur5e")
    tcp = robot.fk(HOME_UR5E)[:3, 3]
    r, azimuth = np.hypot(tcp[0], tcp[1]), np.arctan2(tcp[1], tcp[0]) + 1.0
    cell = cella.Cell("pillar")
    cell.add_box("pillar", (0.05, 0.05, 1.0), (r * np.cos(azimuth), r * np.sin(azimuth), 0.0))
    cell.add_robot("arm", "ur5e")
    goal = HOME_UR5E.copy()
    goal[0] += 2.0
    return cell, goal


def test_check_gives_validity_and_a_clearance_negative_exactly_in_collision():
    cell = arm_on_table()
    down = np.array([0.0, 0.3, 0.0, 0.0, 0.0, 0.0])  # the TCP under the table top
    valid, distance = cell.check("arm", np.stack([HOME_UR5E, down]))
    assert valid.dtype == bool and distance.shape == (2,)
    assert list(valid) == [True, False]
    assert distance[0] > 0 > distance[1]
    one_valid, one_distance = cell.check("arm", HOME_UR5E)
    assert one_valid is True and one_distance == distance[0]
    rng = np.random.default_rng(3)
    robot = cell.robot("arm")
    states = rng.uniform(np.maximum(robot.lower, -np.pi), np.minimum(robot.upper, np.pi), (300, 6))
    valid, distance = cell.check("arm", states)
    assert 0 < valid.sum() < len(valid)  # both kinds among them
    np.testing.assert_array_equal(valid, distance >= 0)
    # outside the joint limits: not valid
    beyond = HOME_UR5E.copy()
    beyond[2] = 4.0
    assert cell.check("arm", beyond)[0] is False


def test_a_free_motion_goes_around_the_pillar_and_validates():
    cell, goal = arm_and_pillar()
    with pytest.raises(cella.InCollision) as e:
        cell.plan("arm", goal, motion="ptp")
    assert any("pillar" in pair for pair in e.value.pairs)
    assert 0 < e.value.fraction < 1
    traj = cell.plan("arm", goal, motion="free", seed=7)
    assert traj.q.shape == (len(traj), 6) and traj.qd.shape == traj.qdd.shape == traj.q.shape
    assert traj.times[0] == 0 and np.all(np.diff(traj.times) > 0)
    np.testing.assert_array_equal(traj.q[0], HOME_UR5E)
    np.testing.assert_allclose(traj.q[-1], goal, atol=1e-9)
    assert traj.joint_names == cell.robot("arm").joint_names
    assert cell.validate("arm", traj)
    assert cell.robot("arm").validate(traj)
    valid, distance = cell.check("arm", traj.q)
    assert valid.all() and (distance > 0).all()
    # same seed, same trajectory
    again = cell.plan("arm", goal, motion="free", seed=7)
    np.testing.assert_array_equal(again.q, traj.q)


def test_ptp_to_a_tcp_pose_in_the_cell_frame_reaches_it():
    cell = cella.Cell.demo()
    kuka = cell.robot("kuka")
    base = cell.base("kuka")
    q_target = np.array([0.3, -1.3, 1.6, 0.2, 0.9, 0.1])
    target = base @ kuka.fk(q_target)
    traj = cell.plan("kuka", target, motion="ptp")
    reached = base @ kuka.fk(traj.q[-1])
    np.testing.assert_allclose(reached, target, atol=1e-7)
    assert cell.validate("kuka", traj)


def test_lin_keeps_the_tcp_on_the_line():
    cell = cella.Cell.demo()
    kuka = cell.robot("kuka")
    base = cell.base("kuka")
    start = base @ kuka.fk(cell.joints("kuka"))
    goal = start.copy()
    goal[:3, 3] += [0.0, 0.1, -0.15]
    traj = cell.plan("kuka", goal, motion="lin")
    a, b = start[:3, 3], goal[:3, 3]
    u = (b - a) / np.linalg.norm(b - a)
    for T in base @ kuka.fk(traj.q):
        p = T[:3, 3] - a
        assert np.linalg.norm(p - (p @ u) * u) < 1e-5
        np.testing.assert_allclose(T[:3, :3], start[:3, :3], atol=1e-6)
    np.testing.assert_allclose((base @ kuka.fk(traj.q[-1]))[:3, 3], b, atol=1e-6)


def test_retime_keeps_the_limits_and_validate_finds_what_breaks_them():
    robot = cella.Robot("ur5e")
    path = np.stack([HOME_UR5E, HOME_UR5E + [3.0, 0, 0, 0, 0, 0], HOME_UR5E + [3.0, 0.5, 0, 0, 0, 0]])
    traj = cella.retime(robot, path, max_deviation=0.0)
    assert traj.duration > 1.0
    np.testing.assert_allclose(traj.q[0], path[0], atol=1e-12)
    np.testing.assert_allclose(traj.q[-1], path[-1], atol=1e-9)
    assert robot.validate(traj) and cella.validate(robot, traj)
    # twice as fast: the velocity limit is broken
    fast = cella.Trajectory(traj.times / 2, traj.q, traj.qd * 2, traj.qdd * 4, traj.joint_names)
    verdict = robot.validate(fast)
    assert not verdict and verdict.sample is not None and verdict.reason
    # a path through the pillar keeps the limits but not the cell
    cell, goal = arm_and_pillar()
    through = robot.retime(np.stack([HOME_UR5E, goal]))
    assert robot.validate(through)
    verdict = cella.validate(cell, through, robot_id="arm")
    assert not verdict and "collision" in verdict.reason and "pillar" in verdict.reason


def test_trajectory_files_round_trip(tmp_path):
    cell, goal = arm_and_pillar()
    traj = cell.plan("arm", goal, seed=3)
    path = tmp_path / "t.json"
    traj.save(path)
    doc = json.loads(path.read_text())
    assert doc["joint_names"] == traj.joint_names
    assert set(doc["points"][0]) == {"t", "q", "qd", "qdd"}
    back = cella.Trajectory.load(path)
    np.testing.assert_array_equal(back.q, traj.q)
    np.testing.assert_array_equal(back.times, traj.times)


def test_an_object_may_keep_robots_further_away_than_the_cell_padding(tmp_path):
    """A sphere beyond the tool: free with the cell's padding, in collision once it asks for
    more clearance than it has; the padding survives a save and a load."""
    robot = cella.Robot("ur5e")
    tcp = robot.fk(HOME_UR5E)
    at = tcp[:3, 3] + tcp[:3, 2] * 0.25  # 25 cm along the tool axis
    clearances = []
    for padding in (0.0, 0.3):
        cell = cella.Cell("sphere", padding=0.0)
        cell.add_robot("arm", "ur5e")
        cell.add_sphere("fixture", 0.03, tuple(at), padding=padding)
        valid, distance = cell.check("arm", HOME_UR5E)
        clearances.append((valid, distance))
    assert clearances[0][0] is True and clearances[1][0] is False
    cell.save(tmp_path / "cell.toml")
    assert "padding = 0.3" in (tmp_path / "cell.toml").read_text()
    again = cella.Cell.from_file(tmp_path / "cell.toml")
    assert again.check("arm", HOME_UR5E)[0] is False
    with pytest.raises(cella.errors.InvalidInput) as e:
        cella.Cell("bad").add_sphere("s", 0.03, (0.0, 0.0, 1.0), padding=-0.1)
    assert e.value.field.endswith("padding")


def test_cells_from_files_and_text_are_the_same_cell(tmp_path):
    demo = cella.Cell.demo()
    from_file = cella.Cell.from_file(REPO / "cells" / "demo.toml")
    assert from_file.robots == demo.robots == ["ur5e", "kuka"]
    assert from_file.objects == demo.objects
    built = arm_on_table()
    built.save(tmp_path / "cell.toml")
    again = cella.Cell.from_file(tmp_path / "cell.toml")
    assert again.robots == ["arm"] and again.objects == ["table"]
    np.testing.assert_array_equal(again.base("arm"), built.base("arm"))


def test_errors_carry_the_field_names_of_the_cli_and_grpc():
    cell = arm_on_table()
    cases = [
        (dict(goal=HOME_UR5E, velocity_scale=2.0), cella.InvalidInput, "velocity_scale"),
        (dict(goal=HOME_UR5E, acceleration_scale=0.0), cella.InvalidInput, "acceleration_scale"),
        (dict(goal=HOME_UR5E, start=[0.0] * 5), cella.InvalidInput, "start"),
        (dict(goal=HOME_UR5E, time_budget=-1.0), cella.InvalidInput, "time_budget"),
        (dict(goal=HOME_UR5E, period=0.0), cella.InvalidInput, "period"),
        (dict(goal=HOME_UR5E, motion="circ"), cella.InvalidInput, "motion"),
        (dict(goal=[0.0] * 4), cella.InvalidInput, "goals[0]"),
        (dict(goal="nowhere"), cella.NotFound, "goals[0]"),
        (dict(goal=[0.0, 0.3, 0.0, 0.0, 0.0, 0.0]), cella.InCollision, "goals"),
    ]
    for kwargs, kind, field in cases:
        with pytest.raises(kind) as e:
            cell.plan("arm", **kwargs)
        assert e.value.field == field, (kwargs, e.value)
        assert isinstance(e.value, cella.CellaError)
    far = np.eye(4)
    far[:3, 3] = [5.0, 0.0, 1.0]
    with pytest.raises(cella.Unreachable) as e:
        cell.plan("arm", far)
    assert e.value.field == "goals" and isinstance(e.value, cella.Refused)
    with pytest.raises(cella.InCollision) as e:
        cell.plan("arm", HOME_UR5E, start=[0.0, 0.3, 0.0, 0.0, 0.0, 0.0])
    assert e.value.field == "start" and any("table" in p for p in e.value.pairs)
    with pytest.raises(cella.NotFound) as e:
        cell.plan("r2d2", HOME_UR5E)
    assert (e.value.field, e.value.kind, e.value.name) == ("robot_id", "robot", "r2d2")
    with pytest.raises(cella.InvalidInput) as e:
        cell.check("arm", np.zeros((3, 5)))
    assert e.value.field == "states"
    # the cell refuses an edit and stays as it was
    with pytest.raises(cella.InvalidInput) as e:
        cell.add_box("table", (0.1, 0.1, 0.1), (2.0, 0.0, 0.0))
    assert "objects[1]" in e.value.field
    with pytest.raises(cella.InvalidInput) as e:
        cell.add_sphere("ball", -0.1, (2.0, 0.0, 0.0))
    assert e.value.field == "objects[1] ('ball').radius"
    with pytest.raises(cella.InvalidInput) as e:
        cell.add_robot("second", "ur5e", xyz=(2.0, 0.0, 0.0), joints=[9.0] * 6)
    assert e.value.field == "robots[1] ('second').joints"
    assert cell.objects == ["table"] and cell.robots == ["arm"]
    with pytest.raises(cella.InvalidInput) as e:
        cella.Cell.from_toml("name = ")
    assert e.value.field == "cell"


def test_planning_releases_the_gil():
    """With a huge switch interval the GIL changes threads only when its holder releases it:
    the main thread runs while the planner works only if the planner released it."""
    cell, goal = arm_and_pillar()
    started, finished = threading.Event(), threading.Event()

    def plan():
        started.set()
        cell.plan("arm", goal, motion="free", seed=5)
        finished.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        worker = threading.Thread(target=plan)
        worker.start()
        started.wait()
        # the planner thread released the GIL inside plan(), or this line runs after it
        ran_while_planning = not finished.is_set()
        worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert ran_while_planning
    assert finished.is_set()
