"""One log format for every alertfold process, so `alertfold up` output reads as one story."""

from __future__ import annotations

import logging
import sys

_RECORD_PAYLOAD_LOGGERS = ("aiokafka.producer.producer",)


def configure_logging(level: str, process: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format=f"%(asctime)s {process:<9} %(levelname)-7s %(name)s: %(message)s",
        force=True,
    )
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
