"""The dashboard's languages (Flask-Babel): the user's choice, else the browser's.

Its text lives in Babel catalogs under ``translations/``, and a plugin's pages' text in
the plugin's own ``translations/`` (docs/dashboard.md says how to extract, update and
compile them; set-up compiles them).
"""

from __future__ import annotations

from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.units import format_unit
from flask import Flask, request
from flask_babel import Babel, get_locale
from flask_login import current_user

from merchant_voice.plugin_manager import PluginManager

LANGUAGES = ("en", "de", "es", "fr", "ja", "zh")
TRANSLATIONS = Path(__file__).parent / "translations"


def select_locale() -> str:
    """The signed-in user's language (one the dashboard speaks), else the best the browser
    asks for, else English."""
    chosen = getattr(current_user, "locale", None)
    if chosen and str(chosen).split("_")[0] in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES) or "en"


def select_timezone() -> str:
    """Times are shown in the merchant's time zone."""
    merchant = getattr(current_user, "merchant", None)
    return str(merchant.timezone) if merchant is not None else "UTC"


def init_app(app: Flask, plugins: PluginManager) -> None:
    """The host's catalog, and those of the plugins that have one (their pages' text)."""
    folders = [TRANSLATIONS] + [
        folder
        for plugin in plugins.plugins.values()
        if (folder := plugin.resources.translations_dir) is not None
    ]
    directories = ";".join(str(folder) for folder in folders)
    Babel(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=directories,
    )
    app.jinja_env.filters.update(locale_name=locale_name, seconds=seconds)


def locale_name(code: str) -> str:
    """A locale's name in the page's language (``de_AT``: "Deutsch (Österreich)" to a German
    reader, "German (Austria)" to an English one): the ``locale_name`` template filter."""
    try:
        return str(Locale.parse(code).get_display_name(get_locale()) or code)
    except (ValueError, TypeError, UnknownLocaleError):
        return code


def seconds(value: float | None, digits: int = 1) -> str:
    """A duration in seconds as the page's language writes it ("1.2 s", "1,2 Sek."): the
    ``seconds`` template filter; "-" for none."""
    if value is None:
        return "\u2013"  # an en dash
    pattern = "#,##0." + "#" * digits if digits else "#,##0"
    return str(
        format_unit(value, "duration-second", length="short", format=pattern, locale=get_locale())
    )
