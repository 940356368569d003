"""Output capture for the runner: pipes drained by threads into a bounded buffer, and stdin fed.

A command may print without end; ``Capture`` keeps the first and the last part of a stream
(where errors usually are) and counts what it drops, so memory stays bounded and the pipe
never fills up and blocks the command. Kept apart from ``run()``: it is the I/O side only.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import IO

CHUNK = 1 << 16
DROPPED_MARK = "[perfagent: "  # starts the line that says how much output was dropped


class Capture:
    """Drains one pipe in a daemon thread, keeping the first and the last half of ``limit``
    bytes (errors usually come last) and counting what falls in between. The sha256 and
    length of the *whole* stream are kept too, so outputs compare in full."""

    def __init__(self, stream: IO[bytes], limit: int, spill: IO[bytes] | None = None) -> None:
        self._stream = stream
        self._spill = spill  # receives the whole stream, when the caller wants all of it
        self._head_cap = limit - limit // 2
        self._tail_cap = limit // 2
        self._head = bytearray()
        self._tail = bytearray()
        self.dropped = 0
        self.total = 0
        self._digest = hashlib.sha256()
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._drain, name="runner-capture", daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        try:
            while chunk := os.read(self._stream.fileno(), CHUNK):
                with self._lock:
                    self._keep(chunk)
        except OSError:
            pass
        finally:
            if self._spill is not None:
                self._spill.close()
            # The thread owns the pipe: closing it from another thread while a read may still
            # be blocked on it could hand the descriptor number to an unrelated file.
            self._stream.close()

    def _keep(self, chunk: bytes) -> None:
        self._digest.update(chunk)
        if self._spill is not None:
            self._spill.write(chunk)
        self.total += len(chunk)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        self._tail += chunk
        excess = len(self._tail) - self._tail_cap
        if excess > 0:
            del self._tail[:excess]
            self.dropped += excess

    def sha256(self) -> str:
        with self._lock:
            return self._digest.hexdigest()

    def text(self) -> str:
        with self._lock:
            head, tail, dropped = bytes(self._head), bytes(self._tail), self.dropped
        if not dropped:
            return (head + tail).decode("utf-8", errors="replace")
        mark = f"\n{DROPPED_MARK}{dropped} bytes of output dropped]\n"
        return head.decode("utf-8", errors="replace") + mark + tail.decode("utf-8", "replace")


def feed(stream: IO[bytes], data: bytes) -> None:
    """Write ``data`` to the command's stdin and close it (run in a thread of its own)."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(stream.fileno(), view[:CHUNK]) :]
    except OSError:
        pass  # the command closed its stdin or died: it does not want the rest
    finally:
        stream.close()
