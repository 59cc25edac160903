"""The one masking rule (voxloop.accounts.privacy): the same value is masked the same way everywhere."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from voxloop.accounts import privacy
from voxloop.accounts.models import Role, User


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13800138000", "138****00"),
        ("li.wei@example.com", "l***@example.com"),
        ("12345", "****"),  # short values are hidden whole (the API used to keep the first character)
        ("123456", "****"),
        ("wx_zhang_88", "wx_****88"),
    ],
)
def test_contacts_are_masked_by_one_rule_for_pages_and_the_api(value, masked):
    viewer = User(username="v", role=Role.VIEWER)
    page = Template("{% load voxloop %}{{ value|mask_contact:user }}").render(Context({"value": value, "user": viewer}))
    assert privacy.mask_contact(value) == privacy.contact_for(value, viewer) == page == masked
    assert privacy.contact_for(value, User(username="a", role=Role.AGENT)) == value


def test_names_keep_only_their_first_character():
    assert [privacy.mask_name(n) for n in ("张三", "欧阳娜娜", "Li Wei", "")] == ["张**", "欧**", "L**", ""]


def test_payload_values_are_masked_by_what_their_key_names():
    masked = privacy.mask_payload(
        {
            "手机": "13912345678",
            "客户姓名": "王小明",
            "收货地址": "北京市朝阳区建国路88号",
            "text": "王小明说：电话13912345678，邮箱wang@example.com",
            "product_name": "空调",
            "rating": 2,
            "items": [{"email": "wang@example.com"}],
        },
        known=["王小明"],
    )
    assert masked == {
        "手机": "139****78",
        "客户姓名": "王**",
        "收货地址": "[ADDRESS]",
        "text": "[NAME]说：电话[PHONE]，邮箱[EMAIL]",
        "product_name": "空调",
        "rating": 2,
        "items": [{"email": "w***@example.com"}],
    }


def test_full_width_digits_in_text_are_a_phone_number_too():
    assert privacy.mask_text("我的手机１３８００１３８０００") == "我的手机[PHONE]"


def test_addresses_in_free_text_are_masked_for_roles_without_the_right():
    text = "快递没送到，地址：杭州市西湖区文三路，幸福小区5栋2单元301"
    viewer = User(username="v", role=Role.VIEWER)
    assert privacy.text_for(text, viewer) == "快递没送到，地址：[ADDRESS]，[ADDRESS]"
    assert privacy.mask_payload({"备注": text})["备注"] == "快递没送到，地址：[ADDRESS]，[ADDRESS]"
    assert privacy.text_for(text, User(username="a", role=Role.AGENT)) == text
