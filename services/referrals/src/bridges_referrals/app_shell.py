"""The tablet app, served under /app/: the Vite build with the cache rules hashed assets and a
service worker need, client-side routes answered by index.html, and the app's runtime config."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse

from bridges_kit.conditional import none_match
from bridges_kit.cors import origin_of
from bridges_kit.http import router
from bridges_kit.problems import NotFound, Problem

PREFIX = "/app"
PUBLIC = "/public"  # the results for everyone: the app's public page
INDEX = "index.html"
IMMUTABLE = "public, max-age=31536000, immutable"  # assets/ names carry their content's hash
REVALIDATE = "no-cache"  # stored, but asked about each time: a new build shows at once
# One path segment as a build names files: no dotfile, no "..", nothing left percent-encoded,
# and short enough for any file system (a longer name is an OSError, not a missing file).
_SEGMENT = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,199}")
# The types that matter are not left to the host's mime.types (.webmanifest is often missing).
_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
}


class AppNotBuilt(Problem):
    status, title, slug = 404, "App not built", "app-not-built"


@dataclass(frozen=True)
class AppShell:
    """Where the build is (None: not served here) and the config the app reads at start."""

    directory: Path | None
    config: Mapping[str, Any]

    @cached_property  # the config does not change while the service runs
    def content_security_policy(self) -> str:
        """Only this origin's script, styles and workers; the APIs and the OpenID provider the
        config names may be called; nothing may frame the app."""
        oidc = self.config.get("oidc") or {}
        urls = [
            self.config.get(f"{api}_url") for api in ("directory", "referrals", "notifications")
        ]
        apis = sorted(
            {
                origin
                for url in (*urls, oidc.get("authority"))
                if (origin := origin_of(str(url or "")))
            }
        )
        return "; ".join(
            (
                "default-src 'self'",
                "script-src 'self'",
                "style-src 'self'",
                "img-src 'self' data:",
                " ".join(("connect-src 'self'", *apis)),
                "worker-src 'self'",
                "manifest-src 'self'",
                "base-uri 'none'",
                "form-action 'self'",
                "frame-ancestors 'none'",
            )
        )

    def root(self) -> Path:
        """The build directory, or AppNotBuilt."""
        if self.directory is None:
            raise AppNotBuilt(
                "the tablet app is not served here: build it (npm run build in app/) and set "
                "BRIDGES_APP_DIR to its output directory (app/dist)"
            )
        root = self.directory.resolve()
        if not (root / INDEX).is_file():
            raise AppNotBuilt(
                "BRIDGES_APP_DIR holds no index.html: build the app (npm run build in app/)"
            )
        return root

    def locate(self, path: str) -> Path | None:
        """The file answering /app/<path>: the file itself, index.html for what looks like a
        client-side route (no file extension), or None."""
        root = self.root()
        segments = path.removesuffix("/").split("/") if path else [INDEX]
        if not all(_SEGMENT.fullmatch(s) for s in segments):
            return None
        found = root.joinpath(*segments).resolve()  # a symlink out of the build stays out
        if found.is_relative_to(root) and _is_file(found):
            return found
        return None if "." in segments[-1] else root / INDEX


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # e.g. a path too long in all: nothing the build holds
        return False


def _headers(relative: str) -> dict[str, str]:
    # nosniff and the other security headers come from the kit's edge, on every answer
    headers = {"Cache-Control": IMMUTABLE if relative.startswith("assets/") else REVALIDATE}
    if relative == "sw.js":  # the worker lives at /app/sw.js and controls /app/ as a whole
        headers["Service-Worker-Allowed"] = f"{PREFIX}/"
    return headers


def _file(request: Request, shell: AppShell, root: Path, file: Path) -> Response:
    headers = _headers(file.relative_to(root).as_posix())
    if file.suffix == ".html":
        headers["Content-Security-Policy"] = shell.content_security_policy
    response = FileResponse(
        file, headers=headers, media_type=_MEDIA_TYPES.get(file.suffix), stat_result=file.stat()
    )
    if none_match(request.headers.get("if-none-match"), response.headers["etag"]):
        return Response(status_code=304, headers={**headers, "ETag": response.headers["etag"]})
    return response


def routes(shell: AppShell) -> APIRouter:
    """/app, /app/config.json, /app/<path> and /public (not API: left out of the OpenAPI
    schema)."""
    app = router(include_in_schema=False)

    @app.api_route(PREFIX, methods=["GET", "HEAD"])
    def app_root(request: Request) -> Response:
        shell.root()
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{PREFIX}/{query}", status_code=307)

    @app.api_route(PUBLIC, methods=["GET", "HEAD"])
    def public_page() -> Response:
        # the transparency page is the app's, open without signing in
        return RedirectResponse(f"{PREFIX}/#/public", status_code=307)

    @app.api_route(f"{PREFIX}/config.json", methods=["GET", "HEAD"])
    def app_config() -> Response:
        # answered even where this service serves no build: behind the compose reverse proxy
        # the proxy serves the app's files, and only this comes from here
        return JSONResponse(dict(shell.config), headers={"Cache-Control": REVALIDATE})

    @app.api_route(PREFIX + "/{path:path}", methods=["GET", "HEAD"])
    def app_file(request: Request, path: str) -> Response:
        # sync (FastAPI runs it in a thread): it stats files
        file = shell.locate(path)
        if file is None:
            raise NotFound("the app has no such file")
        return _file(request, shell, shell.root(), file)

    return app
