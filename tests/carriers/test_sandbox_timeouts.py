"""The sandbox carrier lets go of idle and slow connections: `codspot sandbox-carrier` as run,
on a loopback port, against raw sockets that misbehave."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

IDLE = 1.0  # --idle-timeout for these tests; the default is 15 s
LIMIT = IDLE + 4.0  # closed by then, or the server holds connections open


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "codspot_tui",
            "sandbox-carrier",
            "--port",
            str(free),
            "--token",
            "t",
            "--idle-timeout",
            str(IDLE),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", free), 0.2):
                break
            assert process.poll() is None and time.monotonic() < deadline, "no sandbox carrier"
            time.sleep(0.1)
        yield free
    finally:
        process.terminate()
        process.wait(10)


def _connect(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=LIMIT + 5)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def _until_closed(conn: socket.socket, started: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long after `started` it closed."""
    received = b""
    while True:
        try:
            chunk = conn.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return received, time.monotonic() - started
        received += chunk


def test_half_a_request_line_is_cut_off(port: int) -> None:
    with _connect(port) as conn:
        started = time.monotonic()
        conn.sendall(b"GET /v1/parc")
        received, after = _until_closed(conn, started)
    assert received == b""
    assert IDLE * 0.9 <= after < LIMIT


def test_headers_sent_a_byte_at_a_time_do_not_keep_the_connection(port: int) -> None:
    # One header that never ends: a valid request so far, at every byte.
    request = b"GET /v1/parcels?tracking=X HTTP/1.1\r\nHost: sandbox\r\nX-Slow: " + b"a" * 2000
    with _connect(port) as conn:
        started = time.monotonic()
        closed = False
        for byte in request:  # far longer than the timeout at this pace
            try:
                conn.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if time.monotonic() - started > LIMIT:
                break
            time.sleep(0.02)
        if not closed:
            conn.settimeout(0.5)
            with contextlib.suppress(TimeoutError):
                closed = conn.recv(1) == b""
        after = time.monotonic() - started
    assert closed and after < LIMIT


def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    with _connect(port) as conn:
        received, after = _until_closed(conn, time.monotonic())
    assert received == b"" and IDLE * 0.9 <= after < LIMIT


def test_a_kept_alive_connection_left_idle_is_closed(port: int) -> None:
    with _connect(port) as conn:
        conn.sendall(
            b"GET /v1/parcels?tracking=X HTTP/1.1\r\nHost: sandbox\r\n"
            b"Authorization: Bearer t\r\n\r\n"
        )
        first = conn.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        rest, after = _until_closed(conn, time.monotonic())
    assert rest == b"" and IDLE * 0.9 <= after < LIMIT


def test_a_body_that_never_arrives_whole_is_answered_408_and_closed(port: int) -> None:
    with _connect(port) as conn:
        started = time.monotonic()
        conn.sendall(
            b"POST /v1/parcels HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer t\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"reference": '
        )
        received, after = _until_closed(conn, started)
    assert received.startswith(b"HTTP/1.1 408"), received[:80]
    assert after < LIMIT
