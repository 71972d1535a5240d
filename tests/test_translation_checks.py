"""The translation guarantees as pure functions: crafted HTML, glossaries and model answers.

The end-to-end tests (test_translation.py) run the real model; these pin down
what each check accepts and refuses, with answers written to break one rule.
"""

from __future__ import annotations

import pytest

from merchant_voice.errors import ValidationFailed
from plugins.translation.checks import check_description, check_segment
from plugins.translation.locales import display_name, fallbacks, parse_locales
from plugins.translation.markup import InvalidHtml, Run, skeleton, tag_signature, tokenize
from plugins.translation.protect import Glossary, Segment, glossary_for, run_segment, text_segment

HTML = (
    '<p>Made of <strong class="eco">organic</strong> cotton, 500 g, by Acme.'
    ' See <a href="https://acme.example/care?x=1&amp;y=2">care</a>.</p>\n'
    "<ul><li>Machine wash at 30 °C</li><li>Model XJ-200<br>fits {size}</li></ul>"
)
GLOSSARY = glossary_for(
    [("Acme", "", None), ("organic", "de", "Bio"), ("organic", "de_AT", "biologisch")], "de_DE"
)


def segments(html: str, glossary: Glossary = GLOSSARY) -> list[Segment]:
    found = []
    for index, part in enumerate(skeleton(html)):
        if isinstance(part, Run) and (segment := run_segment(f"d{index}", part, glossary)):
            found.append(segment)
    return found


def test_the_model_sees_markers_not_tags_attributes_numbers_or_glossary_terms() -> None:
    first, wash, model = segments(HTML)
    # "organic" is forced to "Bio" in German: the model sees a marker, the glossary decides
    assert first.source == "Made of <x1><x2/></x1> cotton, <x3/>, by <x4/>. See <x5>care</x5>."
    assert "href" not in first.source and "500" not in first.source and "Acme" not in first.source
    assert wash.source == "Machine wash at <x1/>"
    assert model.source == "Model <x1/><x2/>fits <x3/>"


def test_restoring_puts_back_every_tag_attribute_and_protected_span_byte_for_byte() -> None:
    first = segments(HTML)[0]
    answer = "Aus <x1><x2/></x1> Baumwolle, <x3/>, von <x4/>. Siehe <x5>Pflege</x5>."
    restored = first.restore(answer)
    assert '<strong class="eco">Bio</strong>' in restored
    assert '<a href="https://acme.example/care?x=1&amp;y=2">Pflege</a>' in restored
    assert "500 g" in restored and "Acme" in restored
    assert check_segment(first, answer, "de") is None


def test_glossary_forced_translation_follows_the_locale_then_the_language() -> None:
    austrian = glossary_for([("organic", "de", "Bio"), ("organic", "de_AT", "biologisch")], "de_AT")
    german = glossary_for([("organic", "de", "Bio"), ("organic", "de_AT", "biologisch")], "de_CH")
    french = glossary_for([("organic", "de", "Bio")], "fr_FR")
    assert austrian.terms[0].translation == "biologisch"
    assert german.terms[0].translation == "Bio"
    assert french.terms == ()


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            "Aus <x1>Bio</x1> Baumwolle, von <x3/>. Siehe <x4>Pflege</x4>.",
            "lost the number '500 g'",
        ),
        (
            "Aus <x1>Bio Baumwolle, <x2/>, von <x3/>. Siehe <x4>Pflege</x4>.",
            "lost the tag </strong>",
        ),
        ("Aus <x1>Bio</x1> Baumwolle, <x2/>, <x3/>. Siehe <x4>Pflege</x4> <x7/>.", "added markers"),
        ("Siehe <x4>Pflege</x4>. Aus <x1>Bio</x1> Baumwolle, <x2/>, <x3/>.", "order or nesting"),
        ("Aus <x1>Bio</x1> <b>Baumwolle</b>, <x2/>, <x3/>. Siehe <x4>Pflege</x4>.", "added markup"),
        ("Made of <x1>organic</x1> cotton, <x2/>, by <x3/>. See <x4>care</x4>.", "source language"),
        ("<x1></x1><x2/><x3/><x4></x4>", "empty"),
    ],
)
def test_an_answer_that_breaks_a_rule_is_refused_with_its_reason(answer: str, reason: str) -> None:
    html = "<p>Made of <strong>organic</strong> cotton, 500 g, by Acme."
    html += ' See <a href="/c">care</a>.</p>'
    html_segment = segments(html, glossary_for([("Acme", "", None)], "de_DE"))[0]
    found = check_segment(html_segment, answer, "de")
    assert found is not None and reason in found, found


