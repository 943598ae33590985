"""Shared paths of the Python tests. The reference data in ../shared next to the clone is test
truth: the tests that need it fail, never skip, when it is absent."""

import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[4]
SHARED = REPO.parent / "shared"
ROBOT_DATA = SHARED / "robot-data"
EXAMPLE_STUDY = REPO / "examples" / "study_two_robots" / "STUDY.toml"


@pytest.fixture(scope="session")
def robot_data():
    if not (ROBOT_DATA / "manifest.json").is_file():
        pytest.fail(f"the tests need {ROBOT_DATA} (the shared robot data next to the clone)")
    return ROBOT_DATA


@pytest.fixture(scope="session")
def cella_bin():
    """The `cella` binary (CELLA_BIN, default target/debug/cella, which `cargo test` builds)."""
    path = pathlib.Path(os.environ.get("CELLA_BIN", REPO / "target" / "debug" / "cella"))
    if not path.is_file():
        pytest.fail(f"no cella binary at {path}: build it (cargo build) or set CELLA_BIN")
    return path
