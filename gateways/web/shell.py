"""What every page shares: who is looking, the navigation's counts and banner, form posts.

A page that needs reading rights sends a visitor without them to the sign-in form; a POST
is taken only with the session's CSRF token, and an act only from a visitor who may act.
A form posted by the page's script (`X-Requested-With: fetch`) is answered with a short JSON
message; a plain form post with a redirect back, the message in the URL.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from gateways.api.bodies import read_bytes
from gateways.api.dependencies import ApiDependencies
from gateways.api.errors import ApiError
from gateways.slack.actions import duration_label
from gateways.web.issue_source import IssueSource
from gateways.web.session import Sessions, Visitor
from gateways.web.templating import render

BANNER_ISSUES = 3


class SignInNeeded(Exception):
    """The page needs a session that may read; the visitor goes to the sign-in form."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


@dataclass(frozen=True)
class Form:
    fields: dict[str, list[str]]

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0].strip() if values else default

    def all(self, name: str) -> list[str]:
        return [value.strip() for value in self.fields.get(name, [])]


@dataclass(frozen=True)
class Web:
    deps: ApiDependencies
    sessions: Sessions
    source: IssueSource

    @property
    def silence_choices(self) -> tuple[tuple[str, int], ...]:
        """The durations offered to silence (ALERTFOLD_SILENCE_DURATIONS, as Slack's menu
        offers them): a label and seconds each."""
        return tuple(
            (duration_label(int(d.total_seconds())), int(d.total_seconds()))
            for d in self.deps.silence_durations
        )

    def reader(self, request: Request) -> Visitor:
        visitor = self.sessions.visitor(request)
        if not visitor.may_read:
            raise SignInNeeded(_here(request))
        return visitor

    async def page(
        self,
        request: Request,
        visitor: Visitor,
        template: str,
        status_code: int = 200,
        **context: Any,
    ) -> Response:
        """A page with the navigation's open-issue count and the banner of alarming issues."""
        counts, (alarming, banner) = await asyncio.gather(
            asyncio.to_thread(self.source.counts),
            asyncio.to_thread(self.source.alarming, BANNER_ISSUES),
        )
        return render(
            request,
            self.sessions,
            visitor,
            template,
            status_code,
            open_count=counts.open,
            alarming=alarming,
            banner=banner,
            now=self.deps.clock(),
            keys_configured=self.sessions.keys_configured,
            notice=request.query_params.get("notice", ""),
            **context,
        )

    async def posted(
        self, request: Request, *, reading: bool = True, acting: bool = False
    ) -> tuple[Visitor, Form]:
        """The visitor and form of a POST, once its CSRF token and the visitor's rights
        (to read, unless `reading` is False as for signing in; to act) checked."""
        visitor = self.sessions.visitor(request)
        raw = await read_bytes(request, self.deps.max_body_bytes)
        form = Form(parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True))
        presented = request.headers.get("x-csrf-token") or form.get("csrf")
        if visitor.new_cookie or not self.sessions.csrf_ok(visitor, presented):
            raise ApiError(403, "the form is stale or from elsewhere: reload the page, try again")
        if reading and not visitor.may_read:
            raise SignInNeeded(safe_next(form.get("next")))
        if acting and not visitor.may_act:
            raise ApiError(403, "acting needs a session signed in with an operator key")
        return visitor, form


def answer(request: Request, form: Form, message: str, status_code: int = 200) -> Response:
    """The outcome of a form post: JSON for the page's script, else back to the page."""
    if request.headers.get("x-requested-with") == "fetch":
        return JSONResponse({"message": message}, status_code=status_code)
    path, _, query = safe_next(form.get("next")).partition("?")
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "notice"]
    back = f"{path}?{urlencode([*kept, ('notice', message)])}"
    return RedirectResponse(back, status_code=303)


def safe_next(target: str) -> str:
    """Where to go back to: a page of ours, never another site."""
    if target.startswith("/ui") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ui/"


def _here(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.url.path}{query}"
