"""Settings: defaults, the .env file, and one clear error per bad value."""

from __future__ import annotations

from datetime import time

import pytest

from digestbot.config import async_database_url, env_file_warnings, load_settings
from digestbot.errors import ConfigError

TOKEN = "123456:ABCdefGhIJKlmNoPQRstuVWXyz0123456789"


def test_defaults_need_nothing_set():
    settings = load_settings(None)
    assert settings.async_database_url == "sqlite+aiosqlite:///digestbot.db"
    assert settings.default_timezone == "UTC"
    assert settings.default_time == time(8, 0)
    assert settings.send_rate == 25
    assert settings.admin_ids == []
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"


def test_values_come_from_the_environment_and_the_env_file(monkeypatch, tmp_path):
    env = tmp_path / "custom.env"
    env.write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nADMIN_IDS=11, 22\nFEED_URLS=https://a.example/feed\n"
        "DEFAULT_TIMEZONE=Asia/Kolkata\n"
    )
    monkeypatch.setenv("DEFAULT_DIGEST_TIME", "7:30")
    monkeypatch.setenv("ADMIN_IDS", "33")  # the environment wins over the file

    settings = load_settings(env)

    assert settings.token() == TOKEN
    assert settings.admin_ids == [33]
    assert settings.feed_urls == ["https://a.example/feed"]
    assert settings.default_zone.key == "Asia/Kolkata"
    assert settings.default_digest_time == "07:30"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///digestbot.db", "sqlite+aiosqlite:///digestbot.db"),
        ("sqlite:////var/lib/d.db", "sqlite+aiosqlite:////var/lib/d.db"),
        ("postgresql://bot@db:5432/digest", "postgresql+asyncpg://bot@db:5432/digest"),
        ("postgres://bot@db/digest", "postgresql+asyncpg://bot@db/digest"),
        ("postgresql+asyncpg://bot@db/x", "postgresql+asyncpg://bot@db/x"),
    ],
)
def test_database_urls_map_to_async_drivers(url, expected):
    assert async_database_url(url) == expected


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("DATABASE_URL", "nosuch://x", "unsupported scheme 'nosuch'"),
        ("DATABASE_URL", "digestbot.db", "expected a URL"),
        ("SEND_RATE", "-1", "above 0"),
        ("SEND_RATE", "fast", "'fast' is not a number"),
        ("DEFAULT_TIMEZONE", "Mars/Olympus", "unknown timezone 'Mars/Olympus'"),
        ("DEFAULT_DIGEST_TIME", "25:00", "not a time like 08:00"),
        ("ADMIN_IDS", "12,bob", "'bob' is not a Telegram user id"),
        ("FEED_URLS", "ftp://x", "not an http(s) URL"),
        ("FEED_URLS", "https://a.example/feed, https:///feed", "'https:///feed' has no host"),
        ("FEED_URLS", "https://a.example/" + "x" * 2031, "longer than 2048 characters"),
        ("FEED_URLS", "http://[::1/feed", "not a valid URL"),
        ("FEED_TIMEOUT", "0", "above 0"),
        ("FEED_TIMEOUT", "soon", "'soon' is not a number"),
        ("FEED_ALLOW_PRIVATE", "maybe", "valid boolean"),
        ("LOG_LEVEL", "LOUD", "must be one of"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "does not look like a bot token"),
        ("TELEGRAM_API_BASE_URL", "api.telegram.org", "must start with http"),
        ("WEBHOOK_URL", "http://bot.example.com/tg", "public https:// URL"),
        ("WEBHOOK_URL", "https:///tg", "with a host"),
        ("WEBHOOK_URL", "https://bot.example.com/healthz", "path cannot be /healthz"),
        ("WEBHOOK_LISTEN", "8080", "not host:port"),
        ("WEBHOOK_LISTEN", "0.0.0.0:99999", "not host:port"),
        ("HEALTH_LISTEN", "8080", "not host:port"),
        ("WEBHOOK_SECRET", "has spaces in it", "A-Z, a-z, 0-9, _ and -"),
        ("WEBHOOK_SECRET", "x" * 257, "1-256 characters"),
        ("LEADER_RETRY_SECONDS", "30", "between 0.05 and 6"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_problem(monkeypatch, variable, value, problem):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        load_settings(None)
    assert info.value.variable == variable
    assert problem in str(info.value)
    assert str(info.value).startswith(f"{variable}: ")


def test_feed_fetching_defaults_and_the_longest_feed_url(monkeypatch):
    longest = "https://a.example/" + "x" * 2030  # 2048 characters, the column's size
    monkeypatch.setenv("FEED_URLS", longest)

    settings = load_settings(None)

    assert settings.feed_urls == [longest]
    assert settings.feed_timeout == 30
    assert settings.feed_allow_private is False


def test_missing_token_points_to_the_console():
    with pytest.raises(ConfigError, match="digestbot console"):
        load_settings(None).token()


def test_a_bad_token_is_never_echoed(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:short-secret-value")
    with pytest.raises(ConfigError) as info:
        load_settings(None)
    assert "short-secret-value" not in str(info.value)


def test_webhook_settings_default_to_polling_and_parse_when_set(monkeypatch):
    settings = load_settings(None)
    assert settings.webhook_url is None and settings.webhook_secret is None
    assert settings.webhook_address == ("0.0.0.0", 8080)
    assert settings.leader_retry_seconds == 5
    assert settings.health_address is None  # polling serves no HTTP unless asked
    monkeypatch.setenv("HEALTH_LISTEN", "127.0.0.1:9100")
    assert load_settings(None).health_address == ("127.0.0.1", 9100)

    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.com/hooks/tg")
    monkeypatch.setenv("WEBHOOK_LISTEN", "[::]:8443")
    monkeypatch.setenv("WEBHOOK_SECRET", "Abc_123-xyz")
    settings = load_settings(None)
    assert settings.webhook_path == "/hooks/tg"
    assert settings.webhook_address == ("::", 8443)
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == "Abc_123-xyz"
    assert "Abc_123-xyz" not in repr(settings)  # a secret, like the token
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.com")
    assert load_settings(None).webhook_path == "/"


def test_unknown_keys_in_the_env_file_are_named_with_the_nearest_setting(tmp_path):
    env = tmp_path / ".env"
    env.write_text("DEFAULT_TIMEZON=UTC\nsend_rate=3\nCOMPLETELY_UNRELATED=1\n# note=1\n")

    assert env_file_warnings(env) == [
        f"{env}: unknown setting 'DEFAULT_TIMEZON'; did you mean DEFAULT_TIMEZONE?",
        f"{env}: unknown setting 'COMPLETELY_UNRELATED'",
    ]
    assert load_settings(env).send_rate == 3  # the known keys still apply


def test_a_missing_default_env_file_warns_of_nothing(tmp_path):
    assert env_file_warnings(tmp_path / ".env") == []
