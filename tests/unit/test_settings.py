"""Settings are checked when a command starts: security is one of three words in any case, and a
password never crosses the network in clear text unless a setting says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.settings import SettingsError, SmtpSecurity, check_settings, reset_settings
from hackefors.cli import main


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("HOST", "USER", "PASSWORD", "SECURITY", "ALLOW_PLAINTEXT_LOGIN", "PORT"):
        monkeypatch.delenv(f"HACKEFORS_SMTP_{name}", raising=False)
    reset_settings()
    yield
    reset_settings()


def settings_with(monkeypatch: pytest.MonkeyPatch, **values: str) -> SmtpSecurity:
    for key, value in values.items():
        monkeypatch.setenv(f"HACKEFORS_SMTP_{key.upper()}", value)
    reset_settings()
    return check_settings().smtp_security


@pytest.mark.parametrize("written,meant", [("starttls", SmtpSecurity.STARTTLS),
                                           ("STARTTLS", SmtpSecurity.STARTTLS), (" Ssl ", SmtpSecurity.SSL),
                                           ("NONE", SmtpSecurity.NONE)])
def test_security_is_read_in_any_case(monkeypatch: pytest.MonkeyPatch, written: str,
                                      meant: SmtpSecurity) -> None:
    assert settings_with(monkeypatch, security=written) is meant


def test_security_defaults_to_starttls(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings_with(monkeypatch) is SmtpSecurity.STARTTLS


@pytest.mark.parametrize("written", ["tls", "", "start-tls", "yes"])
def test_an_unknown_security_is_an_error_naming_the_variable_and_the_choices(
        monkeypatch: pytest.MonkeyPatch, written: str) -> None:
    with pytest.raises(SettingsError, match=f"HACKEFORS_SMTP_SECURITY: {written.lower()!r} is not one of "
                                            "starttls, ssl, none"):
        settings_with(monkeypatch, security=written)


def test_a_login_without_tls_needs_the_setting_that_allows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="clear text.*HACKEFORS_SMTP_ALLOW_PLAINTEXT_LOGIN=true"):
        settings_with(monkeypatch, host="mail.example.se", user="altea", security="none")
    assert settings_with(monkeypatch, allow_plaintext_login="true") is SmtpSecurity.NONE
    monkeypatch.delenv("HACKEFORS_SMTP_USER")
    monkeypatch.delenv("HACKEFORS_SMTP_ALLOW_PLAINTEXT_LOGIN")
    assert settings_with(monkeypatch) is SmtpSecurity.NONE  # no login, nothing to protect


def test_a_command_with_a_wrong_setting_says_so_in_one_line_and_exits_2(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HACKEFORS_SMTP_SECURITY", "tls")
    monkeypatch.setattr("sys.argv", ["hackefors", "networks"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == ("error: invalid settings: HACKEFORS_SMTP_SECURITY: 'tls' is not one of "
                           "starttls, ssl, none")


@pytest.mark.parametrize("written,meant", [(" Central", "central"), ("OPERATOR", "operator"),
                                           ("miljo@altea.example.se", "miljo@altea.example.se")])
def test_reply_to_is_central_operator_or_an_address(monkeypatch: pytest.MonkeyPatch, written: str,
                                                     meant: str) -> None:
    monkeypatch.setenv("HACKEFORS_REPLY_TO", written)
    reset_settings()
    assert check_settings().reply_to == meant


def test_a_reply_to_that_is_no_address_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HACKEFORS_REPLY_TO", "the boss")
    reset_settings()
    with pytest.raises(SettingsError, match="HACKEFORS_REPLY_TO: 'the boss' is not central, operator or an"):
        check_settings()


def test_replies_reach_the_central_coordinator_else_the_operator() -> None:
    from adapters.mail import Letterhead

    central = Letterhead(mail_from="a@x.se", operator_email="op@altea.se")
    assert central.reply_address("cc@kmv.se", "anna@skt.se") == "cc@kmv.se"
    assert central.reply_address(None, "anna@skt.se") == "op@altea.se"  # no central coordinator
    assert central.reply_address("cc@kmv.se", "cc@kmv.se") == "op@altea.se"  # the central one's own
    assert Letterhead(mail_from="a@x.se").reply_address(None, "anna@skt.se") is None
    operator = central.model_copy(update={"reply_to": "operator"})
    assert operator.reply_address("cc@kmv.se", "anna@skt.se") == "op@altea.se"
    fixed = central.model_copy(update={"reply_to": "miljo@altea.se"})
    assert fixed.reply_address("cc@kmv.se", "anna@skt.se") == "miljo@altea.se"


def test_every_setting_is_read_by_the_code() -> None:
    """No dead knob: each field of Settings is read somewhere (`settings.<field>`), or it goes."""
    import ast

    from adapters.settings import Settings
    from hackefors import PROJECT_ROOT

    read: set[str] = set()
    for folder in ("hackefors", "models", "adapters", "services", "tasks", "flows", "deployments", "portal"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            read |= {node.attr for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                     if isinstance(node, ast.Attribute)}
    assert sorted(set(Settings.model_fields) - read) == []


def test_links_follow_the_portal_served_unless_the_public_url_is_set(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    from adapters.settings import DEFAULT_PUBLIC_URL, get_settings, record_portal_address

    monkeypatch.setenv("HACKEFORS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HACKEFORS_PUBLIC_URL", raising=False)
    reset_settings()
    assert get_settings().public_url == DEFAULT_PUBLIC_URL  # no portal has served from this folder
    record_portal_address(tmp_path, "http://127.0.0.1:8100")  # what `hackefors portal --port 8100` does
    assert oct((tmp_path / "portal-address").stat().st_mode & 0o777) == "0o600"
    reset_settings()
    assert get_settings().public_url == "http://127.0.0.1:8100"  # `hackefors invite` in another shell
    monkeypatch.setenv("HACKEFORS_PUBLIC_URL", "https://portal.example.se")
    reset_settings()
    assert get_settings().public_url == "https://portal.example.se"
