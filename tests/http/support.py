"""What the protocol tests share: a served gateway factory's type."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx

#: ``with serve(**settings) as client:`` a gateway on loopback and a client with a key.
Serve = Callable[..., AbstractContextManager[httpx.Client]]
