"""The exceptions of cella, with the field names of the command line and the gRPC service.

Every exception is a :class:`CellaError` with ``field`` (the input at fault, named as the CLI
and the gRPC ``BadRequest`` field violations name it: ``"goals[0]"``, ``"velocity_scale"``,
``"start"``, ``"cell.robots[0].base.xyz[1]"``; ``None`` when no single input is) and
``reason``. The classes follow the gRPC status codes:

==================  ======================  ==============
class               gRPC status             CLI exit code
==================  ======================  ==============
``InvalidInput``    ``INVALID_ARGUMENT``    2
``NotFound``        ``NOT_FOUND``           2
``TooLarge``        ``RESOURCE_EXHAUSTED``  2
``Refused``         ``FAILED_PRECONDITION`` 1
``InCollision``     ``FAILED_PRECONDITION`` 1
``Unreachable``     ``FAILED_PRECONDITION`` 1
``PathFailed``      ``FAILED_PRECONDITION`` 1
``NoPath``          ``DEADLINE_EXCEEDED``   1
``Internal``        ``INTERNAL``            3
==================  ======================  ==============
"""


class CellaError(Exception):
    """Base of every cella error: ``field`` names the input at fault (or is ``None``),
    ``reason`` says what is wrong with it; further details are attributes."""

    def __init__(self, message, field=None, reason=None, **details):
        super().__init__(message)
        self.field = field
        self.reason = reason if reason is not None else message
        for key, value in details.items():
            setattr(self, key, value)


class InvalidInput(CellaError, ValueError):
    """A malformed input: a wrong shape, a value that is not finite or out of range, a
    malformed file. ``field`` names it."""


class NotFound(CellaError, LookupError):
    """An unknown robot, object, link or named pose: ``kind`` and ``name`` say which."""


class TooLarge(CellaError, ValueError):
    """The answer would be larger than allowed (samples of a trajectory, objects of a
    world); ``field`` names the input to change."""


class Refused(CellaError):
    """The answer is no: nothing wrong with the input, but no motion does it."""


class InCollision(Refused):
    """A start, goal or motion in collision; ``pairs`` lists the colliding (link, object)
    or (link, link) pairs, ``fraction`` where along a motion (when known)."""


class Unreachable(Refused):
    """A TCP pose no IK solution within the joint limits reaches."""


class PathFailed(Refused):
    """A LIN path that cannot be followed (singularity, configuration flip, reach, limits or
    collision): ``fraction`` of the path and the TCP ``position`` there."""


class NoPath(Refused):
    """No collision-free path found within the time budget."""


class Internal(CellaError, RuntimeError):
    """A failure inside cella (a planned trajectory failing its own validation)."""


__all__ = [
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
]
