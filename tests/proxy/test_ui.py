"""The inspector in a real browser: Playwright driving Debian's chromium, headless.

Data is seeded through the same JSON API scripts use; the page is then driven as a person
would: find a user, open a belief's history, correct it, open an audit record, and check
that hostile text renders as text. Without chromium the tests skip, except under CI, where
a missing browser is a failure (.ci/run installs it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import MODEL

CHROMIUM = os.environ.get("SELFMODEL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ADMIN_KEY = "sk-admin-0123456789"
USER = "ada.lovelace"
XSS = "<img src=x onerror=window.__xss=1><script>window.__xss=1</script>"


def _unavailable() -> str | None:
    if not Path(CHROMIUM).is_file():
        return f"chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _unavailable()
    if reason:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"browser tests cannot run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.csp_errors = []  # type: ignore[attr-defined]
    tab.on(
        "console",
        lambda m: tab.csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield tab
    assert tab.csp_errors == []  # the page itself never trips its own CSP
    context.close()


def api(url: str, key: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=url, headers=headers, timeout=60)


def seed(http: httpx.Client, user: str = USER) -> dict[str, str]:
    ids = {}
    for statement, context in [
        ("Is vegetarian", "constraints"),
        ("Prefers concise answers", "communication_style"),
        ("Senior Python developer", "expertise"),
    ]:
        created = http.post(
            f"/v1/users/{user}/beliefs",
            json={"statement": statement, "context": context, "confidence": 0.8},
        )
        assert created.status_code == 201, created.text
        ids[statement] = created.json()["id"]
    fixed = http.patch(
        f"/v1/users/{user}/beliefs/{ids['Senior Python developer']}", json={"confidence": 0.95}
    )
    assert fixed.status_code == 200, fixed.text
    chat = http.post(
        "/v1/chat/completions",
        json={
            "model": MODEL,
            "user": user,
            "messages": [{"role": "user", "content": "Suggest a dinner recipe"}],
        },
    )
    assert chat.status_code == 200, chat.text
    ids["request"] = chat.headers["x-selfmodel-request-id"]
    return ids


def sign_in(page: Any) -> None:
    dialog = page.locator("#key-dialog")
    dialog.wait_for(state="visible")
    page.fill("#key-input", ADMIN_KEY)
    dialog.locator("button[type=submit]").click()


def test_find_user_open_history_correct_and_audit(make_proxy, upstream, page):
    from playwright.sync_api import expect

    proxy = make_proxy(
        {"auth": {"keys": [{"key": ADMIN_KEY, "tenant": "acme", "admin": True}]}}, workers=False
    )
    with api(proxy.url, ADMIN_KEY) as http:
        ids = seed(http)
        seed(http, "grace.hopper")
        record = http.get(f"/v1/audit/{ids['request']}").json()

    # find the user (the page asks for the key first: auth is on)
    page.goto(proxy.url + "/ui")
    sign_in(page)
    page.locator("#users-table").wait_for()
    page.fill("#user-search", "ada")
    rows = page.locator("#users-table tbody tr")
    expect(rows).to_have_count(1)
    assert rows.first.get_attribute("data-user") == USER
    rows.first.click()
    page.wait_for_url(re.compile(r"#/users/ada\.lovelace$"))
    groups = page.locator(".group")
    groups.first.wait_for()
    assert sorted(groups.evaluate_all("gs => gs.map(g => g.dataset.context)")) == [
        "communication_style",
        "constraints",
        "expertise",
    ]
    assert page.locator("#alignment").is_visible()

    # open a belief: its history timeline, chart and evidence
    page.locator(".belief-row", has_text="Senior Python developer").click()
    page.locator("#belief-timeline").wait_for()
    events = page.locator("#belief-timeline .badge").all_inner_texts()
    assert events == ["corrected", "created"]  # newest first
    assert page.locator("#confidence-chart circle").count() == 3  # two events + now
    assert page.locator("#belief-evidence li").count() == 2

    # correct a belief and see the change
    page.locator(".belief-row", has_text="Is vegetarian").click()
    page.locator("#belief-statement", has_text="Is vegetarian").wait_for()
    page.click("#correct-belief")
    page.fill("#correct-statement", "Is vegan")
    page.click("#correct-ok")
    page.locator("#belief-statement", has_text="Is vegan").wait_for()
    page.locator(".belief-row", has_text="Is vegan").wait_for()
    assert page.locator(".belief-row", has_text="Is vegetarian").count() == 0
    assert "superseded" in page.locator("#belief-timeline").inner_text()
    assert page.locator("#toast").inner_text().startswith("Correction recorded")
    with api(proxy.url, ADMIN_KEY) as http:
        old = http.get(f"/v1/users/{USER}/beliefs/{ids['Is vegetarian']}").json()
        assert old["status"] == "superseded"
        assert old["history"][-1]["actor"] == "user"
        new = http.get(f"/v1/users/{USER}/beliefs/{old['superseded_by']}").json()
        assert new["statement"] == "Is vegan" and new["source"] == "corrected"

    # open an audit record and see the injected text, exactly
    page.click("[data-nav=audit]")
    page.locator("#audit-table").wait_for()
    page.locator(f"#audit-table tr[data-request='{ids['request']}']").click()
    rendered = page.locator("#rendered-text")
    rendered.wait_for()
    assert record["rendered"] and "Is vegetarian" in record["rendered"]
    assert rendered.text_content() == record["rendered"]
    assert page.locator("#injected-table tbody tr").count() == len(record["injected"])
    assert page.locator("#latency").is_visible()


def test_audit_filters_and_pages(make_proxy, upstream, page):
    proxy = make_proxy(workers=False)
    with api(proxy.url) as http:
        for i in range(7):
            http.post(
                "/v1/chat/completions",
                json={
                    "model": MODEL,
                    "user": "pager" if i % 2 else "other",
                    "messages": [{"role": "user", "content": f"hello {i}"}],
                },
            )
    page.goto(proxy.url + "/ui#/audit?user=pager")
    page.locator("#audit-table").wait_for()
    users = page.locator("#audit-table tbody tr td:nth-child(3)").all_inner_texts()
    assert users == ["pager"] * 3
    page.goto(proxy.url + "/ui#/audit")
    page.locator("#audit-table").wait_for()
    assert page.locator("#audit-table tbody tr").count() == 7


def test_hostile_text_renders_as_text(make_proxy, upstream, page):
    proxy = make_proxy(workers=False)
    with api(proxy.url) as http:
        created = http.post(
            f"/v1/users/{USER}/beliefs", json={"statement": XSS, "context": "preferences"}
        ).json()
        chat = http.post(
            "/v1/chat/completions",
            json={"model": MODEL, "user": USER, "messages": [{"role": "user", "content": XSS}]},
        )
        request_id = chat.headers["x-selfmodel-request-id"]
        rendered = http.get(f"/v1/audit/{request_id}").json()["rendered"]
    statement = created["statement"]
    assert "<script>" in statement  # stored as given: the page must escape it

    page.goto(f"{proxy.url}/ui#/users/{USER}/beliefs/{created['id']}")
    row = page.locator(".belief-row .belief-statement").first
    row.wait_for()
    assert row.text_content() == statement
    assert page.locator("#belief-statement").text_content() == statement
    page.goto(f"{proxy.url}/ui#/audit/{request_id}")
    page.locator("#rendered-text").wait_for()
    assert page.locator("#rendered-text").text_content() == rendered  # the renderer's own escaping
    assert page.locator("#injected-table").text_content().count(statement) == 1
    page.wait_for_timeout(300)  # give any injected handler a chance to run
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("#view img, #drawer img, #view script, #drawer script").count() == 0


def test_retract_and_forget_ask_for_confirmation(make_proxy, upstream, page):
    from playwright.sync_api import expect

    proxy = make_proxy(workers=False)
    with api(proxy.url) as http:
        ids = seed(http)
    page.goto(f"{proxy.url}/ui#/users/{USER}/beliefs/{ids['Prefers concise answers']}")
    page.locator("#belief-timeline").wait_for()
    page.click("#retract-belief")
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.locator("#confirm-dialog [data-close]").click()  # cancel: nothing happens
    expect(page.locator("#confirm-dialog")).to_be_hidden()
    page.click("#retract-belief")
    page.click("#confirm-ok")
    expect(page.locator("#belief-detail .badge").first).to_have_text("retracted")
    expect(page.locator(".belief-row", has_text="Prefers concise answers")).to_have_count(0)

    page.click("#forget-user")
    page.click("#confirm-ok")  # typing the user id is required first
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.fill("#confirm-typed", USER)
    page.click("#confirm-ok")
    page.wait_for_url(re.compile(r"#/users$"))
    expect(page.locator(".empty")).to_be_visible()
    with api(proxy.url) as http:
        assert http.get(f"/v1/users/{USER}/beliefs").status_code == 404
