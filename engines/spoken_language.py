"""Which language an utterance is in, chosen among the languages a speaker may use.

Whisper scores every language it knows. A caller of a German shop who says three
words over a phone line may score highest as Thai; answering in Thai then speaks
nonsense. A :class:`Detection` names the languages a speaker may use (a merchant's
and English): Whisper's scores are read among those only, and the best one is taken
when it holds at least ``confidence`` of their summed score. Below that, the
utterance is heard in ``otherwise`` (the language the conversation is in so far).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Detection:
    """Detect the spoken language among ``among`` (ISO 639-1 codes, as Whisper names
    them); below ``confidence``, hear it as ``otherwise``."""

    among: frozenset[str]
    otherwise: str
    confidence: float = 0.7

    @classmethod
    def of(cls, languages: Iterable[str], otherwise: str, confidence: float = 0.7) -> Detection:
        """A detection among the languages of ``languages`` (codes or locales, "de_DE")."""
        codes = {language.replace("-", "_").split("_")[0].lower() for language in languages}
        codes.add(otherwise)
        return cls(frozenset(codes), otherwise, confidence)

    def choose(self, scores: Iterable[tuple[str, float]]) -> tuple[str, float]:
        """The language to hear, and the winner's share of the candidates' summed score
        (0.0 when Whisper gave none of them any). ``scores``: (code, probability)."""
        candidates = {code: score for code, score in scores if code in self.among}
        total = sum(candidates.values())
        if not total:
            return self.otherwise, 0.0
        best = max(candidates, key=lambda code: candidates[code])
        share = candidates[best] / total
        return (best if share >= self.confidence else self.otherwise), share


def whisper_code(token: str) -> str:
    """``"<|de|>"`` → ``"de"``: a language token of Whisper's, as its code."""
    return token.removeprefix("<|").removesuffix("|>")
