"""Whole calls, end to end, over Twilio's protocol, with the real engines.

A caller (Twilio's side of a Media Stream) speaks in the real Piper voice, in
real time; the host hears it with faster-whisper, answers through the shared
vLLM server and speaks back with Piper. Each test reads what the host did from
its Turn rows, and what the caller heard from the audio that came back.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from prometheus_client import REGISTRY
from simple_websocket import Client
from simple_websocket import ConnectionError as Refused

from engines import Engines
from engines.audio import from_mulaw
from engines.digits import numbers_in
from merchant_voice.call_tools import CallState
from merchant_voice.plugin_resources import PluginResources
from merchant_voice.tenancy import MerchantInfo
from plugins.support_calls import settings as settings_module
from plugins.support_calls.context import CallDeps, TurnRecord
from plugins.support_calls.conversation import Conversation
from plugins.support_calls.settings import SupportCallsSettings
from plugins.support_calls.telephony.caller import SILENCE, TwilioCaller, place_call
from plugins.support_calls.telephony.twilio import signature
from tests.busy_group import busy_group, state, yielding
from tests.engines_fixtures import TEST_CHAT_PORT
from tests.support_calls_host import AUTH_TOKEN, PhoneHost, speech, start_host

pytestmark = pytest.mark.usefixtures("engines")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, engines: Engines) -> Iterator[PhoneHost]:
    tmp = tmp_path_factory.mktemp("phone")
    yield from start_host(
        tmp, f"sqlite:///{tmp}/calls.sqlite", f"http://127.0.0.1:{TEST_CHAT_PORT}"
    )


@pytest.fixture(scope="module")
def lines(engines: Engines) -> dict[str, bytes]:
    said = {
        "order": "Hi, where is my order? The number is one zero four two.",
        "postcode": "The postcode is nine zero two one zero.",
        "bye": "Thanks, goodbye.",
        "product": "How much is the trail backpack?",
        "person": "Can I speak to a person, please?",
        "message": "Please call me back tomorrow morning.",
        "foreign_order": "Where is my order seven seven seven seven?",
        "foreign_postcode": "The postcode is one two three four five.",
        "question": "Can I pay with a gift card?",
        "yes": "Yes, please.",
    }
    return {name: speech(engines.tts, text) for name, text in said.items()}


def exchange(caller: TwilioCaller, audio: bytes, timeout: float = 60) -> float:
    """Say ``audio``, wait for the whole reply; returns the voice-to-voice latency."""
    said_at = caller.say(audio)
    caller.wait_reply(said_at, timeout=timeout)
    first = caller.first_audio_after(said_at)
    assert first is not None, "no reply audio"
    return first - said_at


def post_next(host: PhoneHost, slug: str, sid: str) -> str:
    url = f"{host.url}/hooks/twilio/{slug}/next"
    params = {"CallSid": sid, "CallStatus": "in-progress"}
    headers = {"X-Twilio-Signature": signature(AUTH_TOKEN, url, params.items())}
    response = httpx.post(url, data=params, headers=headers)
    assert response.status_code == 200
    return response.text


def heard_text(engines: Engines, frames: list[bytes]) -> str:
    return engines.call_asr.transcribe(from_mulaw(b"".join(frames))).text.lower()


def test_order_question_is_verified_then_answered_and_goodbye_hangs_up(
    host: PhoneHost, lines: dict[str, bytes], engines: Engines
) -> None:
    caller = host.call("acme")
    caller.wait_reply(0, timeout=30)  # the greeting
    exchange(caller, lines["order"])
    said_at = caller.say(lines["postcode"])
    status_reply = caller.wait_reply(said_at, timeout=60)
    exchange(caller, lines["bye"])
    assert caller.closed.wait(15), "the host did not end the call after goodbye"
    call = host.settle("acme", caller.call_sid)

    greeting, order, postcode, bye = call.turns
    assert greeting.source == "greeting" and "Acme Outdoor" in greeting.reply
    assert numbers_in(order.transcript) == ["1042"]  # "one zero four two": digit by digit
    assert "postcode" in order.reply and "shipped" not in order.reply
    assert order.tool_calls[0]["result"] == {"asked_for": "postcode", "order_number": "1042"}
    assert postcode.tool_calls[0]["result"]["verified_by"] == "postcode"
    assert postcode.reply.startswith("Order 1 0 4 2 was shipped on November 20, 2026 with UPS.")
    assert "november 20" in heard_text(engines, status_reply)  # and the caller heard it
    assert bye.tool_calls[0]["name"] == "end_call"
    assert call.outcome == "resolved" and call.language == "en"
    for turn in (order, postcode, bye):
        assert turn.endpoint_ms is not None and turn.asr_ms is not None
        assert turn.first_audio_ms is not None and turn.first_audio_ms > turn.asr_ms
    assert "<Hangup/>" in post_next(host, "acme", caller.call_sid)


def test_product_question_is_answered_from_the_catalog_and_recorded(
    host: PhoneHost, lines: dict[str, bytes]
) -> None:
    host.configure("acme", record_calls=True)
    try:
        caller = host.call("acme")
        caller.wait_reply(0, timeout=30)
        exchange(caller, lines["product"])
        caller.hang_up()
        call = host.settle("acme", caller.call_sid)
    finally:
        host.configure("acme", record_calls=False)
    turn = call.turns[1]
    assert turn.tool_calls[0]["name"] == "product_info"
    assert turn.reply.startswith("The Trail Backpack costs 89 US dollars. We have 12 in stock.")
    assert turn.llm_first_token_ms is None  # the catalog's facts are the whole answer

    shop = host.shops["acme"]
    response = host.app.test_client().get(
        f"/api/v1/calls/{call.id}/recording", headers=shop.headers
    )
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    with wave.open(io.BytesIO(response.data)) as recording:
        assert (recording.getnchannels(), recording.getframerate()) == (2, 8000)
        pcm = np.frombuffer(recording.readframes(recording.getnframes()), "<i2").reshape(-1, 2)
    caller_leg, agent_leg = np.abs(pcm).max(axis=0)
    assert caller_leg > 1000 and agent_leg > 1000  # both sides were heard
    detail = host.app.test_client().get(f"/api/v1/calls/{call.id}", headers=shop.headers).json
    assert detail is not None and detail["has_recording"] and len(detail["turns"]) == 2


def test_barge_in_clears_the_playback_and_the_caller_is_heard(
    host: PhoneHost, lines: dict[str, bytes]
) -> None:
    host.configure(
        "acme",
        greeting="Thank you for calling Acme Outdoor, the shop for hikers and campers. "
        "We have tents, backpacks, boots and jackets, and we ship all over the country. "
        "How can I help you today?",
    )
    try:
        caller = host.call("acme")
        while not caller.heard.frames:
            time.sleep(0.05)
        time.sleep(1.0)  # a second into the long greeting, the caller talks over it
        exchange(caller, lines["product"])
        caller.hang_up()
        greeting, product = host.settle("acme", caller.call_sid).turns
    finally:
        host.configure("acme", greeting="")
    assert caller.clears >= 1
    assert greeting.interrupted and not product.interrupted
    assert product.tool_calls[0]["name"] == "product_info"


def test_a_turn_at_work_stops_the_bulk_server_until_its_reply_is_made(
    host: PhoneHost, lines: dict[str, bytes]
) -> None:
    """Calls come first: a bulk server on the machine (here a stand-in, busy in a process
    group of its own) is stopped from the caller's end of speech until the reply is made,
    and runs again while the caller listens and speaks."""
    live = host.app.extensions["engines"].live
    with busy_group() as server, yielding(server.pid, live, nice=0):
        states: list[tuple[float, str]] = []
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.is_set():
                states.append((time.monotonic(), state(server.pid)))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            caller = host.call("acme")
            caller.wait_reply(0, timeout=30)  # the greeting
            said_at = caller.say(lines["product"])
            caller.wait_reply(said_at, timeout=60)
            first = caller.first_audio_after(said_at)
            caller.hang_up()
            host.settle("acme", caller.call_sid)
        finally:
            sampling.set()
            sampler.join()
        assert first is not None
        speaking = [seen for at, seen in states if said_at - 1.5 < at < said_at - 0.5]
        answering = [seen for at, seen in states if said_at + 0.35 < at < first]
        assert speaking and "T" not in speaking, "stopped while the caller spoke"
        assert answering.count("T") > len(answering) / 2, "ran while the turn was at work"
        assert states[-1][1] != "T", "left stopped after the call"


HELD_S = 5.0  # the network holds the caller's audio back this long


def trimmed(mulaw: bytes) -> bytes:
    """The utterance without the synthesiser's silence before and after it."""
    loud = np.nonzero(np.abs(from_mulaw(mulaw).samples) > 0.02)[0]
    return mulaw[int(loud[0]) : int(loud[-1]) + 1]


