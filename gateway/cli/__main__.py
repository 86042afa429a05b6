"""``python -m gateway.cli``: the ``gateway`` command without the console script."""

from gateway.cli.main import main

main()
