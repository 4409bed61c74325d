"""The inspector's HTTP side: the page and its assets, their headers, and what stays behind auth."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from proxy.routes.ui import UI_DIR

ADMIN_KEY = "sk-admin-0123456789"


def test_page_is_served_with_a_strict_csp(proxy):
    response = httpx.get(proxy.url + "/ui")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<script src="/ui/app.js"' in response.text


@pytest.mark.parametrize(
    ("asset", "kind"), [("app.js", "text/javascript"), ("app.css", "text/css")]
)
def test_assets_are_served_from_the_package(proxy, asset, kind):
    response = httpx.get(f"{proxy.url}/ui/{asset}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(kind)
    assert "content-security-policy" in response.headers
    assert response.content == (UI_DIR / asset).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/ui/nope.js",
        "/ui/index.html.bak",
        "/ui/..%2Fapp.py",
        "/ui/%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/ui/.hidden.js",
    ],
)
def test_unknown_or_escaping_assets_are_404(proxy, path):
    response = httpx.get(proxy.url + path)
    assert response.status_code == 404
    assert "error" in response.json()


def test_trailing_slash_redirects(proxy):
    response = httpx.get(proxy.url + "/ui/", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/ui"


def test_page_is_open_but_the_api_it_calls_needs_the_key(make_proxy):
    secured = make_proxy({"auth": {"keys": [{"key": ADMIN_KEY, "tenant": "acme", "admin": True}]}})
    assert httpx.get(secured.url + "/ui").status_code == 200
    assert httpx.get(secured.url + "/ui/app.js").status_code == 200
    assert httpx.get(secured.url + "/v1/users").status_code == 401
    answer = httpx.get(secured.url + "/v1/users", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert answer.status_code == 200


def test_no_inline_script_style_or_handlers_in_the_page():
    html = (UI_DIR / "index.html").read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), "inline script"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"\sstyle\s*=", html), "inline style attribute"
    assert "<style" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "external asset"


def test_script_never_writes_html():
    source = (UI_DIR / "app.js").read_text()
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        'setAttribute("style"',
    ):
        assert sink not in source, sink


def test_every_shipped_file_is_package_data():
    shipped = sorted(p.name for p in Path(UI_DIR).iterdir() if p.is_file())
    assert shipped == ["app.css", "app.js", "experiment.js", "index.html"]


def test_inspector_calls_need_an_admin_key(make_proxy):
    from tests.proxy.test_auth import KEYS

    proxy = make_proxy(KEYS)
    inspector = {"X-Selfmodel-Inspector": "1"}
    app_key = httpx.get(
        proxy.url + "/v1/users",
        headers={**inspector, "Authorization": "Bearer sk-acme-app-0123456"},
    )
    assert app_key.status_code == 403 and app_key.json()["error"]["code"] == "admin_required"
    admin = httpx.get(
        proxy.url + "/v1/users",
        headers={**inspector, "Authorization": "Bearer sk-admin-0123456789"},
    )
    assert admin.status_code == 200
    # Scripts keep using their tenant's key on the same API.
    assert (
        httpx.get(
            proxy.url + "/v1/users", headers={"Authorization": "Bearer sk-acme-app-0123456"}
        ).status_code
        == 200
    )
