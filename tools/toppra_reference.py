#!/usr/bin/env python3
"""Reference durations from TOPP-RA for the time-optimal trajectory test.

For a fixed set of random joint paths (6 and 7 axes, 3-12 waypoints, several blend
deviations and limit sets), this script builds the blended path geometry independently of
cella (straight segments joined by circular blends, Kunz & Stilman 2012 §IV: blend length
l = min(|seg_prev|/2, |seg_next|/2, delta sin(a/2) / (1 - cos(a/2))), radius l / tan(a/2)),
hands that exact geometry to TOPP-RA (toppra, Pham & Pham 2018) through its
AbstractGeometricPath interface, and writes TOPP-RA's time-optimal duration under the same
joint velocity and acceleration limits.

Run once (not a runtime dependency):

    python3 -m venv /tmp/toppra && /tmp/toppra/bin/pip install toppra
    /tmp/toppra/bin/python tools/toppra_reference.py \
        > crates/trajectory/tests/data/toppra_reference.json

Output: {"generator": ..., "cases": [{"name", "waypoints", "max_deviation", "velocity",
"acceleration", "length", "duration"}]}.
"""

import json
import sys

import numpy as np
import toppra as ta
import toppra.algorithm as algo
import toppra.constraint as constraint
from toppra.interpolator import AbstractGeometricPath


class BlendedPath(AbstractGeometricPath):
    """Lines joined by circular blends, parameterized by arc length."""

    def __init__(self, waypoints, max_deviation):
        w = np.asarray(waypoints, dtype=float)
        seg = np.diff(w, axis=0)
        lengths = np.linalg.norm(seg, axis=1)
        dirs = seg / lengths[:, None]
        n_pts = len(w)
        blend = np.zeros(n_pts)
        angle = np.zeros(n_pts)
        for k in range(1, n_pts - 1):
            u1, u2 = dirs[k - 1], dirs[k]
            a = 2.0 * np.arcsin(min(1.0, 0.5 * np.linalg.norm(u2 - u1)))
            angle[k] = a
            if a < 1e-9:
                continue
            l_dev = max_deviation * np.sin(a / 2) / (1 - np.cos(a / 2))
            blend[k] = min(0.5 * lengths[k - 1], 0.5 * lengths[k], l_dev)
        # pieces: ("line", s0, length, start, dir) or ("arc", s0, length, centre, x, y, r)
        self.pieces = []
        s = 0.0
        current = w[0].copy()
        for k in range(n_pts - 1):
            u = dirs[k]
            end = w[k + 1] - blend[k + 1] * u
            length = np.linalg.norm(end - current)
            if length > 1e-12:
                self.pieces.append(("line", s, length, current.copy(), u.copy()))
                s += length
            if blend[k + 1] > 0:
                u2 = dirs[k + 1]
                a = angle[k + 1]
                r = blend[k + 1] / np.tan(a / 2)
                bis = (u2 - u) / np.linalg.norm(u2 - u)
                centre = w[k + 1] + bis * r / np.cos(a / 2)
                x = (end - centre) / r
                self.pieces.append(("arc", s, r * a, centre, x, u.copy(), r))
                s += r * a
                current = w[k + 1] + blend[k + 1] * u2
            else:
                current = w[k + 1].copy()
        self.length = s
        self.n = w.shape[1]
        self.starts = np.array([p[1] for p in self.pieces])

    def boundaries(self):
        return [p[1] for p in self.pieces] + [self.length]

    def _one(self, s, order):
        k = max(0, min(len(self.pieces) - 1, np.searchsorted(self.starts, s, side="right") - 1))
        p = self.pieces[k]
        local = min(max(s - p[1], 0.0), p[2])
        if p[0] == "line":
            start, u = p[3], p[4]
            return [start + local * u, u, np.zeros(self.n)][order]
        centre, x, y, r = p[3], p[4], p[5], p[6]
        th = local / r
        if order == 0:
            return centre + r * (x * np.cos(th) + y * np.sin(th))
        if order == 1:
            return -x * np.sin(th) + y * np.cos(th)
        return -(x * np.cos(th) + y * np.sin(th)) / r

    def __call__(self, path_positions, order=0):
        if np.isscalar(path_positions):
            return self._one(float(path_positions), order)
        return np.array([self._one(float(s), order) for s in path_positions])

    @property
    def dof(self):
        return self.n

    @property
    def path_interval(self):
        return np.array([0.0, self.length])


def grid(path, step):
    """Uniform grid of about `step` plus every piece boundary."""
    pts = set(np.linspace(0.0, path.length, int(np.ceil(path.length / step)) + 1).tolist())
    pts.update(path.boundaries())
    return np.array(sorted(pts))


def limits(n, scale):
    # the same synthetic limits as crates/trajectory/tests/time_optimal.rs
    return ([scale * (1.0 + 0.3 * i) for i in range(n)], [scale * (2.0 + 0.5 * i) for i in range(n)])


# Panda (7 axes): URDF velocity limits and Franka's published acceleration limits
PANDA = ([2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61], [15.0, 7.5, 10.0, 12.5, 15.0, 20.0, 20.0])
# UR5e (6 axes): URDF velocity limits, robot.toml acceleration limits
UR5E = ([3.1416, 3.1416, 3.1416, 3.1416, 3.1416, 3.1416], [6.2832] * 6)


def main():
    rng = np.random.default_rng(20261125)
    cases = []
    for c in range(24):
        n = 7 if c % 2 == 0 else 6
        points = int(rng.integers(3, 13))
        waypoints = rng.uniform(-2.5, 2.5, size=(points, n))
        deviation = [0.05, 0.1, 0.2][c % 3]
        if c % 4 == 0:
            vel, acc = PANDA if n == 7 else UR5E
        else:
            vel, acc = limits(n, [0.5, 1.0, 2.0][c % 3])
        path = BlendedPath(waypoints, deviation)
        pc_vel = constraint.JointVelocityConstraint(np.array([[-v, v] for v in vel]))
        pc_acc = constraint.JointAccelerationConstraint(np.array([[-a, a] for a in acc]))
        instance = algo.TOPPRA(
            [pc_vel, pc_acc],
            path,
            gridpoints=grid(path, path.length / 4000.0),
            parametrizer="ParametrizeConstAccel",
        )
        traj = instance.compute_trajectory(0.0, 0.0)
        if traj is None:
            print(f"case {c}: TOPP-RA failed", file=sys.stderr)
            continue
        cases.append(
            {
                "name": f"case{c:02}_{n}axes_{points}points_dev{deviation}",
                "waypoints": waypoints.tolist(),
                "max_deviation": deviation,
                "velocity": list(vel),
                "acceleration": list(acc),
                "length": path.length,
                "duration": float(traj.duration),
            }
        )
        print(f"{cases[-1]['name']}: length {path.length:.4f} duration {traj.duration:.4f}", file=sys.stderr)
    json.dump({"generator": "tools/toppra_reference.py (toppra 0.6.10, grid of 4000 steps)", "cases": cases}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
