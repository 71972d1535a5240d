"""Voices for the merchants' locales: added with one command, and warned about at set-up.

No non-English Piper voice can be installed here, so the plumbing is tested
with the bundled voice's files installed under another locale's name.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from engines.errors import VoiceNotFound
from merchant_voice.config import Settings
from tests.engines_fixtures import MODELS_CACHE

JOE = MODELS_CACHE / "piper-en_US-joe-medium" / "en_US-joe-medium.onnx"


def _cli(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def _app(make_app: Callable[..., Flask], database_url: str, models: Path) -> Flask:
    """An app whose voices are the bundled one (by path) and those added to ``models``."""
    return make_app(
        database_url,
        models={"cache_dir": str(models)},
        tts={"voices": {"en_US": str(JOE)}},
    )


def test_a_voice_is_added_from_a_path_and_speaks_its_locale(
    make_app: Callable[..., Flask], database_url: str, tmp_path: Path, prepared: Settings
) -> None:
    models = tmp_path / "models"
    app = _app(make_app, database_url, models)
    code, out = _cli(
        app, "merchants", "create", "kaufhaus", "--name", "Kaufhaus", "--locale", "de_DE"
    )
    assert code == 0
    assert "warning: no voice speaks de_DE (kaufhaus)" in out
    assert "models voices add de_DE-<voice>-<quality>" in out
    with pytest.raises(VoiceNotFound):
        app.extensions["engines"].tts.voice_for("de_DE")

    source = tmp_path / "download"
    source.mkdir()
    for suffix in (".onnx", ".onnx.json"):  # the bundled voice's files, as if German
        shutil.copyfile(JOE.with_suffix(suffix), source / f"de_DE-joe-medium{suffix}")
    code, out = _cli(app, "models", "voices", "add", "de_DE-joe-medium", "--from", str(source))
    assert code == 0, out
    assert "Installed de_DE-joe-medium for de_DE" in out
    code, out = _cli(app, "models", "voices", "list", "--json")
    assert [row["locale"] for row in json.loads(out)] == ["de_DE"]

    restarted = _app(make_app, database_url, models)  # the host speaks it after a restart
    tts = restarted.extensions["engines"].tts
    assert tts.voice_for("de_DE") == "de_DE" and tts.locales() == ["de_DE", "en_US"]
    assert list(tts.synthesize("Guten Tag.", "de_DE"))
    code, out = _cli(restarted, "plugins", "enable", "kaufhaus", "support_calls")
    assert code == 0 and "warning" not in out


def test_a_bad_voice_is_refused_and_leaves_nothing(
    make_app: Callable[..., Flask], database_url: str, tmp_path: Path, prepared: Settings
) -> None:
    models = tmp_path / "models"
    app = _app(make_app, database_url, models)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "de_DE-broken-medium.onnx").write_bytes(b"not a model")
    (broken / "de_DE-broken-medium.onnx.json").write_text("{}")
    for args, message in [
        (["germanvoice", "--from", str(broken)], "voice name 'germanvoice'"),
        (["de_DE-broken-medium", "--from", str(broken)], "is not a usable Piper voice"),
        (["de_DE-joe-medium", "--from", str(tmp_path)], "holds 0 .onnx files"),
    ]:
        code, out = _cli(app, "models", "voices", "add", *args)
        assert code == 1 and message in out, out
    assert not (models / "voices" / "de_DE").exists()
    assert _cli(app, "models", "voices", "list")[1].strip() == "No voices added."


def test_set_up_and_engines_status_warn_of_a_locale_without_a_voice(
    make_app: Callable[..., Flask], database_url: str, tmp_path: Path, prepared: Settings
) -> None:
    app = _app(make_app, database_url, tmp_path / "models")
    code, out = _cli(app, "merchants", "create", "maison", "--name", "Maison", "--json")
    assert code == 0 and json.loads(out)["warnings"] == []  # en_US has a voice
    code, out = _cli(
        app, "merchants", "create", "boutique", "--name", "B", "--markets", "fr_FR", "--json"
    )
    assert json.loads(out)["warnings"][0].startswith("warning: no voice speaks fr_FR (boutique)")
    code, out = _cli(app, "plugins", "enable", "boutique", "support_calls", "--json")
    assert json.loads(out)["warnings"][0].startswith("warning: no voice speaks fr_FR")
    code, out = _cli(app, "plugins", "enable", "boutique", "notes", "--json")
    assert json.loads(out)["warnings"] == []  # notes does not speak
    status = app.test_cli_runner().invoke(args=["engines", "status"])
    assert "warning: no voice speaks fr_FR (boutique)" in status.output
    assert "(maison)" not in status.output
