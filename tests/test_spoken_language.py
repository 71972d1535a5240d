"""A caller's language is chosen among the merchant's and English, and only when sure."""

from __future__ import annotations

from engines.spoken_language import Detection

# Whisper's scores for three words of German over a phone line, as the issue saw them.
THAI_FIRST = [("th", 0.41), ("de", 0.33), ("en", 0.05), ("nl", 0.12), ("ja", 0.09)]


def test_the_best_of_the_speakers_languages_is_taken_when_it_stands_out() -> None:
    detection = Detection.of(["de_DE", "fr_FR"], otherwise="en")
    assert detection.among == {"de", "fr", "en"}
    language, share = detection.choose(THAI_FIRST)
    assert language == "de"
    assert round(share, 3) == round(0.33 / 0.38, 3)


def test_below_the_threshold_the_call_keeps_its_language() -> None:
    close = [("th", 0.5), ("de", 0.2), ("en", 0.15)]
    assert Detection.of(["de_DE"], otherwise="en").choose(close) == ("en", 0.2 / 0.35)
    assert Detection.of(["de_DE"], otherwise="de", confidence=0.5).choose(close)[0] == "de"


def test_no_score_for_any_of_them_keeps_the_calls_language() -> None:
    assert Detection.of(["de-DE"], otherwise="de").choose([("th", 0.9)]) == ("de", 0.0)