def model_replies_begun() -> float:
    """Interactive chat requests that got their first token (``/metrics`` counts them)."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "mv_chat_time_to_first_token_seconds"
        for sample in metric.samples
        if sample.name.endswith("_count") and sample.labels.get("priority") == "interactive"
    )


def test_a_model_reply_is_made_before_the_turn_is_certain_and_a_tools_waits(
    host: PhoneHost, lines: dict[str, bytes]
) -> None:
    """Past the eager end of speech, before its end is certain (the network holds the
    caller's silence back): a reply only the model makes is made at once and waits to be
    heard; a reply that acts on the call (a tool) is begun only once the end is certain.
    An early reply to words the caller then goes on from is dropped unheard."""
    pause = SILENCE * 20  # 400 ms: past the eager end (200 ms), short of certain (550 ms)
    caller = host.call("acme")
    caller.wait_reply(0, timeout=30)
    for name in ("question", "product"):
        caller.say(trimmed(lines[name]) + pause)
        caller.stall(HELD_S)
        said_at = caller.say(SILENCE * 30)
        caller.wait_reply(said_at - 1.0, timeout=60)
    begun = model_replies_begun()
    resumed_at = caller.say(trimmed(lines["question"]) + pause)
    caller.stall(HELD_S)
    assert model_replies_begun() > begun, "no reply was made before the end was certain"
    assert caller.first_audio_after(resumed_at) is None, "heard before the end was certain"
    said_at = caller.say(trimmed(lines["bye"]))
    caller.wait_reply(said_at, timeout=60)
    caller.hang_up()
    _, question, product, resumed = host.settle("acme", caller.call_sid).turns

    assert question.reply and not question.tool_calls
    assert question.reply_ready_ms is not None and question.first_audio_ms is not None
    assert question.reply_ready_ms < HELD_S * 1000 < question.first_audio_ms
    assert product.tool_calls[0]["name"] == "product_info"
    assert product.reply_ready_ms is not None and product.reply_ready_ms > HELD_S * 1000
    assert "gift card" in resumed.transcript.lower() and "goodbye" in resumed.transcript.lower()


def test_an_early_reply_joins_the_conversation_only_once_its_turn_is_certain(
    host: PhoneHost,
) -> None:
    deps = CallDeps(
        merchant=MerchantInfo(1, "acme", "Acme", "en_US"),
        settings=SupportCallsSettings(model_answers="all"),
        tools=(),
        chat=host.app.extensions["engines"].chat,
        sessions=lambda: pytest.fail("no tool here"),
        resources=PluginResources("support_calls", Path(settings_module.__file__).parent),
    )
    conversation = Conversation(deps, CallState("+15550100", "en_US"))
    question = "Can I pay with a gift card?"
    for went_on in (True, False):
        certain = threading.Event()
        threading.Timer(60, certain.set).start()  # never a hang, whatever the model says

        def stands(certain: threading.Event = certain, went_on: bool = went_on) -> bool:
            certain.wait()
            return not went_on  # went on: the caller kept speaking, the turn was dropped

        record = TurnRecord("speech")
        sentences = conversation.respond(question, record, threading.Event(), None, stands)
        assert next(sentences)  # made before the turn is certain
        assert conversation.history == []
        certain.set()
        list(sentences)
        assert len(conversation.history) == (0 if went_on else 2)
    assert conversation.history[0] == {"role": "user", "content": question}


def test_keypad_order_number_from_the_ordering_phone_then_0_transfers(
    host: PhoneHost,
) -> None:
    host.configure("acme", handoff_number="+15550123")
    try:
        caller = host.call("acme", caller="+1 555 0177")  # the phone on order 2051
        caller.wait_reply(0, timeout=30)
        pressed = time.monotonic()
        caller.press("2051#")
        caller.wait_reply(pressed, timeout=60)
        caller.press("0")  # taken after a pause, as an IVR does
        assert caller.closed.wait(30), "the host did not hand the call over"
        call = host.settle("acme", caller.call_sid)
        assert "<Dial>+15550123</Dial>" in post_next(host, "acme", caller.call_sid)
    finally:
        host.configure("acme", handoff_number="")
    _, keyed, zero = call.turns
    assert keyed.source == "dtmf" and keyed.transcript == "2051"
    assert keyed.tool_calls[0]["result"]["verified_by"] == "caller_number"
    assert keyed.reply.startswith("Order 2 0 5 1 is being prepared for shipping.")
    assert zero.tool_calls[0]["name"] == "handoff" and zero.tool_calls[0]["result"]["transfer"]
    assert call.outcome == "handed_off"


def test_without_the_orders_plugin_the_order_tool_is_gone_from_calls(
    host: PhoneHost, lines: dict[str, bytes]
) -> None:
    """The order tools come from the orders plugin (``call_tools``), not from support calls."""
    db, manager = host.app.extensions["db"], host.app.extensions["plugins"]

    def orders(enabled: bool) -> None:
        with db.tenant_session(host.shops["acme"].merchant) as session:
            manager.set_enabled(session, "orders", enabled)
            session.commit()

    orders(False)
    try:
        caller = host.call("acme", caller="+1 555 0177")  # the phone on order 2051
        caller.wait_reply(0, timeout=30)
        exchange(caller, lines["order"])
        pressed = time.monotonic()
        caller.press("2051#")
        caller.wait_reply(pressed, timeout=60)
        caller.hang_up()
        call = host.settle("acme", caller.call_sid)
    finally:
        orders(True)
    _, spoken, keyed = call.turns
    assert keyed.source == "dtmf" and keyed.transcript == "2051"
    used = [c["name"] for turn in (spoken, keyed) for c in turn.tool_calls]
    assert "order_status" not in used  # no order tool to choose, nor to take the digits
    assert "prepared for shipping" not in keyed.reply and "shipped" not in spoken.reply


def test_without_a_handoff_number_a_message_is_taken(
    host: PhoneHost, lines: dict[str, bytes]
) -> None:
    caller = host.call("acme")
    caller.wait_reply(0, timeout=30)
    exchange(caller, lines["person"])
    exchange(caller, lines["message"])
    assert caller.closed.wait(15)
    call = host.settle("acme", caller.call_sid)
    assert "leave a short message" in call.turns[1].reply
    assert call.message is not None and "tomorrow" in call.message.lower()
    assert call.outcome == "handed_off"


def test_another_merchants_order_is_never_revealed(
    host: PhoneHost, lines: dict[str, bytes]
) -> None:
    caller = host.call("acme", caller="+1 555 0999")  # even from the phone on globex's order
    caller.wait_reply(0, timeout=30)
    exchange(caller, lines["foreign_order"])
    exchange(caller, lines["foreign_postcode"])
    caller.hang_up()
    turns = host.settle("acme", caller.call_sid).turns
    said = " ".join(turn.reply for turn in turns).lower()
    assert "delivered" not in said and "7 7 7 7 was" not in said
    assert "does not match order 7 7 7 7" in turns[2].reply
    assert all("verified_by" not in (c.get("result") or {}) for t in turns for c in t.tool_calls)


def test_caller_hanging_up_after_the_greeting_abandons_the_call(host: PhoneHost) -> None:
    caller = host.call("acme")
    caller.wait_reply(0, timeout=30)
    caller.hang_up()
    time.sleep(1.0)
    call = host.settle("acme", caller.call_sid)
    assert call.outcome == "abandoned" and [t.source for t in call.turns] == ["greeting"]


def test_a_merchant_whose_locale_has_no_voice_still_gets_a_spoken_call(
    host: PhoneHost, engines: Engines
) -> None:
    """A de_DE merchant on the default install (an English voice only): the call opens in
    English with an apology, is heard, and its outcome says so."""
    if "kaufhaus" not in host.shops:
        host.add_shop("kaufhaus", name="Kaufhaus", default_locale="de_DE")
    caller = host.call("kaufhaus")
    greeting_audio = caller.wait_reply(0, timeout=30)
    caller.hang_up()
    call = host.settle("kaufhaus", caller.call_sid)
    [greeting] = call.turns
    assert greeting.reply.startswith("Sorry, I can only speak English on this line.")
    assert "Thank you for calling Kaufhaus" in greeting.reply and not greeting.fallback
    # the caller heard it (tiny.en drops a first word now and then: "sorry" is not asked)
    assert "speak english" in heard_text(engines, greeting_audio)
    assert call.outcome == "abandoned"  # hung up before asking anything; not silent


@pytest.fixture(scope="module")
def mute_host(tmp_path_factory: pytest.TempPathFactory, engines: Engines) -> Iterator[PhoneHost]:
    """A host with no voice at all: its calls cannot speak."""
    tmp = tmp_path_factory.mktemp("mute")
    yield from start_host(
        tmp,
        f"sqlite:///{tmp}/calls.sqlite",
        f"http://127.0.0.1:{TEST_CHAT_PORT}",
        tts={"voices": {}},
    )


def test_a_call_that_could_not_speak_is_recorded_as_silent(mute_host: PhoneHost) -> None:
    caller = mute_host.call("acme")
    time.sleep(3.0)  # the greeting and the fallback line both fail: nothing is sent
    caller.hang_up()
    call = mute_host.settle("acme", caller.call_sid)
    assert not caller.heard.frames
    assert call.outcome == "silent"  # not "resolved", not "abandoned"
    assert call.turns[0].source == "greeting" and call.turns[0].fallback


def test_bad_messages_and_tokens_are_refused_and_other_calls_go_on(host: PhoneHost) -> None:
    answer = place_call(host.url, "acme", AUTH_TOKEN, "CA" + "e" * 32, "+15550111", "+15550000")
    with pytest.raises(Refused) as wrong:  # a wrong token: 403 before the upgrade
        Client.connect(answer.stream_url[:-4] + "AAAA")
    assert wrong.value.status_code == 403
    good = host.call("acme")
    bad = TwilioCaller(answer.stream_url, "CA" + "e" * 32)
    with pytest.raises(Refused) as again:  # the token admits one stream only
        Client.connect(answer.stream_url)
    assert again.value.status_code == 403
    garbage: list[str | bytes] = [
        "{not json",
        json.dumps({"event": "media", "media": {"payload": "@@"}}),
        json.dumps({"event": "dtmf", "dtmf": {"digit": "x"}}),
        b"\x00\x01",
    ]
    for message in garbage:
        bad.send_raw(message)
    oversized = {"event": "media", "media": {"payload": base64.b64encode(SILENCE * 200).decode()}}
    bad.send_raw(json.dumps(oversized))  # over the message limit: the host closes this stream
    assert bad.closed.wait(10)
    assert good.wait_reply(0, timeout=30), "the other call's greeting"
    good.hang_up()
    assert [t.source for t in host.settle("acme", good.call_sid).turns] == ["greeting"]


@pytest.fixture(scope="module")
def host_without_chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoneHost]:
    tmp = tmp_path_factory.mktemp("phone-down")
    yield from start_host(tmp, f"sqlite:///{tmp}/calls.sqlite", "http://127.0.0.1:9")


def test_chat_engine_down_gives_the_fallback_line_and_a_handoff(
    host_without_chat: PhoneHost, lines: dict[str, bytes], engines: Engines
) -> None:
    host = host_without_chat
    caller = host.call("acme")
    caller.wait_reply(0, timeout=30)
    started = time.monotonic()
    said_at = caller.say(lines["question"])
    # the whole line, two sentences: on a loaded machine (the full suite, on 2 cores) the
    # host's playback may stall for seconds, longer than a reply's usual quiet end
    fallback = caller.wait_reply(said_at, timeout=40, quiet_s=6.0)
    first = caller.first_audio_after(said_at)
    assert first is not None and first - started < 20  # never silence: within the timeout
    exchange(caller, lines["yes"])
    caller.hang_up()
    call = host.settle("acme", caller.call_sid)
    question, yes = call.turns[1:3]
    assert question.fallback and question.reply.startswith("I'm sorry, I can't look that up")
    assert "colleague" in heard_text(engines, fallback)
    assert yes.tool_calls[0]["name"] == "handoff"
