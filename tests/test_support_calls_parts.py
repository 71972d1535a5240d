"""The parts of a call that need no server: the stream protocol, endpointing on a real
recording, speakable text, and how tools are chosen."""

from __future__ import annotations

import base64
import json
import time
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from flask import Flask

from engines.audio import decode_file, resample
from engines.tts import PiperSynthesizer
from merchant_voice.call_tools import CallState
from merchant_voice.errors import StreamProtocolError
from merchant_voice.plugin_resources import PluginResources
from merchant_voice.spoken import compact, spoken_code, spoken_date, spoken_money
from merchant_voice.tenancy import MerchantInfo
from plugins.orders.call_tools import extract, spoken_postcode
from plugins.support_calls import settings as settings_module
from plugins.support_calls.conversation import reply_locale
from plugins.support_calls.lines import has_voice, opening_locale
from plugins.support_calls.settings import SupportCallsSettings
from plugins.support_calls.speech import SentenceSplitter, speakable
from plugins.support_calls.telephony import media
from plugins.support_calls.tools import choose, gather
from plugins.support_calls.tools.service import is_yes
from plugins.support_calls.vad import Endpointer, VadEvent
from tests.conftest import Shop
from tests.engines_fixtures import SPEECH


def test_stream_messages_are_parsed_or_refused_with_the_field_named() -> None:
    start = media.parse(
        json.dumps(
            {
                "event": "start",
                "start": {
                    "streamSid": "MZ1",
                    "callSid": "CA1",
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
                    "customParameters": {"call_sid": "CA1"},
                },
            }
        )
    )
    assert start == media.Start("MZ1", "CA1", "audio/x-mulaw", 8000, {"call_sid": "CA1"})
    frame = media.parse(
        json.dumps(
            {"event": "media", "media": {"payload": base64.b64encode(b"\xff" * 160).decode()}}
        )
    )
    assert isinstance(frame, media.Media) and frame.payload == b"\xff" * 160
    refused = {
        "{": "not JSON",
        json.dumps({"event": "media", "media": {"payload": "!!"}}): "media.payload",
        json.dumps({"event": "dtmf", "dtmf": {"digit": "x"}}): "dtmf.digit",
        json.dumps({"event": "start", "start": {"callSid": "CA1"}}): "start.streamSid",
        json.dumps({"event": "hello"}): "unknown event",
        "x" * (media.MAX_MESSAGE_BYTES + 1): "over",
    }
    for message, named in refused.items():
        with pytest.raises(StreamProtocolError, match=named):
            media.parse(message)
    with pytest.raises(StreamProtocolError, match="binary"):
        media.parse(b"\x00")


def test_endpointer_finds_each_sentence_of_a_real_phone_recording() -> None:
    """The Open Speech Repository file: ten sentences with pauses of about a second."""
    audio = decode_file((SPEECH / "OSR_us_000_0034_8k.wav").read_bytes())
    samples = resample(audio, 8000).samples
    endpointer = Endpointer()
    ends = 0
    for start in range(0, len(samples), 160):  # 20 ms frames, as Twilio sends them
        events = endpointer.feed(samples[start : start + 160])
        if VadEvent.END in events:
            ends += 1
            assert endpointer.utterance().seconds > 1.0  # whole sentences, not fragments
            endpointer.reset()
    assert 9 <= ends <= 11
    silence = Endpointer()
    assert not any(silence.feed(np.zeros(160, np.float32)) for _ in range(200))


def test_replies_are_made_speakable_and_cut_into_sentences_as_they_stream() -> None:
    assert speakable("**Great!** See [our page](https://x.y) or https://shop.example 🙂") == (
        "Great! See our page or"
    )
    splitter = SentenceSplitter()
    pieces = ["Sure, your order", " is on its way and", " should arrive soon. It ", "left today."]
    said = [s for piece in pieces for s in splitter.feed(piece)] + list(splitter.flush())
    assert said == [  # the opening words go ahead alone: the caller hears them sooner
        "Sure, your order is",
        "on its way and should arrive soon.",
        "It left today.",
    ]
    opening = SentenceSplitter()
    first = list(opening.feed("Thanks for waiting on the line with us, I have checked it"))
    assert first == ["Thanks for waiting on the line with us,"]  # a long first clause goes alone
    rambling = SentenceSplitter()
    head = list(rambling.feed("The birch canoe slid on the smooth planks of the old dock "))
    assert head == ["The birch canoe slid"]  # no comma yet: 4 words go ahead


