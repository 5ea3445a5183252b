"""A Dagster logger for terminals: one counted line per generation on stdout
(``[3/57] background_image APP-1001: stored``), a dry run's estimate and the warnings a step
raises, nothing else. The main command routes its runs' logs through it; it is part of the
project's Definitions so that the UI can re-execute those runs with their run config.
Dagster's own DEBUG event stream stays in the run's event log, where the UI shows it."""

from __future__ import annotations

import logging
import re
import sys

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
            print(f"  {message}", file=sys.stdout, flush=True)


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
