"""The inspector's experiment view (proxy/ui/experiment.js) in a real browser."""

from __future__ import annotations

from tests.conftest import MODEL
from tests.proxy.test_ui import ADMIN_KEY, api, browser, page, sign_in  # noqa: F401


def test_experiment_view_shows_both_arms_the_lift_and_a_chart(make_proxy, upstream, page):  # noqa: F811
    from playwright.sync_api import expect

    proxy = make_proxy(
        {
            "auth": {"keys": [{"key": ADMIN_KEY, "tenant": "acme", "admin": True}]},
            "injection": {"holdout": {"percent": 50, "salt": "ui"}},
            "extraction": {"enabled": False},
        },
        workers=False,
    )
    with api(proxy.url, ADMIN_KEY) as http:
        for i in range(12):
            user = f"ui-{i}"
            http.post(
                f"/v1/users/{user}/beliefs",
                json={"statement": "I prefer vegetarian recipes.", "context": "preferences"},
            )
            r = http.post(
                "/v1/chat/completions",
                json={
                    "model": MODEL,
                    "user": user,
                    "messages": [{"role": "user", "content": "What should I cook tonight?"}],
                },
            )
            injected = int(r.headers["x-selfmodel-injected"])
            score = 0.6 + 0.03 * i if injected else -0.2 + 0.03 * i
            http.post(
                "/v1/feedback",
                json={"request_id": r.headers["x-selfmodel-request-id"], "score": score},
            )
        body = http.get("/v1/insights/experiment").json()

    page.goto(proxy.url + "/ui#/experiment")
    sign_in(page)
    table = page.locator("#experiment-table")
    expect(table).to_contain_text("Treatment (injected)")
    users_row = table.locator("tbody tr").first
    expect(users_row).to_contain_text(str(body["arms"]["treatment"]["users"]))
    expect(users_row).to_contain_text(str(body["arms"]["holdout"]["users"]))
    expect(page.locator("#experiment-lift")).to_contain_text(f"{body['lift']['feedback_mean']:.3f}")
    expect(page.locator("#experiment-lift")).to_contain_text("welch_t")
    expect(page.locator(".exp-chart circle.exp-treatment")).to_have_count(1)
    expect(page.locator(".exp-chart circle.exp-holdout")).to_have_count(1)
    expect(page.locator('[data-nav="experiment"]')).to_have_class("nav-item active")
