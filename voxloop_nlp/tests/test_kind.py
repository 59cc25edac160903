import pytest

import voxloop_nlp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("客服态度恶劣，我要投诉", "complaint"),
        ("非常好用，感谢客服的耐心", "praise"),
        ("建议增加夜间配送服务", "suggestion"),
        ("请问怎么修改收货地址？", "question"),
        ("How can I change my password?", "question"),
        ("The package was damaged and I want a refund", "complaint"),
    ],
)
def test_kind(text, expected):
    assert voxloop_nlp.analyze(text).kind == expected
