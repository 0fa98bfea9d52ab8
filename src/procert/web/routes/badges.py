"""The badge: an SVG a worker's profile, site or signature can embed, the Pro mark while certified."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from procert.i18n import t
from procert.web.badge import badge_svg, etag
from procert.web.deps import Context
from procert.web.pages import pick_lang
from procert.web.routes.public import fresh_snapshot

router = APIRouter()


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
    """The worker's badge: the Pro mark while certified, a neutral mark otherwise. Cached with an ETag."""
    await fresh_snapshot(context)
    card = context.card(worker_id)
    lang = pick_lang(request)
    program = context.program
    if card is not None and card.level is not None:  # a program with levels: the level's name and colour
        level = program.level(card.level)
        svg = badge_svg(program.name.get(lang), True, level.name.get(lang), color=level.color)
    else:
        certified = card is not None
        svg = badge_svg(program.name.get(lang), certified, t("badge_pro" if certified else "badge_none", lang))
    tag = etag(svg)
    headers = {"ETag": tag, "Cache-Control": "public, max-age=300", "Vary": "Accept-Language"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(svg, media_type="image/svg+xml", headers=headers)
