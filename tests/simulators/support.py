"""Constants and assertions of the simulator tests."""

from __future__ import annotations

import httpx

#: Orders SO-000001 .. SO-000200 count as seeded.
SEEDED_ORDERS = 200


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    """The response is an RFC 9457 problem with ``status``; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return dict(body)
