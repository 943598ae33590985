"""The example study on a real local Ray cluster: a head node and a worker node started with
`ray start` (each one CPU, each in its own process group), `python -m cella.study --ray`, the
worker node killed while it evaluates a chunk (SIGKILL to its process group: raylet and
services, and to the worker process running the task): the study completes by Ray's task
retries and writes the same bytes as the local run.

Needs `ray` (`pip install ray`; `.ci/run` installs it). Without it this test fails, it does
not skip: set CELLA_RAY_TESTS=0 to leave it out deliberately."""

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

import cella
import cella.study
from conftest import EXAMPLE_STUDY

if os.environ.get("CELLA_RAY_TESTS") == "0":
    pytest.skip("CELLA_RAY_TESTS=0: the Ray cluster test is left out", allow_module_level=True)

try:
    import ray  # noqa: F401
except ImportError:
    pytest.fail(
        "the Ray test needs ray (pip install ray), or CELLA_RAY_TESTS=0 to leave it out",
        pytrace=False,
    )

RAY = pathlib.Path(sys.executable).with_name("ray")
# bounds on waiting, so a broken cluster fails the test instead of hanging it (no timing is
# asserted: each bound is minutes above what the step takes)
READY = 120
STUDY = 600


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, condition, bound):
    end = time.monotonic() + bound
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"{what}: not within {bound} s")
        time.sleep(0.05)


def start_node(name, args, log):
    """`ray start --block ...` in its own process group, CELLA_NODE_NAME set for its tasks."""
    env = dict(os.environ, CELLA_NODE_NAME=name, RAY_USAGE_STATS_ENABLED="0")
    process = subprocess.Popen(
        [RAY, "start", "--block", "--num-cpus=1", "--node-ip-address=127.0.0.1", *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    return process


def kill_node(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


@pytest.fixture
def cluster():
    # a short directory: Ray's unix sockets live below it (107 characters at most)
    temp = pathlib.Path(tempfile.mkdtemp(prefix="cella-ray-", dir="/tmp"))
    port = free_port()
    address = f"127.0.0.1:{port}"
    head_log, worker_log = open(temp / "head.log", "w"), open(temp / "worker.log", "w")
    head = start_node(
        "head",
        ["--head", f"--port={port}", f"--temp-dir={temp}/r", "--include-dashboard=false"],
        head_log,
    )
    nodes = [head]
    try:
        started = lambda log: "Ray runtime started" in (temp / log).read_text()
        wait_for("the head node", lambda: started("head.log"), READY)
        worker = start_node("worker", [f"--address={address}"], worker_log)
        nodes.append(worker)
        wait_for("the worker node", lambda: started("worker.log"), READY)
        yield address, worker, temp
    finally:
        for node in reversed(nodes):
            kill_node(node)
        head_log.close()
        worker_log.close()
        shutil.rmtree(temp, ignore_errors=True)


def test_the_study_survives_a_killed_worker_and_matches_the_local_run(cluster, tmp_path):
    address, worker, temp = cluster
    local = cella.study.run_local(cella.Study(EXAMPLE_STUDY), threads=2, progress=False)
    trace = tmp_path / "trace"
    trace.mkdir()
    out, html = tmp_path / "ray.json", tmp_path / "report.html"
    study = subprocess.Popen(
        [
            sys.executable, "-m", "cella.study", str(EXAMPLE_STUDY),
            "--ray", address, "--out", str(out), "--html", str(html),
            "--chunk-size", "4", "--trace-dir", str(trace),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        on_worker = lambda: [p.name for p in trace.iterdir() if p.name.startswith("worker-")]
        wait_for("a chunk started on the worker node", on_worker, READY)
        _, pid, killed_chunk = on_worker()[0].split("-")
        # the node (raylet and its services: their process group) and the worker process
        # evaluating the chunk (Ray gives each worker a process group of its own)
        kill_node(worker)
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
        output, _ = study.communicate(timeout=STUDY)
    finally:
        if study.poll() is None:
            study.kill()
    assert study.returncode == 0, output
    # the chunk the dead node was evaluating ran again on the head node (Ray's retry)
    assert any(
        p.name.startswith("head-") and p.name.endswith(f"-{killed_chunk}") for p in trace.iterdir()
    ), sorted(p.name for p in trace.iterdir())
    # same seed, same results: the same bytes as the local run
    assert out.read_text() == local
    assert "Best variant" in html.read_text()
