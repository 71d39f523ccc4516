"""The one family of user-facing errors raised by `inference`.

Operators catch `BodyRigError`, report its message and cancel; the CLI prints the message on one line
and exits 2. Any other exception is a bug and propagates.
"""


class BodyRigError(Exception):
    """Base class: the message is written for a user and says what to do."""

    exit_code = 2


class BadInputError(BodyRigError):
    """An input file or argument is unusable (unreadable, wrong kind, wrong shape)."""


class NoPersonError(BodyRigError):
    """The image or video holds no detectable person."""


class ModelFileError(BodyRigError):
    """A body-model or checkpoint file is missing, corrupt, unsafe or of the wrong kind."""


class DeviceError(BodyRigError):
    """The requested compute device is not available."""


class OutputWriteError(BodyRigError):
    """An output file could not be written completely (disk full, read-only or forbidden folder, truncated)."""
