"""The CRM & Sales-insights bolt-on (crm.openapi.yaml), reached over HTTP.

The CRM has no batch read: insights for N accounts are N requests, run
concurrently under a bound (``concurrency``) shared by the whole process so
a wide query cannot flood the CRM. The wait for that bound is part of each
call's budget (``HttpBackend.request(queue=...)``): a hung CRM costs a
query its CRM timeout, not a multiple of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from adapters.errors import BackendError, BackendNotFound, BackendUnavailable
from adapters.http import HttpBackend
from adapters.parsing import MalformedResponse, decimal, items, utc_datetime
from adapters.records import ActivityRecord, InsightsRecord

InsightsResult = InsightsRecord | None | BackendError


class CrmAdapter(HttpBackend):
    """Insights and activities per account; receives the core's events.

    Example:
        >>> async with CrmAdapter("http://127.0.0.1:8102", api_key="k") as crm:
        ...     [insights] = await crm.insights(["C-000042"])
    """

    def __init__(
        self, base_url: str, *, api_key: str | None, concurrency: int = 16, **options: Any
    ) -> None:
        headers = {"X-Api-Key": api_key} if api_key else {}
        super().__init__("crm", base_url, headers=headers, **options)
        self._bound = asyncio.Semaphore(concurrency)

    async def insights(self, accounts: Sequence[str]) -> list[InsightsResult]:
        """Insights per account, in input order.

        A slot holds ``None`` for an account the CRM does not know, or the
        error of that account's call: one failing account costs only itself.
        """
        distinct = list(dict.fromkeys(accounts))
        results = await asyncio.gather(
            *(self._one_insights(account) for account in distinct), return_exceptions=True
        )
        by_account: dict[str, InsightsResult] = {}
        for account, result in zip(distinct, results, strict=True):
            if isinstance(result, BackendError) or result is None:
                by_account[account] = result
            elif isinstance(result, BaseException):
                raise result
            else:
                by_account[account] = result
        return [by_account[account] for account in accounts]

    async def _one_insights(self, account: str) -> InsightsRecord | None:
        try:
            body = await self.request(
                "GET",
                f"/v1/accounts/{quote(account, safe='')}/insights",
                operation="getAccountInsights",
                queue=self._bound,
            )
        except BackendNotFound:
            return None
        try:
            owner = body["owner"]
            return InsightsRecord(
                account_number=str(body["account_number"]),
                health_score=int(body["health_score"]),
                churn_risk=str(body["churn_risk"]),
                lifetime_value=decimal(body["lifetime_value"]),
                next_best_action=body.get("next_best_action"),
                owner_name=str(owner["name"]),
                owner_email=str(owner["email"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendUnavailable(self.service, "malformed insights") from exc

    async def probe(self) -> None:
        """A cheap authenticated call: raises when the CRM is down or refuses our key.

        One attempt, outside the breaker and the bulkhead (``/readyz``, ``gateway check``).
        """
        try:
            await self.request(
                "GET",
                "/v1/accounts/__probe__/insights",
                operation="getAccountInsights",
                resilient=False,
            )
        except BackendNotFound:
            return  # an unknown account, answered: the CRM is up and accepted our key

    async def activities(self, account: str, limit: int = 20) -> list[ActivityRecord] | None:
        """The account's most recent activities, or ``None`` for an unknown account."""
        try:
            body = await self.request(
                "GET",
                f"/v1/accounts/{quote(account, safe='')}/activities",
                operation="listAccountActivities",
                params={"limit": limit},
                queue=self._bound,
            )
        except BackendNotFound:
            return None
        try:
            return [
                ActivityRecord(
                    id=str(item["id"]),
                    kind=str(item["kind"]),
                    occurred_at=utc_datetime(item["occurred_at"]),
                    summary=str(item["summary"]),
                )
                for item in items(body)
            ]
        except (KeyError, TypeError, MalformedResponse) as exc:
            raise BackendUnavailable(self.service, "malformed activities") from exc

    async def send_event(self, event: dict[str, Any]) -> None:
        """Deliver one business event (the CRM de-duplicates by ``event["id"]``)."""
        # The CRM de-duplicates by event id: a repeat is harmless, so retries are allowed.
        await self.request(
            "POST", "/v1/events", json=event, operation="receiveEvent", idempotent=True
        )
