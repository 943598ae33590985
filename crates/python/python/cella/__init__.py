"""cella from Python: robots, cells, planning and cell studies on numpy arrays.

Units are metres, radians and seconds; poses are 4x4 homogeneous matrices or 7 values
``x, y, z, qx, qy, qz, qw``.

>>> import cella, numpy as np
>>> ur5e = cella.Robot("ur5e")
>>> T = ur5e.fk(ur5e.named_poses["home"])          # (4, 4)
>>> q = ur5e.ik(T, seed=ur5e.named_poses["home"])  # (k, 6), nearest the seed first
>>> cell = cella.Cell.demo()
>>> traj = cell.plan("kuka", "home", motion="ptp")  # times, q, qd, qdd as arrays
>>> bool(cell.validate("kuka", traj))
True

Studies (``cella study`` from Python, locally or on a Ray cluster): see :mod:`cella.study`.
"""

from ._cella import Cell, Robot, Study, Trajectory, Validation, __version__
from .errors import (
    CellaError,
    InCollision,
    Internal,
    InvalidInput,
    NoPath,
    NotFound,
    PathFailed,
    Refused,
    TooLarge,
    Unreachable,
)


def retime(robot, path, **options):
    """Times a joint path (k, n) under ``robot``'s limits: :meth:`Robot.retime`."""
    return robot.retime(path, **options)


def validate(where, trajectory, robot_id=None):
    """Validates ``trajectory``: against a :class:`Robot`'s limits, or in a :class:`Cell`
    (limits and collisions of robot ``robot_id``). A :class:`Validation`, true when valid."""
    if isinstance(where, Cell):
        if robot_id is None:
            raise InvalidInput("robot_id: needed to validate in a cell", field="robot_id")
        return where.validate(robot_id, trajectory)
    return where.validate(trajectory)


__all__ = [
    "Robot",
    "Cell",
    "Trajectory",
    "Validation",
    "Study",
    "retime",
    "validate",
    "CellaError",
    "InvalidInput",
    "NotFound",
    "TooLarge",
    "Refused",
    "InCollision",
    "Unreachable",
    "PathFailed",
    "NoPath",
    "Internal",
    "__version__",
]
