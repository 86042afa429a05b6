"""The deterministic demo seeder of the core database.

Scale 1 is 1,000 customers, 500 products, 3 warehouses, their 1,500
inventory rows and 20,000 orders with about 60,000 lines. Everything comes
from fixed-seed random sources and from ``simulators.world``, which the
bolt-on simulators derive their data from too: a seeded order the core calls
shipped has a shipment at the Shipping simulator, a product's unit cost sits
below the list price the Pricing simulator quotes. Two runs at the same scale
write identical rows, ids included.

Inventory is consistent with the orders: ``reserved`` is the quantity of
placed (not yet shipped) orders per product and warehouse, and ``on_hand``
is that plus a free amount.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, delete, func, insert, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.core import CoreAdapter, core_metadata
from adapters.core.tables import (
    customers,
    inventory,
    order_lines,
    orders,
    products,
    warehouses,
)
from simulators import world

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``, called after every chunk written."""

#: Rows per executemany: large enough to amortise round trips, small enough
#: to report progress and to stay far below any driver's parameter limit.
CHUNK = 5_000

CUSTOMERS_AT_SCALE_1 = 1_000
PRODUCTS_AT_SCALE_1 = 500
ORDERS_AT_SCALE_1 = 20_000

#: (code, name, region); always all three, whatever the scale.
WAREHOUSES: tuple[tuple[str, str, str], ...] = (
    ("WH-EU1", "Rotterdam Distribution Centre", "eu-west"),
    ("WH-US1", "Memphis Distribution Centre", "us-east"),
    ("WH-AP1", "Singapore Distribution Centre", "ap-southeast"),
)

#: The seeded timeline: customers sign up in January 2026, orders follow
#: until the end of October, in order-number order.
CUSTOMERS_FROM = datetime(2026, 1, 1, tzinfo=UTC)
ORDERS_FROM = datetime(2026, 2, 1, tzinfo=UTC)
ORDERS_UNTIL = datetime(2026, 10, 31, tzinfo=UTC)

_SEGMENT_WEIGHTS = {"enterprise": 15, "mid_market": 35, "smb": 50}
#: Credit limits in thousands per segment, wide enough that most open
#: balances fit and a few customers sit near their limit.
_CREDIT_THOUSANDS = {"enterprise": (500, 2_000), "mid_market": (100, 500), "smb": (25, 100)}
_CURRENCY_WEIGHTS = {"USD": 90, "EUR": 6, "GBP": 4}
_QUANTITIES = (1, 1, 1, 2, 2, 2, 3, 3, 4, 5)

_NAME_STEMS = (
    "Acme", "Apex", "Arcadia", "Beacon", "Birch", "Blue Harbor", "Cedar", "Cobalt",
    "Crescent", "Delta", "Evergreen", "Falcon", "Granite", "Harbor", "Helix", "Horizon",
    "Ironwood", "Juniper", "Keystone", "Lakeside", "Lumen", "Maple", "Meridian", "Northwind",
    "Oakridge", "Orion", "Pinnacle", "Quartz", "Redwood", "Riverbend", "Sagebrush", "Summit",
    "Tidewater", "Trident", "Union", "Vantage", "Westfield", "Willow", "Zenith", "Copperleaf",
)  # fmt: skip
_NAME_TRADES = (
    "Logistics", "Foods", "Systems", "Industries", "Labs", "Retail", "Health", "Energy",
    "Manufacturing", "Supply", "Engineering", "Consulting", "Outfitters", "Networks",
    "Hospitality", "Builders", "Analytics", "Pharma", "Textiles", "Motors",
)  # fmt: skip
_NAME_SUFFIXES = ("Inc", "Ltd", "GmbH", "BV", "SA", "LLC", "Pte Ltd", "AG")
_PRODUCT_NOUNS = {
    "hardware": ("Router", "Switch", "Server", "Laptop", "Monitor", "Docking Station"),
    "software": ("Licence", "Suite", "Subscription", "Add-on", "Analytics Seat"),
    "services": ("Installation", "Support Plan", "Training Day", "Site Audit", "Migration"),
    "accessories": ("Cable", "Adapter", "Wall Mount", "Carry Case", "Keyboard"),
    "supplies": ("Toner", "Paper Pack", "Label Roll", "Ink Cartridge", "Cleaning Kit"),
}
_PRODUCT_ADJECTIVES = ("Pro", "Compact", "Ultra", "Basic", "Advanced", "Eco", "Premium", "Rugged")


