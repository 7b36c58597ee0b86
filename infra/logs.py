"""One log format for every alertfold process, so `alertfold up` output reads as one story.

Text by default, for a person at a terminal; `json` (ALERTFOLD_LOG_FORMAT) for a log
pipeline: one JSON object per line with `time` (UTC, ISO 8601), `level`, `part`, `logger`
and `message`, plus whatever a log call passes as `extra` (`issue_id`, `channel_id`,
`correlation_id`, …), so a pipeline can find every line about one issue without parsing the
message. python-json-logger writes the objects; a traceback becomes the `exc_info` field.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]

_RECORD_PAYLOAD_LOGGERS = ("aiokafka.producer.producer",)


def log_formatter(process: str, log_format: LogFormat = "text") -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            static_fields={"part": process},
            timestamp="time",
        )
    return logging.Formatter(f"%(asctime)s {process:<9} %(levelname)-7s %(name)s: %(message)s")


def configure_logging(level: str, process: str, log_format: LogFormat = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(log_formatter(process, log_format))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.captureWarnings(True)  # Python's warnings in the same format, not bare on stderr
    # httpx logs every request's URL, and webhook URLs (opened on a click) are secrets.
    for url_logger in ("httpx", "httpcore"):
        logging.getLogger(url_logger).setLevel(logging.WARNING)
    # Kafka clients narrate every rebalance; keep their warnings, drop the chatter.
    if level.lower() != "debug":
        for chatty in ("aiokafka", "kafka", "uvicorn.access"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
    else:
        # These print every produced record's bytes, and records carry data that must not
        # reach logs (alert webhook URLs, whatever monitoring systems put in alerts).
        for payload_logger in _RECORD_PAYLOAD_LOGGERS:
            logging.getLogger(payload_logger).setLevel(logging.INFO)


def one_line(error: BaseException) -> str:
    """An error's message on one line and at most 300 characters (its type's name when it has
    no message): what a log line about a failure that is retried can afford to repeat."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."
