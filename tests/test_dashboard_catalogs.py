"""The dashboard's catalogs: every text of its code and templates is in messages.pot,
and every language translates every one, with the same placeholders."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from merchant_voice.dashboard.i18n import LANGUAGES, TRANSLATIONS

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _ids(path: Path) -> set[str]:
    with path.open("rb") as file:
        return {str(message.id) for message in read_po(file) if message.id}


def test_the_template_catalog_holds_every_text(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    here = TRANSLATIONS.parent
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(here / "babel.cfg"),
         "-k", "_l", "-k", "lazy_gettext", "--no-location", "-o", str(fresh), str(here)],
        check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    assert _ids(fresh) == _ids(TRANSLATIONS / "messages.pot"), "run scripts/translations extract"


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_text_is_translated(language: str) -> None:
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        catalog = read_po(file, locale=language)
    assert {str(m.id) for m in catalog if m.id} == _ids(TRANSLATIONS / "messages.pot")
    for message in catalog:
        if not message.id:
            continue
        assert message.string, f"{language}: {message.id!r} is not translated"
        assert not message.fuzzy, f"{language}: {message.id!r} is fuzzy"
        found = sorted(PLACEHOLDER.findall(str(message.string)))
        assert found == sorted(PLACEHOLDER.findall(str(message.id))), message.id
