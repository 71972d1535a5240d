"""Typed settings: ``config.toml`` parsed with tomllib, validated with pydantic.

Where the settings come from, lowest priority first:

1. the defaults declared below;
2. the TOML file: ``$MV_CONFIG`` or ``./config.toml``;
3. ``MV_<SECTION>_<KEY>`` environment variables, e.g. ``MV_DATABASE_URL``.

Any secret (and the connection URLs, which may embed a password) can be given
as an environment reference, ``"env:NAME"``, instead of a literal. Every error
names the file (or variable), the key and the reason.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from sqlalchemy.engine import make_url

from engines import settings as engine_settings
from engines.settings import count_or_auto
from merchant_voice.errors import ConfigError

ENV_PREFIX = "MV_"
ENV_REF_PREFIX = "env:"
CONFIG_ENV = "MV_CONFIG"
MAX_AUTO_WORKERS = 4  # [server] workers = "auto": each worker holds its own speech models
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _resolve_env_ref(value: Any, info: ValidationInfo) -> Any:
    """Replace an ``"env:NAME"`` reference with the variable's value."""
    if isinstance(value, str) and value.startswith(ENV_REF_PREFIX):
        environ = (info.context or {}).get("environ", os.environ)
        name = value[len(ENV_REF_PREFIX) :]
        if not name:
            raise ValueError("empty environment reference 'env:'")
        if name not in environ:
            raise ValueError(f"environment variable {name} (referenced as {value!r}) is not set")
        return environ[name]
    return value


Secret = Annotated[SecretStr, BeforeValidator(_resolve_env_ref)]
"""A secret: redacted in ``config show`` and logs, may be an ``env:`` reference."""

Url = Annotated[str, BeforeValidator(_resolve_env_ref)]
"""A connection URL: may be an ``env:`` reference; its password is redacted."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HostSettings(Section):
    instance_path: Path = Field(
        Path("instance"), description="Folder for local state: SQLite files, generated keys."
    )
    secret_key: Secret | None = Field(
        None, description="Signs sessions. Unset: generated once into instance/secret_key."
    )
    credentials_key: Secret | None = Field(
        None,
        description="Encrypts merchants' credentials (a Fernet key)."
        " Unset: generated once into instance/credentials_key.",
    )
    credentials_previous_keys: list[Secret] = Field(
        default_factory=list,
        description="Earlier keys, still accepted for reading until `credentials rotate`.",
    )
    max_body_bytes: int = Field(
        16 * 1024 * 1024, gt=0, description="Largest request body accepted (413 beyond)."
    )
    public_url: str | None = Field(
        None, description="External base URL, used in webhook and WebSocket URLs."
    )
    metrics_token: Secret | None = Field(
        None,
        description="Bearer token `/metrics` asks for (Prometheus: `authorization`)."
        " Unset: `/metrics` answers only direct requests from this machine.",
    )
    merchant_storage_mb: int = Field(
        1024, ge=1, description="MB of audio per merchant (403 beyond), unless merchants quota"
    )


class ServerSettings(Section):
    bind: str = Field("127.0.0.1:5000", description="host:port that `serve` listens on.")
    workers: int | Literal["auto"] = Field(
        "auto",
        description='Web worker processes; "auto": one per CPU core, at most 4.',
    )
    threads: int = Field(
        8,
        ge=1,
        description="Threads per web worker that run HTTP views; each live call has its own.",
    )

    _workers = field_validator("workers", mode="before")(count_or_auto)

    def worker_count(self) -> int:
        """The web workers ``serve`` starts."""
        if self.workers == "auto":
            return max(1, min(len(os.sched_getaffinity(0)), MAX_AUTO_WORKERS))
        return self.workers

    connections: int = Field(
        2000,
        ge=1,
        description="Connections a web worker keeps open at once, slow and idle ones included.",
    )


class DatabaseSettings(Section):
    url: Url = Field(
        "sqlite:///merchant_voice.sqlite3",
        description="SQLAlchemy URL. A relative SQLite path lives in the instance folder.",
    )
    echo: bool = Field(False, description="Log every SQL statement.")


class JobsSettings(Section):
    backend: Literal["embedded", "redis"] = Field(
        "embedded", description="embedded: SQLite queue, workers inside the host; redis: shared."
    )
    workers: int = Field(2, ge=0, description="Worker threads in the host (0: none).")
    embedded_path: Path = Field(
        Path("jobs.sqlite3"), description="Queue file of the embedded backend (instance folder)."
    )
    redis_url: Url = Field("redis://127.0.0.1:6379/0", description="Queue of the redis backend.")
    queue_name: str = Field("merchant-voice", min_length=1, description="Queue name.")
    max_attempts: int = Field(3, ge=1, description="Attempts before a job is marked failed.")
    retry_delay_s: float = Field(
        5.0, ge=0, description="Delay before the first retry, doubled each time."
    )
    heartbeat_s: float = Field(5.0, gt=0, description="How often a running job proves it is alive.")
    stale_after_s: float = Field(
        60.0, gt=0, description="A running job silent this long is retried (its worker died)."
    )


class PluginsSettings(Section):
    packages: list[str] = Field(
        ["plugins"], description="Packages whose sub-packages are built-in plugins."
    )
    entry_points: bool = Field(True, description="Load plugins from installed distributions.")
    disabled: list[str] = Field([], description="Plugins never loaded on this host.")


class ModelsSettings(Section):
    cache_dir: Path = Field(
        Path("models"), description="Prepared models (`models prepare`), in the instance folder."
    )
    vllm_python: Path = Field(
        Path(".venv-vllm/bin/python"),
        description="Python of the vLLM environment (relative to the project).",
    )


class ChatSettings(engine_settings.ChatSettings, Section):
    """``[chat]``: the engines' chat settings; the URL and key may be ``env:`` references."""

    @field_validator("url", "api_key", mode="before")
    @classmethod
    def _env_references(cls, value: Any, info: ValidationInfo) -> Any:
        return _resolve_env_ref(value, info)


