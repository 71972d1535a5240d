"""What the engines raise. They know nothing of HTTP: the host maps each to a response.

EngineError              a model engine cannot serve the request
├── EngineUnavailable    the engine is down, starting or overloaded
├── EngineTimeout        the engine did not answer in time
├── EngineCancelled      the caller cancelled (e.g. hung up)
├── ModelNotPrepared     a model's files are missing: run `models prepare`
├── VoiceNotFound        no speech synthesis voice for a locale
├── InvalidVoice         a voice to install that cannot be found or used
└── InvalidAudio         audio that cannot be read or encoded
"""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Base of every engine error. ``detail`` is a sentence safe to show to a user;
    ``extensions`` holds structured facts about it (a voice's locale, say)."""

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class EngineUnavailable(EngineError):
    pass


class EngineTimeout(EngineError):
    pass


class EngineCancelled(EngineError):
    pass


class ModelNotPrepared(EngineError):
    pass


class VoiceNotFound(EngineError):
    pass


class InvalidVoice(EngineError):
    pass


class InvalidAudio(EngineError):
    pass
