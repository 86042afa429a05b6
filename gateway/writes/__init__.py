"""The write side's runtime: transactions' services, change hooks and the outbox.

``services.py`` bundles what mutations need (the core writer, the live
event bus, the change hooks, the idempotency store); ``changes.py`` tells
caches what a committed write made stale; ``outbox.py`` delivers the core's
business events to the bolt-ons.

May import: ``adapters``, ``gateway.settings``, ``gateway.events``,
``gateway.backends``; never ``http``.
"""
