"""Whisper over a window sized to the utterance, straight on CTranslate2.

Whisper was trained on 30 s windows and faster-whisper always encodes one,
however short the speech. CTranslate2's encoder accepts fewer frames: a live
call's utterance of 2-5 s, plus 2 s of silence, encodes several times faster
with the same text from the multilingual base model (tiny.en repeats itself in
short windows: keep it on the full window). Generation is capped by the
audio's length, so a decoder that loses its place cannot run on.

Digits are the exception. Whisper writes numbers its own way ("nine four one
zero three" becomes "9403"), and in a short window it repeats digits ("seven
seven zero zero two" becomes "7 7 0 0 0 2"). The *digits* pass decodes over a
longer window with a prompt that reads a code out digit by digit, in the
speaker's language, so the words come back one per digit.
"""

from __future__ import annotations

import numpy as np
from ctranslate2 import StorageView
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens

from engines.audio import WHISPER_RATE, Samples
from engines.spoken_language import Detection, whisper_code

PAD_S = 2.0  # silence after the utterance: Whisper expects speech to end before the window
FULL_WINDOW_S = 30.0
MAX_WINDOW_S = FULL_WINDOW_S - PAD_S  # longer utterances take the file path
SEGMENT_MARGIN_S = 0.3
TIME_PER_TOKEN_S = 0.02
BASE_TOKENS, TOKENS_PER_S = 10, 6  # the cap on generated tokens: 10 + 6 per second of audio

# Said the way a caller reads a code out: the decoder follows the prompt's style.
DIGIT_PROMPTS = {
    "en": "Um, my order number is one zero four two, and the postcode is nine four one oh three.",
    "de": "Ähm, meine Bestellnummer ist eins null vier zwei, und die Postleitzahl ist neun vier"
    " eins null drei.",
    "fr": "Euh, mon numéro de commande est un zéro quatre deux, et le code postal est neuf"
    " quatre un zéro trois.",
    "es": "Eh, mi número de pedido es uno cero cuatro dos, y el código postal es nueve cuatro"
    " uno cero tres.",
    "it": "Ehm, il mio numero d'ordine è uno zero quattro due, e il CAP è nove quattro uno"
    " zero tre.",
    "nl": "Eh, mijn bestelnummer is een nul vier twee, en de postcode is negen vier een nul drie.",
}


class WindowDecoder:
    """One utterance through a WhisperModel's CTranslate2 model, in a window of its own size."""

    def __init__(self, model: WhisperModel, beam_size: int = 1) -> None:
        self.model = model
        self.beam_size = beam_size

    def decode(
        self,
        samples: Samples,
        language: str | Detection | None,
        window_s: float | None = None,
        digits: bool = False,
    ) -> tuple[str, str, float]:
        """Text, language and the language's probability (1.0 when it was given; its share
        among a :class:`~engines.spoken_language.Detection`'s languages).

        ``window_s``: None, the utterance plus :data:`PAD_S`; else at least this long.
        """
        seconds = len(samples) / WHISPER_RATE
        window = min(FULL_WINDOW_S, max(seconds + PAD_S, window_s or 0.0))
        encoded = self._encode(samples, window)
        whisper = self.model.model
        probability = 1.0
        if not whisper.is_multilingual:
            language = "en"
        elif not isinstance(language, str):
            scores = [(whisper_code(token), p) for token, p in whisper.detect_language(encoded)[0]]
            language, probability = language.choose(scores) if language else scores[0]
        tokenizer = Tokenizer(
            self.model.hf_tokenizer, whisper.is_multilingual, task="transcribe", language=language
        )
        prompt = list(tokenizer.sot_sequence)
        if digits and language in DIGIT_PROMPTS:
            prompt = [tokenizer.sot_prev, *tokenizer.encode(" " + DIGIT_PROMPTS[language]), *prompt]
        result = whisper.generate(
            encoded,
            [prompt],
            beam_size=self.beam_size,
            max_length=len(prompt) + BASE_TOKENS + round(TOKENS_PER_S * seconds),
            max_initial_timestamp_index=50,
            no_repeat_ngram_size=4,
            suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])),
        )[0]
        return _spoken_text(tokenizer, result.sequences_ids[0], seconds), language, probability

    def _encode(self, samples: Samples, window_s: float) -> StorageView:
        padding = np.zeros(round(window_s * WHISPER_RATE) - len(samples), np.float32)
        features = self.model.feature_extractor(np.concatenate([samples, padding]))
        frames = min(features.shape[-1], round(window_s * 100))
        frames -= frames % 2  # the encoder's convolution halves the frames
        window = np.ascontiguousarray(features[None, :, :frames])
        return self.model.model.encode(StorageView.from_array(window), to_cpu=False)


def _spoken_text(tokenizer: Tokenizer, ids: list[int], seconds: float) -> str:
    """The text of the segments that start within the speech: a decoder that reads on
    into the silence after it repeats what it heard, at a time past its end."""
    words: list[int] = []
    in_segment = False  # timestamps come in pairs: a segment's start, then its end
    for token in ids:
        if token >= tokenizer.timestamp_begin:
            at = (token - tokenizer.timestamp_begin) * TIME_PER_TOKEN_S
            if not in_segment and at >= seconds - SEGMENT_MARGIN_S:
                break  # a segment that starts after the speech ended
            in_segment = not in_segment
        elif token < tokenizer.eot:
            words.append(token)
    text: str = tokenizer.decode(words)
    return text.strip()
