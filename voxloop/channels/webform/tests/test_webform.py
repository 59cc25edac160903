import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from voxloop.feedback.models import Feedback

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()


def test_anyone_can_send_feedback_without_logging_in(client):
    response = client.post(reverse("webform:form"), {"text": "网站结账很卡", "rating": "2", "phone": "13800000001",
                                                    "submission_id": "abc123"})  # fmt: skip
    assert response.status_code == 200
    item = Feedback.objects.get()
    assert (item.channel, item.text, item.rating, item.customer.phone) == ("webform", "网站结账很卡", 2, "13800000001")


def test_double_submit_stores_one_item(client):
    for _ in range(2):
        client.post(reverse("webform:form"), {"text": "重复提交", "submission_id": "same-id"})
    assert Feedback.objects.count() == 1


def test_honeypot_submission_is_not_stored(client):
    response = client.post(
        reverse("webform:form"), {"text": "cheap pills", "website": "http://spam", "submission_id": "x"}
    )
    assert response.status_code == 200
    assert Feedback.objects.count() == 0


def test_empty_feedback_gets_a_clear_message_and_keeps_input(client):
    response = client.post(reverse("webform:form"), {"text": " ", "customer_name": "小王", "submission_id": "y"},
                           HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert response.status_code == 400
    assert "Please write your feedback" in response.content.decode()
    assert "小王" in response.content.decode()


def test_rate_limit_refuses_a_flood(client, settings):
    settings.WEBFORM_RATE = "3/m"
    codes = [client.post(reverse("webform:form"), {"text": f"第{i}条", "submission_id": f"s{i}"}).status_code
             for i in range(5)]  # fmt: skip
    assert codes == [200, 200, 200, 429, 429]
    assert Feedback.objects.count() == 3


def test_embed_page_may_be_framed_but_the_normal_page_may_not(client):
    assert "X-Frame-Options" not in client.get(reverse("webform:embed")).headers
    assert client.get(reverse("webform:form")).headers["X-Frame-Options"] == "SAMEORIGIN"


@pytest.mark.parametrize("rating", ["99", "0", "6", "2.5", "-1", "五"])
def test_a_rating_outside_one_to_five_stars_is_refused_clearly(client, rating):
    # The form shows 1-5 stars; a hand-made POST with 99 was stored as 99 of 100 (issue 15.15).
    response = client.post(reverse("webform:form"), {"text": "还行", "rating": rating, "submission_id": "r"},
                           HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert response.status_code == 400
    assert "Choose from 1 to 5 stars" in response.content.decode()
    assert not Feedback.objects.exists()


def test_a_five_star_rating_is_stored_on_a_scale_of_five(client):
    client.post(reverse("webform:form"), {"text": "很好", "rating": "5", "submission_id": "r5"})
    assert (Feedback.objects.get().rating, Feedback.objects.get().rating_scale) == (5, 5)


def test_nul_characters_are_removed_with_a_record_of_it(client):
    response = client.post(
        reverse("webform:form"), {"text": "好\x00评", "customer_name": "小\x00王", "submission_id": "n"}
    )
    assert response.status_code == 200
    item = Feedback.objects.get()
    assert (item.text, item.contact_name) == ("好评", "小王")
    assert item.raw_payload["text"] == "好评"
    assert item.raw_payload["_voxloop"] == {"nul_removed_from": ["text", "customer_name"]}


def test_thank_you_page_shows_the_case_number_and_tracking_link(client, django_capture_on_commit_callbacks, settings):
    settings.ANALYZE_ON_INGEST = True  # the whole hand-off: analysis, rules, the case
    from voxloop.cases.models import Case

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("webform:form"),
            {"text": "快递丢了三次，客服一直不回复，太差了，我要投诉到12315！", "phone": "13800000002",
             "submission_id": "case-opening"}, HTTP_ACCEPT_LANGUAGE="en",
        )  # fmt: skip
    assert response.status_code == 200
    case = Case.objects.get(feedback_links__feedback__text__startswith="快递丢了三次")
    # the page was rendered before the case existed: it asks again, and the answer names the case
    poll_url = re.search(r'hx-get="([^"]+)"', response.content.decode()).group(1)
    html = client.get(poll_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"opened case {case.number}" in html
    assert case.tracking_token in html
    assert 'hx-trigger="every 3s"' not in html  # found: no more asking
    zh = client.get(poll_url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"创建了工单 {case.number}" in zh and "查看工单进度" in zh


def test_thank_you_page_asks_again_while_the_case_is_not_there_yet(client):
    response = client.post(reverse("webform:form"), {"text": "网站很好用，谢谢", "submission_id": "praise"},
                           HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    html = response.content.decode()
    assert "We have received your feedback." in html
    assert "opened case" not in html
    assert 'hx-trigger="every 3s"' in html


def test_a_forged_thank_you_link_tells_nothing(client):
    response = client.get(reverse("webform:thanks", args=["1:forged"]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "opened case" not in response.content.decode()
