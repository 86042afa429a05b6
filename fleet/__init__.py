"""A fleet on one machine: gateway instances behind HAProxy, as real processes.

``python -m fleet up`` starts the bolt-on simulators, seeds a core schema in
PostgreSQL, starts N ``gateway serve`` processes sharing that core and one
Redis, and HAProxy in front of them, health-checking ``/readyz``.
``python -m fleet rehearse`` does the same, then drives load through HAProxy
while it restarts every instance with SIGTERM, one at a time, and prints
what the clients saw. ``tests/fleet`` uses the same classes.

Modules:
    processes: a child process with its log file (start, SIGTERM, kill -9).
    haproxy: HAProxy's configuration and its stats socket.
    cluster: the whole fleet (``Fleet``) and what it is made of (``FleetSpec``).
    load: a keep-alive load generator that records every request.
"""
