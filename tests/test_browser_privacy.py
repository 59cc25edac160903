"""A data-subject request in a real headless Chromium, in Chinese and in English: import a file, find the person,
export their data, erase them with a second administrator approving, import the same file again and see them
stay erased."""

import io
import zipfile
from pathlib import Path

import pytest

from voxloop.accounts.models import Role, User
from voxloop.feedback.models import Customer, Feedback
from voxloop.privacy.models import DataSubjectRequest, RequestState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
PHONE = "13912345678"


def _import(page, live_server, path: Path) -> None:
    page.goto(f"{live_server.url}/imports/new/")
    page.set_input_files("input[name=file]", str(path))
    page.select_option("select[name=channel]", "review")
    page.fill("input[name=source]", "shop-reviews")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("form.mapping-form")
    page.click("form.mapping-form button[type=submit]")
    page.wait_for_selector("[data-status=completed]")


def _count(page, place: str) -> str:
    return page.locator(f"table.places tr[data-place={place}] td.count").inner_text()


LABELS = {
    "zh-hans": {"nav": "隐私请求", "find": "查找个人", "new": "新建请求", "places": "此人的数据存放位置", "readme": "说明"},
    "en": {"nav": "Privacy requests", "find": "Find a person", "new": "New request",
           "places": "Where this person's data lives", "readme": "README"},
}  # fmt: skip


def _language(page, live_server, language: str) -> None:
    # The language chosen in the top bar is kept in Django's language cookie.
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_find_export_erase_and_reimport(login_page, admin_user, live_server, tmp_path, language):
    labels = LABELS[language]
    path = tmp_path / "评价.csv"
    path.write_text(
        "评价ID,评价内容,评价时间,手机,姓名\n"
        f"T1,物流太慢，打我电话{PHONE},2025-03-05 10:00,{PHONE},韩梅梅\n"
        f"T2,包装破损,2025-03-06 11:00,{PHONE},韩梅梅\n"
        "T3,客服很好,2025-03-06 12:00,13800000000,李雷\n",
        encoding="utf-8",
    )
    page = login_page(admin_user)
    _language(page, live_server, language)
    _import(page, live_server, path)
    assert Feedback.objects.filter(contact_phone=PHONE).count() == 2

    # Find the person from the navigation.
    page.goto(f"{live_server.url}/feedback/")
    page.click("nav.mainnav details[data-menu=settings] > summary")  # the top bar's settings menu
    page.click(f"nav.mainnav >> text={labels['nav']}")
    page.click(f"#privacy-nav >> text={labels['find']}")
    page.fill("#finder-form input[name=phone]", PHONE)
    page.click("#finder-form button[type=submit]")
    page.wait_for_selector("table.places")
    assert _count(page, "feedback") == "2"
    assert _count(page, "customers") == "1"
    assert labels["places"] in page.inner_text("main")

    # Log the request, check the identity, export.
    page.click(f"#privacy-nav >> text={labels['new']}")
    page.select_option("#request-form select[name=kind]", "deletion")
    page.fill("#request-form input[name=phone]", PHONE)
    page.fill("#request-form input[name=received_via]", "邮件")
    page.click("#request-form button[type=submit]")
    page.wait_for_selector("#identity-step")
    page.fill("#identity-step input[name=method]", "向登记手机号发送短信验证码")
    page.click("#identity-step button[type=submit]")
    page.wait_for_selector("#export-step")
    with page.expect_download() as download:
        page.click("#export-link")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert "物流太慢" in archive.read("feedback.csv").decode("utf-8-sig")
    assert labels["readme"] in archive.read("README.txt").decode()

    # Ask for the erasure without keeping the feedback; the same administrator cannot approve it.
    page.uncheck("#erasure-step input[name=keep_feedback]")
    page.click("#ask-erasure")
    page.wait_for_selector("#needs-second-admin")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"privacy-request-{language}.png"), full_page=True)

    # A second administrator approves.
    second = User.objects.create_user(username="bob-admin", password="pw-for-tests", role=Role.ADMIN)
    request = DataSubjectRequest.objects.get()
    page.context.clear_cookies()
    page = login_page(second)
    _language(page, live_server, language)
    page.goto(f"{live_server.url}/privacy/{request.pk}/")
    page.click("#approve-erasure")
    page.wait_for_selector("table#erased")
    assert page.locator("dd.state").get_attribute("data-state") == RequestState.COMPLETED
    assert not Feedback.objects.filter(contact_phone=PHONE).exists()
    assert not Customer.objects.filter(phone=PHONE).exists()

    # The same file again: the person stays erased; the other customer is imported as before.
    _import(page, live_server, path)
    assert page.locator("dd.accepted").inner_text() == "2"  # T3 is a duplicate of the first import
    assert not Feedback.objects.filter(contact_phone=PHONE).exists()
    assert not Customer.objects.filter(phone=PHONE).exists()
    assert all(PHONE not in f.text and f.customer_id is None for f in Feedback.objects.exclude(external_id="T3"))
    page.goto(f"{live_server.url}/privacy/find/?phone={PHONE}")
    assert _count(page, "feedback") == "0"
    assert _count(page, "customers") == "0"
