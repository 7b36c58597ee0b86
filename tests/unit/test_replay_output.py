"""What `alertfold replay` shows: progress on stderr, a summary on stdout."""

from __future__ import annotations

import io

from app.replay_command import summary_text
from infra.progress import ProgressDisplay, duration_text, progress_text
from projections.replay import ReplayedModel, ReplaySummary
from projections.retention import RetentionResult


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_done_total_rate_and_time_left() -> None:
    assert progress_text(1_200, 5_000, 3.0) == "1,200/5,000 events  400/s  ETA 0:10"
    assert progress_text(5_000, 5_000, 4.0) == "5,000/5,000 events  1,250/s  done"
    assert progress_text(0, 5_000, 0.0) == "0/5,000 events  0/s  ETA ?"


def test_durations_are_short() -> None:
    assert [duration_text(s) for s in (7, 725, 10_961)] == ["0:07", "12:05", "3:02:41"]


def test_without_a_terminal_a_plain_line_every_few_seconds() -> None:
    stream = io.StringIO()
    now = [100.0]
    display = ProgressDisplay(stream, label="replay: ", line_interval=5, monotonic=lambda: now[0])

    for done in range(10):
        display.update(done, 10, 1.0)
        now[0] += 1
    display.finish(10, 10, 10.0)

    lines = stream.getvalue().splitlines()
    assert lines == [
        "replay: 0/10 events  0/s  ETA ?",
        "replay: 5/10 events  5/s  ETA 0:01",
        "replay: 10/10 events  1/s  done",
    ]
    assert "\r" not in stream.getvalue()


def test_without_a_terminal_the_final_line_is_not_repeated() -> None:
    stream = io.StringIO()
    display = ProgressDisplay(stream, line_interval=5, monotonic=lambda: 0.0)

    display.update(10, 10, 1.0)
    display.finish(10, 10, 1.5)

    assert stream.getvalue().splitlines() == ["10/10 events  10/s  done"]


def test_on_a_terminal_rich_redraws_a_bar_in_place() -> None:
    stream = Terminal()
    now = [0.0]
    display = ProgressDisplay(stream, label="replay: ", monotonic=lambda: now[0])

    display.update(1, 4, 1.0)
    now[0] += 1
    display.update(2, 4, 2.0)
    display.finish(4, 4, 4.0)

    output = stream.getvalue()
    frames = [frame for frame in output.split("\r") if "events" in frame]
    assert "1/4 events  1/s  ETA 0:03" in frames[0]
    assert "2/4 events  1/s  ETA 0:02" in frames[1]
    assert "4/4 events  1/s  done" in frames[-1]
    assert all("replay: " in frame and "━" in frame for frame in frames)
    # One line on the terminal, redrawn: it ends only when the display finishes.
    assert output.count("\n") == 1
    assert output.rstrip("\x1b[?25h").endswith("\n")


def test_summary_names_events_rate_and_what_each_read_model_holds() -> None:
    summary = ReplaySummary(
        events=12_345,
        seconds=4.2,
        models=[
            ReplayedModel(
                "lookup",
                generation=3,
                replaced=2,
                counts={"issues": 1_234},
                retention=RetentionResult(issues_deleted=10, alerts_stripped=5),
            )
        ],
    )

    assert summary_text(summary).splitlines() == [
        "replayed 12,345 events in 4.2 s (2,939 events/s)",
        "lookup: generation 3 is live (replaced 2); 1,234 issues; "
        "retention removed 10 closed issues and stripped 5 alerts",
    ]
