"""Settings are checked when a command starts: security is one of three words in any case, and a
password never crosses the network in clear text unless a setting says so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hackefors.cli import main
from tasks.settings import SettingsError, SmtpSecurity, check_settings, reset_settings


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