def test_prices_dates_and_codes_are_spoken_per_locale() -> None:
    assert spoken_money(Decimal("89.00"), "USD", "en_US") == "89 US dollars"
    assert spoken_money(Decimal("12.50"), "EUR", "de_DE") == "12,50 Euro"
    assert spoken_money(Decimal("1"), "EUR", "en_GB") == "1 euro"
    assert spoken_date(date(2026, 11, 20), "en_US") == "November 20, 2026"
    assert spoken_date(date(2026, 11, 20), "de_DE") == "20. November 2026"
    assert spoken_code("#A-1042") == "A 1 0 4 2"
    assert compact("s w one a, one a a") == "SW1A1AA"


def test_tools_are_chosen_on_the_callers_words(app: Flask, shop_a: Shop) -> None:
    manager = app.extensions["plugins"]
    with app.app_context(), app.extensions["db"].tenant_session(shop_a.merchant) as session:
        manager.configure(session, "support_calls", {"policies": {"returns": "30"}})
        tools = gather(session)  # from every plugin: support calls, orders, catalog, notes
    state = CallState(caller="+15550100", locale="en_US")

    def chosen(words: str) -> str | None:
        tool = choose(tools, words, state)
        return tool.name if tool else None

    assert chosen("Where is my parcel?") == "order_status"
    assert chosen("How much does the backpack cost?") == "product_info"
    assert chosen("Can I return a jacket I bought?") == "store_policy"
    assert chosen("How fast do you ship?") == "store_policy"
    assert chosen("Has my order shipped?") == "order_status"
    assert chosen("When are you open on Saturday?") == "store_policy"
    assert chosen("I'd like to talk to a real person") == "handoff"
    assert (
        chosen("オペレーターをお願いします") == chosen("我要人工服务") == "handoff"
    )  # as the lines say
    assert chosen("No thanks, goodbye") == "end_call"
    assert chosen("Lovely weather today") is None
    state.expecting = "order_status"
    assert chosen("It is nine zero two one zero") == "order_status"
    assert extract("the number is one oh four two", CallState("", "en_US")) == {
        "order_number": "1042",
        "postcode": None,
    }
    assert is_yes("Yes, please") and is_yes("ok") and not is_yes("I booked it")


def test_only_replies_that_act_on_nothing_are_made_before_the_turn_is_certain(
    app: Flask, shop_a: Shop
) -> None:
    from engines.chat import VllmChat
    from plugins.support_calls.context import CallDeps
    from plugins.support_calls.conversation import Conversation

    with app.app_context(), app.extensions["db"].tenant_session(shop_a.merchant) as session:
        tools = gather(session)
    deps = CallDeps(
        merchant=MerchantInfo(1, "acme", "Acme", "en_US", market_locales=("de_DE",)),
        settings=SupportCallsSettings(),
        tools=tools,
        chat=VllmChat("http://127.0.0.1:9", "none"),  # never asked
        sessions=lambda: pytest.fail("no database here"),
        resources=PluginResources("support_calls", Path(settings_module.__file__).parent),
    )
    state = CallState(caller="+15550100", locale="en_US")
    conversation = Conversation(deps, state)
    voices = PiperSynthesizer({"en_US": Path("en.onnx"), "de_DE": Path("de.onnx")})

    def acts(words: str, language: str = "en", probability: float = 0.95) -> bool:
        return conversation.acts_on(words, language, probability, partial(has_voice, voices))

    assert not acts("Lovely weather today")
    assert acts("Where is my parcel?")  # a tool
    assert acts("Schönes Wetter heute", "de")  # the reply switches to German
    assert not acts("Schönes Wetter heute", "de", 0.4)  # not sure of the language: no switch
    conversation.offer_handoff()
    assert acts("Lovely weather today")  # a "yes" would hand over
    state.scratch.clear()
    state.expecting = state.expects_code = "order_status"
    assert acts("Lovely weather today")  # the words answer a question
    assert state.expecting == state.expects_code == "order_status"  # asking changed nothing


