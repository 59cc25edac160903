"""What a customer meets without logging in: their language on error pages, a rating that says what it means."""

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


PAGE_NOT_FOUND = {"zh-hans": "找不到页面", "en": "Page not found"}
SURVEY_NOT_FOUND = {"zh-hans": "问卷不可用", "en": "Survey not available"}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(
    ("url", "titles"),
    [("/t/not-a-real-token/", PAGE_NOT_FOUND), ("/f/no-such-page/", PAGE_NOT_FOUND),
     ("/s/o/not-a-real-token/", SURVEY_NOT_FOUND)],
)  # fmt: skip
def test_a_bad_link_gives_a_page_in_the_customers_language(url, titles, language):
    title, foreign = titles[language], titles["en" if language == "zh-hans" else "zh-hans"]
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 404
    assert title in page and foreign not in page
    assert "Not Found" not in page  # Django's bare English page
    assert f'lang="{language}"' in page.lower()  # the page says its language (screen readers, fonts)


@pytest.mark.parametrize(
    ("language", "words"),
    [("zh-hans", ["非常不满意", "不满意", "一般", "满意", "非常满意"]),
     ("en", ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"])],
)  # fmt: skip
def test_the_feedback_form_rating_names_each_point(language, words):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = client.get("/f/").content.decode()
    for number, word in enumerate(words, start=1):
        assert (
            f'<input type="radio" name="rating" value="{number}"><span class="rating-number">{number}</span>'
            f'<span class="rating-words">{word}</span>' in page
        )
