"""Whole calls: codes read out digit by digit, shop facts by voice, and no lost turns.

The same real engines and Twilio-protocol caller as ``test_support_calls_live``.
The slow host's speech recognition is the real one, made to take longer, as
it does on a loaded machine.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from simple_websocket import Client, ConnectionClosed

from engines import Engines
from engines.asr import Transcriber, Transcript
from engines.audio import Audio
from plugins.support_calls.telephony.caller import TwilioCaller, place_call
from plugins.support_calls.telephony.media import START_TIMEOUT_S
from tests.engines_fixtures import TEST_CHAT_PORT
from tests.support_calls_host import AUTH_TOKEN, PhoneHost, speech, start_host

pytestmark = pytest.mark.usefixtures("engines")

SLOW_S = 2.5  # the slow host's recognition takes this much longer


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, engines: Engines) -> Iterator[PhoneHost]:
    tmp = tmp_path_factory.mktemp("phone-turns")
    yield from start_host(
        tmp, f"sqlite:///{tmp}/calls.sqlite", f"http://127.0.0.1:{TEST_CHAT_PORT}"
    )


class SlowRecognition:
    """The real transcriber, answering ``SLOW_S`` later."""

    def __init__(self, real: Transcriber) -> None:
        self.real = real
        self.started = threading.Event()  # a transcription is under way

    def transcribe(
        self, audio: Audio, language: str | None = None, expect_digits: bool = False
    ) -> Transcript:
        self.started.set()
        time.sleep(SLOW_S)
        return self.real.transcribe(audio, language, expect_digits)

    def load(self) -> None:
        self.real.load()


@pytest.fixture(scope="module")
def slow_host(
    tmp_path_factory: pytest.TempPathFactory, engines: Engines
) -> Iterator[tuple[PhoneHost, SlowRecognition]]:
    tmp = tmp_path_factory.mktemp("phone-slow")
    for host in start_host(
        tmp, f"sqlite:///{tmp}/calls.sqlite", f"http://127.0.0.1:{TEST_CHAT_PORT}"
    ):
        host_engines = host.app.extensions["engines"]
        slow = SlowRecognition(host_engines.call_asr)
        host_engines.__dict__["call_asr"] = slow  # what each new call hears with
        yield host, slow


def said_while_recognised(host: PhoneHost, slow: SlowRecognition, audio: bytes) -> TwilioCaller:
    """A call whose caller has said ``audio``: its end is confirmed, its recognition goes on."""
    caller = host.call("acme")
    caller.wait_reply(0, timeout=30)
    slow.started.clear()
    caller.say(audio)
    assert slow.started.wait(10)
    time.sleep(0.8)  # past the 550 ms that confirm the end of the turn
    return caller


def say(caller: TwilioCaller, audio: bytes, timeout: float = 60) -> None:
    said_at = caller.say(audio)
    caller.wait_reply(said_at, timeout=timeout)


def test_codes_are_asked_for_heard_digit_by_digit_and_the_order_told_with_its_dates(
    host: PhoneHost, engines: Engines
) -> None:
    caller = host.call("acme")
    caller.wait_reply(0, timeout=30)
    for text in (
        "Hi, where is my order?",
        "One zero four two.",
        "Nine oh two one oh.",
        "What's the tracking number?",
    ):
        say(caller, speech(engines.tts, text))
    caller.hang_up()
    call = host.settle("acme", caller.call_sid)

    _, ask_number, ask_postcode, status, tracking = call.turns
    assert ask_number.reply == (
        "Sure. What is your order number?"
        " You can also key it in on your phone, then press the hash key."
    )
    assert "1 0 4 2" in ask_postcode.reply and "key it in" not in ask_postcode.reply  # once
    assert ask_postcode.tool_calls[0]["result"]["order_number"] == "1042"
    assert status.tool_calls[0]["result"]["verified_by"] == "postcode"
    assert status.reply.startswith(
        "Order 1 0 4 2 was shipped on November 20, 2026 with UPS."
        " It should arrive on November 26, 2026."
    )
    assert "1 Z 9, 9 9 A, A 1 0, 1 2 3, 4 5 6, 7 8 4" in tracking.reply
    assert all(turn.unanswered is None for turn in call.turns)


def test_a_postcode_that_does_not_match_is_read_back(host: PhoneHost, engines: Engines) -> None:
    caller = host.call("acme")
    caller.wait_reply(0, timeout=30)
    say(caller, speech(engines.tts, "Where is my order one zero four two?"))
    say(caller, speech(engines.tts, "It's three three zero four five."))
    caller.hang_up()
    call = host.settle("acme", caller.call_sid)
    wrong = call.turns[2]
    assert wrong.reply.startswith("I heard 3 3 0 4 5. That does not match order 1 0 4 2."), [
        (turn.transcript, turn.reply) for turn in call.turns
    ]
    assert wrong.tool_calls[0]["result"]["heard"] == "33045"
    assert "1042" not in wrong.tool_calls[0]["result"].get("status", "")


def test_variant_stock_is_told_per_option_by_voice(host: PhoneHost, engines: Engines) -> None:
    caller = host.call("acme")
    caller.wait_reply(0, timeout=30)
    say(caller, speech(engines.tts, "Is the trail shirt in stock in medium size?"))
    say(caller, speech(engines.tts, "And do you have it in size large?"))
    caller.hang_up()
    call = host.settle("acme", caller.call_sid)
    medium, large = call.turns[1], call.turns[2]
    assert medium.reply.startswith("The Trail Shirt costs 35 US dollars. Medium: 12 in stock."), (
        medium.transcript
    )
    assert "Large: out of stock" in large.reply, large.transcript
    assert "12 in stock" not in large.reply, large.transcript


LONG_RETURNS = " ".join(
    [
        "Unworn items can be returned within thirty days of delivery for a full refund.",
        "Please keep the original packaging and all labels attached to the item.",
        "Start a return from your account page and print the prepaid shipping label.",
        "Drop the parcel at any post office or parcel shop near you.",
        "Refunds are made to the original payment method within five working days.",
        "Sale items can be exchanged for store credit but are not refunded.",
        "Gift cards, underwear and personalised items cannot be returned.",
        "If an item arrived damaged, send us a photo within two days of delivery.",
        "We will send a replacement at no cost, or refund you if none is in stock.",
        "Returns from outside the country are at the customer's own cost.",
    ]
)


def test_a_reply_is_cut_once_it_has_spoken_about_twenty_seconds(
    host: PhoneHost, engines: Engines
) -> None:
    """A merchant's policy pasted whole is a minute of speech: the caller hears 20 s."""
    host.add_shop("verbose", name="Verbose Outfitters", default_locale="en_US")
    host.configure("verbose", policies={"returns": LONG_RETURNS})
    caller = host.call("verbose")
    caller.wait_reply(0, timeout=30)
    said_at = caller.say(speech(engines.tts, "What is your returns policy?"))
    reply = b"".join(caller.wait_reply(said_at, timeout=90, quiet_s=3.0))
    caller.hang_up()
    call = host.settle("verbose", caller.call_sid)
    assert call.turns[1].tool_calls[0]["name"] == "store_policy"
    assert 8.0 < len(reply) / 8000 <= 20.5, len(reply) / 8000