class SpeechSettings(engine_settings.SpeechSettings, Section):
    """``[speech]``: the engines' speech recognition settings."""


class TtsSettings(engine_settings.TtsSettings, Section):
    """``[tts]``: the engines' speech synthesis settings."""


class DashboardSettings(Section):
    secure_cookies: bool = Field(
        True, description="Session cookie only over HTTPS (false: plain-HTTP development)."
    )
    session_hours: int = Field(12, ge=1, le=720, description="A dashboard sign-in lasts this long.")
    login_limit: str = Field(
        "5 per minute",
        min_length=1,
        description="Sign-in attempts per address and e-mail (Flask-Limiter).",
    )
    limits_storage: str = Field(
        "memory://",
        min_length=1,
        description="Where sign-in attempts are counted: memory:// (one process) or redis://...",
    )


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    format: Literal["text", "json"] = Field(
        "text", description="json: one object per line, with request/job/call ids."
    )

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class Settings(BaseModel):
    """The whole configuration; one attribute per TOML table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: HostSettings = HostSettings()
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    jobs: JobsSettings = JobsSettings()
    plugins: PluginsSettings = PluginsSettings()
    models: ModelsSettings = ModelsSettings()
    chat: ChatSettings = ChatSettings()
    speech: SpeechSettings = SpeechSettings()
    tts: TtsSettings = TtsSettings()
    dashboard: DashboardSettings = DashboardSettings()
    logging: LoggingSettings = LoggingSettings()

    source: str = Field("<defaults>", exclude=True, description="Where these settings came from.")

    def instance_file(self, path: Path) -> Path:
        """``path`` resolved against the instance folder."""
        return path if path.is_absolute() else self.instance_dir / path

    @property
    def instance_dir(self) -> Path:
        path = self.host.instance_path
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def engines(self) -> engine_settings.EngineSettings:
        """What the engines are built from: their sections, with the folders resolved."""
        python = self.models.vllm_python
        return engine_settings.EngineSettings(
            models_dir=self.instance_file(self.models.cache_dir),
            vllm_python=python if python.is_absolute() else PROJECT_ROOT / python,
            logs_dir=self.instance_dir / "logs",
            chat=self.chat,
            speech=self.speech,
            tts=self.tts,
        )

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite path placed in the instance folder."""
        url = make_url(self.database.url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return self.database.url
        path = Path(url.database)
        if path.is_absolute():
            return self.database.url
        return url.set(database=str(self.instance_file(path))).render_as_string(hide_password=False)


def _section_fields() -> dict[str, tuple[str, ...]]:
    sections: dict[str, tuple[str, ...]] = {}
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            sections[name] = tuple(annotation.model_fields)
    return sections


def env_overrides(environ: Mapping[str, str]) -> dict[tuple[str, str], tuple[str, Any]]:
    """``{(section, key): (VARIABLE, value)}`` for every ``MV_SECTION_KEY`` set."""
    found: dict[tuple[str, str], tuple[str, Any]] = {}
    for section, keys in _section_fields().items():
        for key in keys:
            var = f"{ENV_PREFIX}{section}_{key}".upper()
            if var in environ:
                found[(section, key)] = (var, _parse_env_value(environ[var]))
    return found


def _parse_env_value(raw: str) -> Any:
    """Lists may be JSON (``["a","b"]``) or comma-separated; the rest stays a string."""
    text = raw.strip()
    if text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return raw
    return raw


def _describe(error: Any, source: str, env_origin: Mapping[tuple[str, ...], str]) -> str:
    loc = tuple(str(part) for part in error["loc"])
    key = ".".join(loc)
    reason = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
    reason = reason.removeprefix("Value error, ")
    origin = env_origin.get(loc[:2])
    if origin:
        return f"{origin} (sets {key}): {reason}"
    return f"{source}: {key}: {reason}"


def _split_lists(data: dict[str, Any]) -> None:
    """Comma-separated strings from the environment become lists where a list is expected."""
    for section, fields in Settings.model_fields.items():
        annotation = fields.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, Section)):
            continue
        for key, field in annotation.model_fields.items():
            value = data.get(section, {}).get(key)
            if isinstance(value, str) and getattr(field.annotation, "__origin__", None) is list:
                data[section][key] = [item.strip() for item in value.split(",") if item.strip()]


