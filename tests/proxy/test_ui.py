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


def _wait_jobs_idle(proxy: Any, timeout: float = 30.0) -> dict[str, int]:
    import time

    outbox = proxy.state.memory.outbox
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = outbox.counts()
        if not counts.get("pending") and not counts.get("running"):
            return counts
        time.sleep(0.05)
    raise AssertionError(f"outbox did not drain: {outbox.counts()}")


def test_audit_record_shows_the_turn_and_what_was_learned_linked_both_ways(
    make_proxy, upstream, page
):
    proxy = make_proxy()
    with api(proxy.url) as http:
        chat = http.post(
            "/v1/chat/completions",
            json={
                "model": MODEL,
                "user": USER,
                "messages": [{"role": "user", "content": "I am vegetarian."}],
            },
        )
        request_id = chat.headers["x-selfmodel-request-id"]
    _wait_jobs_idle(proxy)

    page.goto(f"{proxy.url}/ui#/audit/{request_id}")
    page.locator("#turn-user").wait_for()
    assert page.locator("#turn-user").text_content() == "I am vegetarian."
    assert page.locator("#turn-reply").text_content() == "Hello from the fake upstream."
    row = page.locator("#learned-table tbody tr").first
    row.wait_for()
    assert row.get_attribute("data-event") == "created"
    assert "added" in row.inner_text() and "vegetarian" in row.inner_text().lower()
    assert "done" in page.locator("#learned-jobs").inner_text()
    # to the belief, whose evidence links back to this record
    row.locator("a").first.click()
    page.locator("#belief-evidence").wait_for()
    back = page.locator(f"#belief-evidence a[href='#/audit/{request_id}']")
    assert back.count() == 1
    back.click()
    page.locator("#turn-user").wait_for()
    # to the job
    page.locator("#learned-jobs a.job-link").click()
    page.locator("#jobs-table").wait_for()
    rows = page.locator("#jobs-table tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-state") == "done"
    assert page.locator(f"#jobs-table a[href='#/audit/{request_id}']").count() == 1


def test_jobs_view_lists_dead_letters_and_retries_them(make_proxy, upstream, page):
    from playwright.sync_api import expect

    proxy = make_proxy({"extraction": {"mode": "llm", "model": MODEL}})
    upstream.extraction_replies.append("I think the user likes {tea, coffee")
    with api(proxy.url) as http:
        http.post(
            "/v1/chat/completions",
            json={
                "model": MODEL,
                "user": USER,
                "messages": [{"role": "user", "content": "I like tea. Which kettle should I buy?"}],
            },
        )
    assert _wait_jobs_idle(proxy) == {"dead": 1}
    page.goto(f"{proxy.url}/ui#/jobs")
    dead = page.locator("#jobs-table tbody tr[data-state=dead]")
    expect(dead).to_have_count(1)
    assert "not valid JSON" in dead.first.inner_text()
    dead.first.locator("button[data-retry]").click()
    expect(page.locator("#toast")).to_have_text("Retried 1 job.")
    assert _wait_jobs_idle(proxy) == {"done": 1}
    page.goto(f"{proxy.url}/ui#/jobs?state=all")
    expect(page.locator("#jobs-table tbody tr[data-state=done]")).to_have_count(1)
    page.goto(f"{proxy.url}/ui#/jobs")
    expect(page.locator(".empty")).to_contain_text("No dead letters")
    assert page.locator("#retry-dead").is_disabled()


def test_preview_add_a_belief_and_page_beliefs(make_proxy, upstream, page):
    from playwright.sync_api import expect

    proxy = make_proxy(workers=False)
    with api(proxy.url) as http:
        seed(http)
    page.goto(f"{proxy.url}/ui#/users/{USER}?per=2")
    page.locator(".belief-row").first.wait_for()
    # the server pages the list: 2 of 3 active beliefs, then the last one
    expect(page.locator(".belief-row")).to_have_count(2)
    pager = page.locator("#beliefs-pager")
    assert "1–2 of 3" in pager.inner_text()
    pager.get_by_role("button", name="Next").click()
    expect(page.locator(".belief-row")).to_have_count(1)
    assert "3–3 of 3" in pager.inner_text()

    # preview what a question would get
    page.fill("#preview-message", "Suggest a dinner recipe")
    page.click("#preview-run")
    page.locator("#preview-rendered").wait_for()
    assert "Is vegetarian" in page.locator("#preview-rendered").text_content()
    assert "Is vegetarian" in page.locator("#preview-beliefs").inner_text()

    # add a belief
    page.click("#add-belief")
    page.fill("#new-statement", "Lives in Lyon")
    page.fill("#new-context", "constraints")
    page.click("#new-save")
    page.locator("#belief-statement", has_text="Lives in Lyon").wait_for()
    assert page.locator("#toast").inner_text() == "Belief added."
    with api(proxy.url) as http:
        listed = http.get(f"/v1/users/{USER}/beliefs").json()
    assert "Lives in Lyon" in [b["statement"] for b in listed["data"]]
    # a bad context is the server's clear error, shown in the form
    page.click("#add-belief")
    page.fill("#new-statement", "Something")
    page.fill("#new-context", "hobbies")
    page.click("#new-save")
    expect(page.locator("#new-error")).to_contain_text("hobbies")


def test_forgotten_users_rows_show_no_tokens_and_the_tenant_note(make_proxy, upstream, page):
    proxy = make_proxy(workers=False)
    with api(proxy.url) as http:
        ids = seed(http)
        assert http.get(f"/v1/audit/{ids['request']}").json()["tokens"] > 0
        assert http.delete(f"/v1/users/{USER}").status_code == 200
    page.goto(f"{proxy.url}/ui#/audit")
    row = page.locator(f"#audit-table tr[data-request='{ids['request']}']")
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    assert cells[2] == "[forgotten]" and cells[5] == "0" and cells[6] == "0"
    page.click("#key-button")
    assert "tenant default" in page.locator("#tenant-note").inner_text().replace("\n", " ")
