"""Speech engines with the real bundled models: faster-whisper and Piper."""

from __future__ import annotations

import json
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.vad import VadOptions, get_speech_timestamps

from engines import Engines
from engines.audio import (
    Audio,
    decode,
    decode_file,
    from_mulaw,
    from_pcm16,
    resample,
    to_mulaw,
    to_pcm16,
)
from engines.digits import numbers_in
from engines.errors import InvalidAudio, VoiceNotFound
from engines.provision import MANIFEST, prepare, verify
from engines.spoken_language import Detection
from engines.tts import speech_file
from merchant_voice.config import Settings
from merchant_voice.errors import EngineProblem
from tests.engines_fixtures import SPEECH, engine_settings, word_error_rate

# Measured with the bundled models (docs/performance.md); the bounds leave headroom.
DIGITS = Path(__file__).resolve().parent / "data" / "digits"
WER_BOUNDS = {("base", "jfk"): 0.05, ("base", "phone"): 0.05, ("tiny.en", "phone"): 0.06}


@pytest.fixture(scope="module")
def speech(prepared: Settings) -> Engines:
    return Engines(prepared.engines)


def _reference(name: str) -> str:
    return " ".join((SPEECH / name).read_text().split())


def test_models_prepare_is_idempotent_and_verified(prepared: Settings, tmp_path: Path) -> None:
    outcomes = {o.name: o for o in prepare(prepared.engines)}
    assert {o.status for o in outcomes.values()} == {"verified"}
    folder = outcomes["whisper-tiny.en"].path
    assert json.loads((folder / MANIFEST).read_text())["files"]["model.bin"]
    # A damaged copy is noticed and rebuilt.
    settings = engine_settings(tmp_path, models={"cache_dir": str(tmp_path / "models")})
    [built] = prepare(settings.engines, ["whisper-tiny.en"])
    assert built.status == "prepared"
    with (built.path / "config.json").open("a") as handle:
        handle.write(" ")
    assert not verify(built.path)
    [again] = prepare(settings.engines, ["whisper-tiny.en"])
    assert again.status == "prepared" and verify(again.path)


def test_transcribes_jfk_flac(speech: Engines) -> None:
    audio = decode((SPEECH / "jfk.flac").read_bytes(), "flac")
    transcript = speech.asr.transcribe(audio)
    assert transcript.language == "en"
    assert word_error_rate(_reference("jfk.txt"), transcript.text) <= WER_BOUNDS[("base", "jfk")]
    assert transcript.words and transcript.words[0].start < transcript.words[-1].end


def test_detection_keeps_to_the_speakers_languages(speech: Engines) -> None:
    """Kennedy's English, heard by a shop that sells in German and French only: Whisper
    knows it is English, but the words are heard in one of the shop's languages; and
    where the share of the best is below the threshold, in the call's own."""
    audio = decode((SPEECH / "jfk.flac").read_bytes(), "flac")
    among = Detection.of(["de_DE", "fr_FR"], otherwise="fr")
    heard = speech.call_asr.transcribe(audio, among)
    assert heard.language in {"de", "fr"} and 0 < heard.language_probability <= 1
    unsure = Detection(among.among, otherwise="fr", confidence=1.01)
    assert speech.call_asr.transcribe(audio, unsure).language == "fr"
    assert speech.asr.transcribe(audio, unsure).language == "fr"  # the file path too


@pytest.mark.parametrize("model", ["base", "tiny.en"])
def test_transcribes_the_8khz_phone_recording_as_mulaw(prepared: Settings, model: str) -> None:
    wav = decode_file((SPEECH / "OSR_us_000_0034_8k.wav").read_bytes())
    assert wav.rate == 8000
    mulaw = to_mulaw(wav.samples)  # as a telephony stream carries it
    engines = Engines(engine_settings(prepared.instance_dir, speech={"model": model}).engines)
    transcript = engines.asr.transcribe(decode(mulaw, "mulaw"), language="en")
    wer = word_error_rate(_reference("OSR_us_000_0034_8k.txt"), transcript.text)
    assert wer <= WER_BOUNDS[(model, "phone")], transcript.text


def _phone_utterances() -> list[Audio]:
    """The 8 kHz recording as a call hears it: µ-law, cut into its sentences."""
    wav = decode_file((SPEECH / "OSR_us_000_0034_8k.wav").read_bytes())
    phone = resample(from_mulaw(to_mulaw(wav.samples)), 16_000)
    options = VadOptions(min_silence_duration_ms=500, speech_pad_ms=200)
    return [
        Audio(phone.samples[cut["start"] : cut["end"]], 16_000)
        for cut in get_speech_timestamps(phone.samples, options)
    ]


def test_call_recognition_in_a_short_window_hears_as_well_as_the_full_one(
    speech: Engines,
) -> None:
    """Live calls encode each utterance plus 2 s, not 30 s: same words on the recording."""
    utterances = _phone_utterances()
    assert len(utterances) >= 10
    reference = _reference("OSR_us_000_0034_8k.txt")
    short = " ".join(speech.call_asr.transcribe(u, language="en").text for u in utterances)
    assert word_error_rate(reference, short) <= WER_BOUNDS[("base", "phone")], short


