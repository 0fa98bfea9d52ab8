"""Render an outbox notification as a mail: subject, plain text and HTML, in the worker's language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from procert.i18n import has_message, t
from procert.ledger import StatusMail, parse_payload

_env = Environment(
    loader=PackageLoader("procert.notify", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    trim_blocks=False,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def render(stored: dict[str, Any], lang: str) -> RenderedMail:
    """The mail for one notification payload (as written by :func:`procert.ledger.enqueue`) in ``lang`` (ja or
    en). Raises pydantic's ValidationError for a payload of no known kind or shape."""
    parsed = parse_payload(stored)
    payload = parsed.model_dump(mode="json", by_alias=False)
    if isinstance(parsed, StatusMail):  # the value with its exact counts, as the CLI's text shows it
        for shown, criterion in zip(payload["criteria"], parsed.criteria, strict=True):
            shown["exact_text"] = criterion.exact_text
    kind = payload["kind"]
    if kind == "newsletter":
        return _render_newsletter(payload, lang)
    if kind == "job_digest":
        return _render_digest(payload, lang)
    if kind == "appeal_answered":
        return _render_appeal(payload, lang)
    if kind == "correction":
        return _render_correction(payload, lang)
    if kind == "leave_recorded":
        return _render_leave(payload, lang)
    level = (payload.get("level") or {}).get(lang) or (payload.get("level") or {}).get("ja")
    previous = (payload.get("previous_level") or {}).get(lang) or (payload.get("previous_level") or {}).get("ja")
    shown = {c["id"]: c for c in payload["criteria"]}
    # "because earnings in the past 3 months were ¥82,000 against ¥100,000": the failed criteria, value by value.
    because = t("mail_list_separator", lang).join(
        t(
            "mail_because",
            lang,
            label=shown[f]["label"],
            value=shown[f]["value_text"],
            threshold=shown[f]["threshold_text"],
        )
        for f in payload.get("failed", [])
        if f in shown
    )
    values = {
        "level": level or "",
        "previous": previous or "",
        "because": because,
        "name": payload.get("display_name") or payload["worker_id"],
        "program": payload["program_name"],
        "as_of": payload["as_of"],
        "next": payload["next_evaluation"],
        "failed": ", ".join(c["label"] for c in payload["criteria"] if c["id"] in payload.get("failed", [])),
        "at_risk": ", ".join(c["label"] for c in payload["criteria"] if c["id"] in payload.get("at_risk", [])),
    }
    lead_key = f"mail_lead_{kind}"
    subject_key = f"mail_subject_{kind}"
    if level or previous:  # a program with levels: the mail names them
        lead_key += "_level" if kind in ("granted", "kept", "lost", "at_risk") else ""
        subject_key += "_level" if kind in ("granted", "kept", "lost", "at_risk") else ""
    if kind == "kept" and payload.get("in_grace"):
        lead_key = "mail_lead_grace"
    if kind == "lost" and payload.get("reason") == "override":
        lead_key = "mail_lead_lost_override"
    if kind == "kept" and payload.get("reason") == "leave":
        lead_key = "mail_lead_kept_leave"
    m = {
        "greeting": t("mail_greeting", lang, **values),
        "lead": t(lead_key, lang, **values),
        "changed": t("mail_changed", lang),
        "takes": t("takes", lang),
        "margin": t("margin", lang),
        "advice": t("advice", lang),
        "next": t("next_evaluation", lang, date=payload["next_evaluation"]),
        "dashboard": t("mail_dashboard", lang),
        "footer": t("mail_footer", lang, **values),
        "col_criterion": t("col_criterion", lang),
        "col_value": t("col_value", lang),
        "col_threshold": t("col_threshold", lang),
        "col_result": t("col_result", lang),
    }
    changed = set(payload.get("changed", [])) | set(payload.get("failed", [])) | set(payload.get("at_risk", []))
    criteria = [
        {**c, "mark": t("pass" if c["passed"] else "fail", lang), "changed": c["id"] in changed}
        for c in payload["criteria"]
    ]
    # Advice for what needs attention: failing or at-risk criteria, else nothing (no lecture for a clean pass).
    advice = [c["advice"] for c in payload["criteria"] if c["id"] in changed and c.get("advice")]
    subject = t(subject_key, lang, **values)
    context = {"m": m, "p": payload, "criteria": criteria, "advice": advice, "lang": lang, "subject": subject}
    return RenderedMail(
        subject=subject,
        text=_env.get_template("mail.txt.j2").render(context),
        html=_env.get_template("mail.html.j2").render(context),
    )


def _render_newsletter(payload: dict[str, Any], lang: str) -> RenderedMail:
    program = payload["program_name"].get(lang) or payload["program_name"]["ja"]
    subject = t("newsletter_subject", lang, program=program, date=payload["issue_date"])
    m = {
        "greeting": t("newsletter_greeting", lang, name=payload.get("name") or ""),
        "lead": t("newsletter_lead", lang, program=program),
        "badge": t("badge_pro", lang),
        "since": t("newsletter_since", lang),
        "jobs": t("newsletter_jobs", lang),
        "directory": t("newsletter_directory", lang),
        "archive": t("newsletter_archive", lang),
        "why": t("newsletter_why", lang),
        "unsubscribe": t("newsletter_unsubscribe", lang),
    }
    context = {"m": m, "p": payload, "lang": lang, "subject": subject}
    return RenderedMail(
        subject=subject,
        text=_env.get_template("newsletter.txt.j2").render(context),
        html=_env.get_template("newsletter.html.j2").render(context),
    )


