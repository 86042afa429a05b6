"""Global ids, cursors and page sizes."""

from __future__ import annotations

import pytest

from gateway.errors import UserInputError
from schema.relay import from_cursor, from_global_id, page_size, to_cursor, to_global_id


def test_global_id_round_trip() -> None:
    assert from_global_id(to_global_id("Customer", 42)) == ("Customer", 42)
    assert to_global_id("Customer", 42) != to_global_id("Order", 42)


@pytest.mark.parametrize("bad", ["", "!!!", to_cursor(1)[:-2] + "$$", "Q3VzdG9tZXI6YWJj"])
def test_bad_global_id_names_the_argument(bad: str) -> None:
    with pytest.raises(UserInputError) as caught:
        from_global_id(bad)
    assert caught.value.field == "id"


def test_cursor_round_trip_and_rejection() -> None:
    assert from_cursor(to_cursor(7)) == 7
    assert from_cursor(None) is None
    with pytest.raises(UserInputError, match="after"):
        from_cursor(to_global_id("Customer", 7))


def test_page_size_bounds() -> None:
    assert page_size(None, default=20, maximum=100) == 20
    assert page_size(None, default=200, maximum=100) == 100
    assert page_size(0, default=20, maximum=100) == 0
    with pytest.raises(UserInputError, match="first"):
        page_size(101, default=20, maximum=100)
    with pytest.raises(UserInputError, match="first"):
        page_size(-1, default=20, maximum=100)
