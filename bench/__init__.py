"""The gateway's benchmark against a peer gateway (``python -m bench.run``); see README."""
