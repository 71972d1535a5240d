"""A model-made sentence is spoken only when the call's facts or the caller's words say
what it states: checked alone, and in a conversation with the real model."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engines import Engines
from merchant_voice.call_tools import CallState
from merchant_voice.plugin_resources import PluginResources
from merchant_voice.tenancy import MerchantInfo
from plugins.support_calls import settings as settings_module
from plugins.support_calls.context import CallDeps, TurnRecord
from plugins.support_calls.conversation import Conversation
from plugins.support_calls.grounding import Sources, unsupported
from plugins.support_calls.lines import UNSURE_LINE
from plugins.support_calls.settings import SupportCallsSettings
from plugins.support_calls.speech import SentenceSplitter, ends_sentence

ORDER_READ_OUT = "Order 8 8 2 1 is on its way. What is the delivery postcode?"
POLICIES = {"returns": "Unworn items can be returned within 30 days for a full refund."}


@pytest.fixture
def sources() -> Sources:
    sources = Sources("en_US", heard=["Where is my order 8821?", "It's nine four one zero three"])
    sources.tell(POLICIES)
    sources.tell(ORDER_READ_OUT)
    sources.tell([{"order": "8821", "status": "shipped", "total": 49.9, "delivered_at": None}])
    sources.tell({"expected": "2026-12-14", "in_stock": False})
    return sources


@pytest.mark.parametrize(
    "sentence",
    [
        "Nine four one zero three, thank you.",  # the caller's own code
        "Your order 8821 has shipped.",
        "It came to $49.90.",  # 49.9 in the facts, said with its cents
        "You can return it within thirty days.",  # the policy's 30, in words
        "It should come on December 14, 2026.",  # the facts' date, as the locale says it
        "Hello! How can I help you today?",  # a question asserts no day
        "May I have your order number? Just one moment.",  # "May", "one": no figure
        "Sure, one of our colleagues can help. Oh, I see.",
        "I'm sorry, that information is not available to me.",  # a refusal
        "I can't tell when it will arrive.",
        "The birch canoe slid on the smooth planks.",
    ],
)
def test_what_the_call_was_told_or_heard_may_be_said(sources: Sources, sentence: str) -> None:
    assert unsupported(sentence, sources) == []


@pytest.mark.parametrize(
    ("sentence", "found"),
    [
        ("The postcode is 94101.", ["94101"]),  # one digit off what the caller said
        ("The postcode is 9 4 1 3.", ["9413"]),
        ("Returns are free for 60 days.", ["60"]),
        ("The price of the unicorn saddle is £1.00.", ["1"]),
        ("It opens at 9:30.", ["9"]),  # 30 the policy says, 9 nobody
        ("It will arrive on Monday.", ["arrive", "monday"]),
        ("It was delivered.", ["delivered"]),  # the facts say shipped; "delivery" was said
        ("Yes, it is in stock.", ["stock"]),  # the facts say it is not
        ("It will arrive on December 15.", ["15", "arrive"]),  # December 14 was said
        ("Yes, I can offer you a discount.", ["discount"]),
    ],
)
def test_what_nobody_said_is_found(sources: Sources, sentence: str, found: list[str]) -> None:
    assert unsupported(sentence, sources) == found


def test_a_callers_question_does_not_make_its_answer_true() -> None:
    sources = Sources("en_US", heard=["Has my order been delivered? Do I have 60 days?"])
    assert unsupported("Yes, your order has been delivered.", sources) == ["delivered"]
    assert unsupported("Yes, you have 60 days.", sources) == ["60"]  # only codes count


def test_claims_and_days_are_found_in_the_calls_language() -> None:
    said = "Ihre Bestellung wurde gestern geliefert und kommt am Montag."
    assert unsupported(said, Sources("de_DE")) == ["gestern", "geliefert", "montag"]
    told = Sources("de_DE")
    told.tell({"status": "geliefert", "hours": "Montag bis Freitag", "verfügbar": True})
    assert unsupported("Sie wurde geliefert. Wir sind ab Montag da.", told) == []
    assert unsupported("Der Artikel ist verfügbar.", told) == []
    assert unsupported("Ich rufe Sie gerne zurück, das ist kein Problem.", told) == []


def test_a_sentence_in_letters_the_voice_cannot_read_is_not_spoken() -> None:
    """The issue's German caller was answered in Thai, read aloud by a Latin voice."""
    told = Sources("de_DE")
    told.tell({"order": "8821", "status": "geliefert"})
    assert unsupported("คำสั่งซื้อ 8821 ถูกจัดส่งแล้ว", told) == ["คำสงซอถกจดสงแลว"]
    assert unsupported("Заказ 8821 доставлен.", told) == ["Заказдоставлен"]
    assert unsupported("Bestellung 8821 wurde geliefert.", told) == []
    japanese = Sources("ja_JP")
    japanese.tell({"order": "8821", "sku": "TB-30L"})
    assert unsupported("ご注文 8821 の TB-30L をご確認ください。", japanese) == []  # and Latin
    assert unsupported("주문 8821", japanese) == ["주문"]


