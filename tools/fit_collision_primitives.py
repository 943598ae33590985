#!/usr/bin/env python3
"""Builds cella's bundled robot library (robots/<name>/<name>.urdf and robot.toml) from the real
manufacturer URDFs in ../shared/robot-data and fits conservative collision primitives.

What it does, per robot:

* Kinematics: every kept joint is written with the origin, axis, limits and mimic strings exactly
  as the manufacturer wrote them, so every link frame is identical to the manufacturer's (the FK
  tests compare against Pinocchio's reference poses to 1e-9). Inertials are kept verbatim;
  visuals, materials, meshes and the Panda's `_sc` self-collision links are dropped.
* Frames: a root `base_link`, plus `flange` and `tool0` where the original lacks them.
* Collision: per link, 1-3 capsules (a capsule of zero length is written as a sphere) whose union
  contains every vertex of the link's real collision STL(s), transformed by the real
  `<collision><origin>` into the link frame. Real box collisions (Panda fingers) contribute their
  8 corners and are covered by one capsule (convex, so corners inside = box inside). Fitting:
  segment endpoints are optimised (Nelder-Mead) for the smallest capsule volume with the radius
  = max distance of the cluster's points to the segment; several capsules are fitted by a
  Lloyd-style loop (assign each vertex to the capsule it needs least growth for, refit). After
  rounding the written numbers, every radius is recomputed exactly over all vertices of its
  cluster and rounded *up* to the micrometre, plus PAD.
  `crates/collision/tests/primitive_coverage.rs` proves the coverage independently in Rust,
  with cella's own STL loader.
* Checks: named poses within limits and free of self-collision between the primitives of
  non-adjacent links (links joined by a joint, or through geometry-less fixed links, are
  adjacent), with the minimum clearance printed.

Usage:
    python3 tools/fit_collision_primitives.py [--data ../shared/robot-data] [--robots a,b] [--fast]

Needs numpy only. Deterministic (seeded). Writes into robots/ next to this tools/ directory.
"""
import argparse
import math
import os
import struct
import sys
import xml.etree.ElementTree as ET

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SURFACE_SPACING = 0.0015  # surface sample grid: every surface point is within this of a sample
# metres added to every fitted radius: the sample spacing (so the whole surface, not only the
# samples, is inside) plus 0.6 mm that the Rust coverage test verifies at 0.5 mm sampling
PAD = SURFACE_SPACING + 0.0006
MAX_CAPSULES = 3
GAIN_FOR_EXTRA = 0.12  # an extra capsule must cut the link's primitive volume by >= 12 %

PANDA_ACC = [15.0, 7.5, 10.0, 12.5, 15.0, 20.0, 20.0]
PANDA_JERK = [7500.0, 3750.0, 5000.0, 6250.0, 7500.0, 10000.0, 10000.0]
HALF_PI = 1.5707963267948966
QUARTER_PI = 0.7853981633974483

ACC_RULE = (
    "conservative: not published by the manufacturer; reach full joint speed in 0.5 s "
    "(max_acceleration = 2 x velocity limit), max_jerk = 10 x max_acceleration"
)

