"""llmgps.InputError: the one exception bad input raises (the CLI's exit code 2); and
llmgps.MemoryWarning, what the CLI prints as "warning: memory: ..."."""


class InputError(ValueError):
    """Bad input: an unknown preset, a malformed file, an impossible size.

    ``where`` names the argument, file and line, or spec field at fault; ``reason`` says why.
    ``str(error)`` is ``"where: reason"``, the reason worded as the command line words it.
    """

    def __init__(self, where, reason):
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason

    def __reduce__(self):
        return (type(self), (self.where, self.reason))


class MemoryWarning(UserWarning):
    """A step that does not fit in GPU memory (the answer is still computed); ``strict=True``
    makes it an :class:`InputError`, as ``--strict`` makes the command exit with status 2."""
