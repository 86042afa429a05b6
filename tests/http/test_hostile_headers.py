"""Request heads are bounded where the served process reads them: 431, fast, and still healthy.

Raw sockets against a real ``gateway serve``, once per HTTP parser the CLI
can run (httptools, which ``auto`` picks when installed, and h11). The 128
MiB header an attacker streamed without a key used to be read whole
(21.7 s) before its 401; now the parser stops after ``max_header_bytes``
(32 KiB) and one read.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from simulators.runner import Simulators
from tests.support.gateway import AUTH_HEADERS
from tests.support.served import ServedGateway, served_env, served_gateway

MiB = 1024 * 1024
#: Seconds a refusal may take here (generous: the machine is shared).
BOUND = 5.0


@pytest.fixture(scope="module", params=["httptools", "h11"])
def served(
    request: pytest.FixtureRequest,
    sqlite_core: str,
    sims: Simulators,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServedGateway]:
    env = served_env(sqlite_core, sims, GATEWAY_HTTP_IMPLEMENTATION=request.param)
    with served_gateway(env, tmp_path_factory.mktemp("heads"), name=request.param) as gateway:
        yield gateway


def _connect(gateway: ServedGateway) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=BOUND * 2)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_status(sock: socket.socket) -> bytes:
    """The status line of the answer (empty if the connection ended without one)."""
    received = b""
    try:
        while b"\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    except ConnectionResetError:
        pass
    return received.split(b"\r\n", 1)[0]


def _streamed_head(gateway: ServedGateway, size: int) -> tuple[bytes, float, int]:
    """Send a head with one header of ``size`` bytes, streamed; the status, seconds, bytes sent."""
    sock = _connect(gateway)
    sent = 0

    def send() -> None:
        nonlocal sent
        chunk = b"a" * 65536
        try:
            sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nX-Padding: ")
            while sent < size:
                sock.sendall(chunk)
                sent += len(chunk)
            sock.sendall(b"\r\n\r\n")
        except OSError:
            pass  # the server closed the connection: what we want

    started = time.perf_counter()
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    status = _read_status(sock)
    took = time.perf_counter() - started
    sock.close()
    sender.join(BOUND * 4)
    return status, took, sent


def _whole_request(gateway: ServedGateway, head: bytes) -> bytes:
    sock = _connect(gateway)
    try:
        sock.sendall(head)
        return _read_status(sock)
    finally:
        sock.close()


def _still_healthy(gateway: ServedGateway) -> None:
    assert httpx.get(f"{gateway.url}/healthz", timeout=BOUND).status_code == 200
    answer = httpx.post(
        f"{gateway.url}/graphql",
        json={"query": "{ warehouses { code } }"},
        headers=AUTH_HEADERS,
        timeout=BOUND,
    )
    assert answer.status_code == 200 and "errors" not in answer.json()


def test_a_128_mib_header_is_refused_before_it_is_read(served: ServedGateway) -> None:
    status, took, sent = _streamed_head(served, 128 * MiB)
    print(
        f"128 MiB header: {status.decode()!r} after {took * 1000:.0f} ms, {sent // 1024} KiB sent"
    )
    assert status == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert took < BOUND
    assert sent < 16 * MiB  # the server stopped reading long before the end
    _still_healthy(served)


@pytest.mark.parametrize("size", [40 * 1024, 300 * 1024])
def test_a_large_head_sent_at_once_is_refused(served: ServedGateway, size: int) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Padding: " + b"a" * size + b"\r\n\r\n"
    assert _whole_request(served, head).startswith(b"HTTP/1.1 431")
    _still_healthy(served)


def test_a_long_request_line_is_refused(served: ServedGateway) -> None:
    head = b"GET /graphql?query=" + b"a" * (64 * 1024) + b" HTTP/1.1\r\nHost: gateway\r\n\r\n"
    assert _whole_request(served, head).startswith(b"HTTP/1.1 431")
    _still_healthy(served)


def test_too_many_headers_are_refused(served: ServedGateway) -> None:
    lines = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    head = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n" + lines + b"\r\n"
    assert _whole_request(served, head).startswith(b"HTTP/1.1 431")
    _still_healthy(served)


def test_heads_within_the_caps_are_served(served: ServedGateway) -> None:
    """Just under both caps: the request is answered normally (401 here: no key)."""
    lines = b"".join(b"X-H%d: v\r\n" % i for i in range(90))
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        + lines
        + b"X-Padding: "
        + b"a" * (28 * 1024)
        + b"\r\nContent-Length: 2\r\n\r\n{}"
    )
    assert _whole_request(served, head) == b"HTTP/1.1 401 Unauthorized"
    _still_healthy(served)
