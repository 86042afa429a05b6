"""The settings of the write side: the outbox dispatcher and the live events channel.

Read by ``WriteServices.from_settings``. Imports nothing of the gateway but
``gateway.shared_settings``; this package's ``__init__`` does not import it.
"""

from __future__ import annotations

from pydantic import Field

from gateway.shared_settings import SharedSettings


class WritesSettings(SharedSettings):
    """Writes: the outbox that delivers events to the CRM, and the live events channel."""

    outbox_dispatcher: bool = Field(
        default=True, description="Deliver outbox events to the CRM from this process."
    )
    outbox_poll_interval: float = Field(
        default=1.0, gt=0, description="Seconds between outbox rounds when idle."
    )
    outbox_batch_size: int = Field(default=50, ge=1, description="Events claimed per round.")
    outbox_max_attempts: int = Field(
        default=10, ge=1, description="Failed deliveries after which an event is `failed`."
    )
    outbox_backoff_base: float = Field(
        default=1.0, gt=0, description="Seconds before an event's first retry (then doubling)."
    )
    outbox_backoff_max: float = Field(
        default=300.0, gt=0, description="Longest wait between two deliveries of an event."
    )
    outbox_lease: float = Field(
        default=30.0, gt=0, description="Seconds a dispatcher's claim on an event lasts."
    )
    events_channel: str = Field(
        default="gateway:events", description="Redis pub/sub channel of live business events."
    )
