"""The errors a user's mistake raises: each message names the file (or setting) and what is
wrong. They share one base class, :class:`JpegDeepError`, which the command-line tools catch to
print one line (exit status 2) instead of a traceback. Each also derives from the built-in type
that code catching it before expects (``ValueError``, ``KeyError``, ``RuntimeError``).
"""
from __future__ import annotations


class JpegDeepError(Exception):
    """Base of every user-facing error of jpeg_deep."""


class ConfigError(JpegDeepError, ValueError):
    """A config file that cannot be used; the message names the file and the problem."""


class DatasetError(JpegDeepError, ValueError):
    """A dataset folder that cannot be used (missing, empty, inconsistent class index), or one
    of its files (``kind`` says which problem, for the scans' reports)."""

    def __init__(self, message, kind: str = "error"):
        super().__init__(message)
        self.kind = kind


class InvalidJPEGError(JpegDeepError, ValueError):
    """A file (or byte string) that cannot be read as a JPEG image.

    ``source`` names the file (``"<bytes>"`` for in-memory data) and ``reason`` says what is wrong.
    """

    def __init__(self, source, reason: str):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")

    def __reduce__(self):  # keep both fields across process boundaries
        return (type(self), (self.source, self.reason))


class UnknownNetworkError(JpegDeepError, KeyError):
    """A network name the registry does not know (the message lists the known ones)."""

    def __str__(self):
        return str(self.args[0])


class WeightsError(JpegDeepError, ValueError):
    """A weights file that cannot be read, or that does not fit the model (names the file)."""


class DistributionError(JpegDeepError, RuntimeError):
    """The requested strategy cannot run in this environment (the message says why)."""


class ExportError(JpegDeepError, ValueError):
    """An export that cannot be made or read (names the folder and the reason)."""