def test_a_length_limit_is_checked_on_the_restored_text() -> None:
    segment = text_segment("title", "title", "Organic cotton hoodie", Glossary(), max_chars=12)
    assert segment is not None
    assert "limit is 12" in (check_segment(segment, "Kapuzenpullover aus Baumwolle", "de") or "")
    assert check_segment(segment, "Bio-Hoodie", "de") is None


def test_a_non_latin_target_left_in_latin_script_is_untranslated() -> None:
    segment = text_segment("title", "title", "Warm hoodie", Glossary())
    assert segment is not None
    assert "Latin script" in (check_segment(segment, "Warm hoodie", "ja") or "")
    assert check_segment(segment, "暖かいパーカー", "ja") is None


def test_short_texts_may_stay_the_same_as_loanwords_do() -> None:
    segment = text_segment("attribute_1_value_1", "attributes", "Hoodie", Glossary())
    assert segment is not None and check_segment(segment, "Hoodie", "de") is None


def test_segments_without_words_are_not_sent_at_all() -> None:
    assert text_segment("t", "title", "XJ-200 500 g", Glossary()) is None
    assert segments("<p>42 %</p><p>https://acme.example</p>") == []


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("<p>open paragraph", "<p> opened at line 1, column 1 is never closed"),
        (
            "<p><b>crossed</p></b>",
            "</p> at line 1, column 14 does not close <b> (opened at line 1, column 4)",
        ),
        ("text</div>", "</div> at line 1, column 5 closes nothing"),
        ("a<br></br>", "<br> has no end"),
    ],
)
def test_invalid_html_is_refused_naming_where(html: str, message: str) -> None:
    with pytest.raises(InvalidHtml) as error:
        tokenize(html)
    assert message in error.value.detail
    assert error.value.errors[0]["field"] == "description_html"


def test_a_translation_with_other_tags_or_attributes_is_refused() -> None:
    source = '<p class="a">Hi <a href="/x">there</a></p>'
    assert check_description(source, '<p class="a">Hallo <a href="/x">da</a></p>') is None
    assert "differ" in (
        check_description(source, '<p class="b">Hallo <a href="/x">da</a></p>') or ""
    )
    assert "broken" in (check_description(source, '<p class="a">Hallo <a href="/x">da</p>') or "")
    assert tag_signature(source) == ['<p class="a">', '<a href="/x">', "</a>", "</p>"]


def test_scripts_comments_and_entities_survive_untouched() -> None:
    html = "<!-- keep --><p>Fish &amp; chips</p><script>if (a < b) {}</script>"
    parts = skeleton(html)
    assert parts[0] == "<!-- keep -->"
    assert "if (a < b) {}" in parts
    (segment,) = segments(html, Glossary())
    assert segment.source == "Fish & chips"
    assert segment.restore("Fisch & Pommes") == "Fisch &amp; Pommes"


def test_locales_are_checked_named_and_fall_back_by_language() -> None:
    assert parse_locales(["de-at", "fr", "de_AT"], "en_US") == ["de_AT", "fr"]
    with pytest.raises(ValidationFailed, match="not a locale Babel knows"):
        parse_locales(["xx_YY"], "en_US")
    with pytest.raises(ValidationFailed, match="listings' own locale"):
        parse_locales(["en_US"], "en_US")
    assert display_name("de_AT") == "German (Austria)"
    assert fallbacks("de_AT", ["fr_FR", "de", "de_DE"]) == ["de", "de_DE"]
    assert fallbacks("de_AT", ["de_AT", "de"]) == ["de_AT", "de"]
    assert fallbacks("es_MX", ["de_DE"]) == []
