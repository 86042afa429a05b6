"""The Customer type: core fields, orders, and the CRM bolt-on's insights."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum

import strawberry

from adapters.records import ActivityRecord, CustomerRecord, InsightsRecord
from gateway.context import GatewayInfo
from resolvers import customers
from schema.node import Node
from schema.order import Order, OrderStatus, order_connection
from schema.relay import Connection, to_global_id


@strawberry.enum(description="The core's customer segments.")
class CustomerSegment(Enum):
    ENTERPRISE = "enterprise"
    MID_MARKET = "mid_market"
    SMB = "smb"


@strawberry.enum(description="How likely the CRM thinks the account is to leave.")
class ChurnRisk(Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@strawberry.enum(description="Kinds of logged sales activity.")
class ActivityKind(Enum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    NOTE = "note"


@strawberry.input(description="Filters of the customers list.")
class CustomerFilter:
    segment: CustomerSegment | None = None
    name_contains: str | None = None


@strawberry.type(description="The account owner at the CRM.")
class AccountOwner:
    name: str
    email: str


@strawberry.type(description="Sales insights of an account (CRM bolt-on).")
class CustomerInsights:
    health_score: int
    churn_risk: ChurnRisk
    lifetime_value: Decimal
    next_best_action: str | None
    owner: AccountOwner

    @classmethod
    def from_record(cls, record: InsightsRecord) -> CustomerInsights:
        return cls(
            health_score=record.health_score,
            churn_risk=ChurnRisk(record.churn_risk),
            lifetime_value=record.lifetime_value,
            next_best_action=record.next_best_action,
            owner=AccountOwner(name=record.owner_name, email=record.owner_email),
        )


@strawberry.type(description="A logged sales activity (CRM bolt-on).")
class Activity:
    id: str
    kind: ActivityKind
    occurred_at: datetime
    summary: str

    @classmethod
    def from_record(cls, record: ActivityRecord) -> Activity:
        return cls(
            id=record.id,
            kind=ActivityKind(record.kind),
            occurred_at=record.occurred_at,
            summary=record.summary,
        )


@strawberry.type(description="A customer of the core, joined with its CRM insights.")
class Customer(Node):
    account_number: str
    name: str
    email: str | None
    segment: CustomerSegment
    credit_limit: Decimal
    version: int = strawberry.field(description="The core's row_version (optimistic locking).")
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]

    @strawberry.field(description="The customer's orders, oldest first.")
    async def orders(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        status: OrderStatus | None = None,
    ) -> Connection[Order]:
        return await order_connection(
            info, customer_pk=self.pk, first=first, after=after, status=status
        )

    @strawberry.field(description="Total of placed, not yet shipped orders.")
    async def open_balance(self, info: GatewayInfo) -> Decimal:
        return await customers.open_balance(info.context, self.pk)

    @strawberry.field(description="Sales insights from the CRM bolt-on.")
    async def insights(self, info: GatewayInfo) -> CustomerInsights | None:
        record = await customers.insights(info.context, self.account_number)
        return None if record is None else CustomerInsights.from_record(record)

    @strawberry.field(description="Most recent sales activities from the CRM bolt-on.")
    async def activities(self, info: GatewayInfo, limit: int = 20) -> list[Activity] | None:
        records = await customers.activities(info.context, self.account_number, limit)
        return None if records is None else [Activity.from_record(r) for r in records]

    @classmethod
    def from_record(cls, record: CustomerRecord) -> Customer:
        return cls(
            id=strawberry.ID(to_global_id("Customer", record.id)),
            account_number=record.account_number,
            name=record.name,
            email=record.email,
            segment=CustomerSegment(record.segment),
            credit_limit=record.credit_limit,
            version=record.row_version,
            created_at=record.created_at,
            updated_at=record.updated_at,
            pk=record.id,
        )
