"""The bolt-on adapters against the simulators over loopback: batching, order, misses, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.crm import CrmAdapter
from adapters.errors import BackendNotFound, BackendRejected, BackendTimeout, BackendUnavailable
from adapters.observe import CallRecord, outgoing_headers
from adapters.pricing import PricingAdapter
from adapters.shipping import ShippingAdapter
from simulators import world
from simulators.runner import Simulators
from tests.support.simulators import CRM_API_KEY, PRICING_TOKEN, SHIPPING_TOKEN


@pytest.fixture
async def pricing(sims: Simulators) -> AsyncIterator[PricingAdapter]:
    async with PricingAdapter(sims.pricing.url, token=PRICING_TOKEN, timeout=1.0) as adapter:
        yield adapter


@pytest.fixture
async def crm(sims: Simulators) -> AsyncIterator[CrmAdapter]:
    async with CrmAdapter(sims.crm.url, api_key=CRM_API_KEY, concurrency=4, timeout=1.0) as adapter:
        yield adapter


@pytest.fixture
async def shipping(sims: Simulators) -> AsyncIterator[ShippingAdapter]:
    async with ShippingAdapter(sims.shipping.url, token=SHIPPING_TOKEN, timeout=1.0) as adapter:
        yield adapter


async def test_prices_chunk_at_100_and_keep_input_order(
    pricing: PricingAdapter, sims: Simulators
) -> None:
    skus = [world.sku(i) for i in range(250, 0, -1)] + ["NOT-A-SKU", world.sku(3)]
    prices = await pricing.prices(skus, "USD")
    assert len(prices) == len(skus)
    for sku, price in zip(skus, prices, strict=True):
        if world.has_price(sku):
            assert price is not None
            assert price.sku == sku
            assert price.list_price == world.list_price(sku)
        else:
            assert price is None
    batches = sims.pricing.state.batches("listPrices")
    assert sorted(len(b) for b in batches) == [51, 100, 100]  # 251 distinct keys
    assert sum(len(b) for b in batches) == len(set(skus))


async def test_shipments_chunk_at_50(shipping: ShippingAdapter, sims: Simulators) -> None:
    numbers = [world.order_number(i) for i in range(1, 121)]
    found = await shipping.shipments(numbers)
    for number, shipment in zip(numbers, found, strict=True):
        expected = world.seeded_order_status(number) == "shipped"
        assert (shipment is not None) is expected
        if shipment is not None:
            assert shipment.order_number == number
            assert shipment.updated_at.tzinfo is not None
    assert [len(b) for b in sims.shipping.state.batches("listShipments")] == [50, 50, 20]


async def test_crm_calls_run_concurrently_under_the_bound(
    crm: CrmAdapter, sims: Simulators
) -> None:
    sims.crm.state.latency = 0.05
    accounts = [world.account_number(i) for i in range(1, 13)] + ["X-1"]
    results = await crm.insights(accounts)
    assert results[-1] is None  # unknown account: a miss, not an error
    assert all(r is not None and not isinstance(r, Exception) for r in results[:-1])
    assert sims.crm.state.count("getAccountInsights") == 13
    assert 1 < sims.crm.state.peak_in_flight <= 4


async def test_one_failing_account_costs_only_itself(crm: CrmAdapter, sims: Simulators) -> None:
    sims.crm.state.configure(failure_rate=0.5, seed=7)
    accounts = [world.account_number(i) for i in range(1, 21)]
    results = await crm.insights(accounts)
    failed = [r for r in results if isinstance(r, BackendUnavailable)]
    succeeded = [r for r in results if r is not None and not isinstance(r, Exception)]
    assert failed
    assert succeeded
    assert len(failed) + len(succeeded) == len(accounts)


async def test_status_codes_map_to_the_error_tree(sims: Simulators) -> None:
    async with PricingAdapter(sims.pricing.url, token="wrong") as bad:
        with pytest.raises(BackendRejected) as rejected:
            await bad.prices(["SKU-00001"])
    assert rejected.value.extensions == {"code": "UPSTREAM_REJECTED", "service": "pricing"}
    assert "wrong" not in str(rejected.value)
    async with ShippingAdapter(sims.shipping.url, token=SHIPPING_TOKEN) as shipping:
        assert await shipping.tracking_events("SH-nope") is None
        with pytest.raises(BackendNotFound):
            await shipping.request("GET", "/v1/nowhere", operation="test")
    sims.pricing.state.configure(failure_rate=1.0, failure_status=429)
    async with PricingAdapter(sims.pricing.url, token=PRICING_TOKEN) as pricing:
        with pytest.raises(BackendUnavailable) as limited:
            await pricing.prices(["SKU-00001"])
    assert limited.value.status == 429
    assert limited.value.retry_after == 1.0


async def test_timeout_is_its_own_code(sims: Simulators) -> None:
    sims.shipping.state.hang = True
    async with ShippingAdapter(sims.shipping.url, token=SHIPPING_TOKEN, timeout=0.2) as shipping:
        with pytest.raises(BackendTimeout) as caught:
            await shipping.shipments(["SO-000001"])
    assert caught.value.extensions == {"code": "UPSTREAM_TIMEOUT", "service": "shipping"}


async def test_closed_adapter_is_unavailable_not_a_crash(sims: Simulators) -> None:
    adapter = PricingAdapter(sims.pricing.url, token=PRICING_TOKEN)
    with pytest.raises(BackendUnavailable, match="closed"):
        await adapter.prices(["SKU-00001"])


async def test_observers_and_forwarded_headers(sims: Simulators) -> None:
    seen: list[CallRecord] = []

    class Recorder:
        def backend_call(self, record: CallRecord) -> None:
            seen.append(record)

    token = outgoing_headers.set(
        {"X-Request-ID": "req-42", "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
    )
    try:
        async with PricingAdapter(
            sims.pricing.url, token=PRICING_TOKEN, observers=[Recorder()]
        ) as p:
            await p.prices(["SKU-00001"])
    finally:
        outgoing_headers.reset(token)
    assert [(r.service, r.operation, r.outcome, r.status) for r in seen] == [
        ("pricing", "listPrices", "ok", 200)
    ]
    recent = sims.pricing.state.recent("listPrices")[-1]
    assert recent.request_id == "req-42"
    assert recent.traceparent is not None and recent.traceparent.startswith("00-aaaa")


async def test_quote_prices_a_basket(pricing: PricingAdapter) -> None:
    quote = await pricing.quote("C-000001", "USD", [("SKU-00001", 2), ("SKU-00002", 1)])
    assert quote.customer_account == "C-000001"
    assert [line.sku for line in quote.lines] == ["SKU-00001", "SKU-00002"]
    assert quote.total == sum(line.unit_price * line.quantity for line in quote.lines)
    with pytest.raises(BackendRejected):
        await pricing.quote("C-000001", "USD", [("NOT-A-SKU", 1)])
