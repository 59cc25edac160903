"""Corrections applied to the model's calibrated score where the model is known to be wrong and the text
leaves no doubt. Shared by the pipeline and by evaluation, so benchmarks measure what users see.

- A bare question with no opinion cue ("怎么退款?") is neutral whatever n-grams say: questions are a
  frequent neutral case in customer service that review-trained models see rarely.
- A short phrase whose only opinion is negated or an idiom ("not bad", "不差", "no complaints", "could be
  better", "有待提高"): the character n-grams of "bad"/"差" outvote the negator, and no training set has
  enough such phrases to teach otherwise. The score becomes a mild one of the lexicon's sign, and only
  when the model disagrees with that sign.
- A short lukewarm verdict ("ok", "fine", "还行", "质量一般"): review-trained models read these as strong
  praise or complaints (their binary labels had nowhere else to put them). The model keeps the sign, but the
  score stays inside the neutral band: a dashboard should not count "ok" as a promoter's words.
- A short text the model leaves inside the neutral band although its opinion words all agree ("送餐员给我打
  电话比较粗鲁": the n-grams of a new domain say little, the lexicon says "rude") gets a mild score of their
  sign, just outside the band.
"""

from __future__ import annotations

from voxloop_nlp import lexicon
from voxloop_nlp.cues import CueMatcher

QUESTION_END = ("?", "吗", "呢", "么")
SHORT_PHRASE_WORDS = 6  # beyond this, words the lexicon does not know may carry the opinion
MILD_SCORE = 0.5  # "not bad" is praise, but faint praise

_CUES = CueMatcher(set(lexicon.POLARITY) | lexicon.LITOTES | lexicon.ROOM_FOR_IMPROVEMENT | lexicon.NOT_CUES)
_LUKEWARM_ONLY = CueMatcher(lexicon.LUKEWARM)
# Every opinion cue the other rules know, so that "还行，没毛病" is not taken for lukewarm alone.
_LUKEWARM_CUES = CueMatcher(
    set(lexicon.POLARITY) | lexicon.LITOTES | lexicon.ROOM_FOR_IMPROVEMENT | lexicon.NOT_CUES | lexicon.LUKEWARM
)


def has_opinion_cue(lower: str) -> bool:
    """Whether any opinion word the rules know occurs (polar, litotes, "could be better", lukewarm)."""
    return _LUKEWARM_CUES.occurs_in(lower)


def is_plain_question(lower: str, tokens: list[str]) -> bool:
    text = lower.rstrip(" 。.!~")
    if not text.endswith(QUESTION_END):
        return False
    return not any(lexicon.POLARITY.get(t) for t in tokens)


def _is_short(tokens: list[str]) -> bool:
    return sum(1 for t in tokens if any(ch.isalnum() for ch in t)) <= SHORT_PHRASE_WORDS


def is_lukewarm(lower: str, tokens: list[str]) -> bool:
    """A short text whose every opinion cue is a plain lukewarm verdict: not negated, not intensified."""
    if not _LUKEWARM_ONLY.occurs_in(lower) or not _is_short(tokens):  # most text: one regex search
        return False
    hits = [h for h in _LUKEWARM_CUES.find(lower) if h.cue not in lexicon.NOT_CUES]
    return bool(hits) and all(h.cue in lexicon.LUKEWARM and not h.negated and h.degree <= 1.0 for h in hits)


def has_lukewarm_cue(lower: str) -> bool:
    """Whether a plain lukewarm verdict ("一般", "还行", "ok") occurs anywhere, not negated or intensified:
    one of the two marks of a mixed, three-star text (`components.sentiment`)."""
    if not _LUKEWARM_ONLY.occurs_in(lower):  # most text: one regex search
        return False
    return any(h.cue in lexicon.LUKEWARM and not h.negated and h.degree <= 1.0 for h in _LUKEWARM_CUES.find(lower))


def short_phrase_polarity(lower: str, tokens: list[str]) -> int:
    """+1 or -1 when a short text's cues all agree and one of them is a negated cue or a "could be better"
    idiom; 0 otherwise (also when a negated cue is an event, e.g. "还没退款": still a complaint)."""
    if not _is_short(tokens):
        return 0
    signs = set()
    decisive = False
    for hit in _CUES.find(lower):
        if hit.cue in lexicon.NOT_CUES:
            continue
        if hit.cue in lexicon.ROOM_FOR_IMPROVEMENT:
            signs.add(-1)
            decisive = True
            continue
        polarity = lexicon.POLARITY.get(hit.cue, -1.0 if hit.cue in lexicon.LITOTES else 0.0)
        if not hit.negated:
            signs.add(1 if polarity > 0 else -1)
        elif polarity > 0:
            signs.add(-1)
            decisive = True
        elif hit.cue in lexicon.LITOTES:
            signs.add(1)
            decisive = True
        else:
            return 0
    return signs.pop() if decisive and len(signs) == 1 else 0


def agreeing_cues_sign(lower: str, tokens: list[str]) -> int:
    """+1 / -1 when a short text has opinion cues and all of them, negation considered, share that sign."""
    if not _is_short(tokens) and len(tokens) > 2 * SHORT_PHRASE_WORDS:
        return 0
    signs = set()
    for hit in _CUES.find(lower):
        if hit.cue in lexicon.NOT_CUES or hit.cue in lexicon.LUKEWARM:
            continue
        if hit.cue in lexicon.ROOM_FOR_IMPROVEMENT:
            signs.add(-1)
            continue
        polarity = lexicon.POLARITY.get(hit.cue, -1.0 if hit.cue in lexicon.LITOTES else 0.0)
        if not polarity:
            continue
        if hit.negated and polarity < 0 and hit.cue not in lexicon.LITOTES:
            return 0  # a negated event ("还没退款") is no praise
        signs.add((1 if polarity > 0 else -1) * (-1 if hit.negated else 1))
    return signs.pop() if len(signs) == 1 else 0


def adjust(lower: str, tokens: list[str], score: float, band: float) -> float:
    """The score users see, from the model's calibrated `score` (`band`: the model's neutral band)."""
    if not tokens:
        return 0.0
    if is_plain_question(lower, tokens):
        return max(-band * 0.9, min(band * 0.9, score * 0.3))
    sign = short_phrase_polarity(lower, tokens)
    if sign and sign * score < band:
        return sign * MILD_SCORE
    if is_lukewarm(lower, tokens):
        return score * band * 0.9  # graded, and inside the band whatever the model said
    if abs(score) < band:
        sign = agreeing_cues_sign(lower, tokens)
        if sign:
            return sign * (band + 0.05)
    return score