def test_a_postcode_is_one_code_not_a_list_of_guesses() -> None:
    assert spoken_postcode("The postcode is nine zero two one zero.") == "90210"
    assert spoken_postcode("It is S W 1 A, 1 A A") == "SW1A1AA"
    assert spoken_postcode("my postcode is 1234 AB") == "1234AB"
    assert spoken_postcode("1000 1001 1002 90210") == "10001001100290210"  # matches nothing
    assert spoken_postcode("I don't know") == ""


@pytest.mark.parametrize(
    ("said", "code"),
    [
        ("Um, nine four one zero three.", "94103"),  # was UM94103
        ("Uh, it is S W 1 A, 1 A A.", "SW1A1AA"),  # letters of a code still count
        ("zero two two, hey, zero two two", "022"),  # said twice: was 022HEY022
        ("nine four one oh three nine four one oh three", "94103"),  # twice, no pause
        ("three five nine two zero one, sorry, five nine two zero one", "359201"),  # its end
        ("three five nine, sorry, three five eight", "358"),  # corrected
        ("Okay, so it's 10115.", "10115"),
    ],
)
def test_fillers_and_repeats_are_not_part_of_a_postcode(said: str, code: str) -> None:
    assert spoken_postcode(said) == code


def test_numbers_said_in_tens_are_codes_and_ordinals_are_not() -> None:
    english, german = CallState("", "en_US"), CallState("", "de_DE")
    assert extract("Order eighty-eight twenty-one", english)["order_number"] == "8821"
    assert extract("double eight two one", english)["order_number"] == "8821"
    assert extract("on the fifth of May, order eighty-eight twenty-one", english) == {
        "order_number": "8821",
        "postcode": None,
    }
    assert extract("Bestellung achtundachtzig einundzwanzig", german)["order_number"] == "8821"
    german.scratch["order_status"] = {"asked": True}
    assert extract("Äh, zehn eins eins fünf", german)["postcode"] == "10115"


def test_reply_language_follows_the_caller_where_a_voice_exists() -> None:
    merchant = MerchantInfo(1, "acme", "Acme", "en_US", market_locales=("de_DE", "fr_FR"))
    voices = PiperSynthesizer({"en_US": Path("en.onnx"), "de_DE": Path("de.onnx")})
    speaks = partial(has_voice, voices)
    assert reply_locale(merchant, "en_US", "en", speaks) == ("en_US", False)
    assert reply_locale(merchant, "en_US", "de", speaks) == ("de_DE", False)
    assert reply_locale(merchant, "de_DE", "fr", speaks) == ("en_US", True)  # no French voice
    assert reply_locale(merchant, "en_US", "ja", speaks) == ("en_US", True)


def test_merchants_prompt_templates_are_checked_and_sandboxed() -> None:
    from plugins.support_calls.prompting import system_prompt

    resources = PluginResources("support_calls", Path(settings_module.__file__).parent)
    context = {"store": "Acme", "language": "English", "policies": {}, "facts": []}
    own = system_prompt(resources, "You answer calls for {{ store }} in {{ language }}.", **context)
    assert own == "You answer calls for Acme in English."
    built_in = system_prompt(resources, "", **context)
    assert built_in.startswith("You are the phone assistant of Acme")
    escape = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    assert system_prompt(resources, escape, **context) == built_in  # refused by the sandbox
    with pytest.raises(ValueError, match="not a valid Jinja2 template: line 1"):
        SupportCallsSettings(system_prompt="{% if %}")
    with pytest.raises(ValueError, match="unknown template variable shop; use store"):
        SupportCallsSettings(system_prompt="{{ shop }} {% for f in facts %}{{ f }}{% endfor %}")
    # A template written when the facts were part of the system prompt still renders.
    older = "{{ store }}{% for fact in facts %} {{ fact.tool }}{% endfor %}"
    SupportCallsSettings(system_prompt=older)
    assert system_prompt(resources, older, store="Acme", language="English", policies={}) == "Acme"


