"""The shared engines: chat (vLLM), speech recognition (faster-whisper), speech synthesis (Piper).

The engines stand on their own: they import nothing of the host or the web,
take an :class:`~engines.settings.EngineSettings` and raise
:mod:`engines.errors`. The host keeps one :class:`Engines` per process and
hands it to plugins; each engine is typed as its Protocol:

* ``engines.chat``: :class:`~engines.chat.ChatEngine` (``stream``/``complete``), on vLLM;
* ``engines.asr``: :class:`~engines.asr.Transcriber` (``transcribe``), on faster-whisper;
* ``engines.call_asr``: the same, tuned for live calls (``[speech] call_*``);
* ``engines.tts``: :class:`~engines.tts.Synthesizer` (``synthesize``), on Piper.

Models load on first use, so the host starts in seconds. ``serve`` launches
the embedded vLLM server from its master process (``start_chat_server``) and
warms the speech models in each web worker after the fork (``warm_speech``):
speech models are never carried across a fork.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from engines import provision, voices
from engines.asr import Transcriber, WhisperTranscriber, choose_device
from engines.chat_router import ChatRouter
from engines.errors import EngineUnavailable
from engines.hardware import cuda_available
from engines.live import LiveWork
from engines.on_demand import DemandWatcher
from engines.procmem import server_memory_bytes
from engines.served import router, served_models
from engines.settings import EngineSettings
from engines.tts import PiperSynthesizer, Synthesizer, YieldingSynthesizer
from engines.vllm_server import VllmSupervisor

log = logging.getLogger(__name__)

BUNDLED_WHISPER = {"base": "whisper-base", "tiny.en": "whisper-tiny.en"}
BUNDLED_VOICE = "piper-en_US-joe-medium"


@dataclass(frozen=True)
class EngineStatus:
    name: str
    model: str
    device: str
    healthy: bool
    detail: str = ""
    memory_bytes: int | None = None  # memory of an embedded server, all its processes (PSS)


class Engines:
    """The process's engines, built from ``settings``; speech models load on first use."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        chat = settings.chat
        self.live = LiveWork(settings.logs_dir / "live")  # calls on this machine: bulk yields
        self.served = served_models(settings, self.live)
        self.supervisors = {
            name: s.supervisor for name, s in self.served.items() if s.supervisor is not None
        }
        self.supervisor: VllmSupervisor | None = self.supervisors.get(chat.model)  # [chat]'s
        self.chat_url = self.served[chat.model].url
        self.chat: ChatRouter = router(chat, self.served, self.live)
        self.watchers = {
            name: DemandWatcher(s.supervisor, s.demand, s.idle_stop_s)
            for name, s in self.served.items()
            if s.supervisor is not None and s.demand is not None
        }

    @cached_property
    def asr(self) -> Transcriber:
        speech = self.settings.speech
        return self._transcriber(speech.model, speech.beam_size, speech.vad, True, False, 0.0)

    @cached_property
    def call_asr(self) -> Transcriber:
        """Speech recognition for live calls: greedy, no word timestamps, audio already cut."""
        speech = self.settings.speech
        return self._transcriber(
            speech.call_model or speech.model,
            speech.call_beam_size,
            False,
            False,
            speech.call_short_window,
            speech.digits_window_s,
        )

    def _transcriber(
        self,
        name: str,
        beam_size: int,
        vad: bool,
        word_timestamps: bool,
        short_window: bool,
        digits_window_s: float,
    ) -> WhisperTranscriber:
        speech = self.settings.speech
        model: str | Path = name
        if name in BUNDLED_WHISPER:
            model = provision.require(self.settings, BUNDLED_WHISPER[name])
        return WhisperTranscriber(
            model,
            speech.device,
            speech.compute_type,
            speech.max_concurrency,
            beam_size,
            vad,
            word_timestamps,
            short_window,
            digits_window_s,
        )

    @cached_property
    def tts(self) -> Synthesizer:
        """Piper, with the voices installed in the models folder (``models voices add``) and
        those ``[tts] voices`` names, which win for their locale."""
        installed = voices.installed(self.settings.models_dir)
        voices_by_locale = {locale: voice.path for locale, voice in installed.items()}
        for locale, voice in self.settings.tts.voices.items():
            if voice == "bundled":
                voices_by_locale[locale] = (
                    provision.require(self.settings, BUNDLED_VOICE) / "en_US-joe-medium.onnx"
                )
            else:
                voices_by_locale[locale] = Path(voice)
        tts = self.settings.tts
        return PiperSynthesizer(
            voices_by_locale,
            use_cuda=tts.device == "cuda" or (tts.device == "auto" and cuda_available()),
            noise_scale=tts.noise_scale,
            noise_w=tts.noise_w,
        )

    @cached_property
    def bulk_tts(self) -> Synthesizer:
        """Piper for bulk work (narration): it yields to live calls on this machine."""
        return YieldingSynthesizer(self.tts, self.live)

    def watch_on_demand(self) -> None:
        """Start the on-demand servers' watchers (unless another process on this host runs
        them): for processes that send work but do not serve (``flask worker``)."""
        for watcher in self.watchers.values():
            watcher.start()

    def start_chat_server(self) -> None:
        """Launch the embedded vLLM servers (if any) and return at once; on-demand ones start
        with their first request."""
        for name, supervisor in self.supervisors.items():
            watcher = self.watchers.get(name)
            (watcher or supervisor).start()

    @contextmanager
    def chat_running(self) -> Iterator[None]:
        """For one-off commands: the running chat servers, or the embedded ones for a while.
        A server another process supervises (``serve``'s master) is waited for, not started;
        an on-demand one starts with the command's first request for it."""
        answering = {name: client.healthy() for name, client in self.chat.clients.items()}
        waiting = [
            s
            for name, s in self.supervisors.items()
            if not answering[name] and name not in self.watchers
        ]
        if waiting:
            log.info("starting the embedded chat server for this command")
        owned = [s for s in waiting if s.start()]
        watching = [w for name, w in self.watchers.items() if not answering[name] and w.start()]
        try:
            for supervisor in waiting:
                if not supervisor.wait_ready(self.settings.chat.startup_timeout_s):
                    raise EngineUnavailable(
                        f"the embedded vLLM server did not become ready; see {supervisor.log_path}"
                    )
            yield
        finally:
            for watcher in watching:
                watcher.stop()
            for supervisor in owned:
                supervisor.stop()

    def warm_speech(self) -> None:
        """Load the speech models in the background (in each serving process, after forks)."""
        threading.Thread(target=self._warm, name="engines-warm", daemon=True).start()

    def _warm(self) -> None:
        try:
            self.asr.load()
            self.call_asr.load()
            self.tts.warm()
        except Exception:
            log.exception("speech models could not be loaded")

    def stop(self) -> None:
        """Stop the embedded chat servers this process runs."""
        for watcher in self.watchers.values():
            watcher.stop()
        for supervisor in self.supervisors.values():
            supervisor.stop()

    def close(self) -> None:
        """Stop, and release the chat engine's connections."""
        self.stop()
        self.chat.close()

    def status(self, memory: bool = False) -> list[EngineStatus]:
        """Each engine's state; ``memory``: with embedded servers' memory (PSS) (a scan
        of /proc: for ``engines status``, not for every readiness probe)."""
        statuses = []
        chat = self.settings.chat
        health = self.chat.health()
        for name, served in self.served.items():
            supervisor = served.supervisor
            where = f"embedded {served.url}" if supervisor else served.url
            routed = sorted(w for w, model in chat.workloads.items() if model == name)
            if name == chat.model:
                routed.append("the rest")
            detail = ""
            if supervisor is not None:
                state = supervisor.status()
                detail = str(state["state"])
                if state["restarts"] is not None:
                    detail += f", restarts {state['restarts']}"
                if served.demand is not None:
                    detail += ", on demand" + (": idle" if self.chat.idle(name) else "")
            statuses.append(
                EngineStatus(
                    "chat",
                    f"{name} ({where}; {', '.join(routed)})",
                    supervisor.device if supervisor else "remote",
                    health[name],
                    detail,
                    server_memory_bytes(supervisor.spec.port) if supervisor and memory else None,
                )
            )
        speech, tts = self.settings.speech, self.settings.tts
        asr_device = choose_device(speech.device, speech.compute_type)
        statuses.append(
            self._speech_status("asr", lambda: self.asr.load(), speech.model, "/".join(asr_device))
        )
        tts_cuda = tts.device == "cuda" or (tts.device == "auto" and cuda_available())
        voices = ", ".join(f"{k}: {v}" for k, v in sorted(tts.voices.items()))
        statuses.append(
            self._speech_status(
                "tts", lambda: self.tts.warm(), voices, "cuda" if tts_cuda else "cpu"
            )
        )
        return statuses

    @staticmethod
    def _speech_status(name: str, load: object, model: str, device: str) -> EngineStatus:
        try:
            load()  # type: ignore[operator]
        except Exception as exc:
            return EngineStatus(name, model, device, False, f"{type(exc).__name__}: {exc}")
        return EngineStatus(name, model, device, True)
