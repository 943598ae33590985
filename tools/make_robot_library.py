#!/usr/bin/env python3
"""Generates cella's robot library (robots/<name>/<name>.urdf and robot.toml) from the real
manufacturer URDFs in ../shared/robot-data.

* Kinematics: every kept joint is copied with its origin, axis, limits and mimic exactly as the
  manufacturer wrote them, so link frames are identical (the FK tests compare against
  Pinocchio's reference poses to 1e-9).
* Frames: a root `base_link`, plus `flange` and `tool0` where the original lacks them.
* Collision: one capsule per link that conservatively covers every vertex of the link's real
  collision STL(s), fitted along the mesh's principal axis with the shortest segment for the
  smallest covering radius (plus 0.5 mm). `crates/collision/tests/primitive_coverage.rs`
  proves the coverage independently with its own STL reader.

Usage: python3 tools/make_robot_library.py [path/to/shared/robot-data]   (needs numpy)
"""
import math
import os
import struct
import sys
import xml.etree.ElementTree as ET

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "robot-data")
PAD = 0.0005  # metres added to every fitted radius

PANDA_ACC = [15, 7.5, 10, 12.5, 15, 20, 20]
PANDA_JERK = [7500, 3750, 5000, 6250, 7500, 10000, 10000]

ROBOTS = {
    "ur5e": dict(
        src="ur5e", urdf="ur5e.urdf", description="Universal Robots UR5e, 6 axes",
        source="UniversalRobots/Universal_Robots_ROS2_Description ur_description @ 2221ec0f (../shared/robot-data/ur5e)",
        drop_links={"world"}, base="base_link", tip="flange", tool="tool0",
        ik='solver = "ur"\nframe = "tool0"\nbase_frame = "base"\n\n[ik.ur]   # Universal Robots published DH table (UR5e)\nd1 = 0.1625\na2 = -0.425\na3 = -0.3922\nd4 = 0.1333\nd5 = 0.0997\nd6 = 0.0996\n',
        home=[0.0, -1.5707963267948966, 1.5707963267948966, -1.5707963267948966, -1.5707963267948966, 0.0],
    ),
    "kuka_kr6_r700": dict(
        src="kuka_kr6_r700_sixx", urdf="kuka_kr6r700sixx.urdf", description="KUKA KR 6 R700 sixx (KR AGILUS), 6 axes",
        source="ros-industrial/kuka_experimental kuka_kr6_support @ e78bbd15 (../shared/robot-data/kuka_kr6_r700_sixx)",
        base="base_link", tip="flange", tool="tool0", opw=True,
        home=[0.0, -1.5707963267948966, 1.5707963267948966, 0.0, 1.5707963267948966, 0.0],
    ),
    "abb_irb2400": dict(
        src="abb_irb2400", urdf="abb_irb2400.urdf", description="ABB IRB 2400, 6 axes",
        source="ros-industrial/abb abb_irb2400_support @ 77db19bd (../shared/robot-data/abb_irb2400)",
        add_flange="link_6", base="base_link", tip="flange", tool="tool0", opw=True,
        home=[0.0, 0.0, 0.0, 0.0, 0.5235987755982988, 0.0],
    ),
    "fanuc_lrmate200id": dict(
        src="fanuc_lrmate200id", urdf="fanuc_lrmate200id.urdf", description="FANUC LR Mate 200iD, 6 axes",
        source="ros-industrial/fanuc fanuc_lrmate200id_support @ 8fee5e30 (../shared/robot-data/fanuc_lrmate200id)",
        base="base_link", tip="flange", tool="tool0", opw=True,
        home=[0.0, 0.0, 0.0, 0.0, -0.5235987755982988, 0.0],
    ),
    "staubli_tx2_60": dict(
        src="staubli_tx2_60", urdf="staubli_tx2_60.urdf", description="Staubli TX2-60, 6 axes",
        source="ros-industrial/staubli_experimental staubli_tx2_60_support @ 256a71ac (../shared/robot-data/staubli_tx2_60)",
        base="base_link", tip="flange", tool="tool0", opw=True,
        home=[0.0, 0.5235987755982988, 1.5707963267948966, 0.0, 1.0471975511965976, 0.0],
    ),
    "panda": dict(
        src="franka_panda", urdf="panda_hand.urdf", description="Franka Emika Panda with Franka Hand, 7 axes",
        source="frankaemika/franka_ros franka_description @ c11f000c (../shared/robot-data/franka_panda); acceleration and jerk from libfranka rate_limiting.h",
        drop_suffix="_sc", new_root=("base_link", "panda_link0"), add_flange="panda_link8", add_tool0="panda_hand_tcp",
        base="panda_link0", tip="panda_link8", tool="panda_hand_tcp",
        ik='solver = "numerical"\n',
        home=[0.0, -0.7853981633974483, 0.0, -2.356194490192345, 0.0, 1.5707963267948966, 0.7853981633974483],
        extra_poses={"ready": [0.0, -0.7853981633974483, 0.0, -2.356194490192345, 0.0, 1.5707963267948966, 0.7853981633974483],
                     "extended": [0.0, 0.0, 0.0, -0.0698, 0.0, 3.14, 0.7853981633974483]},
        fixed={"panda_finger_joint1": 0.04},
        acc=PANDA_ACC, jerk=PANDA_JERK,
    ),
}


