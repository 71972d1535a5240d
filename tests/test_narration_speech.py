"""What a narration's voice is given: the lexicon's respellings, the price as money and
numbers, units and dates in words, in the script's locale (num2words and Babel); and the real
voice saying it, heard back by Whisper (the price, in a rendered narration:
test_narration_audio.py)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from babel.numbers import format_currency

from engines import Engines
from engines.audio import Audio, resample
from merchant_voice.config import Settings
from plugins.narration.sound import TARGET_LUFS, Cue, loudness, normalized, sentences, webvtt
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


def test_the_price_as_babel_writes_it_and_dates_are_said_in_full() -> None:
    price = format_currency(Decimal("49.90"), "EUR", locale="de_DE")  # "49,90\xa0€"
    said = speakable(
        f"Für {price}, geliefert ab 24.12.2026 (Version 2.1).",  # stored: plain spaces
        "de_DE",
        price=price,
        amount=Decimal("49.90"),
        currency="EUR",
    )
    assert said == (
        "Für neunundvierzig Euro und neunzig Cent, geliefert ab vierundzwanzigste Dezember"
        " zweitausendsechsundzwanzig (Version 2.1)."  # no German number: eSpeak reads it
    )
    assert speakable("Back on 2026-01-05.", "en_US") == (
        "Back on January five, two thousand and twenty-six."
    )
    assert speakable("Livré le 24/12/2026.", "fr_FR") == (
        "Livré le vingt-quatre décembre deux mille vingt-six."
    )
    assert speakable("Kein Datum: 31.02.2026.", "de_DE") == "Kein Datum: 31.02.2026."  # as written


def test_a_language_num2words_does_not_know_keeps_its_digits() -> None:
    assert speakable("价格 49 元", "zh_CN") == "价格 49 元"


def test_the_lexicon_respells_whole_terms_in_any_case() -> None:
    lexicon = {"Acme": "Ack me", "AC-HD": "A C H D"}
    said = speakable("ACME makes the acme AC-HD hoodie; Acmes are not.", "en_US", lexicon=lexicon)
    assert said == "Ack me makes the Ack me A C H D hoodie; Acmes are not."


@pytest.fixture(scope="module")
def engines_speech(prepared: Settings) -> Engines:
    return Engines(prepared.engines)


def test_captions_are_a_webvtt_track_of_the_sentences() -> None:
    script = "Meet the Acme hoodie. Soft & warm! Only <today>… 新しい。です"
    assert sentences(script) == [
        "Meet the Acme hoodie.",
        "Soft & warm!",
        "Only <today>…",
        "新しい。",
        "です",
    ]
    track = webvtt([Cue(0.0, 1.25, "Meet the Acme hoodie."), Cue(1.25, 3661.5, "Soft & <warm>")])
    assert track == (
        "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.250\nMeet the Acme hoodie.\n\n"
        "2\n00:00:01.250 --> 01:01:01.500\nSoft &amp; &lt;warm&gt;\n"
    )


def test_speech_is_brought_to_one_loudness(engines_speech: Engines) -> None:
    chunks = list(engines_speech.tts.synthesize("The Acme hoodie is soft and warm.", "en_US"))
    audio = Audio(np.concatenate([c.audio.samples for c in chunks]), chunks[0].audio.rate)
    for gain in (0.05, 1.0):  # a quiet and a loud recording of it
        level = normalized(Audio((audio.samples * gain).astype(np.float32), audio.rate))
        assert abs(loudness(level) - TARGET_LUFS) <= 1.0, loudness(level)
        assert float(np.max(np.abs(level.samples))) < 0.98


def test_loud_peaks_are_never_clipped() -> None:
    rate = 22050
    clicks = np.zeros(rate * 3, dtype=np.float32)
    clicks[:: rate // 2] = 0.9  # short loud peaks in near silence: the target would clip them
    level = normalized(Audio(clicks, rate))
    assert float(np.max(np.abs(level.samples))) == pytest.approx(0.98, abs=1e-6)
    silent = Audio(np.zeros(rate, dtype=np.float32), rate)
    assert normalized(silent).samples.max() == 0.0


def test_the_lexicon_changes_what_is_heard(engines_speech: Engines) -> None:
    def heard(text: str) -> list[str]:
        chunks = list(engines_speech.tts.synthesize(text, "en_US"))
        audio = Audio(np.concatenate([c.audio.samples for c in chunks]), chunks[0].audio.rate)
        return words(engines_speech.asr.transcribe(resample(audio, 16000), language="en").text)

    script = "Meet the Qzwx jacket."
    assert "rainbow" not in heard(speakable(script, "en_US"))
    assert "rainbow" in heard(speakable(script, "en_US", lexicon={"qzwx": "rainbow"}))
    phonemes = {"QZWX": "[[ ɹˈeɪnboʊ ]]"}  # noqa: RUF001  (IPA, as eSpeak writes it)
    assert "rainbow" in heard(speakable(script, "en_US", lexicon=phonemes))