ROBOTS = {
    "ur5e": dict(
        src="ur5e", urdf="ur5e.urdf",
        description="Universal Robots UR5e, 6 axes",
        source="UniversalRobots/Universal_Robots_ROS2_Description ur_description @ 2221ec0f "
               "(see ../shared/robot-data/ur5e)",
        drop_links={"world"},
        group=("base_link", "flange", "tool0"),
        ik='solver = "ur"\nframe = "tool0"      # UR DH frame 6\n'
           'base_frame = "base"  # UR DH frame 0 (controller "Base") = base_link rotated pi about z\n\n'
           '[ik.ur]            # UR5e standard DH (Universal Robots, "Parameters for calculations of kinematics and dynamics")\n'
           'd1 = 0.1625\na2 = -0.425\na3 = -0.3922\nd4 = 0.1333\nd5 = 0.0997\nd6 = 0.0996\n',
        poses={"home": [0.0, -HALF_PI, HALF_PI, -HALF_PI, -HALF_PI, 0.0]},
    ),
    "kuka_kr6_r700": dict(
        src="kuka_kr6_r700_sixx", urdf="kuka_kr6r700sixx.urdf",
        description="KUKA KR 6 R700 sixx (KR AGILUS), 6 axes",
        source="ros-industrial/kuka_experimental kuka_kr6_support @ e78bbd15 "
               "(see ../shared/robot-data/kuka_kr6_r700_sixx)",
        group=("base_link", "flange", "tool0"),
        opw=dict(a1=0.025, a2=-0.035, b=0.0, c1=0.4, c2=0.315, c3=0.365, c4=0.08,
                 offsets=[0.0, -HALF_PI, 0.0, 0.0, 0.0, 0.0], signs=[-1, 1, 1, -1, 1, -1],
                 note="published: kuka_kr6_support/config/opw_kinematics_kr6r700sixx.yaml = "
                      "opw_kinematics makeKukaKR6_R700_sixx() = rs-opw-kinematics"),
        poses={"home": [0.0, -HALF_PI, HALF_PI, 0.0, HALF_PI, 0.0]},
    ),
    "abb_irb2400": dict(
        src="abb_irb2400", urdf="abb_irb2400.urdf",
        description="ABB IRB 2400 (unqualified model, IRB 2400-10 kinematics), 6 axes",
        source="ros-industrial/abb abb_irb2400_support @ 77db19bd (see ../shared/robot-data/abb_irb2400)",
        add_frames=[("flange", "link_6", "link_6-flange")],
        group=("base_link", "flange", "tool0"),
        opw=dict(a1=0.1, a2=-0.135, b=0.0, c1=0.615, c2=0.705, c3=0.755, c4=0.085,
                 offsets=[0.0, 0.0, -HALF_PI, 0.0, 0.0, 0.0], signs=[1, 1, 1, 1, 1, 1],
                 note="published: opw_kinematics makeIrb2400_10() (IKFast-tested) = "
                      "rs-opw-kinematics Parameters::irb2400_10()"),
        poses={"home": [0.0, 0.0, 0.0, 0.0, HALF_PI, 0.0]},
    ),
    "fanuc_lrmate200id": dict(
        src="fanuc_lrmate200id", urdf="fanuc_lrmate200id.urdf",
        description="FANUC LR Mate 200iD, 6 axes",
        source="ros-industrial/fanuc fanuc_lrmate200id_support @ 8fee5e30 "
               "(see ../shared/robot-data/fanuc_lrmate200id)",
        group=("base_link", "flange", "tool0"),
        opw=dict(a1=0.05, a2=-0.035, b=0.0, c1=0.33, c2=0.33, c3=0.335, c4=0.08,
                 offsets=[0.0, 0.0, -HALF_PI, 0.0, 0.0, math.pi], signs=[1, 1, -1, -1, -1, -1],
                 note="DERIVED in ../shared/robot-data (not published by FANUC): lengths from the "
                      "URDF joint origins, offsets/signs after the repo's lrmate200ic template; "
                      "verified = URDF within 4.4e-16"),
        poses={"home": [0.0, 0.0, 0.0, 0.0, -HALF_PI, 0.0]},
    ),
    "staubli_tx2_60": dict(
        src="staubli_tx2_60", urdf="staubli_tx2_60.urdf",
        description="Staubli TX2-60, 6 axes",
        source="ros-industrial/staubli_experimental staubli_tx2_60_support @ 256a71ac "
               "(see ../shared/robot-data/staubli_tx2_60)",
        group=("base_link", "flange", "tool0"),
        opw=dict(a1=0.0, a2=0.0, b=0.02, c1=0.375, c2=0.29, c3=0.31, c4=0.07,
                 offsets=[0.0] * 6, signs=[1, 1, 1, 1, 1, 1],
                 note="published: staubli_tx2_60_support/config/opw_parameters_tx2_60.yaml"),
        poses={"home": [0.0, 0.0, HALF_PI, 0.0, HALF_PI, 0.0]},
    ),
    "panda": dict(
        # the hand works in tight spaces (grasps, shelves): finer covers pay for themselves
        max_capsules=6,
        src="franka_panda", urdf="panda_hand.urdf",
        description="Franka Emika Panda (FER) with Franka Hand, 7 axes",
        source="frankaemika/franka_ros franka_description @ c11f000c, panda_hand.urdf "
               "(see ../shared/robot-data/franka_panda)",
        drop_suffix="_sc",
        new_root=("base_link", "panda_link0", "base_link-panda_link0"),
        add_frames=[("flange", "panda_link8", "panda_link8-flange"),
                    ("tool0", "panda_hand_tcp", "panda_hand_tcp-tool0")],
        group=("panda_link0", "panda_link8", "panda_hand_tcp"),
        ik='solver = "numerical"\nframe = "panda_hand_tcp"\n',
        poses={
            "home": [0.0, -QUARTER_PI, 0.0, -3 * QUARTER_PI, 0.0, HALF_PI, QUARTER_PI],
            "ready": [0.0, -0.785398163, 0.0, -2.35619449, 0.0, 1.57079633, 0.785398163],
        },
        fixed={"panda_finger_joint1": 0.04},
        acc=PANDA_ACC, jerk=PANDA_JERK,
        acc_source="published: libfranka include/franka/rate_limiting.h @ 1ba89c29 "
                   "(= FCI docs 'Limits for Panda')",
    ),
}


