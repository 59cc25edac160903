import voxloop_nlp
from voxloop_nlp.components.urgency import urgency_of


def test_safety_is_urgent_with_reason():
    a = voxloop_nlp.analyze("充电器充电的时候起火了，孩子差点受伤")
    assert a.urgency_level == "urgent"
    assert "safety:起火" in a.urgency_reasons
    assert "safety:受伤" in a.urgency_reasons


def test_regulator_and_media_threats_are_urgent():
    level, reasons = urgency_of("再不处理我就投诉到12315，还要找媒体曝光", [], 0.0)
    assert level == "urgent"
    assert {r.split(":")[0] for r in reasons} >= {"legal", "media"}


def test_churn_is_important():
    level, reasons = urgency_of("i will cancel my subscription", [], -0.3)
    assert level == "important"
    assert reasons == ["churn:cancel"]


def test_negated_hazard_does_not_count():
    level, reasons = urgency_of("用了一年没有漏电，很安全", [], 0.8)
    assert level == "normal"
    assert reasons == []


def test_repeated_contact_and_strong_emotion():
    a = voxloop_nlp.analyze("这已经是第三次打电话了，问题还是没解决，非常生气")
    assert a.urgency_level in {"important", "urgent"}
    kinds = {r.split(":")[0] for r in a.urgency_reasons}
    assert {"repeated_contact", "strong_negative_emotion"} <= kinds


def test_ordinary_feedback_is_normal():
    assert voxloop_nlp.analyze("东西收到了，挺好的").urgency_level == "normal"
