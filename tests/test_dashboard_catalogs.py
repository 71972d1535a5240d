"""The dashboard's catalogs, and those of the plugins with pages: every text of their code
and templates is in messages.pot, and every language translates every one, with the
same placeholders (``%(name)s`` and ``{name}``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from merchant_voice.dashboard.i18n import LANGUAGES, TRANSLATIONS

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")
CATALOGS = [TRANSLATIONS, *sorted((ROOT / "plugins").glob("*/translations"))]


def _ids(path: Path) -> set[str]:
    with path.open("rb") as file:
        return {str(message.id) for message in read_po(file) if message.id}


@pytest.mark.parametrize("folder", CATALOGS, ids=lambda folder: folder.parent.name)
def test_the_template_catalog_holds_every_text(folder: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    config = TRANSLATIONS.parent / "babel.cfg"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(config),
         "-k", "_l", "-k", "lazy_gettext", "--no-location", "-o", str(fresh), str(folder.parent)],
        check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    assert _ids(fresh) == _ids(folder / "messages.pot"), "run scripts/translations extract"


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
@pytest.mark.parametrize("folder", CATALOGS, ids=lambda folder: folder.parent.name)
def test_every_text_is_translated(folder: Path, language: str) -> None:
    path = folder / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        catalog = read_po(file, locale=language)
    assert {str(m.id) for m in catalog if m.id} == _ids(folder / "messages.pot")
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        assert all(strings), f"{language}: {message.id!r} is not translated"
        assert not message.fuzzy, f"{language}: {message.id!r} is fuzzy"
        wanted = set(PLACEHOLDER.findall(str(ids[-1])))
        for string in strings:
            assert set(PLACEHOLDER.findall(str(string))) == wanted, message.id
