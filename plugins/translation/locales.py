"""Locale ids, names and fallbacks, all from Babel's CLDR data."""

from __future__ import annotations

from collections.abc import Iterable

from babel import Locale

from merchant_voice.plugin_api import ValidationFailed, normalize_locale

MAX_LOCALE_LENGTH = 35  # the width of the locale columns


def parse_locales(values: Iterable[str], source_locale: str, field: str = "locales") -> list[str]:
    """Normalised target locales (``de-at`` -> ``de_AT``), unique, in order.

    Raises :class:`ValidationFailed` naming ``field`` for an id Babel does not
    know, for the listings' own locale, or for an empty list.
    """
    result: list[str] = []
    for value in values:
        locale = _parse(value, field)
        if same_locale(locale, source_locale):
            message = f"{locale} is the listings' own locale; translate into other locales"
            raise ValidationFailed(f"{field}: {message}", [{"field": field, "message": message}])
        if locale not in result:
            result.append(locale)
    if not result:
        message = "name at least one locale (the merchant has no market locales)"
        raise ValidationFailed(f"{field}: {message}", [{"field": field, "message": message}])
    return result


def normalize(value: str) -> str:
    """``de-at`` -> ``de_AT``, ``zh-cn`` -> ``zh_CN``, as the host writes locales
    (:func:`normalize_locale`); ValueError for anything but a plain Babel locale id."""
    text = str(value).strip()
    problem = f"{str(value)[:40]!r} is not a locale Babel knows (examples: de_DE, fr, pt_BR)"
    if len(text) > MAX_LOCALE_LENGTH or "@" in text:
        raise ValueError(problem)
    try:
        return normalize_locale(text)
    except ValueError:
        raise ValueError(problem) from None


def same_locale(one: str, other: str) -> bool:
    """``zh_CN`` and ``zh_Hans_CN`` are one locale to Babel."""
    return bool(one and other) and str(Locale.parse(one)) == str(Locale.parse(other))


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
