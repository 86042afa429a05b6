"""The ``gateway`` command line: one module per command group.

``main.py`` is the Typer app (serve, demo, simulators, seed, schema,
check, settings-doc); ``common.py`` what every command shares (reading
the settings, exiting with status 2 on bad ones); ``clients.py`` and
``outbox.py`` are the ``clients`` and ``outbox`` groups; ``check.py``,
``demo.py`` and ``settings_doc.py`` the bigger commands' bodies.

The top of the house: may import anything; nothing imports it.
"""
