import pytest

from voxloop_nlp.components.language import detect_language
from voxloop_nlp.components.normalize import normalize_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("快递太慢了，等了一个星期", "zh"),
        ("這家店的服務態度非常好，下次還會再來", "zh-Hant"),
        ("The delivery was late and the box was damaged", "en"),
        ("客服说 the refund will be processed in three days 但是到现在还没有", "mixed"),
        ("iPhone 屏幕坏了", "zh"),
        ("配達が遅すぎます", "other"),
        ("배송이 너무 늦어요", "other"),
        ("Доставка опоздала", "other"),
        ("Excellent!!", "en"),
        ("Le service est très lent et la livraison pas arrivée", "other"),
        ("El producto llegó roto, muy mal servicio", "other"),
    ],
)
def test_language(text, expected):
    assert detect_language(text, normalize_text(text)) == expected
