"""What one request may cost: document limits, query cost, and per-client rate budgets.

``shape.py`` bounds a document's expansion (depth, aliases, fragment
spreads, fields, repeated fields) before it is validated; ``cost.py``
computes an operation's cost before it runs; ``rate.py`` charges that cost
to the caller's token bucket.

May import: ``gateway.settings``, ``gateway.errors``, ``observability``.
"""
