"""The one error tree of every backend the gateway talks to.

    BackendError(service)                 any failure of a backend call
     ├── BackendUnavailable                 connect error, 5xx, 429, closed circuit
     │    └── BackendTimeout                the call took longer than its budget
     └── BackendRejected                    4xx: the backend refused this request
          └── BackendNotFound               404: the key is unknown to the backend

Foreign exceptions (httpx, SQLAlchemy, OS errors) are translated at the
adapter boundary with ``raise BackendX(...) from exc``. Messages never carry
an upstream body or a credential: only the service name and a short reason.
"""

from __future__ import annotations

from typing import Any


class BackendError(Exception):
    """A backend call failed.

    Attributes:
        service: the backend's name (``core``, ``pricing``, ``crm``, ``shipping``).
        code: the GraphQL ``extensions.code`` a client sees.
    """

    code = "UPSTREAM_ERROR"

    def __init__(self, service: str, reason: str = "", *, status: int | None = None) -> None:
        self.service = service
        self.reason = reason
        self.status = status
        message = f"{service} is unavailable" if not reason else f"{service}: {reason}"
        super().__init__(message)

    @property
    def extensions(self) -> dict[str, Any]:
        """What a GraphQL client may see about this failure."""
        return {"code": self.code, "service": self.service}


class BackendUnavailable(BackendError):
    """The backend could not answer: refused connection, 5xx, 429 or an open circuit."""

    code = "UPSTREAM_UNAVAILABLE"

    def __init__(
        self,
        service: str,
        reason: str = "",
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(service, reason, status=status)
        self.retry_after = retry_after


class BackendTimeout(BackendUnavailable):
    """The backend did not answer within its time budget."""

    code = "UPSTREAM_TIMEOUT"


class BackendRejected(BackendError):
    """The backend refused the request (4xx other than 404 and 429)."""

    code = "UPSTREAM_REJECTED"


class BackendNotFound(BackendRejected):
    """The backend does not know the requested key."""

    code = "NOT_FOUND"
