"""The inbound transport: what a client's HTTP request or websocket meets first.

``endpoint.py`` is ``/graphql`` (GraphQL over HTTP and the websocket
upgrade), ``protocol.py`` the wire rules it follows (parameters, media
types, refusals), ``idempotency.py`` the ``Idempotency-Key`` replay store,
``websocket.py`` graphql-transport-ws, ``graphiql.py`` the offline IDE,
``health.py`` the probes and ``server.py`` the bounds on a request's head
(uvicorn's parsers and an ASGI guard).

``settings.py`` is this wing's group of the one ``Settings`` (imports no
gateway module but ``gateway.shared_settings``).

May import: the core modules (``gateway.context``, ``gateway.settings``,
``gateway.errors``, ``gateway.backends``), ``execution``, ``security``,
``limits``, ``caching``, ``observability`` and ``adapters``. Nothing imports ``http``
but ``gateway.app`` and the CLI.
"""
