"""The server's limits, in one frozen dataclass with documented defaults, and the errors that carry
an HTTP status.

Every limit is a ``voxmorph serve`` option; the defaults suit one person's machine of two cores
shared by a few browsers. A request beyond a limit gets a JSON ``{"error": ...}`` naming the limit
(413 for size and length, 429 with ``Retry-After`` when the work queue is full), a live stream
beyond the admitted count a JSON message and WebSocket close code :data:`CLOSE_BUSY`.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxmorph.errors import UserError


@dataclass(frozen=True)
class ServerLimits:
    upload_mb: float = 25.0
    """Largest request body (one upload, or all the takes of one enrolment), in MB."""
    upload_seconds: float = 120.0
    """Longest recording to convert, and longest take to enrol, in seconds."""
    enrol_files: int = 10
    """Most takes in one enrolment."""
    text_chars: int = 2000
    """Longest text to speak, in characters."""
    workers: int = 1
    """HTTP jobs (convert, speak, enrol) run at once, each in its own lower-priority process."""
    queue: int = 4
    """HTTP jobs that may wait for a worker; one more gets 429 with Retry-After."""
    live_streams: int | None = None
    """Live streams admitted at once; None: as many as the measured cost per stream fits in
    :attr:`live_load` of one core (the streams share the server's interpreter)."""
    live_load: float = 0.4
    """Share of one core the live streams may take together, leaving headroom for the server's
    own work and for a stream's cost rising under load."""
    ws_message_kb: float = 64.0
    """Largest WebSocket message, in KiB (one second of 16 kHz float32 audio is 62.5 KiB)."""
    idle_seconds: float = 30.0
    """A live connection that sends nothing for this long is closed."""
    session_minutes: float = 60.0
    """A live connection is closed after this long."""

    def __post_init__(self):
        for name in ("upload_mb", "upload_seconds", "ws_message_kb", "idle_seconds", "session_minutes",
                     "live_load"):
            if not getattr(self, name) > 0:
                raise UserError(f"--{name.replace('_', '-')} must be more than 0")
        for name in ("enrol_files", "text_chars", "workers"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1")
        if self.queue < 0 or (self.live_streams is not None and self.live_streams < 0):
            raise UserError("--queue and --live-streams cannot be negative")

    @property
    def upload_bytes(self) -> int:
        return int(self.upload_mb * 1e6)

    @property
    def ws_message_bytes(self) -> int:
        return int(self.ws_message_kb * 1024)


CLOSE_BUSY = 4429
"""WebSocket close code: no live stream free (the message says how many are admitted)."""
CLOSE_UNAUTHORISED = 4401
CLOSE_BAD_REQUEST = 4400
CLOSE_TIMEOUT = 4408
CLOSE_TOO_LARGE = 4413


class HttpError(UserError):
    """A user error with the HTTP status it maps to (and headers such as ``Retry-After``)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.headers = status, headers or {}

    def __reduce__(self):  # survives the trip back from a worker process
        return (HttpError, (self.status, str(self), self.headers))
