"""config.toml parsing, validation, environment overrides and `config show`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app import create_app
from merchant_voice.config import build_settings, load_settings
from merchant_voice.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_shipped_config_is_the_embedded_default(tmp_path: Path) -> None:
    settings = load_settings(ROOT / "config.toml", environ={})
    assert settings.database.url.startswith("sqlite:///")
    assert settings.database_url == f"sqlite:///{ROOT / 'instance' / 'merchant_voice.sqlite3'}"
    assert settings.jobs.backend == "embedded"
    # config.toml documents the defaults: it must not drift from them.
    assert settings.model_dump() == build_settings({}, environ={}).model_dump()


def test_no_file_means_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}).source == "<defaults>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[database]\nurll = 'x'\n", "config.toml: database.urll: unknown key"),
        (
            "[jobs]\nworkers = 'many'\n",
            "config.toml: jobs.workers: Input should be a valid integer",
        ),
        (
            "[jobs]\nbackend = 'kafka'\n",
            "config.toml: jobs.backend: Input should be 'embedded' or 'redis'",
        ),
        ("[nonsense]\nx = 1\n", "config.toml: nonsense: unknown key"),
        ("[database\nurl = 1\n", "config.toml: not valid TOML: Expected ']'"),
        (
            "[host]\nmax_body_bytes = -1\n",
            "config.toml: host.max_body_bytes: Input should be greater than 0",
        ),
        ("[server]\nworkers = 0\n", "server.workers: must be a whole number of at least 1"),
        ("[server]\nworkers = 'many'\n", "server.workers: must be a whole number of at least 1"),
        ("[server]\nworkers = 1.5\n", "server.workers: must be a whole number of at least 1"),
    ],
)
def test_errors_name_file_key_and_reason(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_write(tmp_path, text), environ={})
    assert expected in caught.value.detail


def test_web_workers_are_one_per_core_by_default(tmp_path: Path) -> None:
    """At most 4: each web worker holds its own speech models."""
    server = load_settings(environ={}).server
    assert server.workers == "auto"
    assert server.worker_count() == min(len(os.sched_getaffinity(0)), 4)  # cores it may use
    assert load_settings(environ={"MV_SERVER_WORKERS": "3"}).server.worker_count() == 3


def test_mv_config_selects_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[server]\nbind = '0.0.0.0:8000'\n")
    assert load_settings(environ={"MV_CONFIG": str(path)}).server.bind == "0.0.0.0:8000"
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(environ={"MV_CONFIG": str(tmp_path / "missing.toml")})


def test_environment_overrides_single_settings(tmp_path: Path) -> None:
    path = _write(tmp_path, "[database]\nurl = 'sqlite:///a.db'\n[jobs]\nworkers = 1\n")
    environ = {
        "MV_DATABASE_URL": "postgresql+psycopg://u@db/mv",
        "MV_JOBS_WORKERS": "4",
        "MV_PLUGINS_DISABLED": "notes, flaky",
        "MV_LOGGING_LEVEL": "debug",
    }
    settings = load_settings(path, environ=environ)
    assert settings.database.url == "postgresql+psycopg://u@db/mv"
    assert settings.jobs.workers == 4
    assert settings.plugins.disabled == ["notes", "flaky"]
    assert settings.logging.level == "DEBUG"
    with pytest.raises(
        ConfigError, match=r"MV_JOBS_WORKERS \(sets jobs.workers\): Input should be"
    ):
        load_settings(path, environ={"MV_JOBS_WORKERS": "lots"})


def test_secrets_may_be_environment_references(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "[host]\nsecret_key = 'env:SHOP_SECRET'\n[database]\nurl = 'env:SHOP_DB'\n",
    )
    environ = {"SHOP_SECRET": "s3cret-value", "SHOP_DB": "postgresql://u:pw@db/x"}
    settings = load_settings(path, environ=environ)
    assert settings.host.secret_key is not None
    assert settings.host.secret_key.get_secret_value() == "s3cret-value"
    assert settings.database.url == "postgresql://u:pw@db/x"
    with pytest.raises(ConfigError, match=r"host\.secret_key: .*SHOP_SECRET.* is not set"):
        load_settings(path, environ={"SHOP_DB": "sqlite://"})


def test_config_show_redacts_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(
        tmp_path,
        f"[host]\ninstance_path = '{tmp_path / 'instance'}'\nsecret_key = 'env:SHOP_SECRET'\n"
        "[database]\nurl = 'postgresql+psycopg://shop:hunter2@db.example/mv'\n"
        "[chat.models.text]\nurl = 'http://vllm:textpw@text.example:8000'\n"
        "api_key = 'textkey-123'\n",
    )
    monkeypatch.setenv("SHOP_SECRET", "s3cret-value")
    monkeypatch.setenv("MV_JOBS_REDIS_URL", "redis://:redispw@cache:6379/0")
    app = create_app(path)
    as_text = app.test_cli_runner().invoke(args=["config", "show"])
    as_json = app.test_cli_runner().invoke(args=["config", "show", "--json"])
    for result in (as_text, as_json):
        assert result.exit_code == 0, result.output
        for secret in ("s3cret-value", "hunter2", "redispw", "textpw", "textkey-123"):
            assert secret not in result.output
    data = json.loads(as_json.output)
    assert data["host"]["secret_key"] == "**********"
    assert data["database"]["url"] == "postgresql+psycopg://shop:***@db.example/mv"
    assert f"from {path}" in as_text.output
    app.extensions["db"].dispose()


def test_cli_reports_a_bad_config_without_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = _write(tmp_path, "[jobs]\nworkers = 'x'\n")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "config", "show"],
        cwd=ROOT,
        env={"MV_CONFIG": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"{path}: jobs.workers: Input should be a valid integer" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_setting_is_documented() -> None:
    from merchant_voice.config import Section, Settings

    readme = (ROOT / "README.md").read_text()
    shipped = (ROOT / "config.toml").read_text()
    for section, field in Settings.model_fields.items():
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, Section)):
            continue
        assert f"[{section}]" in shipped
        for key in model.model_fields:
            assert f"| `{section}.{key}` | `MV_{section.upper()}_{key.upper()}` |" in readme
            assert key in shipped, f"{section}.{key} missing from config.toml"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///./x.db", "sqlite:///{instance}/x.db"),
        ("sqlite:///data//x.db?timeout=5", "sqlite:///{instance}/data/x.db?timeout=5"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("sqlite://", "sqlite://"),
        ("postgresql+psycopg://u:p@db/mv", "postgresql+psycopg://u:p@db/mv"),
    ],
)
def test_relative_sqlite_paths_live_in_the_instance_folder(
    tmp_path: Path, url: str, expected: str
) -> None:
    settings = build_settings(
        {"host": {"instance_path": str(tmp_path)}, "database": {"url": url}}, environ={}
    )
    assert settings.database_url == expected.format(instance=tmp_path)