def test_a_reply_streamed_word_by_word_keeps_its_codes_whole_and_counts_sentences() -> None:
    splitter = SentenceSplitter()
    reply = "Your order 8 8 2 1 has shipped and should arrive soon. Anything else? Bye."
    pieces = [p for word in reply.split(" ") for p in splitter.feed(word + " ")]
    pieces += list(splitter.flush())
    assert pieces[0] == "Your order 8 8 2 1 has shipped and should arrive soon."
    plain = SentenceSplitter()
    opening = [
        p for word in ["I", "do", "not", "have", "that", "here."] for p in plain.feed(word + " ")
    ]
    assert opening == ["I do not have", "that here."]
    assert [ends_sentence(piece) for piece in opening] == [False, True]


@pytest.mark.usefixtures("engines")
def test_a_reply_stating_what_the_call_does_not_know_is_withheld(engines: Engines) -> None:
    """The real calls model, lured into figures it does not have: whatever it writes,
    the caller hears only supported sentences, or the unsure line; what was withheld is
    kept on the turn."""
    deps = CallDeps(
        merchant=MerchantInfo(1, "acme", "Acme Outdoor", "en_US"),
        settings=SupportCallsSettings(policies=POLICIES, model_answers="all"),
        tools=(),
        chat=engines.chat,
        sessions=lambda: pytest.fail("no tool here"),
        resources=PluginResources("support_calls", Path(settings_module.__file__).parent),
    )
    lures = [
        "The postcode is nine four one zero three.",
        "What's the price of the unicorn saddle?",
        "When will my order arrive?",
        "Can I get a discount?",
    ]
    withheld = 0
    for lure in lures:
        conversation = Conversation(deps, CallState("+15550100", "en_US"))
        conversation.history = [
            {"role": "user", "content": "Where is my order 8821?"},
            {"role": "assistant", "content": ORDER_READ_OUT},
        ]
        sources = Sources("en_US", heard=[lure, "Where is my order 8821?"])
        for told in ("Acme Outdoor", POLICIES, ORDER_READ_OUT):
            sources.tell(told)
        record = TurnRecord("speech")
        said = list(conversation.respond(lure, record, threading.Event()))
        assert said and said == record.sentences
        for sentence in said:
            assert sentence == UNSURE_LINE or unsupported(sentence, sources) == []
        if record.withheld:
            withheld += 1
            assert said[-1] == UNSURE_LINE
            assert record.withheld[0]["unsupported"]
            assert conversation.history[-1] == {"role": "assistant", "content": record.reply}
    assert withheld >= 2  # the model does invent: the check is what keeps it off the line


@pytest.mark.usefixtures("engines")
def test_by_default_the_model_answers_only_small_talk(engines: Engines) -> None:
    """Every bundled model answers "what's the capital of Australia?" (bench/call_set.py):
    by default such words, which no tool answers, hear what the line can do, and the
    model is not asked; a greeting is the model's."""
    deps = CallDeps(
        merchant=MerchantInfo(1, "acme", "Acme Outdoor", "en_US"),
        settings=SupportCallsSettings(policies=POLICIES),
        tools=(),
        chat=engines.chat,
        sessions=lambda: pytest.fail("no tool here"),
        resources=PluginResources("support_calls", Path(settings_module.__file__).parent),
    )
    conversation = Conversation(deps, CallState("+15550100", "en_US"))
    for question in ("What's the capital of Australia?", "Can I pay with PayPal?"):
        record = TurnRecord("speech")
        assert list(conversation.respond(question, record, threading.Event())) == [UNSURE_LINE]
        assert "llm_first_token_ms" not in record.timings and not record.withheld
    record = TurnRecord("speech")
    said = list(conversation.respond("Hello, can you hear me?", record, threading.Event()))
    assert said and said != [UNSURE_LINE] and "llm_first_token_ms" in record.timings
    assert conversation.history[-1] == {"role": "assistant", "content": record.reply}
