"""Clause-level helpers of the fast lane: trailing tags, contrast clauses and clause spans.

- Other systems append tags, ids and numbers to a text ("请问什么时候有货？ #12", "Great, thanks [ref 5512]").
  They carry no opinion, but a review-trained n-gram model has never seen them after a question and
  reads them as noise of a complaint. `strip_trailing_tags` removes them before sentiment and kind.
- In "东西不错，就是物流慢了点" or "The food was great but the service was slow" the clause after the
  contrast is what the writer means: `emphasised_clause` returns it, and the sentiment component gives
  its score more weight than the whole text's.
- `clause_spans` cuts a text into clauses for sentiment per topic (aspect sentiment).
"""

from __future__ import annotations

import re

# A tag, id or number at the very end, after whitespace or punctuation. Bare numbers count only after
# sentence-final punctuation ("有货吗？ 12"), not as part of the sentence ("iPhone 12").
_TAG = (
    r"(?:#[^\s#]{1,30}|@\S{1,30}|\[[^\]\n]{0,40}\]|【[^】\n]{0,40}】|\([^)\n]{0,40}\)|（[^）\n]{0,40}）"
    r"|(?:id|ref|no\.?|ticket|order|case|工单号?|订单号?|编号|单号|序号)[\s:：#.]*[A-Za-z0-9_-]*[0-9][A-Za-z0-9_-]*)"
)
_TRAILING_TAGS = re.compile(rf"(?:[\s,，;；|/~-]*{_TAG})+[\s.。]*$", re.IGNORECASE)
_TRAILING_NUMBER = re.compile(r"(?<=[?？!！。.~])[\s,，;；|/-]*[A-Za-z_-]{0,6}[0-9][0-9A-Za-z_-]{0,20}\s*$")


def strip_trailing_tags(text: str) -> str:
    """The text without trailing tags/ids/numbers; the text itself if that would leave nothing."""
    core = text
    for _ in range(3):  # "… #12 [ref 9]" : a few rounds, never a loop on pathological input
        new = _TRAILING_TAGS.sub("", core)
        new = _TRAILING_NUMBER.sub("", new).rstrip()
        if new == core:
            break
        core = new
    return core if core.strip(" \t\n,，.。;；-") else text


# Contrast markers. Chinese ones that are also ordinary words ("就是好", "只是个", "不过如此") count only
# at the start of a clause and after an earlier clause; 但是/可是/然而 and English "but" count anywhere.
_ZH_ANYWHERE = ("但是", "可是", "然而")
_ZH_CLAUSE_START = ("不过", "就是", "可惜", "只是", "但", "只不过", "遗憾的是", "美中不足的是")
_ZH_CONCESSIVE = ("虽然", "尽管", "虽说")
_BREAK = "，,。.！!？?；;~～…\n"
_CONTRAST = re.compile(
    r"(?<!不)(?:" + "|".join(_ZH_ANYWHERE) + r")"
    r"|(?<=[" + re.escape(_BREAK) + r" ])\s*(?:" + "|".join(sorted(_ZH_CLAUSE_START, key=len, reverse=True)) + r")"
    r"|(?<![a-z])(?<!nothing )(?<!all )(?<!anything )(?:but|however|except|unfortunately|sadly)(?![a-z])(?! also)",
    re.IGNORECASE,
)
_CONCESSIVE = re.compile(
    r"(?:^|(?<=["
    + re.escape(_BREAK)
    + r" ]))\s*(?:"
    + "|".join(_ZH_CONCESSIVE)
    + r"|although|though|even though|while)",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"[" + re.escape(_BREAK) + r"]+")
MIN_CLAUSE_CHARS = 2


_TWO_ALNUM = re.compile(r"[^\W_][\s\S]*?[^\W_]")  # MIN_CLAUSE_CHARS (2) letters, digits or Han characters


def _has_content(text: str) -> bool:
    return _TWO_ALNUM.search(text) is not None


def emphasised_clause(lower: str) -> str | None:
    """The part of a text after its last contrast ("…，就是物流慢了点" → "物流慢了点"), or the main clause
    of a concessive one ("虽然贵，但…", "although X, Y" → Y); None when the text has no contrast."""
    last = None
    m: re.Match[str] | None
    for m in _CONTRAST.finditer(lower):
        if _has_content(lower[: m.start()]) and _has_content(lower[m.end() :]):
            last = m
    if last is not None:
        return lower[last.end() :].strip(" ,，:：")
    m = _CONCESSIVE.search(lower)
    if m is None:
        return None
    if not _has_content(lower[: m.start()]):
        # "Although X, Y": the main clause is what follows the first break.
        rest = lower[m.end() :]
        brk = _CLAUSE_BREAK.search(rest)
        if brk and _has_content(rest[brk.end() :]):
            return rest[brk.end() :].strip()
        return None
    # "Y, although X": the main clause comes first.
    return lower[: m.start()].strip(" ,，")


def clause_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each clause: cut at punctuation and before contrast markers."""
    cuts = {0, len(text)}
    for m in _CLAUSE_BREAK.finditer(text):
        cuts.update((m.start(), m.end()))
    for m in _CONTRAST.finditer(text):
        cuts.add(m.start())
    points = sorted(cuts)
    return [(a, b) for a, b in zip(points, points[1:], strict=False) if _has_content(text[a:b])]