def build_settings(
    data: Mapping[str, Any],
    source: str = "<mapping>",
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Validate ``data`` (a parsed TOML document), applying ``environ`` overrides on top."""
    merged: dict[str, Any] = {
        key: dict(value) if isinstance(value, Mapping) else value for key, value in data.items()
    }
    env_origin: dict[tuple[str, ...], str] = {}
    for (section, key), (var, value) in env_overrides(environ or {}).items():
        table = merged.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: {section}: must be a table, to be overridden by {var}")
        table[key] = value
        env_origin[(section, key)] = var
    _split_lists(merged)
    try:
        return Settings.model_validate(
            {**merged, "source": source},
            context={"environ": os.environ if environ is None else environ},
        )
    except ValidationError as exc:
        lines = [_describe(error, source, env_origin) for error in exc.errors()]
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the config file (``path``, ``$MV_CONFIG`` or ``./config.toml``) plus overrides."""
    env = os.environ if environ is None else environ
    config_path = Path(path or env.get(CONFIG_ENV) or "config.toml")
    if not config_path.exists():
        if path or env.get(CONFIG_ENV):
            raise ConfigError(f"{config_path}: configuration file not found")
        return build_settings({}, "<defaults>", env)
    try:
        with config_path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{config_path}: cannot be read: {exc.strerror}") from None
    return build_settings(data, str(config_path), env)


def redacted(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets and URL passwords masked."""
    data: dict[str, Any] = settings.model_dump(mode="json")
    _mask_urls(data)
    return data


def _mask_urls(table: dict[str, Any]) -> None:
    """URL passwords masked, in nested tables too ([chat.models.NAME] url)."""
    for key, value in table.items():
        if isinstance(value, dict):
            _mask_urls(value)
        elif key.endswith("url") and isinstance(value, str) and "://" in value:
            try:
                table[key] = make_url(value).render_as_string(hide_password=True)
            except Exception:  # not an SQLAlchemy-style URL: hide it whole
                table[key] = "**********"
