"""A small pool of worker processes that read untrusted bytes under hard limits.

Each worker runs one job at a time. A worker that runs past its CPU allowance is ended by
the kernel, one past the wall-clock bound is killed here, one that allocates past its
address-space limit reports it; in every case the job fails with a short reason for the
user, and the next job gets a fresh worker. Nothing here runs a parser in the bot's own
process, and the default executor is never used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from untrusted.budget import OnWait
from untrusted.protocol import EXIT_OUT_OF_MEMORY, frame_parts, read_answer

logger = logging.getLogger(__name__)

# A worker that has run this many jobs is replaced: parsers leave fragmented heaps.
JOBS_PER_WORKER = 200
START_SECONDS = 30.0
STOP_SECONDS = 5.0
_ROOT = str(Path(__file__).resolve().parent.parent)
# -I: no environment variables, user site or current directory on the path; the
# project root is put on the path explicitly.
_BOOT = f"import sys; sys.path.insert(0, {_ROOT!r}); from untrusted.worker import main; main()"


class UnreadableInput(Exception):
    """The input could not be read; the message is a short reason fit for a user."""


class InputRejected(UnreadableInput):
    """The reader refused the input and said why (unsupported, damaged, empty, …)."""


class ReadTimedOut(UnreadableInput):
    def __init__(self) -> None:
        super().__init__("it took too long to read")


class ReadTooLarge(UnreadableInput):
    def __init__(self) -> None:
        super().__init__("it needs too much memory to read")


class ReadFailed(UnreadableInput):
    def __init__(self) -> None:
        super().__init__("it looks damaged")


class ReadersUnavailable(UnreadableInput):
    """No worker could be had: the bot's fault, not the file's (so never remembered)."""

    def __init__(self) -> None:
        super().__init__("I can't read files right now; try again in a moment")


@dataclass(frozen=True)
class WorkerLimits:
    cpu_seconds: float
    wall_seconds: float
    memory_bytes: int


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.jobs = 0
        # Set before the first await of its end: `returncode` stays None until the
        # child watcher reports, and a dead worker must never be handed out again.
        self.gone = False

    @property
    def pid(self) -> int:
        return self.process.pid

    async def kill(self) -> int:
        self.gone = True
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        return await self.process.wait()


class WorkerPool:
    def __init__(self, size: int, limits: WorkerLimits, jobs: str = "untrusted.jobs") -> None:
        self._size = size
        self._limits = limits
        # The module whose jobs the workers run (see untrusted/worker.py).
        self._jobs = jobs
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._starting: set[asyncio.Task[None]] = set()
        # Workers being started for a job that found none idle.
        self._spawning = 0
        self._waiting = 0
        self._closed = False
        # Workers ended past a limit (CPU, wall clock, memory) or by a crash.
        self.kills = 0

    @property
    def waiting(self) -> int:
        """Jobs waiting for a free worker."""
        return self._waiting

    @property
    def busy(self) -> int:
        return len(self._busy)

    @property
    def size(self) -> int:
        return self._size

    async def start(self) -> None:
        """Start every worker now, so the first file does not wait for one."""
        for _ in range(self._size):
            self._refill()
        await asyncio.gather(*self._starting, return_exceptions=True)

    async def close(self) -> None:
        self._closed = True
        for task in self._starting:
            task.cancel()
        await asyncio.gather(*self._starting, return_exceptions=True)
        workers, self._idle = [*self._idle, *self._busy], []
        await asyncio.gather(*(self._stop(worker) for worker in workers))

    async def run(
        self, job: str, payload: bytes, on_wait: OnWait | None = None, **kwargs: object
    ) -> object:
        """The job's plain answer; `UnreadableInput` (with the reason) if there is none.
        `on_wait` is called first if every worker is busy."""
        if on_wait is not None and self._slots.locked():
            await on_wait()
        async with self._worker() as worker:
            header = pickle.dumps((job, kwargs, self._limits.cpu_seconds))
            try:
                async with asyncio.timeout(self._limits.wall_seconds):
                    outcome = await self._exchange(worker, header, payload)
            except TimeoutError:
                seconds = self._limits.wall_seconds
                logger.warning("worker %d ran past %gs on %s; killed", worker.pid, seconds, job)
                await self._discard(worker)
                raise ReadTimedOut from None
            except (asyncio.IncompleteReadError, ConnectionError):
                # The worker ended (its CPU limit, a crash): how is in its exit status.
                code = await self._reap(worker)
                raise self._ended(worker, job, code) from None
            except ValueError:
                code = await self._discard(worker)
                raise self._ended(worker, job, code) from None
            except BaseException:
                # Cancelled midway: the worker's state is unknown, so it goes.
                await self._discard(worker, counted=False)
                raise
        return _answer(job, outcome)

    @contextlib.asynccontextmanager
    async def _worker(self) -> AsyncIterator[_Worker]:
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            worker = self._idle.pop() if self._idle else await self._spawn_for_job()
        except BaseException:
            self._slots.release()
            raise
        self._busy.add(worker)
        try:
            yield worker
        finally:
            self._busy.discard(worker)
            try:
                await self._put_back(worker)
            finally:
                self._slots.release()

    async def _spawn_for_job(self) -> _Worker:
        self._spawning += 1
        try:
            return await self._spawn()
        finally:
            self._spawning -= 1

    async def _put_back(self, worker: _Worker) -> None:
        """A worker whose job is over: idle again, or replaced by a fresh one."""
        if not worker.gone and worker.process.returncode is None:
            worker.jobs += 1
            if worker.jobs < JOBS_PER_WORKER and self._has_room():
                self._idle.append(worker)
                return
            await self._stop(worker)
        self._refill()

    @staticmethod
    async def _exchange(worker: _Worker, header: bytes, payload: bytes) -> tuple[str, object]:
        stdin, stdout = worker.process.stdin, worker.process.stdout
        assert stdin is not None and stdout is not None
        prefix, body = frame_parts(header, payload)
        stdin.write(prefix)
        stdin.write(body)
        await stdin.drain()
        return await read_answer(stdout)

    async def _spawn(self) -> _Worker:
        if self._closed:
            raise ReadersUnavailable
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-I", "-c", _BOOT, str(self._limits.memory_bytes), self._jobs,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env={},
                # Out of the terminal's process group: Ctrl-C is for the bot, which stops
                # its workers itself (a worker hit by it would print a traceback).
                start_new_session=True,
            )  # fmt: skip
        except OSError as error:
            logger.error("a reader worker could not be started: %s", type(error).__name__)
            raise ReadersUnavailable from None
        worker = _Worker(process)
        assert process.stdout is not None
        try:
            async with asyncio.timeout(START_SECONDS):
                ready = await process.stdout.readexactly(1)
        except (TimeoutError, asyncio.IncompleteReadError) as error:
            logger.error("a reader worker did not start: %s", type(error).__name__)
            ready = b""
        except BaseException:
            await worker.kill()
            raise
        if ready != b"R":
            await worker.kill()
            raise ReadersUnavailable
        return worker

    def _refill(self) -> None:
        """Start a worker in the background, so the next job finds one ready."""
        if self._closed or self._count() + len(self._starting) >= self._size:
            return

        async def start() -> None:
            with contextlib.suppress(ReadersUnavailable):
                worker = await self._spawn()
                if self._has_room():
                    self._idle.append(worker)
                else:
                    await self._stop(worker)

        task = asyncio.create_task(start())
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    def _count(self) -> int:
        return len(self._idle) + len(self._busy) + self._spawning

    def _has_room(self) -> bool:
        return not self._closed and self._count() < self._size

    async def _discard(self, worker: _Worker, *, counted: bool = True) -> int:
        """Kill a worker whose job must end now."""
        self._busy.discard(worker)
        self.kills += counted
        return await worker.kill()

    async def _reap(self, worker: _Worker) -> int:
        """The exit status of a worker that ended by itself. Not signalled first: a
        signal sent before its exit is noticed would lose the status (Popen polls first
        and finds nothing left to wait for)."""
        worker.gone = True
        self._busy.discard(worker)
        self.kills += 1
        try:
            async with asyncio.timeout(STOP_SECONDS):
                return await worker.process.wait()
        except TimeoutError:
            return await worker.kill()

    async def _stop(self, worker: _Worker) -> None:
        """A worker with no job: closing its stdin ends it; killed if it lingers."""
        stdin = worker.process.stdin
        if stdin is not None:
            stdin.close()
        try:
            async with asyncio.timeout(STOP_SECONDS):
                await worker.process.wait()
        except TimeoutError:
            await worker.kill()

    def _ended(self, worker: _Worker, job: str, code: int) -> UnreadableInput:
        if code == -signal.SIGXCPU:
            logger.warning("worker %d ran out of CPU time on %s", worker.pid, job)
            return ReadTimedOut()
        if code == EXIT_OUT_OF_MEMORY:
            logger.info("worker %d ran out of memory on %s", worker.pid, job)
            return ReadTooLarge()
        logger.warning("worker %d died on %s (exit %d)", worker.pid, job, code)
        return ReadFailed()


def _answer(job: str, outcome: tuple[str, object]) -> object:
    status, value = outcome
    if status == "ok":
        return value
    if status == "rejected" and isinstance(value, str):
        raise InputRejected(value)
    if status == "memory":
        logger.info("%s ran out of memory in its worker", job)
        raise ReadTooLarge
    logger.warning("%s failed in its worker: %s", job, value)
    raise ReadFailed
