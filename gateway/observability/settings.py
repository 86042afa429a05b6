"""The settings of observability: logs, metrics, tracing, and the process's shutdown and probes.

Read by ``gateway.observability`` (``Observability.from_settings``,
``configure_logging``), ``gateway.lifecycle`` and ``/readyz``. Imports nothing
of the gateway but ``gateway.shared_settings``; this package's ``__init__``
does not import it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.shared_settings import SharedSettings


class ObservabilitySettings(SharedSettings):
    """Observability: logs, metrics, tracing, shutdown and readiness."""

    log_format: Literal["json", "text"] | None = Field(
        default=None,
        description="Log line format; default: `json` in production, `text` in development.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest log level written."
    )
    access_log: bool = Field(
        default=True, description="Write one structured log line per HTTP request."
    )
    metrics_enabled: bool = Field(
        default=True, description="Serve Prometheus metrics at `/metrics`."
    )
    tracing_enabled: bool = Field(
        default=False, description="Record OpenTelemetry spans and send W3C `traceparent`."
    )
    tracing_exporter: Literal["otlp", "console", "none"] = Field(
        default="otlp",
        description="Where spans go when tracing is on; `otlp` needs the `otlp` extra.",
    )
    tracing_otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces URL; default: the exporter's own (OTEL_EXPORTER_OTLP_*).",
    )
    tracing_service_name: str = Field(
        default="boltgate-gateway", description="`service.name` of the spans."
    )
    tracing_sample_ratio: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Share of new traces recorded (0..1)."
    )
    shutdown_grace_seconds: float = Field(
        default=30.0,
        gt=0,
        description="On SIGTERM, seconds in-flight requests get to finish before being cut.",
    )
    readiness_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Seconds `/readyz` reuses each backend's probe result (0: probe every call).",
    )
    shutdown_drain_delay_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description=(
            "On SIGTERM, seconds the instance keeps accepting and serving while `/readyz` "
            "answers 503, so a load balancer's health check can take it out first (0: none)."
        ),
    )