def read_stl(path):
    data = open(path, "rb").read()
    if len(data) >= 84:
        n = struct.unpack_from("<I", data, 80)[0]
        if 84 + 50 * n == len(data):
            v = np.frombuffer(data, dtype=np.dtype([("n", "<3f4"), ("v", "<9f4"), ("a", "<u2")]), count=n, offset=84)
            return v["v"].reshape(-1, 3).astype(np.float64)
    pts = []
    for line in data.decode("ascii", "replace").splitlines():
        s = line.split()
        if len(s) == 4 and s[0] == "vertex":
            pts.append([float(x) for x in s[1:]])
    return np.array(pts, dtype=np.float64)


def rpy_matrix(rpy):
    r, p, y = rpy
    cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), math.cos(y), math.sin(y)
    return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                     [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                     [-sp, cp * sr, cp * cr]])


def matrix_rpy(m):
    p = math.asin(max(-1.0, min(1.0, -m[2, 0])))
    if abs(math.cos(p)) > 1e-9:
        r = math.atan2(m[2, 1], m[2, 2])
        y = math.atan2(m[1, 0], m[0, 0])
    else:
        r = math.atan2(-m[1, 2], m[1, 1])
        y = 0.0
    return r, p, y


def vec(text, n=3):
    return [float(x) for x in (text or " ".join(["0"] * n)).split()]


def fit_capsule(points):
    """Smallest-volume capsule among those fitted along each principal axis."""
    c = points.mean(axis=0)
    axes = np.linalg.svd(points - c, full_matrices=False)[2]
    best = None
    for u in axes:
        a, b, r, dist = fit_capsule_along(points, c, u / np.linalg.norm(u))
        volume = math.pi * r * r * float(np.linalg.norm(b - a)) + 4.0 / 3.0 * math.pi * r ** 3
        if best is None or volume < best[0]:
            best = (volume, a, b, r, dist)
    return best[1:]


