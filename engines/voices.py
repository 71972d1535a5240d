"""Piper voices installed beside the bundled models: one per locale, added from a path or
through Piper's own downloader.

    <models>/voices/<locale>/<voice>.onnx          the model
    <models>/voices/<locale>/<voice>.onnx.json     its config

Installed voices speak wherever ``[tts] voices`` names no voice of its own for
the locale. A voice is checked by loading it before it is installed, and
installed by renaming a finished folder, so a failed add leaves nothing.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from engines.errors import InvalidVoice

FOLDER = "voices"
VOICE_NAME = re.compile(r"^(?P<locale>[a-z]{2,3}_[A-Z]{2})-[A-Za-z0-9_]+-[a-z_]+$")
LOCALE = re.compile(r"^[a-z]{2,3}_[A-Z]{2}$")


@dataclass(frozen=True)
class InstalledVoice:
    locale: str
    name: str
    path: Path  # the .onnx file


def installed(models_dir: Path) -> dict[str, InstalledVoice]:
    """The voices installed under ``models_dir``, by locale."""
    found: dict[str, InstalledVoice] = {}
    for model in sorted((models_dir / FOLDER).glob("*/*.onnx")):
        if model.with_suffix(".onnx.json").is_file():
            locale = model.parent.name
            found[locale] = InstalledVoice(locale, model.stem, model)
    return found


def add(
    models_dir: Path, name: str, source: Path | None = None, locale: str | None = None
) -> InstalledVoice:
    """Install voice ``name`` (``de_DE-thorsten-medium``) for ``locale`` (default: the
    name's own), from ``source`` (a ``.onnx`` with its ``.onnx.json`` beside it, or a
    folder holding one) or, without it, downloaded by Piper. Replaces the locale's voice."""
    match = VOICE_NAME.match(name)
    if match is None:
        raise InvalidVoice(
            f"voice name {name!r}: use Piper's <locale>-<name>-<quality>, e.g."
            " de_DE-thorsten-medium"
        )
    locale = locale or match["locale"]
    if not LOCALE.match(locale):
        raise InvalidVoice(f"locale {locale!r}: use language_REGION, e.g. de_DE")
    folder = models_dir / FOLDER / locale
    staging = folder.with_name(f".{locale}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        model = staging / f"{name}.onnx"
        if source is None:
            _download(name, staging)
        else:
            _copy(_model_in(source), model)
        _check(model)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return InstalledVoice(locale, name, folder / f"{name}.onnx")


def _model_in(source: Path) -> Path:
    if source.is_dir():
        models = sorted(source.glob("*.onnx"))
        if len(models) != 1:
            raise InvalidVoice(f"{source} holds {len(models)} .onnx files: name the one to add")
        return models[0]
    if source.suffix != ".onnx" or not source.is_file():
        raise InvalidVoice(f"{source} is not a Piper voice: give its .onnx file or folder")
    return source


def _copy(model: Path, target: Path) -> None:
    config = model.with_suffix(".onnx.json")
    if not config.is_file():
        raise InvalidVoice(f"{config} is missing: a Piper voice is a .onnx with its .onnx.json")
    shutil.copyfile(model, target)
    shutil.copyfile(config, target.with_suffix(".onnx.json"))


def _download(name: str, target: Path) -> None:
    from piper.download_voices import download_voice  # not at import: see engines.tts

    try:
        download_voice(name, target)
    except (OSError, ValueError) as exc:  # no network, no such voice
        raise InvalidVoice(
            f"could not download {name} with Piper's downloader ({exc}); on a host without"
            " network, copy the voice's .onnx and .onnx.json here and add it with --from PATH"
        ) from None


def _check(model: Path) -> None:
    """Load it: only a voice Piper can speak with is installed."""
    from piper import PiperVoice  # not at import: see engines.tts

    try:
        json.loads(model.with_suffix(".onnx.json").read_text())
        PiperVoice.load(model)
    except Exception as exc:
        raise InvalidVoice(f"{model.name} is not a usable Piper voice: {exc}") from None
