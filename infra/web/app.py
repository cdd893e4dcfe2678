"""The site's application: FastAPI, pages rendered on the server, read-only.

What every request gets, whatever the route:
- only GET and HEAD: any other method answers 405 before a route is looked up (`ReadOnly`), so
  no route can ever write to the store;
- a Content-Security-Policy that lets the page load nothing but from this server (and the
  charts' inline SVG): it works with no network, and a value smuggled into a page cannot fetch
  or run anything;
- errors as one plain line: a name the ledger does not hold is a 404, a bad parameter a 400, as
  HTML on a page, as `{"detail": ...}` under `/api/`, as text for a `.csv`; never a traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import LedgerError
from infra.web.frames import Frames
from infra.web.params import BadParam, NotFound, When

HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
log = logging.getLogger("cledger.web")


class ReadOnly:
    """ASGI middleware: GET and HEAD only (HEAD answered as GET without the body), every
    response with the security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            response = PlainTextResponse(
                f"method {method} not allowed: the site is read-only (GET and HEAD only)\n",
                status_code=405,
                headers={"Allow": "GET, HEAD"},
            )
            await response(scope, receive, send)
            return
        head = method == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                message = {**message, "headers": headers}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, secured)


def status_of(err: LedgerError) -> int:
    """404 for a thing the ledger does not hold, 400 for anything else asked wrongly."""
    from projections.audit import UnknownAgreementError
    from projections.briefing import UnknownScopeError
    from projections.names import UnknownNameError

    if isinstance(err, NotFound | UnknownNameError | UnknownAgreementError | UnknownScopeError):
        return 404
    return 400


def one_line(text: str) -> str:
    return " ".join(str(text).split())


class Site:
    """What the routes share: the frames of the store and the templates."""

    def __init__(self, store_url: str) -> None:
        self.frames = Frames(store_url)
        import jinja2

        env = jinja2.Environment(  # every value escaped, in every template
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=True,
        )
        self.templates = Jinja2Templates(env=env)
        self.templates.env.globals["nav"] = NAV

    def page(
        self, request: Request, template: str, when: When, title: str, **context: Any
    ) -> HTMLResponse:
        """A page: the template with the date's banner and form, and `context`."""
        hidden = {
            k: v for k, v in request.query_params.items() if k not in ("as_of", "known_at", "page")
        }
        return self.templates.TemplateResponse(
            request,
            template,
            {
                "when": when,
                "title": title,
                "path": request.url.path,
                "hidden": hidden,
                **context,
            },
        )


NAV = (
    ("/", "Home"),
    ("/agreements", "Agreements"),
    ("/market", "Market"),
    ("/flags", "Flags"),
    ("/pipeline", "Pipeline"),
    ("/providers", "Providers"),
    ("/commissioners", "Commissioners"),
    ("/leads", "Leads"),
)


def create_app(store_url: str) -> FastAPI:
    """The site of the ledger at `store_url` (which must hold one)."""
    from infra.web import api
    from infra.web.pages import agreement, brief, home, lists, market, parties

    app = FastAPI(
        title="Commissioning Ledger",
        description="The ledger's views, read-only: the same views and keys as `cledger ... "
        "--format json`. Every view takes `as_of` (a date) and `known_at` (an ISO timestamp).",
        version="1",
        docs_url=None,  # Swagger UI loads its script from a CDN: the site fetches nothing
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.site = Site(store_url)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (home, brief, agreement, market, lists, parties):
        app.include_router(module.router)
    app.include_router(api.router)
    _errors(app)
    _answers_kept(app)
    app.add_middleware(ReadOnly)
    return app


def _answers_kept(app: FastAPI) -> None:
    """A page, CSV or JSON answered once is answered again from memory until the store
    grows: the ledger only changes by new records, so the same address shows the same thing
    (a page dated today is kept under its date: the frames are read again the next day)."""
    from starlette.concurrency import run_in_threadpool

    @app.middleware("http")
    async def kept(request: Request, call_next: Any) -> Response:
        if request.url.path.startswith("/static/"):
            response: Response = await call_next(request)
            return response
        frames = request.app.state.site.frames
        address = f"{dt.date.today()} {request.url}"
        found = await run_in_threadpool(frames.answer, address)
        if found is not None:
            body, media, headers = found
            return Response(body, status_code=200, media_type=media, headers=headers)
        response = await call_next(request)
        if response.status_code != 200:
            return response
        chunks = response.body_iterator  # type: ignore[attr-defined]
        body = b"".join([chunk async for chunk in chunks])
        headers = {k: v for k, v in response.headers.items() if k.lower() == "content-disposition"}
        frames.keep_answer(
            address, (body, response.media_type or response.headers.get("content-type"), headers)
        )
        return Response(body, status_code=200, headers=dict(response.headers))


def _answer(request: Request, status: int, message: str) -> Response:
    path = request.url.path
    if path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=status)
    if path.endswith(".csv") or path.startswith("/static/"):
        return PlainTextResponse(message + "\n", status_code=status)
    site: Site = request.app.state.site
    try:
        when = When.parse(request.query_params.get("as_of"), request.query_params.get("known_at"))
    except BadParam:
        when = When.parse(None, None)
    response = site.page(request, "error.html", when, "Not found" if status == 404 else "Error",
                         message=message)  # fmt: skip
    response.status_code = status
    return response


def _errors(app: FastAPI) -> None:
    @app.exception_handler(LedgerError)
    async def ledger_error(request: Request, err: LedgerError) -> Response:
        return _answer(request, status_of(err), one_line(str(err)))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, err: RequestValidationError) -> Response:
        first = err.errors()[0] if err.errors() else {}
        where = first.get("loc", ("", "?"))[-1]
        got = first.get("input")
        expected = one_line(first.get("msg", "a valid value")).lower()
        expected = expected.removeprefix("input should be ")
        return _answer(request, 400, f"parameter '{where}' is {got!r}; expected {expected}")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> Response:
        if err.status_code == 404:
            message = f"no page at {request.url.path}; the home page links every page"
        else:
            message = one_line(str(err.detail))
        return _answer(request, err.status_code, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> Response:
        log.exception("unexpected error on %s", request.url)
        return _answer(request, 500, f"the site failed on this request ({type(err).__name__})")