def fit_capsule_along(points, c, u):
    """Capsule (a, b, r) covering all points with axis direction u: best offset, shortest segment."""
    # Perpendicular basis; centre the axis on the 2-D bounding circle estimate of the projection.
    e1 = np.cross(u, [1.0, 0, 0] if abs(u[0]) < 0.9 else [0, 1.0, 0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(u, e1)
    rel = points - c
    x, y = rel @ e1, rel @ e2
    best = None
    for cx, cy in [(0.0, 0.0), ((x.max() + x.min()) / 2, (y.max() + y.min()) / 2)]:
        r = math.sqrt(((x - cx) ** 2 + (y - cy) ** 2).max())
        if best is None or r < best[0]:
            best = (r, cx, cy)
    r, cx, cy = best
    origin = c + cx * e1 + cy * e2
    t = (points - origin) @ u
    d2 = ((points - origin) ** 2).sum(axis=1) - t ** 2
    d2 = np.clip(d2, 0, None)
    rr = r + PAD
    slack = np.sqrt(np.clip(rr * rr - d2, 0, None))
    s0 = (t + slack).min()
    s1 = (t - slack).max()
    if s0 > s1:
        s0 = s1 = (s0 + s1) / 2
    a, b = origin + s0 * u, origin + s1 * u
    # Verify, and grow the radius if rounding left any point out.
    ab = b - a
    L2 = float(ab @ ab)
    tt = np.clip(((points - a) @ ab) / L2, 0, 1) if L2 > 0 else np.zeros(len(points))
    dist = np.linalg.norm(points - (a + tt[:, None] * ab), axis=1)
    rr = max(rr, dist.max() + 1e-6)
    return a, b, rr, dist


def capsule_xml(a, b, r):
    mid = (a + b) / 2
    d = b - a
    length = float(np.linalg.norm(d))
    z = d / length if length > 1e-12 else np.array([0, 0, 1.0])
    x = np.cross([0, 1.0, 0], z) if abs(z[1]) < 0.9 else np.cross(z, [1.0, 0, 0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    rpy = matrix_rpy(np.column_stack([x, y, z]))
    return ('    <collision>\n      <origin xyz="%.6f %.6f %.6f" rpy="%.9f %.9f %.9f"/>\n'
            '      <geometry><capsule radius="%.6f" length="%.6f"/></geometry>\n    </collision>\n'
            % (mid[0], mid[1], mid[2], rpy[0], rpy[1], rpy[2], r, length))


def resolve(robot_dir, uri):
    assert uri.startswith("package://"), uri
    return os.path.join(robot_dir, uri[len("package://"):])


def build(name, cfg):
    robot_dir = os.path.join(DATA, cfg["src"])
    tree = ET.parse(os.path.join(robot_dir, cfg["urdf"]))
    root = tree.getroot()
    drop = set(cfg.get("drop_links", ()))
    for l in root.findall("link"):
        if cfg.get("drop_suffix") and l.get("name").endswith(cfg["drop_suffix"]):
            drop.add(l.get("name"))
    out = ['<?xml version="1.0"?>',
           "<!-- cella robot library: %s. Generated by tools/make_robot_library.py from the manufacturer URDF" % cfg["description"],
           "     (%s). Joint origins, axes and limits are copied exactly; collision capsules conservatively" % cfg["source"],
           "     cover the real collision meshes (proven by crates/collision/tests/primitive_coverage.rs). -->",
           '<robot name="%s">' % name]
    report = []
    if cfg.get("new_root"):
        out.append('  <link name="%s"/>' % cfg["new_root"][0])
    for l in root.findall("link"):
        ln = l.get("name")
        if ln in drop:
            continue
        pts = []
        copied = []
        for c in l.findall("collision"):
            m = c.find("geometry/mesh")
            if m is None:
                # Primitive shapes are already simple: keep them exactly.
                copied.append("    " + ET.tostring(c, encoding="unicode").strip())
                continue
            o = c.find("origin")
            xyz = vec(o.get("xyz") if o is not None else None)
            rpy = vec(o.get("rpy") if o is not None else None)
            p = read_stl(resolve(robot_dir, m.get("filename")))
            if m.get("scale"):
                p = p * np.array(vec(m.get("scale")))
            pts.append(p @ rpy_matrix(rpy).T + np.array(xyz))
        if not pts:
            if copied:
                out.append('  <link name="%s">\n%s\n  </link>' % (ln, "\n".join(copied)))
            else:
                out.append('  <link name="%s"/>' % ln)
            continue
        pts = np.vstack(pts)
        a, b, r, dist = fit_capsule(pts)
        out.append('  <link name="%s">\n%s  </link>' % (ln, capsule_xml(a, b, r).rstrip("\n")))
        report.append((ln, len(pts), r, float(np.linalg.norm(b - a)), float(r - dist.max())))
    for extra, parent in [("flange", cfg.get("add_flange")), ("tool0", cfg.get("add_tool0"))]:
        if parent:
            out.append('  <link name="%s"/>' % extra)
    if cfg.get("new_root"):
        out.append('  <joint name="%s_to_%s" type="fixed"><parent link="%s"/><child link="%s"/><origin xyz="0 0 0" rpy="0 0 0"/></joint>'
                   % (cfg["new_root"][0], cfg["new_root"][1], cfg["new_root"][0], cfg["new_root"][1]))
    for j in root.findall("joint"):
        parent, child = j.find("parent").get("link"), j.find("child").get("link")
        if parent in drop or child in drop:
            continue
        lines = ['  <joint name="%s" type="%s">' % (j.get("name"), j.get("type")),
                 '    <parent link="%s"/>' % parent, '    <child link="%s"/>' % child]
        o = j.find("origin")
        if o is not None:
            lines.append('    <origin xyz="%s" rpy="%s"/>' % (o.get("xyz", "0 0 0"), o.get("rpy", "0 0 0")))
        a = j.find("axis")
        if a is not None and j.get("type") != "fixed":
            lines.append('    <axis xyz="%s"/>' % a.get("xyz"))
        lim = j.find("limit")
        if lim is not None and j.get("type") != "fixed":
            attrs = " ".join('%s="%s"' % (k, lim.get(k)) for k in ("lower", "upper", "effort", "velocity") if lim.get(k) is not None)
            lines.append("    <limit %s/>" % attrs)
        mim = j.find("mimic")
        if mim is not None:
            attrs = " ".join('%s="%s"' % (k, v) for k, v in mim.attrib.items())
            lines.append("    <mimic %s/>" % attrs)
        lines.append("  </joint>")
        out.append("\n".join(lines))
    for extra, parent in [("flange", cfg.get("add_flange")), ("tool0", cfg.get("add_tool0"))]:
        if parent:
            out.append('  <joint name="%s-%s" type="fixed"><parent link="%s"/><child link="%s"/><origin xyz="0 0 0" rpy="0 0 0"/></joint>'
                       % (parent, extra, parent, extra))
    out.append("</robot>\n")
    return "\n".join(out), report, root


def group_joints(root, cfg):
    """Movable, non-mimic joints from the group base down to the tip, in order."""
    by_child = {j.find("child").get("link"): j for j in root.findall("joint")}
    path, link = [], cfg["tip"]
    if cfg.get("add_flange") and link == "flange":
        link = cfg["add_flange"]
    while link != cfg["base"]:
        j = by_child[link]
        path.append(j)
        link = j.find("parent").get("link")
    return [j for j in reversed(path) if j.get("type") != "fixed" and j.find("mimic") is None]


def toml_config(name, cfg, root):
    joints = group_joints(root, cfg)
    lines = ['# cella robot config (generated by tools/make_robot_library.py; edit the script, not this file)',
             'name = "%s"' % name, 'description = "%s"' % cfg["description"], 'urdf = "%s.urdf"' % name,
             'source = "%s"' % cfg["source"], "",
             "[group]            # the planning group: chain base -> tip, default TCP frame",
             'base = "%s"' % cfg["base"], 'tip = "%s"' % cfg["tip"], 'tool = "%s"' % cfg["tool"], "", "[ik]"]
    if cfg.get("opw"):
        import json
        k = json.load(open(os.path.join(DATA, cfg["src"], "kinematics.json")))
        p = k["published_kinematics"]["parameters"]
        ang = lambda v: v if isinstance(v, (int, float)) else {"pi": math.pi, "-pi": -math.pi, "pi/2": math.pi / 2, "-pi/2": -math.pi / 2}[v.replace(" ", "")]
        lines += ['solver = "opw"', 'frame = "tool0"    # OPW end frame', "",
                  "[ik.opw]   # %s; convention q_opw = q_urdf * sign_corrections - offsets" % k["published_kinematics"]["type"]]
        for key in ("a1", "a2", "b", "c1", "c2", "c3", "c4"):
            lines.append("%s = %r" % (key, float(p[key])))
        lines.append("offsets = [%s]" % ", ".join(repr(float(ang(v))) for v in p["offsets"]))
        lines.append("sign_corrections = [%s]" % ", ".join(str(int(v)) for v in p["sign_corrections"]))
    else:
        lines.append(cfg["ik"].rstrip("\n"))
    lines.append("")
    for i, j in enumerate(joints):
        vel = float(j.find("limit").get("velocity"))
        if cfg.get("acc"):
            acc, jerk = cfg["acc"][i], cfg["jerk"][i]
            src = "Franka FCI 'Limits for Panda' / libfranka rate_limiting.h"
        else:
            acc, jerk = round(2.0 * vel, 4), round(20.0 * vel, 3)
            src = "conservative: not published by the manufacturer; full speed in 0.5 s (2 x velocity), jerk 10 x acceleration"
        lines += ["[[joint_limits]]", 'joint = "%s"' % j.get("name"), "max_acceleration = %r   # rad/s^2" % acc,
                  "max_jerk = %r   # rad/s^3" % jerk, 'source = "%s"' % src, ""]
    lines.append("[named_poses]   # group joint order, radians")
    lines.append("home = [%s]" % ", ".join(repr(x) for x in cfg["home"]))
    for k2, v in cfg.get("extra_poses", {}).items():
        lines.append("%s = [%s]" % (k2, ", ".join(repr(x) for x in v)))
    if cfg.get("fixed"):
        lines += ["", "[fixed_joints]   # joints outside the group, held at these values (m)"]
        for k2, v in cfg["fixed"].items():
            lines.append("%s = %r" % (k2, v))
    return "\n".join(lines) + "\n"


def main():
    for name, cfg in ROBOTS.items():
        urdf, report, root = build(name, cfg)
        d = os.path.join(ROOT, "robots", name)
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, name + ".urdf"), "w").write(urdf)
        open(os.path.join(d, "robot.toml"), "w").write(toml_config(name, cfg, root))
        print("%s:" % name)
        for ln, n, r, length, slack in report:
            print("  %-20s %6d vertices  capsule r=%.4f m length=%.4f m  worst-vertex slack=%.4f m" % (ln, n, r, length, slack))


if __name__ == "__main__":
    main()