# ----------------------------------------------------------------------------------------------
# geometry helpers


def read_stl(path):
    """Vertices (n,3) of a binary or ASCII STL (duplicates kept)."""
    data = open(path, "rb").read()
    if len(data) >= 84:
        n = struct.unpack_from("<I", data, 80)[0]
        if 84 + 50 * n == len(data):
            rec = np.frombuffer(data, dtype=np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)),
                                                      ("a", "<u2")]), count=n, offset=84)
            return rec["v"].reshape(-1, 3).astype(np.float64)
    pts = []
    for line in data.decode("ascii", "replace").splitlines():
        p = line.split()
        if len(p) == 4 and p[0] == "vertex":
            pts.append([float(x) for x in p[1:]])
    if not pts:
        raise ValueError(f"{path}: not an STL")
    return np.array(pts)


def rpy_matrix(r, p, y):
    cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), math.cos(y), math.sin(y)
    return np.array([
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ])


def origin_of(elem):
    o = elem.find("origin") if elem is not None else None
    xyz = [0.0, 0.0, 0.0]
    rpy = [0.0, 0.0, 0.0]
    if o is not None:
        if o.get("xyz"):
            xyz = [float(v) for v in o.get("xyz").split()]
        if o.get("rpy"):
            rpy = [float(v) for v in o.get("rpy").split()]
    T = np.eye(4)
    T[:3, :3] = rpy_matrix(*rpy)
    T[:3, 3] = xyz
    return T


def axis_angle(axis, angle):
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * K @ K


def seg_dist(P, a, b):
    """Distance of points P (n,3) to segment a-b."""
    d = b - a
    dd = float(d @ d)
    if dd < 1e-18:
        return np.linalg.norm(P - a, axis=1)
    t = np.clip((P - a) @ d / dd, 0.0, 1.0)
    return np.linalg.norm(P - (a + t[:, None] * d), axis=1)


def seg_seg_dist(p1, q1, p2, q2):
    """Closest distance between segments p1-q1 and p2-q2 (Ericson, RTCD 5.1.9)."""
    d1, d2, r = q1 - p1, q2 - p2, p1 - p2
    a, e, f = d1 @ d1, d2 @ d2, d2 @ r
    eps = 1e-15
    if a <= eps and e <= eps:
        return float(np.linalg.norm(p1 - p2))
    if a <= eps:
        s, t = 0.0, min(max(f / e, 0.0), 1.0)
    else:
        c = d1 @ r
        if e <= eps:
            t, s = 0.0, min(max(-c / a, 0.0), 1.0)
        else:
            b = d1 @ d2
            den = a * e - b * b
            s = min(max((b * f - c * e) / den, 0.0), 1.0) if den > eps else 0.0
            t = (b * s + f) / e
            if t < 0.0:
                t, s = 0.0, min(max(-c / a, 0.0), 1.0)
            elif t > 1.0:
                t, s = 1.0, min(max((b - c) / a, 0.0), 1.0)
    return float(np.linalg.norm((p1 + d1 * s) - (p2 + d2 * t)))


def capsule_volume(a, b, r):
    return math.pi * r * r * float(np.linalg.norm(b - a)) + 4.0 / 3.0 * math.pi * r ** 3


def nelder_mead(f, x0, step, iters=400, tol=1e-9):
    n = len(x0)
    pts = [np.array(x0, dtype=float)]
    for i in range(n):
        x = np.array(x0, dtype=float)
        x[i] += step[i]
        pts.append(x)
    vals = [f(p) for p in pts]
    for _ in range(iters):
        order = np.argsort(vals)
        pts = [pts[i] for i in order]
        vals = [vals[i] for i in order]
        if abs(vals[-1] - vals[0]) <= tol * (abs(vals[0]) + 1e-12):
            break
        c = np.mean(pts[:-1], axis=0)
        xr = c + (c - pts[-1])
        fr = f(xr)
        if fr < vals[0]:
            xe = c + 2.0 * (c - pts[-1])
            fe = f(xe)
            if fe < fr:
                pts[-1], vals[-1] = xe, fe
            else:
                pts[-1], vals[-1] = xr, fr
        elif fr < vals[-2]:
            pts[-1], vals[-1] = xr, fr
        else:
            xc = c + 0.5 * (pts[-1] - c)
            fc = f(xc)
            if fc < vals[-1]:
                pts[-1], vals[-1] = xc, fc
            else:
                for i in range(1, len(pts)):
                    pts[i] = pts[0] + 0.5 * (pts[i] - pts[0])
                    vals[i] = f(pts[i])
    i = int(np.argmin(vals))
    return pts[i], vals[i]


