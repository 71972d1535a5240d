"""Locale ids, names and fallbacks, all from Babel's CLDR data."""

from __future__ import annotations

from collections.abc import Iterable

from babel import Locale, UnknownLocaleError
from babel.core import parse_locale

from merchant_voice.plugin_api import ValidationFailed

MAX_LOCALE_LENGTH = 35  # the width of the locale columns


def parse_locales(values: Iterable[str], source_locale: str, field: str = "locales") -> list[str]:
    """Normalised target locales (``de-at`` -> ``de_AT``), unique, in order.

    Raises :class:`ValidationFailed` naming ``field`` for an id Babel does not
    know, for the listings' own locale, or for an empty list.
    """
    result: list[str] = []
    for value in values:
        locale = _parse(value, field)
        if locale == source_locale:
            message = f"{locale} is the listings' own locale; translate into other locales"
            raise ValidationFailed(f"{field}: {message}", [{"field": field, "message": message}])
        if locale not in result:
            result.append(locale)
    if not result:
        message = "name at least one locale (the merchant has no market locales)"
        raise ValidationFailed(f"{field}: {message}", [{"field": field, "message": message}])
    return result


def normalize(value: str) -> str:
    """``de-at`` -> ``de_AT``, ``zh-cn`` -> ``zh_CN``: the parts written, in Babel's case,
    none added (Babel itself reads ``zh_CN`` as ``zh_Hans_CN``; fallbacks use that).
    ValueError for anything but a plain locale id Babel knows."""
    text = str(value).strip().replace("-", "_")
    problem = f"{str(value)[:40]!r} is not a locale Babel knows (examples: de_DE, fr, pt_BR)"
    if len(text) > MAX_LOCALE_LENGTH or "@" in text:
        raise ValueError(problem)
    try:
        Locale.parse(text)
        language, territory, script, variant = parse_locale(text)[:4]
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(problem) from None
    return "_".join(part for part in (language, script, territory, variant) if part)


def _parse(value: str, field: str) -> str:
    try:
        return normalize(value)
    except ValueError as exc:
        message = str(exc)
        raise ValidationFailed(
            f"{field}: {message}", [{"field": field, "message": message}]
        ) from None


def display_name(locale: str, in_locale: str = "en") -> str:
    """``de_AT`` -> ``German (Austria)`` (in English, or in ``in_locale``)."""
    return Locale.parse(locale).get_display_name(in_locale) or locale


def language(locale: str) -> str:
    return Locale.parse(locale).language


def fallbacks(locale: str, available: Iterable[str]) -> list[str]:
    """Where to look for ``locale``, best first, among ``available`` locales.

    ``de_AT`` -> ``de_AT``, then ``de``, then another ``de_*`` (sorted); a
    script variant (``zh_Hant_TW``) tries ``zh_Hant`` before ``zh``.
    """
    parsed = Locale.parse(locale)
    chain = [locale]
    if parsed.script:
        chain.append(f"{parsed.language}_{parsed.script}")
    chain.append(parsed.language)
    have = set(available)
    found = [candidate for candidate in chain if candidate in have]
    same_language = sorted(
        other
        for other in have
        if other not in found and Locale.parse(other).language == parsed.language
    )
    return found + same_language
