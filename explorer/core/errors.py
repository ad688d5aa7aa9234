"""The one error family users see.

Every loader and reader raises a subclass of :class:`ExplorerError` whose message is one
sentence a user can act on. The CLI prints it and exits non-zero; the GUI shows it in a message
box and keeps running. Anything else escaping is a bug.
"""


class ExplorerError(Exception):
    """A problem the user can fix; ``str(err)`` is the sentence to show."""


class DataError(ExplorerError):
    """A data set or image file could not be read."""


class ModelFileError(ExplorerError):
    """A model or checkpoint file could not be read, or is not what it claims to be."""


class DeviceError(ExplorerError):
    """The requested compute device does not exist on this machine."""


class TrainingError(ExplorerError):
    """Training stopped for a reason the user should know (NaN loss, out of memory, ...)."""


class SessionError(ExplorerError):
    """A saved session could not be written or read back."""
