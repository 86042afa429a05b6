"""Smoke test of the benchmark harness: it imports, and reads a real (tiny) wrk run."""

from __future__ import annotations

import shutil

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.harness import BenchError, parse_wrk, run_wrk
from simulators.runner import BackgroundServer


async def graphql(request: Request) -> Response:
    query = orjson.loads(await request.body())["query"]
    answer = {"errors": [{"message": "no"}]} if "fail" in query else {"data": {"ok": True}}
    return Response(orjson.dumps(answer), media_type="application/json")


def test_the_parser_rejects_output_without_a_result_line() -> None:
    with pytest.raises(BenchError):
        parse_wrk("Running 1s test @ http://127.0.0.1:1\n  1 threads and 1 connections\n")


@pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"
)
def test_a_tiny_wrk_run_is_parsed() -> None:
    app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])
    with BackgroundServer(app) as server:
        bodies = [orjson.dumps({"query": "{ ok }"}).decode()] * 3
        bodies.append(orjson.dumps({"query": "{ fail }"}).decode())
        result = run_wrk(f"{server.url}/graphql", bodies, concurrency=2, duration=1)
    assert result.requests > 10
    assert result.rps > 10
    assert 0 < result.p50_ms <= result.p95_ms <= result.p99_ms
    # One body in four answers with GraphQL errors: the harness counts them.
    share = result.errors["graphql"] / result.requests
    assert 0.1 < share < 0.4, result.errors
    assert result.failed == result.errors["graphql"]