def reduce_points(P, rng, n=1500):
    """A subsample for optimisation: random points plus the extremes in many directions."""
    if len(P) <= n:
        return P
    idx = set(rng.choice(len(P), n, replace=False).tolist())
    dirs = rng.normal(size=(300, 3))
    idx.update(np.argmax(P @ dirs.T, axis=0).tolist())
    return P[sorted(idx)]


def fit_capsule(P, rng, init=None):
    """Smallest-volume capsule (a, b, r) containing all points P (r exact over P)."""
    S = reduce_points(P, rng)
    c = P.mean(axis=0)

    def cost(x):
        a, b = x[:3], x[3:]
        r = float(seg_dist(S, a, b).max())
        return capsule_volume(a, b, r)

    starts = []
    if init is not None:
        starts.append(np.concatenate(init))
    X = P - c
    _, _, vt = np.linalg.svd(X, full_matrices=False)
    for ax in vt:
        t = X @ ax
        perp = np.linalg.norm(X - np.outer(t, ax), axis=1).max()
        lo, hi = t.min(), t.max()
        half = max(0.0, (hi - lo) / 2 - perp)
        mid = (lo + hi) / 2
        starts.append(np.concatenate([c + ax * (mid - half), c + ax * (mid + half)]))
    starts.append(np.concatenate([c, c]))
    ext = float(np.ptp(P, axis=0).max()) + 1e-3
    best = None
    for x0 in starts:
        x, v = nelder_mead(cost, x0, [ext * 0.1] * 6, iters=700)
        x, v = nelder_mead(cost, x, [ext * 0.02] * 6, iters=400)
        if best is None or v < best[1]:
            best = (x, v)
    a, b = best[0][:3], best[0][3:]
    r = float(seg_dist(P, a, b).max())
    return a, b, r


def fit_link(P, rng, max_k=MAX_CAPSULES):
    """1..max_k capsules covering P; returns list of (a, b, r, member_mask)."""
    results = {}
    results[1] = [(*fit_capsule(P, rng), np.ones(len(P), bool))]
    for k in range(2, max_k + 1):
        best = None
        inits = []
        # init 1: split along the principal axis into k equal-length slabs
        c = P.mean(axis=0)
        _, _, vt = np.linalg.svd(P - c, full_matrices=False)
        t = (P - c) @ vt[0]
        edges = np.linspace(t.min(), t.max(), k + 1)
        inits.append(np.clip(np.searchsorted(edges, t, side="right") - 1, 0, k - 1))
        # init 2: k-means (seeded)
        cent = P[rng.choice(len(P), k, replace=False)]
        for _ in range(20):
            lab = np.argmin(((P[:, None, :] - cent[None]) ** 2).sum(-1), axis=1)
            cent = np.array([P[lab == j].mean(0) if np.any(lab == j) else cent[j] for j in range(k)])
        inits.append(lab)
        for lab in inits:
            caps = None
            for it in range(6):
                new = []
                for j in range(k):
                    m = lab == j
                    if m.sum() < 2:
                        continue
                    init = (caps[j][0], caps[j][1]) if caps is not None and j < len(caps) else None
                    a, b, r = fit_capsule(P[m], rng, init)
                    new.append((a, b, r))
                caps = new
                k_eff = len(caps)
                # reassign: each point to the capsule it needs the least growth for
                need = np.stack([seg_dist(P, a, b) - r for a, b, r in caps], axis=1)
                lab2 = np.argmin(need, axis=1)
                if it > 0 and np.array_equal(lab2, lab):
                    break
                lab = lab2
            # final exact fit per cluster
            caps = []
            for j in range(k_eff):
                m = lab == j
                if m.sum() == 0:
                    continue
                a, b, r = fit_capsule(P[m], rng)
                caps.append((a, b, r, m))
            vol = sum(capsule_volume(a, b, r) for a, b, r, _ in caps)
            if best is None or vol < best[0]:
                best = (vol, caps)
        results[k] = best[1]
    chosen = 1
    vol = lambda caps: sum(capsule_volume(a, b, r) for a, b, r, _ in caps)
    for k in range(2, max_k + 1):
        if vol(results[k]) < (1.0 - GAIN_FOR_EXTRA) * vol(results[chosen]):
            chosen = k
    return results[chosen]


