"""A phone call placed the way Twilio places it: for tests, benchmarks and trying a setup.

:class:`TwilioCaller` signs and posts the voice webhook, reads the TwiML,
opens the media WebSocket and then behaves as Twilio's side of a Media
Stream: ``connected`` and ``start``, then a 20 ms µ-law frame every 20 ms
(silence unless the caller is speaking), ``dtmf`` for key presses, ``stop``
to hang up. It plays the agent's audio on a real-time clock, echoes each
``mark`` once the audio before it has played, and honours ``clear`` (pending
marks come back at once, as Twilio does).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from xml.etree import ElementTree

import httpx
from simple_websocket import Client, ConnectionClosed

from plugins.support_calls.telephony.media import FRAME_BYTES
from plugins.support_calls.telephony.twilio import signature

SILENCE = b"\xff" * FRAME_BYTES
FRAME_S = 0.02


@dataclass
class Heard:
    """Agent audio as the caller heard it: when each frame arrived, and the bytes."""

    frames: list[tuple[float, bytes]] = field(default_factory=list)

    def since(self, moment: float) -> list[tuple[float, bytes]]:
        return [frame for frame in self.frames if frame[0] >= moment]


@dataclass(frozen=True)
class Answer:
    """The TwiML answer to the voice webhook."""

    stream_url: str
    action_url: str | None
    parameters: dict[str, str]


def place_call(
    base_url: str, merchant: str, auth_token: str, call_sid: str, caller: str, callee: str
) -> Answer:
    """POST the signed voice webhook, as Twilio does when a call comes in."""
    url = f"{base_url.rstrip('/')}/hooks/twilio/{merchant}/voice"
    params = {"CallSid": call_sid, "From": caller, "To": callee, "CallStatus": "ringing"}
    headers = {"X-Twilio-Signature": signature(auth_token, url, params.items())}
    response = httpx.post(url, data=params, headers=headers, timeout=10)
    response.raise_for_status()
    connect = ElementTree.fromstring(response.text).find("Connect")
    if connect is None or connect.find("Stream") is None:
        raise RuntimeError(f"the voice webhook did not answer <Connect><Stream>: {response.text}")
    stream = connect.find("Stream")
    assert stream is not None
    parameters = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
    return Answer(stream.get("url", ""), connect.get("action"), parameters)


class TwilioCaller:
    """One call's media stream, from Twilio's side."""

    def __init__(self, stream_url: str, call_sid: str, stream_sid: str = "MZtest") -> None:
        self.call_sid = call_sid
        self.stream_sid = stream_sid
        self.heard = Heard()
        self.clears = 0
        self.closed = threading.Event()
        self._ws = Client.connect(stream_url)
        self._lock = threading.Lock()
        self._speech: list[bytes] = []  # frames still to say
        self._speech_done = threading.Event()
        self._speech_done.set()
        self._stalled_until = 0.0  # the network holds the caller's audio back until then
        self._hung_up = False
        self._played_until = 0.0  # when the agent audio received so far ends, played
        self._pending_marks: list[tuple[float, str]] = []
        self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        self._send(
            {
                "event": "start",
                "streamSid": stream_sid,
                "start": {
                    "streamSid": stream_sid,
                    "callSid": call_sid,
                    "accountSid": "ACtest",
                    "tracks": ["inbound"],
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                    "customParameters": {"call_sid": call_sid},
                },
            }
        )
        self._threads = [
            threading.Thread(target=self._talk, daemon=True),
            threading.Thread(target=self._listen, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _send(self, message: dict[str, object] | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        with self._lock:
            if self._hung_up:  # nothing goes out once the caller hung up
                raise ConnectionClosed()
            self._ws.send(text)

    def send_raw(self, message: str | bytes) -> None:
        """Anything at all, to see how the host copes."""
        with self._lock:
            self._ws.send(message)

    # -- the caller's side ---------------------------------------------------------

    def say(self, mulaw: bytes, wait: bool = True) -> float:
        """Speak ``mulaw`` (8 kHz) in real time; returns when the last frame went out."""
        frames = [mulaw[i : i + FRAME_BYTES] for i in range(0, len(mulaw), FRAME_BYTES)]
        frames[-1] = frames[-1].ljust(FRAME_BYTES, b"\xff")
        with self._lock:
            self._speech.extend(frames)
            self._speech_done.clear()
        if wait:
            self._speech_done.wait()
        return time.monotonic()

    def stall(self, seconds: float) -> None:
        """The network holds the caller's audio back for ``seconds``: the host hears
        nothing, not even silence, then the stream goes on where it stopped."""
        with self._lock:
            self._stalled_until = time.monotonic() + seconds
        time.sleep(seconds)

    def press(self, digits: str) -> None:
        for digit in digits:
            self._send({"event": "dtmf", "streamSid": self.stream_sid, "dtmf": {"digit": digit}})

    def hang_up(self) -> None:
        if not self.closed.is_set():
            try:
                self._send({"event": "stop", "streamSid": self.stream_sid, "stop": {}})
                with self._lock:  # the talking thread sends no frame after this
                    self._hung_up = True
                    self._ws.close()
            except ConnectionClosed:
                pass
        self.closed.set()

    def _talk(self) -> None:
        due = time.monotonic()
        while not self.closed.is_set():
            with self._lock:
                stalled = self._stalled_until - time.monotonic()
            if stalled > 0:
                time.sleep(stalled)
                due = time.monotonic()
                continue
            with self._lock:
                frame = self._speech.pop(0) if self._speech else None
                if frame is None:
                    self._speech_done.set()
            payload = base64.b64encode(frame or SILENCE).decode()
            try:
                self._send(
                    {
                        "event": "media",
                        "streamSid": self.stream_sid,
                        "media": {"track": "inbound", "payload": payload},
                    }
                )
            except ConnectionClosed:
                break
            self._echo_due_marks()
            due += FRAME_S
            time.sleep(max(0.0, due - time.monotonic()))
        self._speech_done.set()
        self.closed.set()

    # -- the agent's side ----------------------------------------------------------

    def _listen(self) -> None:
        while not self.closed.is_set():
            try:
                message = self._ws.receive(timeout=0.5)
            except ConnectionClosed:
                break
            if message is None:
                continue
            event = json.loads(message)
            now = time.monotonic()
            if event["event"] == "media":
                audio = base64.b64decode(event["media"]["payload"])
                self.heard.frames.append((now, audio))
                self._played_until = max(self._played_until, now) + len(audio) / 8000
            elif event["event"] == "mark":
                with self._lock:
                    self._pending_marks.append((self._played_until, event["mark"]["name"]))
            elif event["event"] == "clear":
                self.clears += 1
                self._played_until = now
                with self._lock:
                    pending, self._pending_marks = self._pending_marks, []
                for _, name in pending:
                    self._echo(name)
        self.closed.set()

    def _echo_due_marks(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [m for m in self._pending_marks if m[0] <= now]
            self._pending_marks = [m for m in self._pending_marks if m[0] > now]
        for _, name in due:
            self._echo(name)

    def _echo(self, name: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    def wait_reply(self, after: float, timeout: float = 30.0, quiet_s: float = 1.2) -> list[bytes]:
        """The agent's next reply: audio arriving after ``after`` until ``quiet_s`` of silence."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frames = self.heard.since(after)
            if frames and time.monotonic() - frames[-1][0] > quiet_s:
                return [audio for _, audio in frames]
            if self.closed.is_set():
                return [audio for _, audio in frames]
            time.sleep(0.05)
        raise TimeoutError(f"no complete reply within {timeout}s")

    def first_audio_after(self, moment: float) -> float | None:
        frames = self.heard.since(moment)
        return frames[0][0] if frames else None


def call_sid(number: int) -> str:
    """A Twilio-shaped call SID: CA + 32 hex digits."""
    return "CA" + re.sub(r"\D", "", f"{number:032d}")[-32:]
