"""Wires metrics, tracing and request logs into one app (used by ``create_app``).

Kept apart from ``gateway.app`` so the composition root needs only a few
lines: build ``Observability.from_settings(settings, backends)``, add its routes, enter
``running(app)`` in the lifespan, and ``install(app)`` its middleware.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from adapters.errors import BackendError
from adapters.observe import CallObserver
from gateway.backends import Backends
from gateway.lifecycle import drain_on_sigterm
from gateway.observability import metrics
from gateway.observability.middleware import ObservabilityMiddleware
from gateway.observability.settings import ObservabilitySettings
from gateway.observability.stats import StatsObserver, attach_observers
from gateway.observability.tracing import CallSpans, build_tracer_provider, tracer_of

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider


class Observability:
    """The observability parts of one app, built from the settings.

    Example:
        >>> observability = Observability.from_settings(settings, backends)
        >>> routes.extend(observability.routes())
        >>> observability.install(app)
    """

    def __init__(
        self,
        backends: Backends,
        *,
        tracer_provider: TracerProvider | None,
        metrics_enabled: bool,
        access_log: bool,
        drain_delay: float,
    ) -> None:
        self.backends = backends
        self.metrics_enabled = metrics_enabled
        self.access_log = access_log
        self.drain_delay = drain_delay
        self.tracer_provider = tracer_provider
        self.tracer: Tracer | None = (
            tracer_of(self.tracer_provider) if self.tracer_provider is not None else None
        )
        self.observers: list[CallObserver] = [StatsObserver()]
        if metrics_enabled:
            self.observers.append(metrics.MetricsObserver())
        if self.tracer is not None:
            self.observers.append(CallSpans(self.tracer))
        self.outbox = metrics.OutboxCollector(self._core_engine)

    @classmethod
    def from_settings(cls, settings: ObservabilitySettings, backends: Backends) -> Observability:
        """Raises ``TracingUnavailable`` when the configured span exporter cannot be built."""
        return cls(
            backends,
            tracer_provider=build_tracer_provider(settings),
            metrics_enabled=settings.metrics_enabled,
            access_log=settings.access_log,
            drain_delay=settings.shutdown_drain_delay_seconds,
        )

    def _core_engine(self) -> AsyncEngine | None:
        try:
            return self.backends.core.engine
        except BackendError:
            return None

    def routes(self) -> list[BaseRoute]:
        if not self.metrics_enabled:
            return []
        return [Route("/metrics", metrics.metrics_endpoint(self.outbox))]

    def install(self, app: Starlette) -> None:
        app.add_middleware(
            ObservabilityMiddleware,
            tracer=self.tracer,
            access_log=self.access_log,
            metrics_enabled=self.metrics_enabled,
        )
        app.state.tracer_provider = self.tracer_provider

    def _watch_breakers(self) -> None:
        """Publish each circuit breaker's state now and on every change."""
        breakers = getattr(self.backends, "breakers", {})
        for service, breaker in breakers.items():
            if breaker.on_state_change is None:
                breaker.on_state_change = metrics.set_circuit_state
            metrics.set_circuit_state(service, breaker.state)

    @asynccontextmanager
    async def running(self, app: Starlette) -> AsyncIterator[None]:
        """Inside the lifespan, after the backends are entered."""
        attach_observers(self.backends, self.observers, self.tracer)
        if self.metrics_enabled:
            metrics.mark_worker_up()
            self._watch_breakers()
        try:
            with drain_on_sigterm(app, delay=self.drain_delay):
                yield
        finally:
            if self.tracer_provider is not None:
                self.tracer_provider.shutdown()  # flushes spans not yet exported
