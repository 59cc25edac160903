"""Inbox, feedback page, customer pages and staff entry, through Django's test client."""

import pytest
from django.urls import reverse

from voxloop.analysis.models import FeedbackTopic
from voxloop.feedback import queries
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Customer, Feedback

pytestmark = pytest.mark.django_db


def add(text, **extra):
    data = {"text": text, "received_at": extra.pop("received_at", "2025-03-05 10:00"), **extra}
    result = ingest_feedback([prepare_feedback(data, channel=extra.get("channel", "review"), source="t")])
    return Feedback.objects.get(pk=result.created[0])


def test_inbox_requires_login(client):
    response = client.get(reverse("feedback:inbox"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_inbox_filters_by_chinese_search_channel_and_date(agent_client):
    add("物流太慢了，等了五天", channel="review", received_at="2025-03-01 10:00")
    add("客服态度很好", channel="hotline", received_at="2025-03-02 10:00")
    add("物流还行", channel="hotline", received_at="2025-04-02 10:00")
    page = agent_client.get(reverse("feedback:inbox"), {"q": "物流", "date_to": "2025-03-31"}).content.decode()
    assert "<mark>物流</mark>太慢了" in page  # found, with the searched word marked
    assert "物流还行" not in page and "客服态度很好" not in page
    page = agent_client.get(reverse("feedback:inbox"), {"channel": "hotline"}).content.decode()
    assert "客服态度很好" in page and "物流太慢了" not in page


def test_inbox_english_search_is_case_insensitive(agent_client):
    add("The Delivery was late")
    assert "The Delivery was late" in agent_client.get(reverse("feedback:inbox"), {"q": "delivery"}).content.decode()


def test_inbox_pages_with_a_cursor(agent_client):
    for i in range(55):
        add(f"第{i:02d}条", received_at=f"2025-03-05 10:{i:02d}")
    first = agent_client.get(reverse("feedback:inbox")).content.decode()
    assert "第54条" in first and "第04条" not in first
    cursor = first.split("before=")[1].split('"')[0].replace("&amp;", "&")
    second = agent_client.get(reverse("feedback:inbox") + "?before=" + cursor).content.decode()
    assert "第04条" in second and "第54条" not in second


def test_script_in_feedback_is_shown_as_text(agent_client):
    item = add('<script>alert("x")</script><img src=x onerror=alert(1)>')
    for url in (reverse("feedback:inbox"), reverse("feedback:detail", args=[item.pk])):
        page = agent_client.get(url).content.decode()
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert" in page


def test_detail_shows_raw_payload_customer_and_history(agent_client):
    first = add("第一次反馈", phone="13800138000", received_at="2025-03-01 10:00")
    second = add("第二次反馈", phone="13800138000")
    page = agent_client.get(reverse("feedback:detail", args=[second.pk])).content.decode()
    assert "第一次反馈" in page  # history
    assert "13800138000" in page  # agents see contact details
    assert reverse("feedback:customer", args=[first.customer_id]) in page
    assert "&quot;phone&quot;" in page or "phone" in page  # raw payload


def test_analyst_sees_masked_contacts(client, analyst):
    item = add("有问题", phone="13800138000", email="li@example.com")
    client.force_login(analyst)
    page = client.get(reverse("feedback:customer", args=[item.customer_id])).content.decode()
    assert "13800138000" not in page and "li@example.com" not in page
    assert "138****00" in page


def test_customer_page_lists_feedback_and_orders(agent_client):
    from voxloop.feedback.records import prepare_order, upsert_orders

    customer = Customer.objects.create(name="赵六", external_id="C9")
    upsert_orders([prepare_order({"order_id": "O9", "customer_id": "C9", "ordered_at": "2025-01-01", "amount": "88"})])
    add("很满意", customer_id="C9")
    page = agent_client.get(reverse("feedback:customer", args=[customer.pk])).content.decode()
    assert "很满意" in page and "O9" in page
    assert "赵六" in agent_client.get(reverse("feedback:customers"), {"q": "赵"}).content.decode()


def test_staff_entry_records_feedback_with_the_author(agent_client, agent):
    response = agent_client.post(
        reverse("feedback:staff_entry"),
        {"channel": "in_person", "text": "顾客说门店空调太冷", "phone": "13911112222", "rating": "3"},
    )
    item = Feedback.objects.get()
    assert response.status_code == 302
    assert item.customer is not None
    assert (item.channel, item.created_by, item.customer.phone) == ("in_person", agent, "13911112222")


def test_staff_entry_with_empty_text_explains_the_problem(agent_client):
    response = agent_client.post(reverse("feedback:staff_entry"), {"channel": "hotline", "text": "  "})
    assert response.status_code == 400
    assert Feedback.objects.count() == 0
    assert "empty" in response.content.decode() or "空" in response.content.decode()


def test_search_gives_the_newest_matches_whether_or_not_they_are_among_the_newest_rows(monkeypatch):
    """A search looks in a window of the newest rows first; the pages must be exactly those of a search
    over everything, for a common term (found in the window) and a rare one (found only beyond it)."""
    from voxloop.feedback import queries

    monkeypatch.setattr(queries, "SEARCH_WINDOW", 4)
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    texts = ["价格太贵", "物流差", "质量好", "物流一般", "物流快", "包装好", "物流慢"]  # oldest first
    for minute, text in enumerate(texts):
        add(text, received_at=f"2025-03-05 10:{minute:02d}")

    def pages(q):
        seen, before = [], ""
        while True:
            page, before = queries.inbox_page(queries.InboxFilters(q=q), before)
            seen.append([item.text for item in page])
            if not before:
                return seen

    assert pages("物流") == [["物流慢", "物流快"], ["物流一般", "物流差"]]
    assert pages("价格") == [["价格太贵"]]
    assert pages("质量 好") == [["质量好"]]


def test_low_rating_filter_uses_the_unhappy_band_of_each_scale():
    # NPS 6/10 and CSAT 2/5 are unhappy; NPS 7/10 and 3/5 are not (voxloop.feedback.bands).
    for text, rating, scale in (("nps six", 6, 10), ("nps seven", 7, 10), ("csat two", 2, 5), ("csat three", 3, 5)):
        add(text, rating=rating, rating_scale=scale)
    low = queries.filter_feedback(queries.InboxFilters(rating="low"))
    assert sorted(low.values_list("text", flat=True)) == ["csat two", "nps six"]


def test_inbox_filters_by_topic_and_its_children_through_the_analysis_topics(agent_client):
    # Feedback never imports analysis: the topics reach the inbox through the directory analysis registers.
    late = add("The parcel came a week late")
    lost = add("The parcel never came")
    rude = add("The agent was rude")
    FeedbackTopic.objects.create(feedback=late, code="logistics", top_code="logistics")
    FeedbackTopic.objects.create(feedback=lost, code="logistics.lost", top_code="logistics")
    FeedbackTopic.objects.create(feedback=rude, code="service", top_code="service")
    page = agent_client.get(reverse("feedback:inbox"), {"topic": "logistics"}, HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert "a week late" in text and "never came" in text and "was rude" not in text
    assert ("logistics", "Logistics and delivery") in page.context["topics"]  # the seeded taxonomy's name


def test_inbox_shows_when_an_item_came_in_in_the_site_time_zone(agent_client, settings):
    # Received at 10:00 in Shanghai (TIME_ZONE), stored as 02:00 UTC: the list says 10:00, as the item's page does.
    settings.TIME_ZONE = "Asia/Shanghai"
    add("几点到的", received_at="2025-03-05 10:00")
    page = agent_client.get(reverse("feedback:inbox")).content.decode()
    assert '<td class="nowrap">2025-03-05 10:00</td>' in page
    assert "2025-03-05 02:00" not in page


def test_inbox_asks_the_database_as_often_for_fifty_rows_as_for_two(agent_client):
    # Each row shows its customer, product and topics: read for the whole page at once, never row by row.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add_items(numbers):
        for i in numbers:
            item = add(f"第{i}条反馈", phone=f"1380013{i:04d}", product_name=f"产品{i}")
            FeedbackTopic.objects.create(feedback=item, code="logistics.slow", top_code="logistics")

    def statements():
        with CaptureQueriesContext(connection) as captured:
            page = agent_client.get(reverse("feedback:inbox")).content.decode()
        return len(captured), page

    add_items(range(2))
    few, page = statements()
    assert page.count('class="inbox-row"') == 2
    add_items(range(2, 50))
    many, page = statements()
    assert page.count('class="inbox-row"') == 50 and "产品49" in page
    assert many == few
