"""Log lines: text for people by default, one JSON object per line for a log pipeline."""

from __future__ import annotations

import io
import json
import logging

from infra.logs import log_formatter


def logged(log_format: str, **extra: str) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(log_formatter("worker", log_format))  # type: ignore[arg-type]
    logger = logging.getLogger("alertfold.test-logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("opened issue %s in %s", "i-1", "C0123", extra=extra)
        try:
            raise RuntimeError("the database went away")
        except RuntimeError:
            logger.exception("applying failed")
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_json_lines_name_time_level_part_logger_message_and_the_ids_passed() -> None:
    first = logged("json", issue_id="i-1", channel_id="C0123").splitlines()[0]
    line = json.loads(first)
    assert line["level"] == "WARNING"
    assert line["part"] == "worker"
    assert line["logger"] == "alertfold.test-logs"
    assert line["message"] == "opened issue i-1 in C0123"
    assert (line["issue_id"], line["channel_id"]) == ("i-1", "C0123")
    assert line["time"].endswith("+00:00")  # UTC, ISO 8601


def test_a_traceback_stays_inside_its_json_line() -> None:
    lines = logged("json").splitlines()
    assert len(lines) == 2
    failure = json.loads(lines[1])
    assert failure["level"] == "ERROR"
    assert "RuntimeError: the database went away" in failure["exc_info"]


def test_text_is_the_default_and_reads_as_before() -> None:
    text = logged("text", issue_id="i-1")
    assert " worker    WARNING alertfold.test-logs: opened issue i-1 in C0123\n" in text
    assert "{" not in text.splitlines()[0]
