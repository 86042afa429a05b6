"""The gateway's two caches: bolt-on answers, and whole query responses.

``bolt_on.py`` sits in front of the bolt-ons' batch reads (single flight,
stale answers, invalidation by change hooks); ``responses.py`` answers a
repeated query without running it.

``settings.py`` is this wing's group of the one ``Settings`` (imports no
gateway module but ``gateway.shared_settings``).

May import: ``adapters``, ``gateway.settings``, ``gateway.events``; never
``http`` or ``schema``.
"""
