"""How the pool and its workers talk: length-prefixed frames over the worker's stdin/stdout.

A frame is a header (a pickle) and a payload (raw bytes, sent as they are, so a 50 MB
file is not copied into a pickle). What a worker sends back is read with an unpickler
that refuses every class: a worker parses hostile input, so if one were ever subverted
its answer could otherwise run code in the bot. Only plain values (str, bytes, numbers,
lists, tuples, dicts) come through.
"""

from __future__ import annotations

import asyncio
import io
import pickle
import struct
from typing import BinaryIO

_LENGTH = struct.Struct(">Q")
# How a worker exits when it ran out of memory outside a job (reading or answering).
EXIT_OUT_OF_MEMORY = 75
# A worker's answer is text and a few images; anything larger is a broken worker.
MAX_ANSWER_BYTES = 256 * 2**20

# What a worker answers: ("ok", value), ("rejected", reason for the user),
# ("memory", ""), or ("failed", the exception's type name, for the log).
JobOutcome = tuple[str, object]


def write_frame(out: BinaryIO, header: bytes, payload: bytes) -> None:
    out.write(_LENGTH.pack(len(header)) + header + _LENGTH.pack(len(payload)))
    out.write(payload)
    out.flush()


def read_frame(source: BinaryIO) -> tuple[bytes, bytes] | None:
    """The next frame, or None at the end of the stream."""
    header = _read_part(source)
    if header is None:
        return None
    payload = _read_part(source)
    if payload is None:
        return None
    return header, payload


def _read_part(source: BinaryIO) -> bytes | None:
    prefix = source.read(_LENGTH.size)
    if len(prefix) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(prefix)
    data = source.read(length)
    return data if len(data) == length else None


def frame_parts(header: bytes, payload: bytes) -> tuple[bytes, bytes]:
    """The bytes to write for a frame: the prefixed header, then the payload as it is."""
    return _LENGTH.pack(len(header)) + header + _LENGTH.pack(len(payload)), payload


async def read_answer(reader: asyncio.StreamReader) -> JobOutcome:
    """A worker's answer; raises `asyncio.IncompleteReadError` if the worker is gone and
    `ValueError` if what it sent is not a plain, well-formed answer."""
    header = await _read_async_part(reader)
    await _read_async_part(reader)  # answers carry no payload
    try:
        outcome = _PlainUnpickler(io.BytesIO(header)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise ValueError("unreadable answer from a worker") from error
    if not (isinstance(outcome, tuple) and len(outcome) == 2 and isinstance(outcome[0], str)):
        raise ValueError("malformed answer from a worker")
    return outcome[0], outcome[1]


async def _read_async_part(reader: asyncio.StreamReader) -> bytes:
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    if length > MAX_ANSWER_BYTES:
        raise ValueError("oversized answer from a worker")
    return await reader.readexactly(length)


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        raise pickle.UnpicklingError(f"a worker answered with {module}.{name}")
