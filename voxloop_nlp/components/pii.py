"""PII masking: mainland mobile and landline numbers, e-mails, ID-card and bank-card numbers, addresses.

Masks the original text (what people read), replacing each item with a typed placeholder. Card
numbers must pass the Luhn check and ID numbers the GB 11643 checksum, so order numbers survive.
"""

from __future__ import annotations

import re

from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
ID_CARD = re.compile(
    r"(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx](?![0-9])"
)
BANK_CARD = re.compile(r"(?<![0-9])(?:[0-9][ -]?){15,18}[0-9](?![0-9])")
MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}(?![0-9])")
LANDLINE = re.compile(r"(?<![0-9])(?:\(0[0-9]{2,3}\)|0[0-9]{2,3})[ -]?[2-9][0-9]{6,7}(?:-[0-9]{1,5})?(?![0-9])")
_NUM = "0-9一二三四五六七八九十百零"
ZH_ADDRESS = re.compile(
    rf"(?:[\u4e00-\u9fff]{{2,6}}(?:省|自治区))?(?:[\u4e00-\u9fff]{{2,6}}市)?(?:[\u4e00-\u9fff]{{1,6}}(?:区|县))?"
    rf"[\u4e00-\u9fff{_NUM}]{{1,12}}(?:路|街|大道|大街|巷|弄|胡同)[{_NUM}]+号"
    rf"(?:[{_NUM}A-Za-z-]+(?:栋|幢|座|号楼|单元|楼|层|室|号))*"
)
EN_ADDRESS = re.compile(
    r"\b[0-9]{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct)\b\.?"
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _id_valid(number: str) -> bool:
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_ADDRESS_LEADS = ("寄到", "送到", "发到", "邮到", "地址是", "地址", "住在", "位于", "改成", "改为", "在", "到")


def _zh_address(m: re.Match[str]) -> str:
    # The pattern's leading "any Han" part can swallow the verb before an address ("寄到北京市..."): keep it.
    found = m.group(0)
    for lead in _ADDRESS_LEADS:
        if found.startswith(lead) and len(found) > len(lead) + 4:
            return lead + "[ADDRESS]"
    return "[ADDRESS]"


_ASCII_DIGIT = re.compile(r"[0-9]")


def mask_pii(text: str) -> str:
    # Most feedback holds no "@", no ASCII digit and no "号": skip the patterns that need one (each
    # substitution only removes such characters, so a check on the original text is exact).
    if "@" in text:
        text = EMAIL.sub("[EMAIL]", text)
    digits = _ASCII_DIGIT.search(text) is not None
    if not digits:
        return ZH_ADDRESS.sub(_zh_address, text) if "号" in text else text
    text = ID_CARD.sub(lambda m: "[ID]" if _id_valid(m.group(0)) else m.group(0), text)

    def card(m: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", m.group(0))
        return "[CARD]" if 16 <= len(digits) <= 19 and _luhn(digits) else m.group(0)

    text = BANK_CARD.sub(card, text)
    text = MOBILE.sub("[PHONE]", text)
    text = LANDLINE.sub("[PHONE]", text)
    text = ZH_ADDRESS.sub(_zh_address, text)
    text = EN_ADDRESS.sub("[ADDRESS]", text)
    return text


@component("pii", assigns=["masked_text"])
def pii(doc: FeedbackDoc) -> FeedbackDoc:
    # Full-width digits are folded first so "１３８..." is caught too; the rest of the original is kept.
    from voxloop_nlp.components.normalize import to_half_width

    doc.masked_text = mask_pii(
        to_half_width(doc.text) if any("\uff10" <= c <= "\uff19" for c in doc.text) else doc.text
    )
    return doc
