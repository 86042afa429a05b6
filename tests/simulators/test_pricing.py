"""The Pricing simulator against pricing.openapi.yaml, over real HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from simulators import world
from simulators.runner import Simulators
from tests.simulators.support import assert_problem
from tests.support.simulators import PRICING_TOKEN

MONEY = re.compile(r"^\d+\.\d{2}$")
#: A SKU shaped like the core's that the bolt-on does not price.
UNPRICED = next(world.sku(i) for i in range(1, 10_000) if not world.has_price(world.sku(i)))
PRICED = [world.sku(i) for i in range(1, 200) if world.has_price(world.sku(i))][:3]


def test_prices_need_a_bearer_token(sims: Simulators, anonymous: httpx.Client) -> None:
    url = f"{sims.pricing.url}/v1/prices"
    missing = anonymous.get(url, params={"sku": PRICED[0]})
    wrong = anonymous.get(
        url, params={"sku": PRICED[0]}, headers={"Authorization": "Bearer not-the-token"}
    )
    basic = anonymous.get(url, params={"sku": PRICED[0]}, headers={"Authorization": "Basic eDp5"})

    for response in (missing, wrong, basic):
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


def test_bearer_scheme_is_case_insensitive_but_the_token_is_not(
    sims: Simulators, anonymous: httpx.Client
) -> None:
    url = f"{sims.pricing.url}/v1/prices"

    def status(authorization: str) -> int:
        response = anonymous.get(
            url, params={"sku": PRICED[0]}, headers={"Authorization": authorization}
        )
        return response.status_code

    assert status(f"bearer {PRICING_TOKEN}") == 200
    assert status(f"BEARER {PRICING_TOKEN}") == 200
    assert status(f"Bearer {PRICING_TOKEN.upper()}") == 401
    assert status(f"Bearer{PRICING_TOKEN}") == 401
    assert status(PRICING_TOKEN) == 401
    assert status("Bearer") == 401


def test_quotes_need_a_bearer_token(sims: Simulators, anonymous: httpx.Client) -> None:
    response = anonymous.post(
        f"{sims.pricing.url}/v1/quotes",
        json={"customer_account": "C-000001", "lines": [{"sku": PRICED[0], "quantity": 1}]},
    )
    assert_problem(response, 401)


def test_prices_match_the_world_as_two_place_strings(pricing: httpx.Client) -> None:
    response = pricing.get("/v1/prices", params={"sku": PRICED})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    items = response.json()["items"]
    assert [item["sku"] for item in items] == PRICED
    for item in items:
        sku = item["sku"]
        assert item["currency"] == "USD"
        assert MONEY.match(item["list_price"])
        assert MONEY.match(item["floor_price"])
        assert Decimal(item["list_price"]) == world.list_price(sku)
        assert Decimal(item["floor_price"]) == world.floor_price(sku)
        assert Decimal(item["floor_price"]) < Decimal(item["list_price"])
        assert isinstance(item["target_margin_pct"], float)
        assert Decimal(str(item["target_margin_pct"])) == world.target_margin_pct(sku)


def test_valid_until_is_a_future_utc_date_time(pricing: httpx.Client) -> None:
    [item] = pricing.get("/v1/prices", params={"sku": PRICED[0]}).json()["items"]

    assert item["valid_until"].endswith("Z")
    valid_until = datetime.fromisoformat(item["valid_until"])
    now = datetime.now(UTC)
    assert now < valid_until < now + timedelta(days=31)


def test_unknown_skus_are_omitted_and_repeats_answered_once(pricing: httpx.Client) -> None:
    asked = [UNPRICED, PRICED[0], "NOT-A-SKU", PRICED[1], PRICED[0]]

    response = pricing.get("/v1/prices", params={"sku": asked})

    assert response.status_code == 200
    assert [item["sku"] for item in response.json()["items"]] == PRICED[:2]


def test_only_unknown_skus_answer_an_empty_list(pricing: httpx.Client) -> None:
    response = pricing.get("/v1/prices", params={"sku": [UNPRICED]})

    assert response.status_code == 200
    assert response.json() == {"items": []}


def test_prices_convert_currency(pricing: httpx.Client) -> None:
    response = pricing.get("/v1/prices", params={"sku": PRICED[0], "currency": "EUR"})

    [item] = response.json()["items"]
    assert item["currency"] == "EUR"
    assert Decimal(item["list_price"]) == world.list_price(PRICED[0], "EUR")
    assert Decimal(item["list_price"]) != world.list_price(PRICED[0], "USD")


@pytest.mark.parametrize(
    ("currency", "complaint"),
    [("usd", "three capital"), ("US", "three capital"), ("EURO", "three"), ("JPY", "unsupported")],
)
def test_bad_or_unknown_currency_is_a_400(
    pricing: httpx.Client, currency: str, complaint: str
) -> None:
    response = pricing.get("/v1/prices", params={"sku": PRICED[0], "currency": currency})

    assert complaint in str(assert_problem(response, 400)["detail"])


def test_batch_limits(pricing: httpx.Client) -> None:
    hundred = [world.sku(i) for i in range(1, 101)]

    assert_problem(pricing.get("/v1/prices"), 400)
    assert_problem(pricing.get("/v1/prices", params={"sku": [*hundred, "SKU-00101"]}), 400)
    response = pricing.get("/v1/prices", params={"sku": hundred})
    assert response.status_code == 200
    assert len(response.json()["items"]) == sum(world.has_price(sku) for sku in hundred)


def test_list_prices_counts_calls_and_logs_batches(sims: Simulators, pricing: httpx.Client) -> None:
    pricing.get("/v1/prices", params={"sku": PRICED[:2]})
    pricing.get("/v1/prices", params={"sku": [PRICED[2]]}, headers={"X-Request-ID": "req-1"})

    state = sims.pricing.state
    assert state.count("listPrices") == 2
    assert state.count("createQuote") == 0
    assert state.batches("listPrices") == [PRICED[:2], [PRICED[2]]]
    assert [r.request_id for r in state.recent("listPrices")] == [None, "req-1"]


def _quote(pricing: httpx.Client, body: object) -> httpx.Response:
    return pricing.post("/v1/quotes", json=body)


def test_quote_prices_each_line_less_the_account_discount(pricing: httpx.Client) -> None:
    account = "C-000042"
    lines = [(PRICED[0], 3), (PRICED[1], 1)]
    before = datetime.now(UTC).replace(microsecond=0)

    response = _quote(
        pricing,
        {"customer_account": account, "lines": [{"sku": s, "quantity": q} for s, q in lines]},
    )

    assert response.status_code == 200
    quote = response.json()
    discount = world.account_discount_pct(account)
    assert discount > 0  # otherwise this test would not show the discount applied
    assert quote["customer_account"] == account
    assert quote["currency"] == "USD"
    expected_total = Decimal(0)
    for line, (sku, quantity) in zip(quote["lines"], lines, strict=True):
        unit = world.money(world.list_price(sku) * (100 - discount) / 100)
        assert line == {
            "sku": sku,
            "quantity": quantity,
            "unit_price": str(unit),
            "discount_pct": float(discount),
        }
        expected_total += unit * quantity
    assert quote["total"] == str(world.money(expected_total))
    assert MONEY.match(quote["total"])
    expires_at = datetime.fromisoformat(quote["expires_at"])
    assert quote["expires_at"].endswith("Z")
    assert before + timedelta(minutes=15) <= expires_at <= before + timedelta(minutes=16)


def test_every_quote_is_a_new_one(pricing: httpx.Client) -> None:
    body = {"customer_account": "C-000001", "lines": [{"sku": PRICED[0], "quantity": 1}]}

    first, second = _quote(pricing, body).json(), _quote(pricing, body).json()

    assert first["quote_id"] != second["quote_id"]
    assert first["quote_id"].startswith("Q-")
    assert first["total"] == second["total"]


def test_quote_in_another_currency(pricing: httpx.Client) -> None:
    body = {
        "customer_account": "C-000007",
        "currency": "GBP",
        "lines": [{"sku": PRICED[0], "quantity": 2}],
    }

    quote = _quote(pricing, body).json()

    discount = world.account_discount_pct("C-000007")
    unit = world.money(world.list_price(PRICED[0], "GBP") * (100 - discount) / 100)
    assert quote["currency"] == "GBP"
    assert quote["lines"][0]["unit_price"] == str(unit)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"lines": [{"sku": "SKU-00001", "quantity": 1}]},
        {"customer_account": "C-000001"},
        {"customer_account": "C-000001", "lines": []},
        {"customer_account": "C-000001", "lines": [{"sku": "SKU-00001"}]},
        {"customer_account": "C-000001", "lines": [{"sku": "SKU-00001", "quantity": 0}]},
        {"customer_account": "C-000001", "lines": [{"sku": "SKU-00001", "quantity": True}]},
        {"customer_account": "C-000001", "lines": [{"sku": "SKU-00001", "quantity": "2"}]},
        {"customer_account": "C-000001", "lines": ["SKU-00001"]},
        {"customer_account": 42, "lines": [{"sku": "SKU-00001", "quantity": 1}]},
        {"customer_account": "C-1", "currency": 1, "lines": [{"sku": "SKU-00001", "quantity": 1}]},
        {"customer_account": "C-1", "lines": [{"sku": "SKU-00001", "quantity": 1}] * 201},
    ],
)
def test_malformed_quote_request_is_a_400(pricing: httpx.Client, body: object) -> None:
    assert_problem(_quote(pricing, body), 400)


def test_quote_body_that_is_not_json_is_a_400(pricing: httpx.Client) -> None:
    response = pricing.post(
        "/v1/quotes", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)


def test_quote_with_an_unknown_sku_is_a_422_naming_it(pricing: httpx.Client) -> None:
    lines = [{"sku": PRICED[0], "quantity": 1}, {"sku": UNPRICED, "quantity": 1}]

    body = assert_problem(_quote(pricing, {"customer_account": "C-000001", "lines": lines}), 422)

    assert UNPRICED in str(body["detail"])


def test_quote_in_an_unknown_currency_is_a_422(pricing: httpx.Client) -> None:
    body = {
        "customer_account": "C-000001",
        "currency": "JPY",
        "lines": [{"sku": PRICED[0], "quantity": 1}],
    }
    assert_problem(_quote(pricing, body), 422)
