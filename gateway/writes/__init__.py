"""The write side's runtime: transactions' services, change hooks and the outbox.

``services.py`` bundles what mutations need (the core writer, the live
event bus, the change hooks, the idempotency store); ``changes.py`` tells
caches what a committed write made stale; ``outbox.py`` delivers the core's
business events to the bolt-ons; ``replay.py`` is what a mutation sees of
its request's Idempotency-Key (the log of the writes it committed).

May import: ``adapters``, ``gateway.settings``, ``gateway.events``,
``gateway.backends``; never ``http``.
"""
