"""The exceptions of parproc's API."""


class UserError(Exception):
    """API misuse or a configuration error (a bad declaration, an unknown name)."""


class ProcessError(Exception):
    """A waited-for proc failed (`Process error [3]` from `context.wait`)."""


class ProcFailedError(Exception):
    """Raise it in a proc to fail it with a message (no traceback is logged)."""


class ProcSkippedError(Exception):
    """Raise it in a proc to skip it; a skipped proc counts as a success downstream."""


class ProcNoChangeError(Exception):
    """Raise it in a proc when nothing changed; counts as a success downstream."""
