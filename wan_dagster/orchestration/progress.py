"""A Dagster logger for terminals: one counted line per generation on stdout
(``[3/57] background_image APP-1001: stored``), a dry run's estimate and the warnings a step
raises, nothing else. The main command routes its runs' logs through it; it is part of the
project's Definitions so that the UI can re-execute those runs with their run config.
Dagster's own DEBUG event stream stays in the run's event log, where the UI shows it."""

from __future__ import annotations

import logging
import re
import sys
import threading
from typing import Callable

import dagster as dg
from dagster._core.log_manager import get_log_record_metadata, has_log_record_metadata

#: The per-generation lines ``run_generation`` logs as each SKU's asset finishes, and its
#: dry-run estimate.
PROGRESS_LINE = re.compile(r"^(\[\d+/\d+\] |Dry run: )")


class _ProgressHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if not has_log_record_metadata(record):
            return
        meta = get_log_record_metadata(record)
        if meta["dagster_event"] is not None or not meta["step_key"]:
            return
        message = meta["orig_message"]
        if PROGRESS_LINE.match(message) or record.levelno >= logging.WARNING:
            # a batch of progress lines (``ProgressLines``) prints as the lines it holds
            print("\n".join(f"  {line}" for line in message.splitlines()), file=sys.stdout,
                  flush=True)


@dg.logger(config_schema={"quiet": dg.Field(bool, default_value=False)},
           description="Counted per-generation progress lines and step warnings on stdout; "
                       "nothing when quiet.")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger("wan_dagster.progress")
    logger.setLevel(logging.CRITICAL + 1 if init_context.logger_config["quiet"] else logging.INFO)
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(_ProgressHandler())
    return logger


#: Run config that routes a run's logs through ``progress_logger`` only.
LOGGERS = {"loggers": {"progress": {}}}
#: Run config for runs whose logs nobody needs on the terminal (the catalog, the checks).
QUIET = {"loggers": {"progress": {"config": {"quiet": True}}}}


class ProgressLines:
    """Per-generation progress lines, written to the run's log together: each log message is a
    write to Dagster's event log storage (on SQLite, a connection and a commit), as costly as
    the materialization it reports. A line waits at most ``every_s`` seconds for others; the
    first one starts the wait; ``flush`` writes what is waiting now (call it at the end).
    ``write`` runs on the timer's thread or the caller's, never twice at once.
    """

    def __init__(self, write: Callable[[str], None], every_s: float = 5.0):
        self._write = write
        self._every_s = every_s
        self._lines: list[str] = []
        self._lock = threading.Lock()  # guards _lines and _timer
        self._writing = threading.Lock()  # keeps the messages in the order of their lines
        self._timer: threading.Timer | None = None

    def add(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)
            if self._timer is None:
                self._timer = threading.Timer(self._every_s, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self._writing:
            with self._lock:
                lines, self._lines = self._lines, []
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
            if lines:
                self._write("\n".join(lines))
