"""Metrics, traces and logs: how an operator sees what the gateway does.

``wiring.py`` builds it all from the settings; ``middleware.py`` is the
per-request ASGI layer (access line, request metrics, server span);
``metrics.py``, ``tracing.py`` and ``logs.py`` are the three outputs;
``stats.py`` counts a request's backend calls; ``request_id.py`` keeps
one id per request.

``settings.py`` is this wing's group of the one ``Settings`` (imports no
gateway module but ``gateway.shared_settings``).

May import: ``adapters.observe``, ``gateway.settings``, ``gateway.backends``;
never ``http``, ``security`` or ``caching`` (they report to it).
"""