def z_to_rpy(d):
    """rpy (URDF fixed-axis XYZ) of a rotation taking local z onto unit vector d."""
    d = d / np.linalg.norm(d)
    # rotate z onto d: R = Rz(yaw) * Ry(pitch) with pitch = acos(dz), yaw = atan2(dy, dx)
    pitch = math.acos(max(-1.0, min(1.0, d[2])))
    yaw = math.atan2(d[1], d[0]) if pitch > 1e-12 else 0.0
    return 0.0, pitch, yaw


def finalize_capsule(a, b, P):
    """Rounded URDF numbers for the capsule a-b covering P: (kind, xyz, rpy, radius, length)."""
    L = float(np.linalg.norm(b - a))
    if L < 1e-4:
        ctr = np.round((a + b) / 2, 6)
        r = float(np.linalg.norm(P - ctr, axis=1).max())
        r = math.ceil((r + PAD) * 1e6) / 1e6
        return ("sphere", ctr, (0.0, 0.0, 0.0), r, 0.0)
    ctr = np.round((a + b) / 2, 6)
    rpy = tuple(round(v, 9) for v in z_to_rpy(b - a))
    L = round(L, 6)
    R = rpy_matrix(*rpy)
    ax = R[:, 2]
    a2, b2 = ctr - ax * L / 2, ctr + ax * L / 2
    r = float(seg_dist(P, a2, b2).max())
    r = math.ceil((r + PAD) * 1e6) / 1e6
    return ("capsule", ctr, rpy, r, L)


def prim_segment(p):
    kind, ctr, rpy, r, L = p
    if kind == "sphere":
        return ctr, ctr, r
    ax = rpy_matrix(*rpy)[:, 2]
    return ctr - ax * L / 2, ctr + ax * L / 2, r


# ----------------------------------------------------------------------------------------------
# URDF handling


def fmt(v):
    return f"{v:.6f}".rstrip("0").rstrip(".") if v != 0 else "0"


def fmt_rpy(v):
    s = f"{v:.9f}".rstrip("0").rstrip(".")
    return s if s not in ("-0", "") else "0"


def surface_samples(V):
    """Points on every triangle of a triangle soup V (3 rows per triangle): a barycentric grid
    fine enough that every point of every triangle is within SURFACE_SPACING of a sample."""
    tris = V.reshape(-1, 3, 3)
    out = [V]
    for t in tris:
        edge = max(np.linalg.norm(t[1] - t[0]), np.linalg.norm(t[2] - t[1]), np.linalg.norm(t[0] - t[2]))
        n = int(math.ceil(edge / SURFACE_SPACING))
        if n <= 1:
            continue
        i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
        m = (i + j) <= n
        u, v = i[m] / n, j[m] / n
        w = 1.0 - u - v
        out.append(np.outer(w, t[0]) + np.outer(u, t[1]) + np.outer(v, t[2]))
    return np.concatenate(out)


BOX_TRIANGLES = [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
                 (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)]


def collision_points(link, robot_dir):
    """The real collision geometry of a manufacturer link in the link frame: its distinct
    vertices and its triangle soup (3 rows per triangle), or None."""
    pts = []
    for col in link.findall("collision"):
        T = origin_of(col)
        g = col.find("geometry")
        for shape in g:
            if shape.tag == "mesh":
                uri = shape.get("filename")
                assert uri.startswith("package://"), uri
                if shape.get("scale"):
                    raise ValueError("mesh scale not supported here")
                V = read_stl(os.path.join(robot_dir, uri[len("package://"):]))
            elif shape.tag == "box":
                h = np.array([float(v) for v in shape.get("size").split()]) / 2
                C = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * h
                V = np.concatenate([C[list(t)] for t in BOX_TRIANGLES])
            else:
                raise ValueError(f"unsupported collision shape {shape.tag}")
            pts.append(V @ T[:3, :3].T + T[:3, 3])
    if not pts:
        return None
    soup = np.concatenate(pts)
    return np.unique(soup, axis=0), soup


class Model:
    """Tiny URDF kinematic model for FK and adjacency."""

    def __init__(self, root_elem):
        self.joints = {}
        self.child_of = {}
        for j in root_elem.findall("joint"):
            name = j.get("name")
            ax = j.find("axis")
            m = j.find("mimic")
            self.joints[name] = dict(
                type=j.get("type"), parent=j.find("parent").get("link"),
                child=j.find("child").get("link"), T=origin_of(j),
                axis=[float(v) for v in ax.get("xyz").split()] if ax is not None else [1, 0, 0],
                mimic=(m.get("joint"), float(m.get("multiplier", 1)), float(m.get("offset", 0)))
                if m is not None else None,
                limit=j.find("limit"),
            )
            self.child_of[self.joints[name]["child"]] = name
        self.links = [l.get("name") for l in root_elem.findall("link")]
        self.root = [l for l in self.links if l not in self.child_of][0]

    def fk(self, values):
        poses = {self.root: np.eye(4)}
        pending = list(self.joints.items())
        while pending:
            rest = []
            for name, j in pending:
                if j["parent"] not in poses:
                    rest.append((name, j))
                    continue
                q = values.get(name, 0.0)
                if j["mimic"]:
                    q = values.get(j["mimic"][0], 0.0) * j["mimic"][1] + j["mimic"][2]
                M = np.eye(4)
                if j["type"] in ("revolute", "continuous"):
                    M[:3, :3] = axis_angle(j["axis"], q)
                elif j["type"] == "prismatic":
                    a = np.array(j["axis"]) / np.linalg.norm(j["axis"])
                    M[:3, 3] = a * q
                poses[j["child"]] = poses[j["parent"]] @ j["T"] @ M
            pending = rest
        return poses


