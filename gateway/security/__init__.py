"""Who may call, and what they may see: keys and JWTs, scopes, trusted documents, CSRF.

``clients.py`` holds the configured clients and the scope names (a leaf:
``gateway.settings`` imports it), ``auth.py`` turns credentials into an
``Identity``, ``permissions.py`` applies scopes to fields, ``persisted.py``
serves APQ and per-client allowlists, ``csrf.py`` the browser guards,
``reload.py`` swaps in the clients and JWT settings of a changed settings
file (or on SIGHUP) without a restart.

``settings.py`` is this wing's group of the one ``Settings`` (imports no
gateway module but ``gateway.shared_settings`` and ``clients.py``).

May import: ``gateway.settings``, ``gateway.errors`` and each other; never
``http``, ``limits`` or ``caching``.
"""
