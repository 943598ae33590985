"""Studies from Python: the engine of `cella study`, the same results from the CLI, from one
call and from variants evaluated apart (as Ray tasks do), the report and its data."""

import json
import subprocess
import sys

import numpy as np
import pytest

import cella
import cella.study
from conftest import EXAMPLE_STUDY

SMALL = """
name = "UR5e on the floor: how far from the bin?"
seed = 1
[sampling]
method = "grid"
[parameters]
bin_x = { range = [0.3, 1.5], steps = 2 }
[cell]
name = "floor"
[[cell.robots]]
id = "ur5e"
model = "ur5e"
base = { xyz = [0.0, 0.0, 0.0] }
[targets]
bin = { xyz = ["$bin_x", 0.2, 0.2], rpy = [3.141592653589793, 0.0, 0.0] }
[task]
[[task.stages]]
name = "to the bin and back"
ur5e = [{ ptp = "bin" }, { dwell = 0.5 }, { ptp = "home" }]
"""


@pytest.fixture(scope="module")
def example():
    """The worked example, run once on local threads: (study, results document text)."""
    study = cella.Study(EXAMPLE_STUDY)
    return study, cella.study.run_local(study, threads=2, progress=False)


def test_a_small_grid_study_ranks_the_reachable_variant_first():
    study = cella.Study.from_text(SMALL)
    assert len(study) == 2 and study.method == "grid" and study.objective == "cycle_time"
    results = json.loads(study.evaluate_json())
    near, far = results
    assert near["parameters"] == {"bin_x": 0.3} and far["parameters"] == {"bin_x": 1.5}
    assert near["feasible"] and near["reachable"] and near["collision_free"]
    # two motions and a 0.5 s dwell
    assert near["cycle_time"] > 0.5
    kinds = [m["kind"] for m in near["motions"]]
    assert kinds == ["ptp", "dwell", "ptp"]
    assert sum(m["duration"] for m in near["motions"]) == pytest.approx(near["cycle_time"])
    # 1.5 m is beyond the UR5e's reach
    assert not far["reachable"] and far["unreachable"] == ["ur5e: bin"]
    assert far["failure"]["kind"] == "unreachable"
    document = json.loads(study.rank_json(json.dumps(results)))
    assert document["format"] == "cella-study-results/v1"
    assert document["ranking"] == [0, 1]


def test_each_variant_gives_the_same_result_evaluated_alone(example):
    study, text = example
    document = json.loads(text)
    assert len(document["results"]) == len(study) == 24
    assert document["ranking"][0] == min(
        (r for r in document["results"] if r["feasible"]), key=lambda r: r["cycle_time"]
    )["index"]
    alone = json.loads(study.evaluate_json([17, 5], threads=1))
    assert [r["index"] for r in alone] == [17, 5]
    assert alone[0] == document["results"][17] and alone[1] == document["results"][5]
    # the same study from its portable text (what a Ray worker reads)
    remote = cella.Study.from_text(study.portable_text, str(EXAMPLE_STUDY.parent))
    assert json.loads(remote.evaluate_json([5]))[0] == document["results"][5]


def test_the_cli_writes_the_same_results_and_a_report(example, cella_bin, tmp_path):
    study, text = example
    out, html = tmp_path / "results.json", tmp_path / "report.html"
    run = subprocess.run(
        [cella_bin, "study", EXAMPLE_STUDY, "--out", out, "--html", html, "--top", "5"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert out.read_text() == text
    table = run.stdout.splitlines()
    assert table[:6] == study.table(text, 5)
    # the report: self-contained, the ranking and the best variant's data beside it
    page = html.read_text()
    best = json.loads(text)["ranking"][0]
    assert f"Best variant: {best}" in page and "<svg" in page and "<script" not in page
    data = tmp_path / "report_best"
    cell = cella.Cell.from_file(data / "cell.toml")
    assert cell.robots == ["ur5e", "kuka"]
    cycle = json.loads(text)["results"][best]["cycle_time"]
    for robot_id in cell.robots:
        traj = cella.Trajectory.load(data / f"{robot_id}.trajectory.json")
        assert traj.duration == pytest.approx(cycle)
        assert cell.robot(robot_id).validate(traj)
        # where the robot stands in the variant: its TCP reaches the belt in the cycle
        tcp = (cell.base(robot_id) @ cell.robot(robot_id).fk(traj.q))[:, :3, 3]
        assert np.min(np.hypot(tcp[:, 0] - 0.0, tcp[:, 1] + 0.15)) < 1e-3


def test_python_m_cella_study_runs_locally(tmp_path):
    out = tmp_path / "r.json"
    run = subprocess.run(
        [sys.executable, "-m", "cella.study", EXAMPLE_STUDY, "--out", out, "--threads", "2"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "variants feasible" in run.stdout
    assert json.loads(out.read_text())["study"].startswith("KUKA KR 6 R700 and UR5e")


def test_study_mistakes_are_errors_naming_the_field():
    with pytest.raises(cella.InvalidInput) as e:
        cella.Study.from_text(SMALL.replace('"$bin_x"', '"$bin_y"'))
    assert e.value.field == "targets.bin.xyz[0]"
    with pytest.raises(cella.InvalidInput) as e:
        cella.Study.from_text(SMALL.replace('method = "grid"', 'method = "sobol"'))
    assert e.value.field == "study"
    study = cella.Study.from_text(SMALL)
    one = study.evaluate_json([0])
    with pytest.raises(cella.InvalidInput) as e:
        study.rank_json(one)
    assert e.value.field == "results"
    with pytest.raises(cella.InvalidInput) as e:
        study.evaluate_json([2])
    assert e.value.field == "indices"
    document = json.loads(study.rank_json(study.evaluate_json()))
    document["ranking"] = [0, 0]
    with pytest.raises(cella.InvalidInput) as e:
        study.table(json.dumps(document))
    assert e.value.field == "results" and "ranking" in e.value.reason
