"""How failures become HTTP answers: always `{"error": "…"}`, plus field details when known."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from domain.errors import AlertRejected, DomainError
from gateways.alert_publisher import BrokerUnavailable


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(
            {"error": error.message}, status_code=error.status, headers=error.headers
        )

    @app.exception_handler(AlertRejected)
    async def _rejected(_: Request, error: AlertRejected) -> JSONResponse:
        return JSONResponse({"error": str(error), "problems": error.problems}, status_code=400)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, error: DomainError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=400)

    @app.exception_handler(BrokerUnavailable)
    async def _broker(_: Request, error: BrokerUnavailable) -> JSONResponse:
        return JSONResponse(
            {
                "error": "Kafka did not acknowledge the alerts, so they are not accepted; "
                f"retry later ({error})"
            },
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(RequestValidationError)
    async def _query(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"][1:]), "message": e["msg"]}
            for e in error.errors()
        ]
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        return JSONResponse(
            {"error": f"{first['field']}: {first['message']}", "problems": problems},
            status_code=400,
        )
