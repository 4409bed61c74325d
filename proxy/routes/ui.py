"""The inspector: a static page at /ui that reads and edits the self-model through the JSON API.

The page is plain files shipped in `proxy/ui/` (no build step, no CDN). It is served
openly because a browser cannot send a bearer header when it loads a page: the page
asks for the admin key, keeps it in sessionStorage and sends it on every API call,
and the API enforces auth as it does for scripts. A strict Content-Security-Policy
forbids inline scripts and any origin but our own.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from proxy.errors import NotFound

router = APIRouter(include_in_schema=False)

UI_DIR = Path(__file__).resolve().parent.parent / "ui"
_ASSET = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(js|css|svg|png|ico)$")
_TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
    "ico": "image/x-icon",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-cache",  # revalidate (ETag) so an upgrade never mixes old and new files
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _serve(name: str) -> FileResponse:
    path = UI_DIR / name
    if not path.is_file():
        raise NotFound(f"no inspector asset {name!r}", code="not_found")
    return FileResponse(path, media_type=_TYPES[name.rsplit(".", 1)[1]], headers=_HEADERS)


@router.get("/ui")
async def page() -> FileResponse:
    return _serve("index.html")


@router.get("/ui/")
async def page_slash() -> RedirectResponse:
    return RedirectResponse("/ui", status_code=308)


@router.get("/ui/{asset}")
async def asset(asset: str) -> FileResponse:
    if not _ASSET.match(asset):
        raise NotFound(f"no inspector asset {asset!r}", code="not_found")
    return _serve(asset)
