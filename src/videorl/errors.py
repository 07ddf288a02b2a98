"""The one exception type for mistakes a user can make and fix.

Every layer raises a subclass of :class:`UserError` for bad input (an unknown task or
domain, a bad config value, an invalid dataset, a missing checkpoint); its message is one
line naming the problem and the fix. The CLI catches exactly this type, prints the line and
exits 2; anything else is a bug and keeps its traceback. It is a ValueError so library
callers can treat it as one.
"""


class TrainingDiverged(RuntimeError):
    """A loss or weight became NaN or infinite; the CLI prints one line and exits 3 (it is not
    the user's typing), and the last good checkpoint stays as it was."""


class UserError(ValueError):
    """A mistake the user can fix; the CLI prints it as one line and exits 2."""
