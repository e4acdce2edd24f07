"""Errors that reach the user as one line on stderr and exit code 2.

Everything the user can get wrong (a study file, a data folder, a storage URL) raises a subclass of
:class:`PlateauError` with a message that says what was wrong, where, and how to fix it. The command
line catches these and prints ``str(error)``; nothing else is shown, and nothing has been stored yet.
Bugs in plateau itself are not ``PlateauError`` and keep their tracebacks.
"""

from __future__ import annotations


class PlateauError(Exception):
    """A problem with the user's input, worded for the user: one line, no traceback."""


class ConfigError(PlateauError):
    """A study file (or a command-line override of it) is invalid."""


class DataError(PlateauError):
    """A dataset folder is missing, laid out differently from what its reader expects, or empty."""


class StorageError(PlateauError):
    """An Optuna storage URL cannot be opened, or a study in it does not match the study file."""


class LogError(PlateauError):
    """A training log, a predictions file or a stored study cannot be read as a run's history."""


class PreflightError(PlateauError):
    """A preflight check of the study's model and data failed (``search.preflight``): one line per
    failed check."""
