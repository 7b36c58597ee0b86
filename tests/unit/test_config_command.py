"""`alertfold config check` and `alertfold config show`: the settings judged and shown without
starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from infra.settings import ENVIRONMENT


@pytest.fixture(autouse=True)
def no_settings_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in [*ENVIRONMENT, "ALERTFOLD_CONFIG"]:
        monkeypatch.delenv(variable, raising=False)


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alertfold.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_says_ok_for_a_good_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = written(tmp_path, "api:\n  port: 9000\nalerting:\n  resend_interval: 30m\n")
    assert main(["config", "check", str(path)]) == 0
    assert capsys.readouterr().out == "ok\n"


def test_check_lists_every_problem_with_its_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = written(tmp_path, "api:\n  port: 0\nalerting:\n  resend_interval: 30 minutes\n")
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2: api.port=0: Input should be greater than or equal to 1" in err
    assert f"{path}:4: alerting.resend_interval='30 minutes': not a duration" in err


def test_check_judges_the_file_alone_not_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = written(tmp_path, "api:\n  port: 9000\n")
    monkeypatch.setenv("ALERTFOLD_API_PORT", "not a port")
    assert main(["config", "check", str(path)]) == 0


def test_check_reads_the_file_alertfold_config_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALERTFOLD_CONFIG", str(written(tmp_path, "api:\n  prot: 1\n")))
    assert main(["config", "check"]) == 2
    assert "api.prot: unknown setting; did you mean port?" in capsys.readouterr().err


def test_check_without_a_file_says_how_to_name_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check"]) == 2
    assert "name one, or set ALERTFOLD_CONFIG" in capsys.readouterr().err


def test_show_tells_each_value_and_where_it_came_from_with_secrets_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = written(
        tmp_path,
        "api:\n  port: 9000\nslack:\n  bot_token: ${BOT}\nalerting:\n  resend_interval: 90m\n"
        "  channel_resend_intervals: {c0456789abc: 0, C0123456789: 15m}\n",
    )
    monkeypatch.setenv("ALERTFOLD_CONFIG", str(path))
    monkeypatch.setenv("BOT", "xoxb-very-secret")
    monkeypatch.setenv("ALERTFOLD_PARTITIONS", "4")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:db-password@db/alerts")
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()}
    assert rows["setting"] == ["setting", "variable", "value", "from"]
    assert rows["api.port"] == ["api.port", "ALERTFOLD_API_PORT", "9000", f"{path}:2"]
    assert rows["slack.bot_token"] == [
        "slack.bot_token",
        "SLACK_BOT_TOKEN",
        "(hidden)",
        f"{path}:4",
    ]
    assert rows["alerting.resend_interval"][2:] == ["1h30m", f"{path}:6"]
    assert rows["alerting.channel_resend_intervals"][2:] == [
        "C0123456789=15m,C0456789ABC=0s",
        f"{path}:7",
    ]
    assert rows["kafka.partitions"][2:] == ["4", "environment"]
    assert rows["database.url"][2:] == ["postgresql://app:***@db/alerts", "environment"]
    assert rows["api.host"][2:] == ["127.0.0.1", "default"]
    assert rows["alerting.silence_durations"][2:] == ["30m,1h,4h,1d", "default"]
    assert rows["slack.app_token"][2:] == ["(unset)", "default"]
    assert "very-secret" not in out and "db-password" not in out
    assert len(rows) == len(ENVIRONMENT) + 1


def test_show_refuses_bad_settings_as_start_up_would(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALERTFOLD_API_PORT", "http")
    assert main(["config", "show"]) == 2
    assert "ALERTFOLD_API_PORT='http'" in capsys.readouterr().err
