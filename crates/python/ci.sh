#!/usr/bin/env bash
# The Python package in CI (called by .ci/run after `cargo test --workspace`, whose
# target/debug/cella the tests compare against): a venv under target/ (made once, reused),
# maturin, pytest, numpy and ray installed by pip when missing, the wheel built in the dev
# profile (optimised, and it reuses the artifacts of `cargo test`), installed, and its tests
# run: kinematics against ../shared/robot-data, cells, planning, studies, and the example
# study on a local two-node Ray cluster with a worker node killed.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/python/venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# a no-op (no download) when they are installed
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "maturin>=1.9,<2" "pytest>=7" "numpy>=1.23" "ray>=2.9"
rm -rf target/python/wheels
"$venv/bin/maturin" build --quiet -m crates/python/Cargo.toml --profile dev --interpreter "$venv/bin/python" \
  --out target/python/wheels
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
  target/python/wheels/*.whl
CELLA_BIN="$PWD/target/debug/cella" "$venv/bin/pytest" -q crates/python/python/tests