# ----------------------------------------------------------------------------------------------


def build(name, cfg, data, fast=False):
    rng = np.random.default_rng(20240611)
    robot_dir = os.path.join(data, cfg["src"])
    src = ET.parse(os.path.join(robot_dir, cfg["urdf"])).getroot()
    drop = set(cfg.get("drop_links", ()))
    suffix = cfg.get("drop_suffix")
    links = [l for l in src.findall("link")
             if l.get("name") not in drop and not (suffix and l.get("name").endswith(suffix))]
    kept = {l.get("name") for l in links}
    joints = [j for j in src.findall("joint")
              if j.find("parent").get("link") in kept and j.find("child").get("link") in kept]

    prims = {}
    stats = []
    for l in links:
        geo = collision_points(l, robot_dir)
        if geo is None:
            continue
        # a union of several capsules that holds every vertex can still miss the middle of a
        # long face (a tube's mesh has vertices only at its ends): fit and size on the surface
        vertices, soup = geo
        P = surface_samples(soup)
        # fit on vertices plus the surface thinned to one sample per 6 mm voxel (fast), size on all
        keys = np.unique(np.floor(P / 0.006).astype(np.int64), axis=0, return_index=True)[1]
        P_fit = np.concatenate([vertices, P[np.sort(keys)]])
        caps = fit_link(P_fit, rng, max_k=1 if (fast or len(P_fit) <= 8) else cfg.get("max_capsules", MAX_CAPSULES))
        # every full-resolution sample joins the capsule it needs the least growth for
        need = np.stack([seg_dist(P, a, b) - r for a, b, r, _ in caps], axis=1)
        lab = np.argmin(need, axis=1)
        out = []
        for j, (a, b, r, _) in enumerate(caps):
            m = lab == j
            if m.any():
                out.append(finalize_capsule(a, b, P[m]))
        # sanity: every vertex inside the written union
        d = np.min(np.stack([seg_dist(P, *prim_segment(p)[:2]) - prim_segment(p)[2] for p in out], 1), 1)
        assert d.max() <= 0, (name, l.get("name"), d.max())
        prims[l.get("name")] = out
        vol = sum(capsule_volume(*prim_segment(p)) for p in out)
        stats.append((l.get("name"), len(P), len(out), -d.max(), vol))

    # ---- URDF
    lines = ['<?xml version="1.0"?>',
             f"<!-- cella robot library: {cfg['description']}.",
             f"     Kinematics copied exactly from the manufacturer URDF: {cfg['source']}.",
             "     Joint origins, axes, position/velocity limits and mimics are the manufacturer's",
             "     strings, so every link frame is identical (FK = fk_reference.json to 1e-9).",
             "     Collision primitives were generated by tools/fit_collision_primitives.py from the real",
             "     collision meshes; crates/collision/tests/primitive_coverage.rs proves that every real",
             "     mesh vertex lies inside the union of the primitives of its link (see robots/README.md).",
             "     Do not edit by hand: edit and re-run the script. -->",
             f'<robot name="{name}">']
    if cfg.get("new_root"):
        lines.append(f'  <link name="{cfg["new_root"][0]}"/>')
    for l in links:
        n = l.get("name")
        body = []
        inertial = l.find("inertial")
        if inertial is not None:
            txt = ET.tostring(inertial, encoding="unicode").strip()
            body += ["    " + s.strip() for s in txt.splitlines() if s.strip()]
        for kind, ctr, rpy, r, L in prims.get(n, []):
            body.append("    <collision>")
            body.append(f'      <origin xyz="{fmt(ctr[0])} {fmt(ctr[1])} {fmt(ctr[2])}" '
                        f'rpy="{fmt_rpy(rpy[0])} {fmt_rpy(rpy[1])} {fmt_rpy(rpy[2])}"/>')
            if kind == "sphere":
                body.append(f'      <geometry><sphere radius="{fmt(r)}"/></geometry>')
            else:
                body.append(f'      <geometry><capsule radius="{fmt(r)}" length="{fmt(L)}"/></geometry>')
            body.append("    </collision>")
        if body:
            lines.append(f'  <link name="{n}">')
            lines += body
            lines.append("  </link>")
        else:
            lines.append(f'  <link name="{n}"/>')
    for fr, _, _ in cfg.get("add_frames", []):
        lines.append(f'  <link name="{fr}"/>')
    if cfg.get("new_root"):
        r, c, jn = cfg["new_root"]
        lines += [f'  <joint name="{jn}" type="fixed">', f'    <parent link="{r}"/>', f'    <child link="{c}"/>',
                  '    <origin xyz="0 0 0" rpy="0 0 0"/>', "  </joint>"]
    for j in joints:
        lines.append(f'  <joint name="{j.get("name")}" type="{j.get("type")}">')
        lines.append(f'    <parent link="{j.find("parent").get("link")}"/>')
        lines.append(f'    <child link="{j.find("child").get("link")}"/>')
        o = j.find("origin")
        xyz = o.get("xyz", "0 0 0") if o is not None else "0 0 0"
        rpy = o.get("rpy", "0 0 0") if o is not None else "0 0 0"
        lines.append(f'    <origin xyz="{xyz}" rpy="{rpy}"/>')
        ax = j.find("axis")
        if ax is not None and j.get("type") != "fixed":
            lines.append(f'    <axis xyz="{ax.get("xyz")}"/>')
        lim = j.find("limit")
        if lim is not None and j.get("type") != "fixed":
            attrs = " ".join(f'{k}="{lim.get(k)}"' for k in ("lower", "upper", "effort", "velocity")
                             if lim.get(k) is not None)
            lines.append(f"    <limit {attrs}/>")
        m = j.find("mimic")
        if m is not None:
            attrs = " ".join(f'{k}="{m.get(k)}"' for k in ("joint", "multiplier", "offset") if m.get(k) is not None)
            lines.append(f"    <mimic {attrs}/>")
        lines.append("  </joint>")
    for fr, parent, jn in cfg.get("add_frames", []):
        lines += [f'  <joint name="{jn}" type="fixed">', f'    <parent link="{parent}"/>', f'    <child link="{fr}"/>',
                  '    <origin xyz="0 0 0" rpy="0 0 0"/>', "  </joint>"]
    lines.append("</robot>")
    urdf_text = "\n".join(lines) + "\n"

    # ---- checks on our URDF: chain, limits, self-collision at named poses
    ours = Model(ET.fromstring(urdf_text))
    theirs = Model(src)
    base, tip, tool = cfg["group"]
    chain = []
    link = tip
    while link != base:
        jn = ours.child_of[link]
        if ours.joints[jn]["type"] != "fixed":
            chain.append(jn)
        link = ours.joints[jn]["parent"]
    chain.reverse()
    ref = __import__("json").load(open(os.path.join(robot_dir, "fk_reference_hand_tcp.json" if name == "panda"
                                                    else "fk_reference.json")))
    for s in ref["samples"]:
        vals = dict(zip(ref["joint_names"], s["q"]))
        a = ours.fk(vals)
        b = theirs.fk(vals)
        Ta = np.linalg.inv(a[ref["base_link"]]) @ a[ref["tip_link"]]
        Tb = np.linalg.inv(b[ref["base_link"]]) @ b[ref["tip_link"]]
        assert np.abs(Ta - Tb).max() < 1e-12, name
        assert np.abs(Ta[:3, 3] - s["position"]).max() < 1e-9, (name, Ta[:3, 3], s["position"])
        for l in theirs.links:
            if l in ours.links:
                assert np.abs((np.linalg.inv(a[ours.root]) @ a[l]) - (np.linalg.inv(b[theirs.root]) @ b[l])).max() < 1e-12 \
                    or theirs.root != ours.root, (name, l)

    # adjacency: geometry-bearing links joined directly or through geometry-less links
    def geom_parent(l):
        while l in ours.child_of:
            l = ours.joints[ours.child_of[l]]["parent"]
            if l in prims:
                return l
        return None
    adjacent = set()
    for l in prims:
        p = geom_parent(l)
        if p:
            adjacent.add(frozenset((l, p)))
    # siblings hanging off the same moving link through fixed joints only are also adjacent
    report = []
    for pose_name, q in cfg["poses"].items():
        assert len(q) == len(chain), (name, pose_name)
        vals = dict(zip(chain, q))
        vals.update(cfg.get("fixed", {}))
        for jn, v in vals.items():
            lim = ours.joints[jn]["limit"]
            assert float(lim.get("lower")) <= v <= float(lim.get("upper")), (name, pose_name, jn, v)
        poses = ours.fk(vals)
        segs = {}
        for l, ps in prims.items():
            T = poses[l]
            segs[l] = [((T[:3, :3] @ a + T[:3, 3]), (T[:3, :3] @ b + T[:3, 3]), r)
                       for a, b, r in (prim_segment(p) for p in ps)]
        names = sorted(prims)
        worst = (math.inf, None)
        for i, l1 in enumerate(names):
            for l2 in names[i + 1:]:
                if frozenset((l1, l2)) in adjacent:
                    continue
                for a1, b1, r1 in segs[l1]:
                    for a2, b2, r2 in segs[l2]:
                        d = seg_seg_dist(a1, b1, a2, b2) - r1 - r2
                        if d < worst[0]:
                            worst = (d, (l1, l2))
        report.append((pose_name, worst))
        if worst[0] <= 0:
            print(f"  !! {name} pose '{pose_name}' self-collides: {worst}", file=sys.stderr)
    return urdf_text, chain, stats, report, prims


