"""The worker process: reads jobs from the pool on stdin, answers on stdout, one at a time.

It starts with an empty environment (no token or key to leak), imports the readers,
limits its own address space, core dumps and priority, then loops. Before each job it
sets its CPU limit to what it has used plus the job's allowance, so a job that spins is
ended by the kernel (SIGXCPU); one that allocates past the address-space limit gets a
MemoryError, reported as such. The pool kills it outright past the wall-clock bound.

Anything a library prints goes to stderr: stdout carries only the protocol.
"""

from __future__ import annotations

import importlib
import math
import os
import pickle
import resource
import sys
from types import ModuleType
from typing import BinaryIO

from untrusted.protocol import EXIT_OUT_OF_MEMORY, JobOutcome, read_frame, write_frame

# Workers yield the CPU to the bot's event loop: a file being read can wait a little,
# a person waiting for an answer should not.
NICENESS = 10


def _limit_self(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.nice(NICENESS)


def _allow_cpu(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(used + seconds), hard))


def _run(jobs: ModuleType, job: str, kwargs: dict[str, object], payload: bytes) -> JobOutcome:
    try:
        return ("ok", jobs.JOBS[job](payload, **kwargs))
    except jobs.REJECTIONS as rejection:
        return ("rejected", str(rejection))
    except MemoryError:
        return ("memory", "")
    except RecursionError:
        return ("rejected", "it is nested too deeply to read")
    except Exception as error:  # noqa: BLE001 - a library choked on hostile input
        return ("failed", type(error).__name__)


def serve(stdin: BinaryIO, stdout: BinaryIO, memory_bytes: int, jobs_module: str) -> None:
    # The module names the jobs (`JOBS`), the exceptions that are reasons for the user
    # (`REJECTIONS`) and what to import before the limits apply (`preload`).
    jobs = importlib.import_module(jobs_module)
    jobs.preload()
    _limit_self(memory_bytes)
    stdout.write(b"R")
    stdout.flush()
    while True:
        try:
            frame = read_frame(stdin)
            if frame is None:
                return
            header, payload = frame
            job, kwargs, cpu_seconds = pickle.loads(header)
            _allow_cpu(cpu_seconds)
            outcome = _run(jobs, job, kwargs, payload)
            del payload, frame
            answer = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            # Out of memory outside the job (a large file, a large answer): say so by
            # the exit status, since there is no memory to answer with.
            os._exit(EXIT_OUT_OF_MEMORY)
        write_frame(stdout, answer, b"")


def main() -> None:
    memory_bytes, jobs_module = int(sys.argv[1]), sys.argv[2]
    stdin = os.fdopen(os.dup(0), "rb")
    stdout = os.fdopen(os.dup(1), "wb")
    # Whatever a library prints must not corrupt the protocol.
    os.dup2(2, 1)
    serve(stdin, stdout, memory_bytes, jobs_module)


if __name__ == "__main__":
    main()
