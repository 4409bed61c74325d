"""Screenshots of the inspector's main screens, for docs/screenshots/ and the README.

Starts the fake upstream and a real proxy on loopback in a temp dir, seeds a realistic
self-model through the JSON API, and drives Debian's chromium with Playwright:

    .venv/bin/python benchmarks/screenshots.py [--out DIR] [--browser /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memory.offline import configure_offline  # noqa: E402

configure_offline()

import httpx  # noqa: E402

from memory.index.embed import LocalEmbedder  # noqa: E402
from proxy.app import create_app  # noqa: E402
from proxy.config import parse_config  # noqa: E402
from tests.conftest import base_config  # noqa: E402
from tests.fake_upstream import FakeUpstream, ServerThread, build_app  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MAIN_USER = "maya.chen"
BELIEFS = [
    ("Prefers concise answers with the code first", "communication_style", 0.8),
    ("Likes a short bullet-point summary at the end", "communication_style", None),
    ("Is vegetarian", "constraints", 0.9),
    ("Allergic to peanuts", "constraints", 0.95),
    ("Lives in Berlin and works on CET", "constraints", None),
    ("Senior backend engineer, mostly Python and Go", "expertise", 0.85),
    ("New to Kubernetes", "expertise", 0.6),
    ("Training for the Berlin half-marathon in April", "goals", 0.7),
    ("Learning Rust in her spare time", "goals", None),
    ("Drinks dark roast coffee, no sugar", "preferences", None),
    ("Uses Neovim as her editor", "preferences", 0.75),
    ("Likes Japanese and Korean food", "preferences", None),
    ("Prefers trains over flights for trips under 6 hours", "preferences", 0.55),
]
OTHER_USERS = {
    "alex.kim": ["Prefers answers in Korean", "Works as a nurse on night shifts"],
    "b.okafor": ["Is lactose intolerant", "Manages a team of five designers"],
    "carla.rossi": ["Studying for the bar exam", "Prefers formal tone"],
    "dev-7731": ["Building a Shopify store for handmade soap"],
    "e.nakamura": ["Owns a Shiba Inu named Kuma", "Avoids spicy food"],
    "frank.m": ["Beginner at chess, rated about 900"],
    "g.silva": ["Teaches high-school physics", "Prefers metric units"],
    "hana.lee": ["Writes mostly TypeScript and React"],
}
CHATS = [
    "Suggest a quick dinner recipe for tonight",
    "How should I structure a Go service that talks to Postgres?",
    "Plan my long run this weekend",
    "What should I read to get started with Kubernetes?",
    "Explain Rust lifetimes briefly",
]


def seed(url: str) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=60) as http:
        ids = {}
        for statement, context, confidence in BELIEFS:
            body = {"statement": statement, "context": context, "source": "stated"}
            if confidence is not None:
                body["confidence"] = confidence
            ids[statement] = http.post(f"/v1/users/{MAIN_USER}/beliefs", json=body).json()["id"]
        for user, statements in OTHER_USERS.items():
            for statement in statements:
                http.post(
                    f"/v1/users/{user}/beliefs",
                    json={"statement": statement, "context": "preferences"},
                )
        obs = [
            ("Training for the Berlin half-marathon: picked the 21 km plan", "goals", 1.0),
            ("Training for the Berlin half-marathon: skipped two long runs", "goals", -0.6),
            ("Training for the Berlin half-marathon: logged a 16 km run", "goals", 1.0),
        ]
        for text, context, weight in obs:
            http.post(
                f"/v1/users/{MAIN_USER}/observations",
                json={"text": text, "context": context, "weight": weight},
            )
        requests = []
        for text in CHATS:
            reply = http.post(
                "/v1/chat/completions",
                json={
                    "model": "gpt-test",
                    "user": MAIN_USER,
                    "messages": [{"role": "user", "content": text}],
                },
            )
            requests.append(reply.headers["x-selfmodel-request-id"])
        for user in list(OTHER_USERS)[:4]:
            http.post(
                "/v1/chat/completions",
                json={
                    "model": "gpt-test",
                    "user": user,
                    "messages": [{"role": "user", "content": "Any tips for today?"}],
                },
            )
        http.post(
            "/v1/chat/completions",
            json={"model": "gpt-test", "messages": [{"role": "user", "content": "ping"}]},
        )
        http.post(
            "/v1/feedback",
            json={"request_id": requests[0], "score": 1, "comment": "great, exactly what I wanted"},
        )
        http.post("/v1/feedback", json={"request_id": requests[2], "score": 0.6})
        http.post(
            "/v1/feedback", json={"request_id": requests[1], "score": -0.4, "comment": "too long"}
        )
        marathon = ids["Training for the Berlin half-marathon in April"]
        http.patch(f"/v1/users/{MAIN_USER}/beliefs/{marathon}", json={"confidence": 0.9})
        http.patch(
            f"/v1/users/{MAIN_USER}/beliefs/{ids['Is vegetarian']}",
            json={"statement": "Is vegan since 2023"},
        )
        http.delete(f"/v1/users/{MAIN_USER}/beliefs/{ids['New to Kubernetes']}")
        return {"marathon": marathon, "request": requests[2]}


def shoot(url: str, out: Path, browser_path: str, seeded: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(url + "/ui#/users")
        page.wait_for_selector("#users-table")
        page.screenshot(path=str(out / "users.png"))
        page.goto(f"{url}/ui#/users/{MAIN_USER}")
        page.wait_for_selector(".belief-row")
        page.wait_for_selector("#alignment")
        page.screenshot(path=str(out / "beliefs.png"))
        page.goto(f"{url}/ui#/users/{MAIN_USER}/beliefs/{seeded['marathon']}")
        page.wait_for_selector("#belief-timeline")
        page.screenshot(path=str(out / "belief-history.png"))
        page.goto(url + "/ui#/audit")
        page.wait_for_selector("#audit-table")
        page.screenshot(path=str(out / "audit.png"))
        page.set_viewport_size({"width": 1440, "height": 1000})
        page.goto(f"{url}/ui#/audit/{seeded['request']}")
        page.wait_for_selector("#rendered-text")
        page.screenshot(path=str(out / "audit-record.png"))
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--browser", default="/usr/bin/chromium")
    args = parser.parse_args()
    upstream = ServerThread(build_app(FakeUpstream())).start()
    with tempfile.TemporaryDirectory() as tmp:
        config = parse_config(base_config(Path(tmp) / "store", upstream.url + "/v1"))
        proxy = ServerThread(create_app(config, embedder=LocalEmbedder())).start()
        try:
            seeded = seed(proxy.url)
            shoot(proxy.url, args.out, args.browser, seeded)
        finally:
            proxy.stop()
            upstream.stop()
    print(f"screenshots written to {args.out}")


if __name__ == "__main__":
    main()
