"""The busiest views called straight from the server, past FastAPI's request machinery.

`GET /issues`, `/issues/counts` and `/issues/{id}` read their parameters themselves and
answer with stored JSON, so FastAPI's routing through every route, its dependency solving
and Starlette's exception middleware were most of what a request cost. This middleware
matches those routes first and calls their endpoints with the request; errors become the
same `{"error": …}` answers the exception handlers give. The routes stay declared in FastAPI
(the OpenAPI document, and any method other than GET, such as HEAD, still goes that way).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateways.api.errors import ApiError

Endpoint = Callable[..., Awaitable[Response]]


def install_direct_routes(app: FastAPI, router: APIRouter, paths: Sequence[str]) -> None:
    """Serve GET on these routes of `router` (included in `app`) directly, tried in the
    order of `paths`."""
    routes = [
        route
        for path in paths
        for route in router.routes
        if isinstance(route, APIRoute) and route.path == path and "GET" in (route.methods or ())
    ]
    if len(routes) != len(paths):
        raise ValueError(f"not every one of {paths} is a GET route of the router")
    app.add_middleware(DirectRoutes, routes=routes)


class DirectRoutes:
    def __init__(self, app: ASGIApp, routes: Sequence[APIRoute]) -> None:
        self.app = app
        self.routes = list(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        for route in self.routes:
            found = route.path_regex.match(scope["path"])
            if found is None:
                continue
            params = {
                name: route.param_convertors[name].convert(value)
                for name, value in found.groupdict().items()
            }
            scope["route"] = route  # for the request metrics, as the router would
            response = await _answer(route.endpoint, Request(scope, receive), params)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _answer(endpoint: Endpoint, request: Request, params: dict[str, Any]) -> Response:
    try:
        return await endpoint(request=request, **params)
    except ApiError as error:
        return JSONResponse(
            {"error": error.message}, status_code=error.status, headers=error.headers
        )
