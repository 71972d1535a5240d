"""What a narration's voice is given: the lexicon's respellings, the price as money and
numbers and units in words, in the script's locale (num2words and Babel); and the real
voice saying it, heard back by Whisper."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from engines import Engines
from engines.audio import Audio, resample
from merchant_voice.config import Settings
from plugins.narration.speech import speakable
from tests.engines_fixtures import words


def test_prices_numbers_and_units_are_said_in_the_locale() -> None:
    said = speakable(
        "Der Hoodie kostet 49,90 $ und wiegt 500 g. Größe 38, bei 30 °C waschen.",
        "de_DE",
        price="49,90 $",
        amount=Decimal("49.90"),
        currency="USD",
    )
    assert said == (
        "Der Hoodie kostet neunundvierzig Dollar und neunzig Cent und wiegt fünfhundert Gramm."
        " Größe achtunddreißig, bei dreißig Grad Celsius waschen."
    )
    english = speakable(
        "Only $1,249.50, 2.5 cm thin.",
        "en_US",
        price="$1,249.50",
        amount=Decimal("1249.50"),
        currency="USD",
    )
    assert english == (
        "Only one thousand, two hundred and forty-nine dollars, fifty cents,"
        " two point five centimeters thin."
    )
    assert speakable("1 234,5 g", "fr_FR") == "mille deux cent trente-quatre virgule cinq grammes"


def test_a_language_num2words_does_not_know_keeps_its_digits() -> None:
    assert speakable("价格 49 元", "zh_CN") == "价格 49 元"


def test_the_lexicon_respells_whole_terms_in_any_case() -> None:
    lexicon = {"Acme": "Ack me", "AC-HD": "A C H D"}
    said = speakable("ACME makes the acme AC-HD hoodie; Acmes are not.", "en_US", lexicon=lexicon)
    assert said == "Ack me makes the Ack me A C H D hoodie; Acmes are not."


def test_the_voice_says_the_price_as_money(engines_speech: Engines) -> None:
    text = speakable(
        "The Acme hoodie costs $49.90.",
        "en_US",
        price="$49.90",
        amount=Decimal("49.90"),
        currency="USD",
    )
    chunks = list(engines_speech.tts.synthesize(text, "en_US"))
    audio = Audio(np.concatenate([c.audio.samples for c in chunks]), chunks[0].audio.rate)
    heard = words(engines_speech.asr.transcribe(resample(audio, 16000), language="en").text)
    # Whisper writes "forty-nine dollars, ninety cents" back as "$49.90"
    assert {"acme", "hoodie", "49", "90"} <= set(heard), heard


@pytest.fixture(scope="module")
def engines_speech(prepared: Settings) -> Engines:
    return Engines(prepared.engines)
