"""The carrier writer: a process of its own that applies what the carriers said.

A poll is two kinds of work: HTTP and JSON on one side, the status service and SQLite on the
other. In one process they take turns on the interpreter lock, however many threads there
are; the headless worker (`codspot worker`) hands each group of news to this process
instead, so that both sides run at once, each on a core. The writer applies a group exactly
as the worker's own thread would (`ParcelService.apply_news`, one transaction) and answers
with its summary; the worker waits for that answer before the group counts as written.

The two speak over the child's stdin and stdout: frames of a 4-byte length and a pickle
(both ends are this package). The writer ignores SIGINT and SIGTERM, which a terminal or
systemd sends to the whole group: the worker decides when to stop, then closes the pipe, and
the writer finishes the transaction in hand and exits. A worker killed outright closes the
pipe too.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import struct
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from ..domain.errors import DatabaseError
from ..services.bundle import Services
from ..services.parcels import BatchSummary, CarrierNews, DueParcel
from ..settings import Settings

_LENGTH = struct.Struct(">I")
# How long a closing writer may take to finish its transaction before it is killed.
CLOSE_TIMEOUT = 10.0


class WriterProcess:
    """The worker's side: starts the writer on first use (and again if it died)."""

    def __init__(self, db_path: Path, settings: Settings) -> None:
        self.db_path = db_path
        self.settings = settings
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()  # one group at a time, as on the worker's own thread

    @property
    def pid(self) -> int | None:
        """The writer's process id while it runs (to watch it: the benchmark reads its CPU)."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    async def start(self) -> None:
        """Start the writer now rather than with the first group (it takes a moment)."""
        async with self._lock:
            await self._running()

    async def apply_news(
        self,
        carrier: str,
        polled: Sequence[int],
        news: Sequence[CarrierNews],
        unknown: Sequence[DueParcel],
        *,
        now: datetime,
        quiet: Sequence[tuple[int, datetime]] = (),
    ) -> BatchSummary:
        """`ParcelService.apply_news`, in the writer; raises what it raised there."""
        async with self._lock:
            process = await self._running()
            try:
                ok, answer = await _exchange(process, (carrier, now, polled, news, unknown, quiet))
            except (asyncio.IncompleteReadError, ConnectionError):
                raise DatabaseError(await self._lost(process)) from None
            except BaseException:
                # Cancelled mid-exchange: its answer would be read as the next group's. This
                # writer finishes the group in hand and exits; the next group starts another.
                self._process = None
                _close_pipe(process)
                raise
        if not ok:
            raise answer
        summary: BatchSummary = answer
        return summary

    async def aclose(self) -> None:
        async with self._lock:
            process, self._process = self._process, None
            if process is None or process.returncode is not None:
                return
            _close_pipe(process)  # end of work: the writer exits
            await _ended(process)

    async def _running(self) -> asyncio.subprocess.Process:
        if self._process is not None and self._process.returncode is None:
            return self._process
        # The writer imports this very package, wherever it was imported from.
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            __name__,
            str(self.db_path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,  # its stderr is the worker's: whatever it says lands in the same log
        )
        try:
            ok, answer = await _exchange(self._process, self.settings)
        except (asyncio.IncompleteReadError, ConnectionError):
            raise DatabaseError(await self._lost(self._process)) from None
        if not ok:  # it could not open the database: it has exited, and says why
            await self._process.wait()
            self._process = None
            raise answer
        return self._process

    async def _lost(self, process: asyncio.subprocess.Process) -> str:
        """Why the writer went away, in one line (its traceback, if any, is in the log)."""
        self._process = None
        return f"the carrier writer stopped (exit {await _ended(process)})"


async def _ended(process: asyncio.subprocess.Process) -> int:
    """The exit code of a writer on its way out; killed if it lingers past the timeout.

    Never kill a writer that may already be dead: `kill` polls first, and that poll can reap
    the child before asyncio's watcher does, which then reports exit 255 instead of its own.
    """
    try:
        return await asyncio.wait_for(process.wait(), CLOSE_TIMEOUT)
    except TimeoutError:
        process.kill()
        return await process.wait()


def _close_pipe(process: asyncio.subprocess.Process) -> None:
    assert process.stdin is not None
    process.stdin.close()


async def _exchange(process: asyncio.subprocess.Process, message: object) -> tuple[bool, Any]:
    """Send one frame to the writer and read its answer: (True, result) or (False, error)."""
    assert process.stdin is not None and process.stdout is not None
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    process.stdin.write(_LENGTH.pack(len(data)) + data)
    await process.stdin.drain()
    (size,) = _LENGTH.unpack(await process.stdout.readexactly(_LENGTH.size))
    answer: tuple[bool, Any] = pickle.loads(await process.stdout.readexactly(size))
    return answer


# The writer's side ----------------------------------------------------------------------------


def _read(stream: IO[bytes]) -> Any | None:
    """The next frame, or None once the worker closed the pipe."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    return pickle.loads(stream.read(size))


def _write(stream: IO[bytes], ok: bool, value: object) -> None:
    try:
        data = pickle.dumps((ok, value), pickle.HIGHEST_PROTOCOL)
        if not ok:  # an error must load back too: one whose __init__ takes more does not
            pickle.loads(data)
    except Exception:  # an error that does not travel still reaches the worker, as text
        data = pickle.dumps((False, DatabaseError(str(value))), pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


async def _serve(db_path: Path, inbox: IO[bytes], outbox: IO[bytes]) -> None:
    settings = _read(inbox)
    if settings is None:
        return
    try:
        services = await Services.open(db_path, settings)
    except Exception as error:
        _write(outbox, False, error)
        return
    _write(outbox, True, None)
    try:
        # Reading blocks the event loop, which has nothing else to do between two groups.
        while (request := _read(inbox)) is not None:
            carrier, now, polled, news, unknown, quiet = request
            try:
                summary = await services.parcels.apply_news(
                    carrier, polled, news, unknown, now=now, quiet=quiet
                )
            except Exception as error:  # the worker decides what it means, as in-process
                _write(outbox, False, error)
            else:
                _write(outbox, True, summary)
    finally:
        await services.close()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    outbox = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not land in the middle of a frame
    try:
        asyncio.run(_serve(Path(sys.argv[1]), sys.stdin.buffer, outbox))
    except BrokenPipeError:
        # The worker went away (killed) while its answer was on the way: the group is
        # committed and nobody is listening. Quietly, also for the flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), outbox.fileno())


if __name__ == "__main__":
    main()