def test_each_turns_prompt_begins_with_the_last_turns_so_the_prefix_cache_serves_it() -> None:
    """The system prompt stays fixed and the conversation only grows: a tool's facts come
    after it, and the history is cut back in blocks, not one message a turn."""
    from engines.chat import VllmChat
    from plugins.support_calls.context import CallDeps
    from plugins.support_calls.conversation import Conversation

    resources = PluginResources("support_calls", Path(settings_module.__file__).parent)
    deps = CallDeps(
        merchant=MerchantInfo(1, "acme", "Acme", "en_US"),
        settings=SupportCallsSettings(policies={"returns": "30 days, unused."}),
        tools=(),
        chat=VllmChat("http://127.0.0.1:9", "none"),  # never asked: only prompts are built
        sessions=lambda: pytest.fail("no database here"),
        resources=resources,
    )
    conversation = Conversation(deps, CallState("CA1", "en_US"))
    facts = [{"tool": "product", "data": {"title": "Trail Backpack", "price": "89.00 USD"}}]
    question = "How much is the backpack?"
    previous = conversation.prompt(question, None, facts)
    assert previous[0]["content"].startswith("You are the phone assistant of Acme")
    assert "30 days, unused." in previous[0]["content"]
    assert previous[1]["role"] == "system" and '"price": "89.00 USD"' in previous[1]["content"]
    cut_backs = 0
    for turn in range(12):
        conversation._remember(question, f"answer {turn}")
        question = f"question {turn}"
        prompt = conversation.prompt(question, None, [])
        shared = [m for m in previous if "Facts for this answer" not in m["content"]]
        cut_backs += prompt[: len(shared)] != shared
        assert prompt[0] == previous[0] and prompt[-1]["content"] == question
        assert len(prompt) <= 14
        previous = prompt
    assert cut_backs == 2  # 12 turns: the history was cut back twice, not every turn


def test_a_merchants_own_policy_topic_is_the_one_read(app: Flask, shop_a: Shop) -> None:
    """A policy written under "hours" answers "what are your hours?", not the built-in,
    unwritten "opening_hours" topic that the same word also names."""
    manager, db = app.extensions["plugins"], app.extensions["db"]
    policies = {"hours": "We are open from nine to five.", "returns": "Thirty days."}
    with app.app_context(), db.tenant_session(shop_a.merchant) as session:
        manager.configure(session, "support_calls", {"policies": policies})
        tools = gather(session)
        state = CallState(caller="+15550100", locale="en_US")
        for words, said in [
            ("What are your hours?", policies["hours"]),
            ("Can I return it?", policies["returns"]),
        ]:
            tool = choose(tools, words, state)
            assert tool is not None and tool.name == "store_policy"
            arguments = tool.extract(words, state)
            assert arguments is not None
            assert tool.run(session, state, arguments, words).say == said


def test_a_call_opens_in_a_locale_a_voice_speaks() -> None:
    voices = PiperSynthesizer({"en_US": Path("en.onnx"), "fr_FR": Path("fr.onnx")})
    german = MerchantInfo(1, "kaufhaus", "Kaufhaus", "de_DE", market_locales=("de_AT",))
    assert opening_locale(german, voices, "CA1") == "en_US"  # no German voice: an installed one
    swiss = MerchantInfo(2, "uhren", "Uhren", "de_CH", market_locales=("fr_CH",))
    assert opening_locale(swiss, voices, "CA2") == "fr_CH"  # a market locale a voice speaks
    assert opening_locale(swiss, PiperSynthesizer({}), "CA3") == "de_CH"  # none: it cannot speak
    speaks = partial(has_voice, voices)
    assert reply_locale(german, "en_US", "de", speaks) == ("en_US", True)  # stays in its voice


def test_a_stream_is_a_call_while_it_starts_in_time_and_keeps_sending_audio() -> None:
    now = time.monotonic()
    assert media.Liveness(opened=now, heard=now).ended() is None
    silent = media.Liveness(opened=now - 6, heard=now - 6)
    silent.saw(media.Connected("Call"))  # chatter is not a start
    assert silent.ended() == "no start in 5.0s"
    started = media.Liveness(opened=now - 20, heard=now - 20)
    started.saw(media.Start("MZ1", "CA1", "audio/x-mulaw", 8000))
    started.saw(media.Mark("m1"))  # marks are not audio
    assert started.ended() == "no media for 15.0s"
    started.saw(media.Media(b"\xff" * 160))
    assert started.ended() is None