class SeedError(RuntimeError):
    """The database cannot be seeded as asked (it already holds data, or lacks tables)."""


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What ``seed`` wrote.

    Attributes:
        seeded_orders: the highest seeded order index: ``SO-000001`` up to
            ``SO-<seeded_orders>`` exist; the Shipping simulator derives
            shipments for the shipped ones.
        seconds: wall time of the run (not part of equality).

    Example:
        >>> summary = await seed(core, scale=0.05)
        >>> summary.orders
        1000
    """

    customers: int
    products: int
    warehouses: int
    inventory: int
    orders: int
    order_lines: int
    seeded_orders: int
    seconds: float = field(default=0.0, compare=False)

    def __str__(self) -> str:
        return (
            f"{self.customers:,} customers, {self.products:,} products, "
            f"{self.warehouses} warehouses, {self.inventory:,} inventory rows, "
            f"{self.orders:,} orders with {self.order_lines:,} lines "
            f"in {self.seconds:.1f} s"
        )


@dataclass(slots=True)
class SeedData:
    """The rows of one seed, table by table, ready for executemany."""

    customers: list[dict[str, Any]]
    products: list[dict[str, Any]]
    warehouses: list[dict[str, Any]]
    inventory: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    order_lines: list[dict[str, Any]]


def _count(base: int, scale: float) -> int:
    return max(1, round(base * scale))


def generate(scale: float = 1.0) -> SeedData:
    """Build every row of a seed in memory; the same ``scale`` gives the same rows.

    Each table draws from its own fixed-seed random source, so that e.g.
    the customers do not change when the product count does.

    Raises:
        ValueError: ``scale`` is not positive.
    """
    if not scale > 0:
        raise ValueError("scale must be positive")
    n_customers = _count(CUSTOMERS_AT_SCALE_1, scale)
    n_products = _count(PRODUCTS_AT_SCALE_1, scale)
    n_orders = _count(ORDERS_AT_SCALE_1, scale)

    warehouse_rows = [
        {"id": index, "code": code, "name": name, "region": region}
        for index, (code, name, region) in enumerate(WAREHOUSES, start=1)
    ]
    customer_rows = _customers(n_customers)
    product_rows = _products(n_products)
    order_rows, line_rows = _orders(n_orders, customer_rows, product_rows, len(warehouse_rows))
    inventory_rows = _inventory(product_rows, warehouse_rows, order_rows, line_rows)
    return SeedData(
        customers=customer_rows,
        products=product_rows,
        warehouses=warehouse_rows,
        inventory=inventory_rows,
        orders=order_rows,
        order_lines=line_rows,
    )


def _customers(count: int) -> list[dict[str, Any]]:
    rng = random.Random("seed:customers")  # noqa: S311 - reproducible demo data, not secrets
    segments = list(_SEGMENT_WEIGHTS)
    weights = list(_SEGMENT_WEIGHTS.values())
    # Sign-ups spread over January, in id order.
    step = timedelta(days=31) / count
    rows: list[dict[str, Any]] = []
    for index in range(1, count + 1):
        stem, trade = rng.choice(_NAME_STEMS), rng.choice(_NAME_TRADES)
        name = f"{stem} {trade} {rng.choice(_NAME_SUFFIXES)}"
        domain = f"{stem}-{trade}".lower().replace(" ", "")
        segment = rng.choices(segments, weights)[0]
        low, high = _CREDIT_THOUSANDS[segment]
        created = CUSTOMERS_FROM + step * (index - 1) + timedelta(seconds=rng.randrange(600))
        rows.append(
            {
                "id": index,
                "account_number": world.account_number(index),
                "name": name,
                "email": None if rng.random() < 0.06 else f"purchasing{index}@{domain}.example",
                "segment": segment,
                "credit_limit": Decimal(rng.randint(low, high) * 1_000),
                "created_at": created,
                "updated_at": created,
                "row_version": 1,
            }
        )
    return rows


def _products(count: int) -> list[dict[str, Any]]:
    rng = random.Random("seed:products")  # noqa: S311
    rows: list[dict[str, Any]] = []
    for index in range(1, count + 1):
        sku = world.sku(index)
        category = rng.choice(world.CATEGORIES)
        noun = rng.choice(_PRODUCT_NOUNS.get(category, ("Item",)))
        model = f"{rng.choice('ABCDEFGHKMRSTXZ')}-{rng.randrange(10, 1000)}"
        rows.append(
            {
                "id": index,
                "sku": sku,
                "name": f"{rng.choice(_PRODUCT_ADJECTIVES)} {noun} {model}",
                "category": category,
                "unit_cost": world.unit_cost(sku),
                # About 5 % discontinued; product 1 always sells so that the
                # smallest scales still have something to order.
                "active": index == 1 or rng.random() >= 0.05,
            }
        )
    return rows


def _orders(
    count: int,
    customer_rows: Sequence[Mapping[str, Any]],
    product_rows: Sequence[Mapping[str, Any]],
    n_warehouses: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random("seed:orders")  # noqa: S311
    currencies = list(_CURRENCY_WEIGHTS)
    currency_weights = list(_CURRENCY_WEIGHTS.values())
    sellable = [(row["id"], row["sku"]) for row in product_rows if row["active"]]
    # world's prices hash their keys: compute each once, not once per line.
    list_prices = {
        (sku, currency): world.list_price(sku, currency)
        for _, sku in sellable
        for currency in currencies
    }
    discounts = {
        row["id"]: 1 - world.account_discount_pct(row["account_number"]) / 100
        for row in customer_rows
    }
    step = (ORDERS_UNTIL - ORDERS_FROM).total_seconds() / count
    order_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    line_id = 0
    for index in range(1, count + 1):
        number = world.order_number(index)
        status = world.seeded_order_status(number)
        customer_id = rng.randint(1, len(customer_rows))
        currency = rng.choices(currencies, currency_weights)[0]
        # Created in order-number order, so keyset pages by id read chronologically.
        created = ORDERS_FROM + timedelta(seconds=round(step * (index - 1) + rng.random() * step))
        placed_at: datetime | None = None
        warehouse_id: int | None = None
        updated, version = created, 1
        if status in ("placed", "shipped"):
            placed_at = created + timedelta(minutes=rng.randint(10, 36 * 60))
            warehouse_id = rng.randint(1, n_warehouses)
            updated, version = placed_at, 2
            if status == "shipped":
                updated, version = placed_at + timedelta(hours=rng.randint(4, 120)), 3
        elif status == "cancelled":
            updated, version = created + timedelta(minutes=rng.randint(5, 72 * 60)), 2
        order_rows.append(
            {
                "id": index,
                "order_number": number,
                "customer_id": customer_id,
                "status": status,
                "currency": currency,
                "warehouse_id": warehouse_id,
                "placed_at": placed_at,
                "created_at": created,
                "updated_at": updated,
                "row_version": version,
            }
        )
        picked = rng.sample(sellable, rng.randint(1, min(5, len(sellable))))
        for line_no, (product_id, sku) in enumerate(picked, start=1):
            line_id += 1
            line_rows.append(
                {
                    "id": line_id,
                    "order_id": index,
                    "line_no": line_no,
                    "product_id": product_id,
                    "quantity": rng.choice(_QUANTITIES),
                    # Near list price: list less the customer's negotiated discount.
                    "unit_price": world.money(
                        list_prices[(sku, currency)] * discounts[customer_id]
                    ),
                }
            )
    return order_rows, line_rows


def _inventory(
    product_rows: Sequence[Mapping[str, Any]],
    warehouse_rows: Sequence[Mapping[str, Any]],
    order_rows: Sequence[Mapping[str, Any]],
    line_rows: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    rng = random.Random("seed:inventory")  # noqa: S311
    placed_in = {row["id"]: row["warehouse_id"] for row in order_rows if row["status"] == "placed"}
    reserved: dict[tuple[int, int], int] = {}
    for line in line_rows:
        warehouse_id = placed_in.get(line["order_id"])
        if warehouse_id is not None:
            key = (line["product_id"], warehouse_id)
            reserved[key] = reserved.get(key, 0) + line["quantity"]
    rows: list[dict[str, Any]] = []
    for product in product_rows:
        for warehouse in warehouse_rows:
            key = (product["id"], warehouse["id"])
            held = reserved.get(key, 0)
            # Some sold-out stock makes INSUFFICIENT_STOCK reachable in the demo.
            free = 0 if not product["active"] or rng.random() < 0.05 else rng.randint(5, 400)
            rows.append(
                {
                    "product_id": key[0],
                    "warehouse_id": key[1],
                    "on_hand": held + free,
                    "reserved": held,
                }
            )
    return rows


async def seed(
    target: CoreAdapter | AsyncEngine,
    *,
    scale: float = 1.0,
    reset: bool = False,
    progress: Progress | None = None,
) -> SeedSummary:
    """Fill an empty core with deterministic demo data, in one transaction.

    Args:
        target: an entered ``CoreAdapter`` or an ``AsyncEngine`` whose
            database has the core tables (``CoreAdapter.create_schema()``).
        scale: 1 = 1,000 customers and 20,000 orders; fractions shrink every
            table but keep all three warehouses and at least one row of each.
        reset: delete every core row first instead of refusing a non-empty core.
        progress: called as ``progress(stage, done, total)`` after each chunk.

    Raises:
        SeedError: the core already holds data (and ``reset`` is false), or
            lacks some of its tables.
        ValueError: ``scale`` is not positive.
    """
    started = time.perf_counter()
    data = generate(scale)
    if isinstance(target, CoreAdapter):
        async with target.transaction() as conn:
            await _write(conn, data, reset=reset, progress=progress)
    else:
        async with target.begin() as conn:
            await _write(conn, data, reset=reset, progress=progress)
    return SeedSummary(
        customers=len(data.customers),
        products=len(data.products),
        warehouses=len(data.warehouses),
        inventory=len(data.inventory),
        orders=len(data.orders),
        order_lines=len(data.order_lines),
        seeded_orders=len(data.orders),
        seconds=time.perf_counter() - started,
    )


#: Parents before children, for inserting; reversed for deleting.
_TABLES_IN_ORDER: tuple[tuple[str, Table], ...] = (
    ("warehouses", warehouses),
    ("customers", customers),
    ("products", products),
    ("inventory", inventory),
    ("orders", orders),
    ("order lines", order_lines),
)


async def _write(
    conn: AsyncConnection, data: SeedData, *, reset: bool, progress: Progress | None
) -> None:
    missing = await conn.run_sync(_missing_tables)
    if missing:
        raise SeedError(f"the core lacks tables {', '.join(missing)}; create its schema first")
    if reset:
        for _, table in reversed(_TABLES_IN_ORDER):
            await conn.execute(delete(table))
    else:
        for _, table in _TABLES_IN_ORDER:
            if await conn.scalar(select(func.count()).select_from(table)):
                raise SeedError(
                    f"the core already holds data ({table.name}); seed with reset=True"
                    " (gateway seed --reset) to replace it"
                )
    rows_of = {
        "warehouses": data.warehouses,
        "customers": data.customers,
        "products": data.products,
        "inventory": data.inventory,
        "orders": data.orders,
        "order lines": data.order_lines,
    }
    for stage, table in _TABLES_IN_ORDER:
        rows = rows_of[stage]
        done = 0
        for chunk in _chunks(rows, CHUNK):
            await conn.execute(insert(table), chunk)
            done += len(chunk)
            if progress is not None:
                progress(stage, done, len(rows))
    if conn.dialect.name == "postgresql":
        # Explicit ids leave the identity sequences behind: move them past the
        # seeded rows so the gateway's own inserts do not collide.
        for _, table in _TABLES_IN_ORDER:
            if "id" in table.c:
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608 - our own table names
                        f"(SELECT max(id) FROM {table.name}))"
                    )
                )


def _missing_tables(sync_conn: Connection) -> list[str]:
    present = set(inspect(sync_conn).get_table_names())
    return [table.name for table in core_metadata.sorted_tables if table.name not in present]


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
