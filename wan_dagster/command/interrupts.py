"""Ctrl-C and SIGTERM for the main command.

While a run executes, Dagster handles both signals itself: the step is interrupted and cleans
up as a terminated run does (PENDING tasks canceled, unsent submissions withdrawn), and the run
ends as failed. Dagster swallows the signal doing so, so the command would go on to the next
run. ``StopSignals`` lets the command learn of every such signal, whoever handled it: Python
writes the number of each caught signal to the wakeup descriptor before any handler runs.
"""

from __future__ import annotations

import signal
import socket
from types import FrameType, TracebackType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """A stop signal arrived while no Dagster run was executing."""

    def __init__(self, signo: int):
        super().__init__(signal.Signals(signo).name)
        self.signal = signal.Signals(signo)


class StopSignals:
    """Within the block, SIGINT and SIGTERM raise ``Interrupted`` outside Dagster runs and are
    remembered (``received``) when a run's own handler took them."""

    def __init__(self) -> None:
        self._received: signal.Signals | None = None

    def __enter__(self) -> StopSignals:
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._previous = {sig: signal.signal(sig, self._raise) for sig in STOP_SIGNALS}
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()

    def _raise(self, signo: int, _frame: FrameType | None) -> None:
        self._received = signal.Signals(signo)
        raise Interrupted(signo)

    @property
    def received(self) -> signal.Signals | None:
        """The first stop signal seen so far, if any."""
        try:
            while data := self._reader.recv(64):
                for signo in data:
                    if self._received is None and signo in STOP_SIGNALS:
                        self._received = signal.Signals(signo)
        except BlockingIOError:
            pass
        return self._received