def toml_text(name, cfg, chain, urdf_model):
    base, tip, tool = cfg["group"]
    out = [f'name = "{name}"', f'description = "{cfg["description"]}"', f'urdf = "{name}.urdf"',
           f'source = "{cfg["source"]}"', "",
           "[group]            # the planning group: chain base -> tip, default TCP frame",
           f'base = "{base}"', f'tip = "{tip}"', f'tool = "{tool}"', "", "[ik]"]
    if "opw" in cfg:
        o = cfg["opw"]
        out += ['solver = "opw"', 'frame = "tool0"    # OPW end frame (OPW base frame = base_link)', "",
                f"[ik.opw]           # {o['note']}",
                "# convention: q_opw = q_urdf * sign_corrections - offsets"]
        for k in ("a1", "a2", "b", "c1", "c2", "c3", "c4"):
            out.append(f"{k} = {float(o[k])!r}")
        out.append("offsets = [" + ", ".join(repr(float(v)) for v in o["offsets"]) + "]")
        out.append("sign_corrections = [" + ", ".join(str(int(v)) for v in o["signs"]) + "]")
    else:
        out.append(cfg["ik"].rstrip("\n"))
    for i, jn in enumerate(chain):
        vel = float(urdf_model.joints[jn]["limit"].get("velocity"))
        if "acc" in cfg:
            acc, jerk, src = cfg["acc"][i], cfg["jerk"][i], cfg["acc_source"]
        else:
            acc = round(2.0 * vel, 4)
            jerk = round(10.0 * acc, 3)
            src = ACC_RULE
        out += ["", "[[joint_limits]]", f'joint = "{jn}"', f"max_acceleration = {acc!r}   # rad/s^2",
                f"max_jerk = {jerk!r}   # rad/s^3", f'source = "{src}"']
    out += ["", "[named_poses]      # group joint order, radians"]
    for pn, q in cfg["poses"].items():
        out.append(f"{pn} = [" + ", ".join(repr(float(v)) for v in q) + "]")
    if cfg.get("fixed"):
        out += ["", "[fixed_joints]     # joints outside the group and their held values (m or rad)"]
        for k, v in cfg["fixed"].items():
            out.append(f"{k} = {v!r}   # fingers open")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "robot-data"))
    ap.add_argument("--robots", default=",".join(ROBOTS))
    ap.add_argument("--fast", action="store_true", help="one capsule per link (quick)")
    args = ap.parse_args()
    for name in args.robots.split(","):
        cfg = ROBOTS[name]
        urdf_text, chain, stats, report, prims = build(name, cfg, args.data, args.fast)
        d = os.path.join(ROOT, "robots", name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"{name}.urdf"), "w") as f:
            f.write(urdf_text)
        with open(os.path.join(d, "robot.toml"), "w") as f:
            f.write(toml_text(name, cfg, chain, Model(ET.fromstring(urdf_text))))
        print(f"== {name}: chain {chain}")
        for ln, nv, np_, slack, vol in stats:
            kinds = ", ".join(f"{k}(r={r:.4f}, L={L:.4f})" for k, _, _, r, L in prims[ln])
            print(f"   {ln:20s} {nv:6d} verts  {np_} prims  min slack {slack * 1000:.3f} mm  "
                  f"vol {vol * 1e3:.3f} L  {kinds}")
        for pn, (dist, pair) in report:
            print(f"   pose {pn}: min clearance between non-adjacent links {dist * 1000:.1f} mm {pair}")


if __name__ == "__main__":
    main()
