"""What one request may cost: document limits, query cost, and per-client rate budgets.

``cost.py`` checks size, depth, aliases and the cost model before anything
runs; ``rate.py`` charges that cost to the caller's token bucket.

May import: ``gateway.settings``, ``gateway.errors``, ``observability``.
"""
