"""PII masking: mainland mobile and landline numbers, e-mails, ID-card and bank-card numbers, addresses,
people's names ("我叫张伟", "王先生", "Ms. Li", "my name is John Smith"), WeChat and QQ ids.

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
    r"\b[0-9]{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct"
    r"|Parkway|Pkwy|Place|Pl|Square|Sq|Terrace|Highway|Hwy|Crescent|Close)\b\.?"
)
EN_UNIT = re.compile(r"\b(?:Apt|Apartment|Suite|Flat)\.?\s*#?\s*[0-9][0-9A-Za-z-]*")
# An address after the words that announce one ("地址：", "住在", "寄到"), to the end of its clause, when it
# holds a named place or a numbered building: ZH_ADDRESS needs a street number and misses "杭州市西湖区文三路"
# or "幸福小区5栋2单元301". Without such a place ("送到楼下", "寄到公司") the words are kept.
_ZH_ADDRESS_LEAD = re.compile(
    r"((?:收货|收件|送货|家庭|联系|寄送|详细|新)?地址\s*(?:是|为|改为|改成)?\s*[:：]?\s*|住址\s*(?:是)?\s*[:：]?\s*"
    r"|住在|家住|家在|寄到|送到|发到|邮到|寄往|送往|发往)([^\s，。！？；,;!?、()（）\[\]\n]{2,40})"
)
_ZH_PLACE = re.compile(
    rf"[\u4e00-\u9fff]{{2,}}(?:省|市|区|县|镇|乡|村|路|街|大道|巷|弄|胡同)|[{_NUM}A-Za-z]+(?:栋|幢|单元|室|号楼)"
)
# A numbered building of an estate, wherever it is written: "汤臣豪园3期12栋501室", "幸福小区5栋2单元301".
ZH_ESTATE = re.compile(
    rf"(?:[\u4e00-\u9fff]{{2,8}}(?:小区|花园|公寓|家园|新村|大厦|苑|园|城|府|湾))?(?:[{_NUM}]{{1,3}}期)?"
    rf"[0-9A-Za-z{_NUM}-]{{1,5}}(?:栋|幢|号楼)(?:[{_NUM}]{{1,3}}单元)?(?:[0-9]{{1,5}}(?:室|号)?)?"
)
_ESTATE_HINT = re.compile("[栋幢]|号楼")
_ADDRESS_LEAD_HINT = re.compile("地址|住址|住在|家住|家在|[寄送发邮]到|[寄送发]往")  # most texts: one quick search
# Common Chinese surnames, less the ones that are everyday function words ("向老师反映", "于先生" aside:
# 于/向/和/与 before 老师/先生 are far more often prepositions than names).
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方邹熊白孟秦邱侯江尹薛闫段雷黎史龙陶贺顾毛郝龚邵万钱严覃武戴莫孔汤易"
    "欧阳司马诸葛上官"
)
_SURNAME = "(?:欧阳|司马|诸葛|上官|[" + _SURNAMES + "])"
_ZH_NAME_INTRO = re.compile(
    r"(我叫|我的名字是|我的名字叫|名字叫|名字是|姓名[:：]?|联系人[:：]?|收件人[:：]?|收货人[:：]?|本人)\s*"
    r"([\u4e00-\u9fff]{2,3})(?=$|[\s,，。.!！?？;；、(（]|先生|女士|小姐|的|我|电话|手机|微信)"
)
_ZH_NAME_SELF = re.compile(rf"(我是)({_SURNAME}[\u4e00-\u9fff]{{1,2}})(?=$|[\s,，。.!！?？;；、])")
_ZH_HONORIFIC = re.compile(rf"{_SURNAME}[\u4e00-\u9fff]{{0,2}}?(?=先生|女士|小姐|太太|老师|经理|师傅|医生|律师)")
_EN_TITLE_NAME = re.compile(r"\b(?i:mr|mrs|ms|miss|mx|dr)\.?\s+[A-Z][A-Za-z'-]+(?:\s+[A-Z][A-Za-z'-]+)?")
_EN_NAME_INTRO = re.compile(r"\b((?i:my name is|my name's|name:)\s+)[A-Z][A-Za-z'-]+(?:\s+[A-Z][A-Za-z'-]+)?")
WECHAT = re.compile(
    r"((?i:微信号?|weixin|wechat(?:\s*id)?|wx|vx|v信)\s*(?:号|号码|id)?\s*[:：是为]?\s*)([A-Za-z][-_A-Za-z0-9]{5,19})(?![A-Za-z0-9])"
)
QQ = re.compile(r"((?i:qq|扣扣)\s*(?:号|号码)?\s*[:：是为]?\s*)([1-9][0-9]{4,11})(?![0-9])")
_NAME_HINT = re.compile(
    r"叫|名字|姓名|联系人|收件人|收货人|本人|我是|先生|女士|小姐|太太|老师|经理|师傅|医生|律师|微信|扣扣|"
    r"(?i:mr|mrs|ms|miss|mx|dr|name|wechat|weixin|wx|vx|qq)"
)


def mask_names_and_ids(text: str) -> str:
    """People's names after an introduction or before an honorific, WeChat and QQ ids."""
    if not _NAME_HINT.search(text):  # most feedback: one search
        return text
    text = WECHAT.sub(lambda m: m.group(1) + "[WECHAT]", text)
    text = QQ.sub(lambda m: m.group(1) + "[QQ]", text)
    text = _ZH_NAME_INTRO.sub(lambda m: m.group(1) + "[NAME]", text)
    text = _ZH_NAME_SELF.sub(lambda m: m.group(1) + "[NAME]", text)
    text = _ZH_HONORIFIC.sub("[NAME]", text)
    text = _EN_TITLE_NAME.sub("[NAME]", text)
    return _EN_NAME_INTRO.sub(lambda m: m.group(1) + "[NAME]", text)


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


