"""The badge: an SVG a worker's profile, site or signature can embed, the Pro mark while certified."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from procert.i18n import t
from procert.web.badge import EMPTY_SVG, badge_svg, etag
from procert.web.deps import Context
from procert.web.pages import pick_lang
from procert.web.routes.public import fresh_snapshot

router = APIRouter()


@router.head("/badge/{worker_id}.svg", include_in_schema=False)
@router.get(
    "/badge/{worker_id}.svg",
    tags=["badges"],
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {}}, "description": "The badge."},
        304: {"description": "Unchanged."},
    },
)
async def badge(worker_id: str, request: Request, context: Context) -> Response:
    """The worker's badge while certified: the program, the status (or level, in its colour) and the worker's name.
    Anyone else gets an empty image: no Pro text at all. GET and HEAD, cached with an ETag (If-None-Match: 304)."""
    await fresh_snapshot(context)
    card = context.card(worker_id)
    lang = pick_lang(request)
    program = context.program
    if card is None:
        svg = EMPTY_SVG
    elif card.level is not None:  # a program with levels: the level's name and colour
        level = program.level(card.level)
        svg = badge_svg(program.name.get(lang), True, level.name.get(lang), color=level.color, name=card.display_name)
    else:
        svg = badge_svg(program.name.get(lang), True, t("badge_pro", lang), name=card.display_name)
    tag = etag(svg)
    headers = {"ETag": tag, "Cache-Control": "public, max-age=300", "Vary": "Accept-Language"}
    wanted = {value.strip().removeprefix("W/") for value in request.headers.get("if-none-match", "").split(",")}
    if tag in wanted or "*" in wanted:
        return Response(status_code=304, headers=headers)
    return Response(svg, media_type="image/svg+xml", headers=headers)