def _render_digest(payload: dict[str, Any], lang: str) -> RenderedMail:
    program = payload["program_name"].get(lang) or payload["program_name"]["ja"]
    name = payload.get("display_name") or payload["worker_id"]
    subject = t("digest_subject", lang, count=len(payload["jobs"]), date=payload["date"])
    reasons = {
        "division": lambda r: t(
            "web_reason_division", lang, division=(r.get("division_label") or {}).get(lang) or r["division"]
        ),
        "skills": lambda r: t(
            "web_reason_skills", lang, skills=", ".join(r["matched"]), count=len(r["matched"]), of=r["of"]
        ),
        "price": lambda r: t(
            "web_reason_price",
            lang,
            budget=f"{r['budget_jpy']:,}",
            low=f"{r['usual_jpy'][0]:,}",
            high=f"{r['usual_jpy'][1]:,}",
        ),
    }
    jobs = [
        {
            **j,
            "why": [reasons[r["part"]](r) for r in j["reasons"]],
            "score_text": t("web_feed_score", lang, score=j["score"]),
        }
        for j in payload["jobs"]
    ]
    m = {
        "greeting": t("mail_greeting", lang, name=name, program=program),
        "lead": t("digest_lead", lang, program=program),
        "dashboard": t("mail_dashboard", lang),
        "why": t("digest_why", lang, program=program),
    }
    context = {"m": m, "p": payload, "jobs": jobs, "lang": lang, "subject": subject}
    return RenderedMail(
        subject=subject,
        text=_env.get_template("digest.txt.j2").render(context),
        html=_env.get_template("digest.html.j2").render(context),
    )


def _rendered(template: str, subject: str, context: dict[str, Any]) -> RenderedMail:
    """The mail ``template`` (``<template>.txt.j2`` and ``.html.j2``) rendered with ``context``."""
    return RenderedMail(
        subject=subject,
        text=_env.get_template(f"{template}.txt.j2").render(context),
        html=_env.get_template(f"{template}.html.j2").render(context),
    )


def _render_appeal(payload: dict[str, Any], lang: str) -> RenderedMail:
    values = {
        "name": payload.get("display_name") or payload["worker_id"],
        "program": payload["program_name"],
        "as_of": payload["run_as_of"],
        "appeal": payload["appeal_id"],
    }
    subject = t("appeal_subject", lang, **values)
    m = {
        "greeting": t("mail_greeting", lang, **values),
        "lead": t("appeal_lead", lang, **values),
        "criterion": t("appeal_criterion", lang, criterion=payload["criterion"]) if payload.get("criterion") else None,
        "yours": t("appeal_yours", lang),
        "answer": t("appeal_answer", lang),
        "dashboard": t("mail_dashboard", lang),
        "footer": t("mail_footer", lang, **values),
    }
    context = {"m": m, "p": payload, "lang": lang, "subject": subject}
    return _rendered("appeal", subject, context)


def _render_leave(payload: dict[str, Any], lang: str) -> RenderedMail:
    stage = payload["stage"]
    values = {
        "name": payload.get("display_name") or payload["worker_id"],
        "program": payload["program_name"],
        "starts_on": payload["starts_on"],
        "ends_on": payload["ends_on"],
        "category": t("leave_category_" + payload["category"], lang)
        if has_message("leave_category_" + payload["category"])
        else payload["category"],
    }
    subject = t("leave_mail_subject_" + stage, lang, **values)
    m = {
        "greeting": t("mail_greeting", lang, **values),
        "lead": t("leave_mail_lead_" + stage, lang, **values),
        "meaning": t("leave_mail_meaning_" + stage, lang, **values),
        "wrong": t("leave_mail_wrong", lang, **values),
        "dashboard": t("mail_dashboard", lang),
        "footer": t("mail_footer", lang, **values),
    }
    context = {"m": m, "p": payload, "lang": lang, "subject": subject}
    return _rendered("leave", subject, context)


def _render_correction(payload: dict[str, Any], lang: str) -> RenderedMail:
    values = {"name": payload.get("display_name") or payload["worker_id"], "program": payload["program_name"]}
    stage = payload.get("stage", "recomputed")
    subject = t("correction_subject_" + stage, lang, **values)
    items = [
        {
            **item,
            "line": t(
                "correction_item_" + item["kind"] + ("_held" if item["held"] else ""),
                lang,
                date=item["as_of"],
                before=item["before"],
                after=item["after"],
            ),
        }
        for item in payload["items"]
    ]
    m = {
        "greeting": t("mail_greeting", lang, **values),
        "lead": t("correction_lead_" + stage, lang, **values),
        "changed": t("correction_changed", lang),
        "held": t("correction_held_note", lang) if any(i["held"] for i in items) else None,
        "dashboard": t("mail_dashboard", lang),
        "footer": t("mail_footer", lang, **values),
    }
    context = {"m": m, "p": payload, "items": items, "lang": lang, "subject": subject}
    return _rendered("correction", subject, context)
