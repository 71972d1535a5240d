"""The translation guarantees as pure functions: crafted HTML, glossaries and model answers.

The end-to-end tests (test_translation.py) run the real model; these pin down
what each check accepts and refuses, with answers written to break one rule.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from merchant_voice.errors import ValidationFailed
from plugins.catalog.models import Listing
from plugins.translation.checks import check_description, check_segment
from plugins.translation.document import build, outdated_fields, source_hashes
from plugins.translation.locales import display_name, fallbacks, parse_locales
from plugins.translation.markup import (
    InvalidHtml,
    Run,
    alt_texts,
    skeleton,
    tag_signature,
    tokenize,
)
from plugins.translation.protect import Glossary, Segment, glossary_for, run_segment, text_segment

HTML = (
    '<p>Made of <strong class="eco">organic</strong> cotton, 500 g, by Acme.'
    ' See <a href="https://acme.example/care?x=1&amp;y=2">care</a>.</p>\n'
    "<ul><li>Machine wash at 30 °C</li><li>Model XJ-200<br>fits {size}</li></ul>"
)
GLOSSARY_ROWS = [("Acme", "", None), ("organic", "de", "Bio"), ("organic", "de_AT", "biologisch")]
GLOSSARY = glossary_for(GLOSSARY_ROWS, "de_DE")


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
        (  # reworded, still English: the unchanged-words count alone let this through
            "Produced from <x1>organic</x1> fabric, weighing <x2/>, made by <x3/>."
            " Read the <x4>instructions</x4>.",
            "is in English, not German",
        ),
        (
            "Fabriqué en coton <x1>biologique</x1>, <x2/>, par <x3/>. Voir <x4>entretien</x4>.",
            "is in French, not German",
        ),
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


def test_segments_without_words_need_no_model_but_still_get_the_glossary() -> None:
    codes = text_segment("t", "title", "XJ-200 500 g", Glossary())
    assert codes is not None and not codes.needs_model
    assert codes.restore(codes.source) == "XJ-200 500 g"
    numbers = segments("<p>42 %</p><p>https://acme.example</p>")
    assert len(numbers) == 2 and not any(s.needs_model for s in numbers)
    forced = glossary_for([("hoodie", "de", "Kapuzenpulli")], "de_DE")
    alone = text_segment("title", "title", "hoodie", forced)
    assert alone is not None and not alone.needs_model
    assert alone.restore(alone.source) == "Kapuzenpulli"
    (block,) = segments("<ul><li>hoodie</li></ul>", forced)
    assert block.restore(block.source) == "Kapuzenpulli"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("2-pack of socks", "<x1/>-pack of socks"),
        ("3-in-1 jacket, 10-year warranty", "<x1/>-in-<x2/> jacket, <x3/>-year warranty"),
        ("Size 8 V-neck", "Size <x1/> V-neck"),
        ("Model XJ-200 and SKU123", "Model <x1/> and <x2/>"),
        ("Only {{ price }} or {% if sale %}", "Only <x1/> or <x2/>"),
        ('[gallery ids="1,2"] [see below]', "<x1/> [see below]"),
        ("Write to help@acme.example", "Write to <x1/>"),
        ("Type <x1> literally", "Type <x1/> literally"),
        ("Only 1,299.00 USD, was USD 1,499", "Only <x1/>, was <x2/>"),
        ("Now $49.90 or 49,90 € or US$ 60", "Now <x1/> or <x2/> or <x3/>"),
        ("Prices in EUR and CHF", "Prices in <x1/> and <x2/>"),
        ("ALL sizes, 3 for 2", "ALL sizes, <x1/> for <x2/>"),
    ],
)
def test_masking_protects_codes_and_placeholders_but_not_words(text: str, masked: str) -> None:
    segment = text_segment("t", "title", text, Glossary())
    assert segment is not None and segment.source == masked
    assert segment.restore(segment.source) == text


def test_entities_in_the_answer_are_not_escaped_twice() -> None:
    (segment,) = segments("<p>Tom &amp; Jerry mug for children</p>", Glossary())
    assert segment.restore("Tasse Tom &amp; Jerry f&uuml;r Kinder") == (
        "Tasse Tom &amp; Jerry für Kinder"
    )


def test_names_do_not_count_as_untranslated_and_same_language_targets_are_not_judged() -> None:
    shoes = text_segment("t", "title", "Nike Air Max running shoes", Glossary())
    assert shoes is not None and check_segment(shoes, "Nike Air Max Laufschuhe", "de") is None
    case = text_segment("t", "title", "Apple iPhone case with MagSafe", Glossary())
    assert (
        case is not None and check_segment(case, "Apple iPhone ケース MagSafe 対応", "ja") is None
    )
    grey = text_segment("t", "title", "Soft organic cotton hoodie in grey", Glossary())
    assert grey is not None
    assert "source language" in (
        check_segment(grey, "Soft organic cotton hoodie in gray", "de") or ""
    )
    assert check_segment(grey, "Soft organic cotton hoodie in gray", "en", "en") is None


def test_markup_oddities_survive() -> None:
    assert "<![CDATA[x]]>" in skeleton("<![CDATA[x]]><p>a</p>")
    (segment,) = segments("<noscript>Tom &amp; Jerry</noscript>", Glossary())
    assert segment.restore(segment.source) == "<noscript>Tom &amp; Jerry</noscript>"


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
    for odd in ("de@euro", "de_" + "x" * 60):
        with pytest.raises(ValidationFailed, match="not a locale"):
            parse_locales([odd], "en_US")
    assert display_name("de_AT") == "German (Austria)"
    assert fallbacks("de_AT", ["fr_FR", "de", "de_DE"]) == ["de", "de_DE"]
    assert fallbacks("de_AT", ["de_AT", "de"]) == ["de_AT", "de"]
    assert fallbacks("es_MX", ["de_DE"]) == []
    # Stored and shown as written; Babel's likely script only guides the fallbacks.
    assert parse_locales(["zh-cn", "zh_hant_tw", "sr_Latn"], "en_US") == [
        "zh_CN",
        "zh_Hant_TW",
        "sr_Latn",
    ]
    assert display_name("zh_CN") == "Chinese (Simplified, China)"
    assert fallbacks("zh_CN", ["zh_Hant", "zh_Hans", "zh"]) == ["zh_Hans", "zh", "zh_Hant"]


def test_a_document_flags_attributes_whose_names_merge_and_keeps_wordless_fields() -> None:
    listing = Listing(
        id=1,
        title="XJ-200",
        description_html="<p>Soft fabric</p>",
        bullet_points=[],
        attributes={"Material": ["Cotton"], "Fabric": ["Wool"]},
    )
    doc = build(listing, "de_DE", "de", Glossary(), {})
    assert [s.key for s in doc.segments] == [
        "description_1",
        "attribute_1",
        "attribute_1_value_1",
        "attribute_2",
        "attribute_2_value_1",
    ]
    answers = {
        "description_1": "Weicher Stoff",
        "attribute_1": "Material",
        "attribute_1_value_1": "Baumwolle",
        "attribute_2": "Material",
        "attribute_2_value_1": "Wolle",
    }
    fields, flags = doc.assemble(answers, {})
    assert fields == {"title": "XJ-200", "description_html": "<p>Weicher Stoff</p>"}
    assert flags == [
        {
            "field": "attributes",
            "reason": "two attribute names came out the same; the attributes would merge",
        }
    ]


def test_an_answer_far_shorter_or_longer_than_its_source_is_refused() -> None:
    source = "Soft organic cotton, knitted in Portugal, for every season of the year."
    segment = text_segment("bullet_1", "bullet_points", source, Glossary())
    assert segment is not None
    assert "cut off" in (check_segment(segment, "Weich.", "de") or "")
    assert "not a translation" in (check_segment(segment, "Weiche Baumwolle " * 20, "de") or "")
    german = "Weiche Bio-Baumwolle, gestrickt in Portugal, für jede Jahreszeit."
    assert check_segment(segment, german, "de") is None
    assert check_segment(segment, "柔らかいオーガニックコットン、ポルトガル製。", "ja") is None


def test_a_glossary_change_outdates_only_the_fields_that_contain_the_term() -> None:
    listing = Listing(
        title="Acme organic hoodie",
        description_html="<p>Soft &amp; warm, by Acme &amp; Co.</p>",
        bullet_points=["Kangaroo pocket"],
        attributes={"Color": ["Blue"]},
    )
    before = source_hashes(listing, GLOSSARY)
    unused = glossary_for([*GLOSSARY_ROWS, ("Zip", "", None)], "de_DE")
    assert outdated_fields(before, listing, unused) == []  # no field says "Zip"
    renamed = glossary_for([("Acme", "", None), ("organic", "de", "Öko")], "de")
    assert outdated_fields(before, listing, renamed) == ["title"]
    kept_as_is = glossary_for([*GLOSSARY_ROWS, ("Acme & Co", "", None)], "de_DE")
    assert outdated_fields(before, listing, kept_as_is) == ["description_html"]  # &amp; read
    # Hashes stored before terms were matched per field (the whole glossary) still hold,
    # until the glossary changes.
    legacy = {
        name: hashlib.sha256(
            (json.dumps(value, sort_keys=True) + GLOSSARY.fingerprint).encode()
        ).hexdigest()[:32]
        for name, value in [
            ("title", listing.title),
            ("description_html", listing.description_html),
            ("bullet_points", listing.bullet_points),
            ("attributes", listing.attributes),
        ]
    }
    assert outdated_fields(legacy, listing, GLOSSARY) == []
    assert len(outdated_fields(legacy, listing, renamed)) == 4  # which field: unknowable


def test_image_alt_texts_are_translated_and_the_rest_of_each_tag_kept() -> None:
    html = (
        '<p>Soft fabric <img src="a.jpg" alt="Red hoodie &amp; cap" width="40"></p>'
        "<p>Warm lining <img src='b.jpg' alt=''><img src=c.jpg alt=Back></p>"
    )
    assert alt_texts(html) == ["Red hoodie & cap", "", "Back"]
    listing = Listing(id=1, title="", description_html=html, bullet_points=[], attributes={})
    doc = build(listing, "de_DE", "de", Glossary(), {})
    assert [s.key for s in doc.segments] == ["description_1", "description_2", "alt_1", "alt_3"]
    answers = {
        "description_1": "Weicher Stoff <x1/>",
        "description_2": "Warmes Futter <x1/><x2/>",
        "alt_1": 'Rote Kapuzenjacke & "Mütze"',
        "alt_3": "Rückseite",
    }
    fields, flags = doc.assemble(answers, {})
    assert flags == []
    assert fields["description_html"] == (
        '<p>Weicher Stoff <img src="a.jpg" alt="Rote Kapuzenjacke &amp; &quot;Mütze&quot;"'
        ' width="40"></p>'
        "<p>Warmes Futter <img src='b.jpg' alt=''><img src=c.jpg alt=\"Rückseite\"></p>"
    )
    assert tag_signature(fields["description_html"]) == tag_signature(html)
    assert tag_signature('<img src="a.jpg" alt="x">') != tag_signature('<img src="b.jpg" alt="x">')


def test_a_failing_block_is_kept_as_written_and_every_failing_block_is_named() -> None:
    html = "<p>One soft layer.</p><p>Two warm pockets.</p><p>Three zips.</p>"
    listing = Listing(id=1, title="", description_html=html, bullet_points=[], attributes={})
    doc = build(listing, "de_DE", "de", Glossary(), {})
    answers = {"description_2": "Zwei warme Taschen."}
    failures = {"description_1": "left in English", "description_3": "a number was changed"}
    fields, flags = doc.assemble(answers, failures)
    assert fields["description_html"] == (
        "<p>One soft layer.</p><p>Zwei warme Taschen.</p><p>Three zips.</p>"
    )
    assert flags == [
        {
            "field": "description_html",
            "reason": "kept in the source language: block 1: left in English;"
            " block 3: a number was changed",
        }
    ]
    every = {**failures, "description_2": "left in English"}
    fields, flags = doc.assemble({}, every)
    assert "description_html" not in fields and flags[0]["reason"].count("block") == 3


def test_short_fields_and_names_are_judged_only_where_a_language_shows() -> None:
    from plugins.translation.language_id import wrong_language

    assert wrong_language("Nike Air Max 90", "de", "en") is None  # names only
    assert wrong_language("Hoodie", "de", "en") is None  # one word: a loanword may be
    assert wrong_language("Kängurutasche", "de", "en") is None
    assert wrong_language("Machine wash cold, tumble dry low", "de", "en") == "English"
    assert wrong_language("Lavable en machine à froid", "de", "en") == "French"
    assert wrong_language("Maschinenwäsche kalt, schonend trocknen", "de", "en") is None
    assert wrong_language("这款连帽衫由有机棉制成 柔软舒适", "ja", "en") == "Chinese"
    assert wrong_language("オーガニックコットンのパーカー", "ja", "en") is None
    assert wrong_language("Soft cotton", "xx", "en") is None  # a language it does not know