def test_words_said_while_the_last_ones_are_still_recognised_are_kept_and_read_together(
    slow_host: tuple[PhoneHost, SlowRecognition], engines: Engines
) -> None:
    host, slow = slow_host
    caller = said_while_recognised(
        host, slow, speech(engines.tts, "Hi, I'm calling about an order.")
    )
    say(caller, speech(engines.tts, "The number is one zero four two."), timeout=90)
    caller.hang_up()
    call = host.settle("acme", caller.call_sid, timeout=60)

    first, second = call.turns[1], call.turns[2]
    assert first.unanswered == "superseded" and not first.reply
    assert "order" in first.transcript.lower()
    assert first.asr_ms is not None and first.asr_ms >= SLOW_S * 1000
    assert second.unanswered is None and second.reply  # one answer, to both
    assert second.transcript.lower().startswith(first.transcript.lower())
    assert second.tool_calls[0]["name"] == "order_status"
    assert second.tool_calls[0]["result"]["order_number"] == "1042"


def test_a_caller_hanging_up_mid_recognition_leaves_the_turn_kept(
    slow_host: tuple[PhoneHost, SlowRecognition], engines: Engines
) -> None:
    host, slow = slow_host
    caller = said_while_recognised(host, slow, speech(engines.tts, "Do you sell rain jackets?"))
    caller.hang_up()
    call = host.settle("acme", caller.call_sid, timeout=60)

    [_, question] = call.turns
    assert question.unanswered == "hung_up" and not question.reply
    assert "jacket" in question.transcript.lower()
    assert question.asr_ms is not None and question.asr_ms >= SLOW_S * 1000
    assert call.outcome == "abandoned"


def test_a_stream_that_never_starts_is_closed_and_leaves_no_recording(host: PhoneHost) -> None:
    sid = "CA" + "5" * 32
    answer = place_call(host.url, "acme", AUTH_TOKEN, sid, "+15550123", "+15550000")
    ws = Client.connect(answer.stream_url)
    opened = time.monotonic()
    try:  # "connected", again and again, but never "start" nor any audio
        while time.monotonic() - opened < 20 and ws.connected:
            ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            time.sleep(0.5)
    except ConnectionClosed:
        pass
    closed_after = time.monotonic() - opened
    assert closed_after < START_TIMEOUT_S + 3, closed_after
    call = host.settle("acme", sid)
    assert call.recording_path is None and call.turns == []
    shop = host.shops["acme"]
    listed = httpx.get(f"{host.url}/api/v1/calls/{call.id}", headers=shop.headers).json()
    assert listed["has_recording"] is False