def _zh_lead_address(m: re.Match[str]) -> str:
    return m.group(1) + "[ADDRESS]" if _ZH_PLACE.search(m.group(2)) else m.group(0)


def mask_addresses(text: str) -> str:
    """Chinese addresses: with a street number, after the words that announce one, and numbered buildings."""
    if "号" in text:
        text = ZH_ADDRESS.sub(_zh_address, text)
    if _ADDRESS_LEAD_HINT.search(text):
        text = _ZH_ADDRESS_LEAD.sub(_zh_lead_address, text)
    return ZH_ESTATE.sub("[ADDRESS]", text) if _ESTATE_HINT.search(text) else text


def mask_pii(text: str) -> str:
    # Most feedback holds no "@" and no ASCII digit: skip the patterns that need one (each substitution only
    # removes such characters, so a check on the original text is exact).
    if "@" in text:
        text = EMAIL.sub("[EMAIL]", text)
    text = mask_names_and_ids(text)
    digits = _ASCII_DIGIT.search(text) is not None
    if not digits:
        return mask_addresses(text)
    text = ID_CARD.sub(lambda m: "[ID]" if _id_valid(m.group(0)) else m.group(0), text)

    def card(m: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", m.group(0))
        return "[CARD]" if 16 <= len(digits) <= 19 and _luhn(digits) else m.group(0)

    text = BANK_CARD.sub(card, text)
    text = MOBILE.sub("[PHONE]", text)
    text = LANDLINE.sub("[PHONE]", text)
    text = mask_addresses(text)
    text = EN_ADDRESS.sub("[ADDRESS]", text)
    return EN_UNIT.sub("[ADDRESS]", text)


@component("pii", assigns=["masked_text"])
def pii(doc: FeedbackDoc) -> FeedbackDoc:
    # Full-width digits are folded first so "１３８..." is caught too; the rest of the original is kept.
    from voxloop_nlp.components.normalize import to_half_width

    doc.masked_text = mask_pii(
        to_half_width(doc.text) if any("\uff10" <= c <= "\uff19" for c in doc.text) else doc.text
    )
    return doc
