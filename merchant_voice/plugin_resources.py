"""A plugin's files, found by convention in its folder.

<plugin>/migrations/versions/   Alembic revisions (branch label = plugin name)
<plugin>/templates/             Jinja2 templates of its blueprint
<plugin>/prompts/               Jinja2 prompt templates for the chat engine
<plugin>/translations/<locale>/LC_MESSAGES/messages.po   Babel catalogs
"""

from __future__ import annotations

import io
import logging
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined

log = logging.getLogger(__name__)


class PluginResources:
    """Paths and loaders for one plugin's conventional folders."""

    def __init__(self, plugin: str, root: Path) -> None:
        self.plugin = plugin
        self.root = root

    def _folder(self, *parts: str) -> Path | None:
        path = self.root.joinpath(*parts)
        return path if path.is_dir() else None

    @property
    def migrations_dir(self) -> Path | None:
        return self._folder("migrations", "versions")

    @property
    def templates_dir(self) -> Path | None:
        return self._folder("templates")

    @property
    def translations_dir(self) -> Path | None:
        return self._folder("translations")

    @cached_property
    def prompts(self) -> Environment:
        """Jinja2 environment over ``prompts/``: plain text, undefined names are errors."""
        folder = self._folder("prompts")
        loader = FileSystemLoader(str(folder)) if folder else None
        return Environment(
            loader=loader, autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True
        )

    def render_prompt(self, template: str, /, **context: Any) -> str:
        """Render ``prompts/<template>`` with ``context``."""
        return self.prompts.get_template(template).render(**context)

    def translations(self, locale: str) -> NullTranslations:
        """The plugin's catalog for ``locale``, falling back by language (de_AT -> de)."""
        return _load_translations(self.translations_dir, locale)

    def gettext(self, locale: str, message: str) -> str:
        return self.translations(locale).gettext(message)


def N_(message: str) -> str:
    """Marks a message for extraction (pybabel's ``N_`` keyword) where it is written, to
    be translated where it is said: ``SIZE = N_("Medium")``, later ``gettext(SIZE)``."""
    return message


@lru_cache(maxsize=256)
def _load_translations(folder: Path | None, locale: str) -> NullTranslations:
    if folder is None:
        return NullTranslations()
    try:
        parsed = Locale.parse(locale)
    except (ValueError, UnknownLocaleError):
        return NullTranslations()
    for candidate in dict.fromkeys([str(parsed), parsed.language]):
        messages = folder / candidate / "LC_MESSAGES"
        mo_file, po_file = messages / "messages.mo", messages / "messages.po"
        if mo_file.is_file():
            with mo_file.open("rb") as handle:
                return Translations(handle)
        if po_file.is_file():
            with po_file.open("rb") as handle:
                catalog = read_po(handle, locale=candidate)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            return Translations(buffer)
    return NullTranslations()
