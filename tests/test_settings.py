"""Configuration comes from KRING_* variables; a bad value stops start-up and names itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.settings import Settings, SettingsError, spare_cores
from server.settings_declared import SETTINGS

README = Path(__file__).resolve().parent.parent / "README.md"


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"KRING_INSTANCE_DIR": str(tmp_path), **values}


def test_defaults_run_on_an_embedded_sqlite_database(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path))
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'kring.db'}"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert not settings.secure_cookies
    assert "http://localhost:8000" in settings.allowed_origins
    assert settings.time_zone.key == "Europe/Amsterdam"


def test_the_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = Settings.from_env(env(tmp_path)).secret_key
    second = Settings.from_env(env(tmp_path)).secret_key
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first not in repr(Settings.from_env(env(tmp_path)))


def test_plain_database_urls_get_their_async_driver(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path, KRING_DATABASE_URL="postgresql://kring@db/kring"))
    assert settings.database_url == "postgresql+asyncpg://kring@db/kring"


def test_https_base_url_makes_cookies_secure(tmp_path: Path) -> None:
    settings = Settings.from_env(
        env(
            tmp_path,
            KRING_BASE_URL="https://kring.example.org/",
            KRING_ALLOWED_ORIGINS="https://other.example.org",
        )
    )
    assert settings.secure_cookies
    assert settings.allowed_origins == {"https://kring.example.org", "https://other.example.org"}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("KRING_DATABASE_URL", "mysql://db/kring", "must be a SQLite or PostgreSQL URL"),
        ("KRING_DATABASE_URL", "::not a url::", "is not a database URL"),
        ("KRING_BASE_URL", "kring.example.org", "must look like https://"),
        ("KRING_BASE_URL", "https://kring.example.org/app", "must not contain a path"),
        ("KRING_ALLOWED_ORIGINS", "ftp://x", "must look like https://"),
        ("KRING_SECRET_KEY", "short", "at least 32 characters"),
        ("KRING_SESSION_DAYS", "thirty", "must be a whole number"),
        ("KRING_INVITATION_GRACE_DAYS", "0", "must be at least 1"),
        ("KRING_LOGIN_MAX_FAILURES", "-3", "must be at least 1"),
        ("KRING_LOG_LEVEL", "loud", "must be debug, info, warning or error"),
        ("KRING_FAMILY_RESERVED_CONNECTIONS", "300", "must be below KRING_MAX_CONNECTIONS"),
        ("KRING_MAX_CONNECTIONS_PER_SESSION", "0", "must be at least 1"),
        ("KRING_SMTP_PORT", "smtp", "must be a whole number"),
        ("KRING_SMTP_PORT", "70000", "must be a port number"),
        ("KRING_SMTP_SECURITY", "tls", "must be starttls, ssl or none"),
        ("KRING_SMTP_CA_FILE", "/nonexistent/ca.pem", "cannot be read as PEM certificates"),
        ("KRING_SMTP_CA_FILE", "/", "cannot be read as PEM certificates"),
        ("KRING_RETENTION_MONTHS", "-1", "must be at least 0"),
        ("KRING_RETENTION_MONTHS", "half a year", "must be a whole number"),
        ("KRING_REDIS_URL", "http://127.0.0.1:6379", "must start with redis://"),
        ("KRING_REDIS_URL", "127.0.0.1:6379", "must start with redis://"),
        ("KRING_REDIS_PREFIX", "kring:prod", "must be 1 to 40 letters"),
        ("KRING_TIMEZONE", "Europe/Amsterdm", "must be a time zone like Europe/Amsterdam"),
        ("KRING_TIMEZONE", "../../etc/passwd", "must be a time zone like Europe/Amsterdam"),
        ("KRING_LOG_FORMAT", "xml", "must be text or json"),
        ("KRING_METRICS_TOKEN", "short", "16+ characters without spaces"),
        ("KRING_METRICS_TOKEN", "a token with spaces in it", "16+ characters without spaces"),
        ("KRING_METRICS_ALLOW", "10.0.0.0/8,intranet", "must list IP addresses or networks"),
        ("KRING_METRICS_ALLOW", "*", "must list IP addresses or networks, got '*'"),
        ("KRING_TRUSTED_PROXIES", "proxy.local", "must list IP addresses or networks (or *)"),
    ],
)
def test_a_bad_value_names_the_variable(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)) as caught:
        Settings.from_env(env(tmp_path, **{name: value}))
    assert name in str(caught.value)


def test_the_metrics_settings_are_read(tmp_path: Path) -> None:
    settings = Settings.from_env(
        env(
            tmp_path,
            KRING_LOG_FORMAT="JSON",
            KRING_METRICS_TOKEN="0123456789abcdef",
            KRING_METRICS_ALLOW=" 10.0.0.5, 192.168.1.0/24 ,",
        )
    )
    assert settings.log_format == "json"
    assert settings.metrics_allow == "10.0.0.5,192.168.1.0/24"
    assert "0123456789abcdef" not in repr(settings)


def test_an_unwritable_instance_folder_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SettingsError, match="KRING_INSTANCE_DIR"):
        Settings.from_env({"KRING_INSTANCE_DIR": str(blocker / "instance")})


def test_the_readme_documents_every_setting_and_no_other() -> None:
    documented = set(re.findall(r"^\| `(KRING_[A-Z_]+)` \|", README.read_text(), re.MULTILINE))
    assert documented == {s.env for s in SETTINGS}


def test_a_given_secret_key_still_gets_a_folder_for_the_database(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "instance"
    Settings.from_env({"KRING_INSTANCE_DIR": str(folder), "KRING_SECRET_KEY": "s" * 40})
    assert folder.is_dir()
    assert not (folder / "secret_key").exists()


def test_mail_is_off_unless_a_host_is_set_and_then_needs_a_sender(tmp_path: Path) -> None:
    off = Settings.from_env(env(tmp_path))
    assert not off.smtp.enabled and off.smtp.port == 587 and off.smtp.security == "starttls"
    with pytest.raises(SettingsError, match="KRING_SMTP_FROM"):
        Settings.from_env(env(tmp_path, KRING_SMTP_HOST="mail.example.org"))
    on = Settings.from_env(
        env(
            tmp_path,
            KRING_SMTP_HOST="mail.example.org",
            KRING_SMTP_FROM="Kring <kring@example.org>",
            KRING_SMTP_PASSWORD="hunter2-secret",
            KRING_SMTP_SECURITY="SSL",
            KRING_SMTP_PORT="465",
        )
    )
    assert on.smtp.enabled and (on.smtp.security, on.smtp.port) == ("ssl", 465)
    assert "hunter2-secret" not in repr(on)


@pytest.mark.parametrize("value", ["", " ", "\t"])
def test_heavy_jobs_left_empty_is_the_cores_but_one(tmp_path: Path, value: str) -> None:
    """Empty (a stray space in an env file too, as for every setting whose default is
    empty) is the default, not a setting that stops start-up."""
    settings = Settings.from_env(env(tmp_path, KRING_HEAVY_JOBS=value))
    assert settings.heavy_jobs == spare_cores() >= 1


@pytest.mark.parametrize(("value", "jobs"), [("3", 3), (" 3 ", 3), ("1", 1)])
def test_heavy_jobs_set_are_taken_as_given(tmp_path: Path, value: str, jobs: int) -> None:
    assert Settings.from_env(env(tmp_path, KRING_HEAVY_JOBS=value)).heavy_jobs == jobs


@pytest.mark.parametrize(
    ("value", "message"), [("0", "must be at least 1"), ("abc", "must be a whole number")]
)
def test_bad_heavy_jobs_stop_start_up(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=f"KRING_HEAVY_JOBS {message}"):
        Settings.from_env(env(tmp_path, KRING_HEAVY_JOBS=value))


@pytest.mark.parametrize(
    ("cpu_max", "jobs"),
    [("150000 100000\n", 1), ("300000 100000\n", 2), ("max 100000\n", 7), ("garbage", 7)],
)
def test_heavy_jobs_by_default_keep_to_the_services_cpu_limit(
    tmp_path: Path, cpu_max: str, jobs: int
) -> None:
    """On an 8-core host, a service limited to 1.5 cores (systemd's CPUQuota=150%, a
    container's --cpus 1.5) makes one heavy job at a time, not seven; no limit, or one that
    cannot be read, leaves the cores but one."""
    path = tmp_path / "cpu.max"
    path.write_text(cpu_max)
    assert spare_cores(path, cores=8) == jobs
    assert spare_cores(tmp_path / "absent", cores=8) == 7
    assert spare_cores(path, cores=1) == 1
