"""The one exception hierarchy of the host and its plugins.

Every error the host raises on purpose is a :class:`MerchantVoiceError`. It
carries what a client needs: an HTTP ``status``, a short ``title``, a stable
``code`` (the last part of the RFC 9457 problem ``type``) and a ``detail``
sentence. :mod:`merchant_voice.web.problems` turns any of them into an
``application/problem+json`` response, in one place; the CLI prints ``detail``.

    MerchantVoiceError
    ├── ConfigError              the configuration cannot be used
    │   └── CredentialUnreadable a stored credential does not decrypt with the keys
    ├── ClientError              the caller sent something we refuse (4xx)
    │   ├── BadRequest           400 unreadable body (malformed JSON, ...)
    │   │   └── StreamProtocolError  a media-stream message we refuse (logged, skipped)
    │   ├── ValidationFailed     422 well-formed, but fields are wrong
    │   ├── Unauthorized         401 no, bad or revoked API key
    │   ├── Forbidden            403 a webhook's signature or a signed link does not verify
    │   │   └── QuotaExceeded    403 the merchant's files would pass its storage quota
    │   ├── NotFound             404 no such thing *for this merchant*
    │   ├── Conflict             409 clashes with existing data
    │   ├── RequestTimeout       408 the body stopped arriving
    │   ├── PayloadTooLarge      413 body over the configured limit
    │   └── UnsupportedMediaType 415 body is not in a format we read
    ├── DatabaseBusy             503 SQLite is busy with another write: retry
    ├── TenancyViolation         code tried to reach another merchant's rows
    ├── PluginError              a plugin cannot be loaded or used
    │   ├── PluginRefused        failed to import, or incompatible host API
    │   └── UnknownPlugin        no plugin of that name is loaded
    ├── JobError                 a background job cannot be queued or run
    │   └── UnknownJobKind       no handler registered for that kind
    └── EngineProblem            an engine's own error, as the host reports it

The engines stand apart from the host and raise :mod:`engines.errors`
(``EngineError`` and its subclasses). :class:`EngineProblem` gives each its
status, title and code from :data:`ENGINE_PROBLEMS`:

    InvalidAudio       400  unreadable or empty audio
    VoiceNotFound      422  no speech synthesis voice for a locale
    InvalidVoice       422  a voice to install that cannot be found or used
    EngineCancelled    499  the caller cancelled (e.g. hung up)
    EngineUnavailable  503  the engine is down, starting or overloaded
    ModelNotPrepared   503  a model's files are missing: run `models prepare`
    EngineTimeout      504  the engine did not answer in time
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engines.errors import (
    EngineCancelled,
    EngineError,
    EngineTimeout,
    EngineUnavailable,
    InvalidAudio,
    InvalidVoice,
    ModelNotPrepared,
    VoiceNotFound,
)

PROBLEM_TYPE_PREFIX = "urn:merchant-voice:problem:"


class MerchantVoiceError(Exception):
    """Base of every deliberate error. ``detail`` is safe to show to the caller."""

    status: int = 500
    title: str = "Internal error"
    code: str = "internal-error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    @property
    def type_uri(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.code

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem details object."""
        problem: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            problem["instance"] = instance
        problem.update(self.extensions)
        return problem


class ConfigError(MerchantVoiceError):
    title = "Invalid configuration"
    code = "invalid-configuration"


class CredentialUnreadable(ConfigError):
    title = "Credential unreadable"
    code = "credential-unreadable"


class ClientError(MerchantVoiceError):
    status = 400
    title = "Bad request"
    code = "bad-request"


class BadRequest(ClientError):
    pass


class StreamProtocolError(BadRequest):
    """A telephony media-stream message that is malformed, oversized or out of order."""

    code = "stream-protocol"
    title = "Bad media-stream message"


class ValidationFailed(ClientError):
    """Fields are wrong; ``errors`` lists ``{"field": ..., "message": ...}``."""

    status = 422
    title = "Validation failed"
    code = "validation-failed"

    def __init__(self, detail: str, errors: Sequence[Mapping[str, str]] = ()) -> None:
        super().__init__(detail, errors=[dict(error) for error in errors])
        self.errors = [dict(error) for error in errors]

    @classmethod
    def from_pydantic(cls, exc: Any, prefix: str = "") -> ValidationFailed:
        """Build from a ``pydantic.ValidationError``, one entry per field."""
        errors = []
        for error in exc.errors(include_url=False):
            field = ".".join(str(part) for part in error["loc"]) or "(body)"
            field = f"{prefix}{field}" if prefix else field
            message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
            message = message.removeprefix("Value error, ")
            errors.append({"field": field, "message": message})
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return cls(summary or "invalid input", errors)


class Unauthorized(ClientError):
    status = 401
    title = "Unauthorized"
    code = "unauthorized"


class Forbidden(ClientError):
    status = 403
    title = "Forbidden"
    code = "forbidden"


class QuotaExceeded(Forbidden):
    title = "Storage quota exceeded"
    code = "quota-exceeded"


class NotFound(ClientError):
    status = 404
    title = "Not found"
    code = "not-found"


class Conflict(ClientError):
    status = 409
    title = "Conflict"
    code = "conflict"


class RequestTimeout(ClientError):
    status = 408
    title = "Request timeout"
    code = "request-timeout"


class PayloadTooLarge(ClientError):
    status = 413
    title = "Payload too large"
    code = "payload-too-large"


class UnsupportedMediaType(ClientError):
    status = 415
    title = "Unsupported media type"
    code = "unsupported-media-type"


class DatabaseBusy(MerchantVoiceError):
    """The embedded SQLite database could not take this write now (another one won)."""

    status = 503
    title = "Database busy"
    code = "database-busy"


class TenancyViolation(MerchantVoiceError):
    """Raised when code tries to read or write rows of another merchant."""

    status = 403
    title = "Cross-merchant access refused"
    code = "tenancy-violation"


class PluginError(MerchantVoiceError):
    title = "Plugin error"
    code = "plugin-error"


class PluginRefused(PluginError):
    title = "Plugin refused"
    code = "plugin-refused"


class UnknownPlugin(PluginError):
    status = 404
    title = "Unknown plugin"
    code = "unknown-plugin"


class JobError(MerchantVoiceError):
    title = "Job error"
    code = "job-error"


class UnknownJobKind(JobError):
    status = 422
    title = "Unknown job kind"
    code = "unknown-job-kind"


ENGINE_PROBLEMS: dict[type[EngineError], tuple[int, str, str]] = {
    InvalidAudio: (400, "Unreadable audio", "invalid-audio"),
    VoiceNotFound: (422, "No voice for this locale", "voice-not-found"),
    InvalidVoice: (422, "Unusable voice", "invalid-voice"),
    EngineCancelled: (499, "Cancelled", "cancelled"),
    EngineUnavailable: (503, "Engine unavailable", "engine-unavailable"),
    ModelNotPrepared: (503, "Model not prepared", "model-not-prepared"),
    EngineTimeout: (504, "Engine timeout", "engine-timeout"),
    EngineError: (503, "Engine error", "engine-error"),
}
"""Status, title and problem code of each engine error (the closest class listed wins)."""


class EngineProblem(MerchantVoiceError):
    """An engine's error (:mod:`engines.errors`), with the status, title and code it
    answers with (:data:`ENGINE_PROBLEMS`)."""

    def __init__(self, error: EngineError) -> None:
        super().__init__(error.detail, **error.extensions)
        self.error = error
        kind = next(k for k in type(error).__mro__ if k in ENGINE_PROBLEMS)
        self.status, self.title, self.code = ENGINE_PROBLEMS[kind]
