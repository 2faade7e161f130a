"""One root for riskscore's own errors; each carries a short ``code``.

The gRPC edge maps codes to status codes in one table (service/errors.py).
"""

from __future__ import annotations


class RiskscoreError(Exception):
    """Root of riskscore's errors."""

    code = "internal_error"


class InvalidArgumentError(RiskscoreError):
    """A caller-supplied field is missing, malformed or over its limit."""

    code = "invalid_argument"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.description = message


class NotFoundError(RiskscoreError):
    """A referenced object (for example an event_id) does not exist."""

    code = "not_found"


class ConflictError(RiskscoreError):
    """The request contradicts state already recorded."""

    code = "failed_precondition"


class StoreUnavailableError(RiskscoreError):
    """The profile store could not be reached or written."""

    code = "unavailable"


class ConfigError(RiskscoreError):
    """The configuration is invalid; the message names the key."""

    code = "config_error"

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config key {key!r}: {message}")
        self.key = key


class ModelError(RiskscoreError):
    """A model artifact is missing, corrupt or inconsistent; the message names the file."""

    code = "model_error"

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
