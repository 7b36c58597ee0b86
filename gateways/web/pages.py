"""The web page's routes put together: sign-in, live updates, the pages, the assets.

Served by the API process under `/ui/` (`/` redirects there); every asset ships in the
package, so the page works without the internet.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles

from gateways.api.dependencies import ApiDependencies
from gateways.api.errors import ApiError
from gateways.web.issue_pages import issue_pages
from gateways.web.issue_source import IssueSource, LookupIssueSource
from gateways.web.live import EVERYTHING
from gateways.web.notification_pages import notification_pages
from gateways.web.session import Sessions, SignInRefused
from gateways.web.shell import SignInNeeded, Web, safe_next
from gateways.web.silence_pages import silence_pages
from gateways.web.templating import STATIC_DIR, render

# A comment line now and then keeps proxies from closing a quiet stream.
KEEPALIVE_SECONDS = 15.0


def install_web_page(
    app: FastAPI, deps: ApiDependencies, source: IssueSource | None = None
) -> None:
    web = Web(deps, Sessions(deps.access), source or LookupIssueSource(deps.store))
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    app.include_router(_entry(web))
    app.include_router(issue_pages(web))
    app.include_router(silence_pages(web))
    app.include_router(notification_pages(web))

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, needed: SignInNeeded) -> Response:
        if request.headers.get("x-requested-with") == "fetch":
            return JSONResponse({"error": "signed out: sign in again"}, status_code=401)
        return RedirectResponse(f"/ui/sign-in?next={quote(needed.back_to)}", status_code=303)


def _entry(web: Web) -> APIRouter:
    router = APIRouter(tags=["web page"], default_response_class=HTMLResponse)

    @router.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    @router.get("/ui", include_in_schema=False)
    def ui() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    @router.get("/ui/sign-in", summary="Sign-in form")
    def sign_in_form(request: Request) -> Response:
        """A form that takes a view or operator key (when keys are configured)."""
        visitor = web.sessions.visitor(request)
        return render(
            request,
            web.sessions,
            visitor,
            "sign_in.html",
            next=safe_next(request.query_params.get("next", "")),
            keys_configured=web.sessions.keys_configured,
            problem="",
        )

    @router.post("/ui/sign-in", summary="Sign in with a key")
    async def sign_in(request: Request) -> Response:
        """Starts a session (HttpOnly, SameSite=Strict cookie) for a view or operator key."""
        visitor, form = await web.posted(request, reading=False)
        try:
            cookie = web.sessions.sign_in(form.get("key"))
        except SignInRefused as refused:
            return render(
                request,
                web.sessions,
                visitor,
                "sign_in.html",
                401,
                next=safe_next(form.get("next")),
                keys_configured=web.sessions.keys_configured,
                problem=str(refused),
            )
        response = RedirectResponse(safe_next(form.get("next")), status_code=303)
        web.sessions.set_cookie(response, cookie, request)
        return response

    @router.post("/ui/sign-out", summary="Sign out")
    async def sign_out(request: Request) -> Response:
        await web.posted(request, reading=False)
        response = RedirectResponse("/ui/sign-in", status_code=303)
        web.sessions.clear_cookie(response)
        return response

    @router.get("/ui/events", summary="Live updates (server-sent events)")
    async def events(request: Request) -> Response:
        """`event: issues` with `{"ids": [...]}` whenever issues changed (`"*"`: reload all),
        once the lookup view shows the change."""
        web.reader(request)
        feed = web.deps.issue_feed
        if feed is None:
            raise ApiError(503, "live updates are not available in this process")

        async def stream() -> AsyncIterator[str]:
            async with feed.subscription() as changes:
                yield "retry: 2000\n\n"
                while True:
                    try:
                        ids = await asyncio.wait_for(changes.get(), KEEPALIVE_SECONDS)
                    except TimeoutError:
                        yield ": still here\n\n"
                        continue
                    shown = [EVERYTHING] if EVERYTHING in ids else sorted(ids)
                    yield f"event: issues\ndata: {json.dumps({'ids': shown})}\n\n"

        return _event_stream(stream())

    return router


def _event_stream(stream: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
