"""Keys for the free-text terms the daily roll-ups count: need phrases and emotion evidence words.

The analysis pipeline keeps a need as the phrase it matched ("希望可以提供视频教程", "would be nice if it came
with a charger"). Counting those phrases as they are splits one need over its many lead-ins, so the roll-up
counts a *key* instead: the phrase without its lead-in and trailing punctuation ("提供视频教程", "it came with
a charger"). The key stays a piece of the phrase (case-folded), so searching the feedback inbox for it
(q=<key>, a case-insensitive substring search) finds the items that voiced the need.

Pure functions, no Django: the roll-up and the pages import them.
"""

from __future__ import annotations

import re

NEED_KEY_MAX = 100  # MetricDaily.value is 100 characters
MIN_KEY_CHARS = 2  # a lead-in is not stripped if less than this would be left

# Lead-ins the needs extractor matches (voxloop_nlp.components.needs), longest first so "最好能" wins over
# "最好"; stripped repeatedly ("希望可以尽快..." -> "尽快..." is not stripped further: 尽快 carries meaning).
_ZH_LEAD_INS = sorted(
    (
        "希望", "建议", "要是", "如果能", "如果", "能不能", "能否", "可不可以", "可以考虑", "可否", "最好能",
        "最好", "期待", "盼望", "请尽快", "请务必", "麻烦尽快", "麻烦", "请", "可以", "能够", "能", "你们",
        "您们", "贵公司", "商家", "卖家", "官方",
    ),
    key=len,
    reverse=True,
)  # fmt: skip
_EN_LEAD_INS = re.compile(
    r"^(?:(?:it )?would be (?:really |very )?(?:nice|great|good|better|helpful) if|i (?:really )?wish|"
    r"please|pls|kindly|(?:you )?should|i (?:would |'d )?suggest(?: that)?|my suggestion is(?: that| to)?|"
    r"could you(?: please)?|can you(?: please)?|it would help if|(?:i )?hope (?:you|they) (?:can|will|could)|"
    r"i (?:would|'d) like(?: you)? to|that|to)\b\s*",
    re.IGNORECASE,
)
# Punctuation and sentence-final particles a phrase may end with; none of them changes the need.
_TRAILING = " \t\n,.!?;:，。！？；：、~～…—-\"'“”‘’()（）[]【】"
_ZH_PARTICLES = "吧呀啊呢哦哈嘛啦"
_LEADING = " \t\n,.!?;:，。！？；：、~～…—-\"'“”‘’"


def need_key(phrase: str) -> str:
    """The roll-up key of a need phrase: lead-ins ("希望", "建议", "能不能", "请", "would be nice if",
    "please", "I wish"...) and trailing punctuation stripped, case-folded, at most NEED_KEY_MAX characters.
    Always a substring of ``phrase.lower()``; "" for a phrase with nothing left."""
    key = phrase.strip(_LEADING + _TRAILING)
    while True:
        before = key
        key = _strip_en(key)
        key = _strip_zh(key)
        key = key.lstrip(_LEADING)
        if key == before:
            break
    key = _strip_end(key)
    if len(key) > NEED_KEY_MAX:
        cut = key[:NEED_KEY_MAX]
        # English: end on a whole word; Chinese has no spaces, so the plain cut is as good as any.
        if " " in cut and key[NEED_KEY_MAX : NEED_KEY_MAX + 1] not in ("", " "):
            cut = cut[: cut.rindex(" ")]
        key = _strip_end(cut)
    return key.lower()


def _strip_zh(text: str) -> str:
    for lead in _ZH_LEAD_INS:
        if text.startswith(lead) and len(text.strip(_LEADING + _TRAILING)) - len(lead) >= MIN_KEY_CHARS:
            return text[len(lead) :]
    return text


def _strip_en(text: str) -> str:
    match = _EN_LEAD_INS.match(text)
    if match and match.end() and len(_strip_end(text[match.end() :])) >= MIN_KEY_CHARS:
        return text[match.end() :]
    return text


def _strip_end(text: str) -> str:
    while True:
        stripped = text.rstrip(_TRAILING)
        if len(stripped) > MIN_KEY_CHARS and stripped[-1] in _ZH_PARTICLES:
            stripped = stripped[:-1]
        if stripped == text:
            return text
        text = stripped


def need_keys(phrases: object) -> list[str]:
    """The distinct keys of an analysis's needs (a list of phrases; anything else counts as none)."""
    if not isinstance(phrases, list):
        return []
    keys = (need_key(p) for p in phrases if isinstance(p, str))
    return list(dict.fromkeys(k for k in keys if k))


def emotion_words(emotions: object) -> dict[str, set[str]]:
    """Evidence word -> the emotions it was evidence of, from an analysis's emotions
    ([{"name": "anger", "evidence": ["气死", ...], "intensity": 0.9}, ...]; anything malformed is skipped)."""
    words: dict[str, set[str]] = {}
    if not isinstance(emotions, list):
        return words
    for emotion in emotions:
        if not isinstance(emotion, dict) or not isinstance(emotion.get("name"), str):
            continue
        evidence = emotion.get("evidence") or []
        for word in evidence if isinstance(evidence, list) else []:
            if isinstance(word, str) and word.strip():
                words.setdefault(word.strip().lower()[:NEED_KEY_MAX], set()).add(emotion["name"])
    return words


def emotion_names(emotions: object) -> list[str]:
    """The distinct emotion names of an analysis's emotions."""
    if not isinstance(emotions, list):
        return []
    names = (e.get("name") for e in emotions if isinstance(e, dict))
    return list(dict.fromkeys(n for n in names if isinstance(n, str) and n))
