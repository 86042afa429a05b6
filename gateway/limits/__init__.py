"""What one request may cost: document limits, query cost, and per-client rate budgets.

``shape.py`` bounds a document's expansion (depth, aliases, fragment
spreads, fields, repeated fields) before it is validated; ``cost.py``
computes an operation's cost before it runs; ``rate.py`` charges that cost
to the caller's token bucket.

``settings.py`` is this wing's group of the one ``Settings`` (imports no
gateway module but ``gateway.shared_settings``).

May import: ``gateway.settings``, ``gateway.errors``, ``observability``.
"""