def test_spoken_digit_strings_come_out_exactly(speech: Engines) -> None:
    """The set in tests/data/digits (scripts/make_digit_set.py): 4-6 digit codes read out
    as callers do ("nine oh two one oh", "double seven three one"), 8 kHz."""
    lines = (DIGITS / "texts.tsv").read_text().splitlines()
    assert len(lines) >= 40
    misheard = []
    for number, line in enumerate(lines, 1):
        expected, said = line.split("\t")
        with wave.open(str(DIGITS / f"{number:02d}.wav")) as clip:
            audio = from_pcm16(clip.readframes(clip.getnframes()), clip.getframerate())
        heard = speech.call_asr.transcribe(audio).text  # as a live call hears it
        if expected not in numbers_in(heard):
            misheard.append((said, heard))
    assert len(misheard) <= len(lines) * 0.05, misheard


def test_accepts_pcm_wav_and_flac(speech: Engines) -> None:
    audio = decode((SPEECH / "jfk.flac").read_bytes(), "flac")
    pcm = to_pcm16(audio.samples)
    from_pcm = decode(pcm, "pcm16", rate=16000)
    assert np.abs(from_pcm.samples - np.clip(audio.samples, -1, 1)).max() < 1e-3
    with pytest.raises(InvalidAudio, match="sample rate"):
        decode(pcm, "pcm16")
    with pytest.raises(InvalidAudio, match="unreadable audio"):
        decode(b"not audio at all", "wav")


def test_mulaw_matches_g711() -> None:
    codes = bytes(range(256))
    decoded = from_mulaw(codes).samples
    expected = codes.replace(b"\x7f", b"\xff")  # 0x7F is "negative zero": zero encodes as 0xFF
    assert to_mulaw(decoded) == expected  # every other code survives a round trip
    assert from_mulaw(bytes([0xFF, 0x7F])).samples.tolist() == [0.0, 0.0]
    assert abs(from_mulaw(bytes([0x00])).samples[0] + 32124 / 32768) < 1e-6


def test_synthesis_streams_sentence_by_sentence(speech: Engines) -> None:
    text = "Your order has shipped. It will arrive on Tuesday. Is there anything else?"
    list(speech.tts.synthesize("Warm up.", "en_US"))
    started = time.perf_counter()
    arrivals = []
    chunks = []
    for chunk in speech.tts.synthesize(text, "en_US"):
        arrivals.append(time.perf_counter() - started)
        chunks.append(chunk)
    assert len(chunks) == 3  # one per sentence, each handed over as soon as it is ready
    assert arrivals[0] < arrivals[-1]
    assert chunks[0].audio.rate == 22050
    assert len(chunks[0].mulaw()) == pytest.approx(chunks[0].audio.seconds * 8000, abs=2)


def test_synthesis_without_variation_says_the_same_audio_every_time(
    speech: Engines, prepared: Settings
) -> None:
    """The tests' callers ([tts] noise_scale = noise_w = 0); a voice's own variation differs."""
    text = "Where is my order one zero four two?"

    def twice(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
        tts = Engines(settings.engines).tts  # one voice: its noise goes on between calls
        said = [list(tts.synthesize(text, "en_US")) for _ in range(2)]
        first, second = ([c.audio.samples for c in chunks] for chunks in said)
        return np.concatenate(first), np.concatenate(second)

    assert prepared.engines.tts.noise_scale == prepared.engines.tts.noise_w == 0
    first, second = twice(prepared)
    assert np.array_equal(first, second)
    varied = engine_settings(
        prepared.host.instance_path, tts={"noise_scale": None, "noise_w": None}
    )
    first, second = twice(varied)
    assert first.shape != second.shape or not np.array_equal(first, second)


def test_synthesized_speech_transcribes_back(speech: Engines) -> None:
    text = "Your order has shipped and will arrive on Tuesday."
    chunks = list(speech.tts.synthesize(text, "en_US"))
    audio = Audio(np.concatenate([c.audio.samples for c in chunks]), chunks[0].audio.rate)
    transcript = speech.asr.transcribe(resample(audio, 16000), language="en")
    assert word_error_rate(text, transcript.text) <= 0.1, transcript.text


def test_narration_files(speech: Engines) -> None:
    ogg = speech_file(speech.tts.synthesize("Hello there.", "en_US"), "ogg")
    mp3 = speech_file(speech.tts.synthesize("Hello there.", "en_US"), "mp3")
    assert ogg[:4] == b"OggS" and decode_file(ogg).seconds > 0.3
    assert mp3[:3] == b"ID3" or mp3[:2] in (b"\xff\xfb", b"\xff\xf3")


def test_a_locale_without_a_voice_is_a_clear_error(speech: Engines) -> None:
    assert speech.tts.voice_for("en_GB") == "en_US"  # same language
    with pytest.raises(VoiceNotFound) as caught:
        list(speech.tts.synthesize("Hallo", "de_DE"))
    message = caught.value.detail
    assert "'de_DE'" in message and "installed voices: en_US" in message
    assert "[tts] voices" in message and ".onnx" in message
    assert EngineProblem(caught.value).status == 422  # how the host answers it


def test_bad_audio_is_a_clear_error() -> None:
    with pytest.raises(InvalidAudio, match="sample rate") as caught:
        decode(b"\x00\x00" * 100, "pcm16", rate=0)
    assert EngineProblem(caught.value).status == 400
    assert decode(b"", "mulaw").seconds == 0.0
    from engines.audio import encode_file

    with pytest.raises(InvalidAudio, match="no audio"):
        encode_file(Audio(np.zeros(0, np.float32), 22050), "mp3")
