"""Hardening of the web, defect by defect (issue 11): reads that never write, credentials before bodies, limits,
security headers, HEAD, single-use login links, revocable sessions, admin lockout, demo mode, weak keys,
withdrawn and suspended workers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from procert.benefits.models import Feature
from procert.facts import FactStore, import_export
from procert.ledger import (
    AuditEntry,
    NotifyOptions,
    WebSession,
    create_admin,
    end_sessions,
    record_run,
    session_scope,
    set_admin_password,
    unlock_admin,
)
from procert.programs import load_program
from procert.web.auth import SignInThrottle, login_token, resolve_secret, secret_problem
from tests.conftest import Export
from tests.test_ledger import pro
from tests.test_web import SECRET, sign_in, use_login_link
from tests.test_web import site as site  # the fixture
from tests.test_web_admin import PASSWORD, admin_sign_in, csrf_of
from tests.web_support import web_app

D1 = date(2025, 1, 1)


@pytest.fixture
def admin_site(site):
    client, engine = site
    with session_scope(engine, write=True) as session:
        create_admin(session, username="alice", password=PASSWORD, actor="test")
    return client, engine


def ledger_rows(engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)), session.scalar(
            select(func.count()).select_from(Feature)
        )


# ---- 1. a read never writes ---------------------------------------------------------------------------------


def test_public_reads_write_nothing(site):
    client, engine = site
    before = ledger_rows(engine)
    for path in ("/api/v1/featured-pros", "/pros", "/api/v1/pros", "/workers/A", "/badge/A.svg", "/newsletter"):
        for _ in range(3):
            assert client.get(path).status_code == 200, path
    assert ledger_rows(engine) == before


# ---- 3. credentials before bodies, limits -------------------------------------------------------------------


def call_asgi(app, method: str, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]):
    """Drive the app as a server would, counting how many body chunks it pulled."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive():
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 443),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, pulled


def test_an_unauthenticated_body_is_never_read(site):
    client, _ = site
    chunks = [b"[" + b'{"job_id": "X"},' * 1000] * 50 + [b"{}]"]
    headers = [(b"content-type", b"application/json")]
    status, body, pulled = call_asgi(client.app, "POST", "/api/v1/jobs", headers, chunks)
    assert status == 401 and json.loads(body)["error"]["code"] == "unauthenticated"
    assert pulled == 0  # refused before a single byte of the body was read
    # A forged key is refused the same way; a worker's session is not an admin's.
    status, _, pulled = call_asgi(client.app, "POST", "/api/v1/jobs", [*headers, (b"x-api-key", b"pck_forged")], chunks)
    assert (status, pulled) == (401, 0)
    # The dashboard's forms (an appeal) need the worker's own session before their body is read, too.
    form = [(b"content-type", b"application/x-www-form-urlencoded")]
    status, _, pulled = call_asgi(client.app, "POST", "/dashboard/appeals", form, [b"text=" + b"x" * 4000] * 5)
    assert (status, pulled) == (401, 0)


def test_bodies_and_headers_are_capped(tmp_path: Path, site):
    _client, engine = site
    app = web_app(
        program=load_program("crowdworks-pro"),
        engine=engine,
        facts_path=tmp_path / "facts.duckdb",
        secret=SECRET,
        ledger_refresh_seconds=0,
        max_body_bytes=10_000,
        max_header_bytes=4_096,
    )
    with session_scope(engine, write=True) as session:
        from procert.ledger import create_api_key

        _row, key = create_api_key(session, name="t", actor="test")
    with TestClient(app, base_url="https://testserver") as capped:
        big = capped.post("/api/v1/jobs", headers={"x-api-key": key}, content=b"[" + b" " * 20_000 + b"]")
        assert big.status_code == 413 and big.json()["error"]["code"] == "payload_too_large"
        # Without a Content-Length (chunked), the count while streaming stops it too.
        status, _, pulled = call_asgi(app, "POST", "/api/v1/jobs", [(b"x-api-key", key.encode())], [b" " * 4_000] * 10)
        assert status == 413 and pulled <= 3
        assert capped.get("/pros", headers={"x-filler": "y" * 5_000}).status_code == 431
        # Anonymous forms are held to 64 KiB (capped lower here by the 10 kB limit).
        assert capped.post("/admin/login", content=b"a=" + b"b" * 20_000).status_code == 413
        assert capped.get("/pros").status_code == 200


# ---- 11. security headers; 14. HEAD ---------------------------------------------------------------------------


def test_security_headers_on_pages_and_badges(site):
    client, _ = site
    page = client.get("/admin/login")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert page.headers["strict-transport-security"].startswith("max-age=")  # served over https
    badge = client.get("/badge/A.svg")
    assert badge.headers["content-security-policy"].startswith("default-src 'none'")
    assert badge.headers["cross-origin-resource-policy"] == "cross-origin"  # embeddable on other sites
    plain = TestClient(client.app, base_url="http://testserver").get("/pros")
    assert "strict-transport-security" not in plain.headers  # no HSTS over plain HTTP


def test_head_answers_like_get_without_a_body(site):
    client, _ = site
    for path in ("/pros", "/workers/A", "/badge/A.svg", "/api/v1/pros"):
        head = client.head(path)
        assert head.status_code == 200 and head.content == b"", path
        assert head.headers["content-type"] == client.get(path).headers["content-type"]


# ---- 7. single-use links, revocable sessions -----------------------------------------------------------------


def test_a_login_link_works_once_and_opening_it_uses_nothing(site):
    client, _ = site
    link = f"/login?token={login_token(SECRET, 'A')}"
    assert client.get(link).status_code == 200 and client.get(link).status_code == 200  # opening is free
    assert use_login_link(client, link).status_code == 303
    client.cookies.clear()
    again = use_login_link(client, link)
    assert again.status_code == 400 and "このログインリンクはすでに使われています" in again.text
    assert client.get("/api/v1/workers/A/status").status_code == 401


def test_a_copied_session_cookie_dies_with_sign_out(site):
    client, _ = site
    sign_in(client, "A")
    copied = dict(client.cookies)
    csrf = csrf_of(client.get("/dashboard").text)
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    thief = TestClient(client.app, base_url="https://testserver", cookies=copied)
    assert thief.get("/api/v1/workers/A/status").status_code == 401
    assert thief.get("/dashboard").status_code == 401


def test_sign_out_everywhere_ends_every_session_of_the_worker(site):
    client, engine = site
    other = TestClient(client.app, base_url="https://testserver")
    sign_in(client, "A")
    sign_in(other, "A")
    csrf = csrf_of(client.get("/dashboard").text)
    client.post("/logout", data={"csrf": csrf, "everywhere": "1"})
    assert other.get("/api/v1/workers/A/status").status_code == 401
    with session_scope(engine) as session:
        live = session.scalar(
            select(func.count())
            .select_from(WebSession)
            .where(WebSession.subject == "A", WebSession.revoked_at.is_(None))
        )
        actions = set(session.scalars(select(AuditEntry.action)))
    assert live == 0 and {"worker.session_started", "worker.signed_out_everywhere"} <= actions


def test_an_admin_password_change_ends_their_sessions(admin_site):
    client, engine = admin_site
    assert admin_sign_in(client).status_code == 303
    assert client.get("/admin").status_code == 200
    with session_scope(engine, write=True) as session:
        set_admin_password(session, username="alice", password="another long password", actor="test")
    assert client.get("/admin", follow_redirects=False).status_code == 303  # back to the sign-in page
    assert client.get("/api/v1/runs").status_code == 401


def test_an_admin_operator_can_end_a_workers_sessions(site):
    client, engine = site
    sign_in(client, "A")
    with session_scope(engine, write=True) as session:
        assert end_sessions(session, kind="worker", subject="A", actor="test") == 1
    assert client.get("/api/v1/workers/A/status").status_code == 401


# ---- 8. admin sign-in: lockout and per-address backoff ---------------------------------------------------------


def test_repeated_wrong_passwords_lock_the_account_until_unlocked(admin_site):
    client, engine = admin_site

    def from_address(n: int) -> TestClient:
        return TestClient(client.app, base_url="https://testserver", client=(f"10.0.0.{n}", 1234))

    # Guesses from five addresses (none slowed down on its own): the account itself locks.
    for n in range(5):
        assert admin_sign_in(from_address(n), password="wrong password here").status_code == 401
    # The sixth try, even with the right password, is refused: the account is locked.
    locked = admin_sign_in(from_address(5))
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    with session_scope(engine, write=True) as session:
        unlock_admin(session, username="alice", actor="admin:bob")
    assert admin_sign_in(from_address(9)).status_code == 303
    with session_scope(engine) as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions.count("admin.sign_in_failed") == 5
    assert {"admin.locked", "admin.sign_in_refused_locked", "admin.unlocked", "admin.signed_in"} <= set(actions)


def test_one_address_is_slowed_down_across_accounts():
    now = [1000.0]
    throttle = SignInThrottle(free=5, clock=lambda: now[0])
    for _ in range(5):
        assert throttle.wait_seconds("1.2.3.4") == 0
        throttle.failed("1.2.3.4")
    assert throttle.wait_seconds("1.2.3.4") == 1.0  # 2^0 after the fifth failure
    throttle.failed("1.2.3.4")
    assert throttle.wait_seconds("1.2.3.4") == 2.0
    now[0] += 2.0
    assert throttle.wait_seconds("1.2.3.4") == 0.0
    assert throttle.wait_seconds("5.6.7.8") == 0.0  # other addresses are not affected
    throttle.succeeded("1.2.3.4")
    assert throttle.wait_seconds("1.2.3.4") == 0.0


# ---- 2. demo mode; 13. weak keys -------------------------------------------------------------------------------


def test_demo_cookies_cannot_be_forged_with_a_published_key(tmp_path: Path, engine):
    from procert.web.auth import resolve_secret as demo_key

    exp = Export()
    pro(exp, "A")
    program = load_program("crowdworks-pro")
    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, exp.write(tmp_path / "e"), timezone=program.timezone)
        with session_scope(engine, write=True) as session:
            record_run(session, store=store, program=program, as_of=D1, actor="t", notify=NotifyOptions(enabled=False))
    app = web_app(
        program=program,
        engine=engine,
        facts_path=tmp_path / "facts.duckdb",
        secret=demo_key(None, demo=True),
        demo=True,
    )
    import base64

    payload = base64.b64encode(json.dumps({"admin": "demo-admin", "csrf": "x"}).encode())
    with TestClient(app) as client:
        for key in ("procert-demo-secret-not-for-production", "secret", "x"):
            client.cookies.set("procert_session", TimestampSigner(key).sign(payload).decode())
            assert client.get("/admin", follow_redirects=False).status_code == 303
            assert client.post("/api/v1/overrides", json={}).status_code == 401
        client.cookies.clear()
        assert 'id="demo-banner"' in client.get("/pros").text
        # Published through a proxy on the same machine, the demo refuses to serve.
        for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
            assert client.get("/pros", headers={header: "203.0.113.9"}).status_code == 403


def test_the_demo_key_is_random_per_process():
    code = "from procert.web.auth import resolve_secret; print(resolve_secret(None, demo=True))"
    keys = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(keys) == 2 and all(len(k.strip()) >= 43 for k in keys)


def cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PROCERT_")}
    environment.update({"PROCERT_HOME": str(tmp_path / "home"), **env})
    return subprocess.run(
        [sys.executable, "-m", "procert.cli", *args], env=environment, capture_output=True, text=True, timeout=60
    )


def test_demo_mode_refuses_production_settings_and_other_hosts(tmp_path: Path):
    open_host = cli(tmp_path, "serve", "--host", "0.0.0.0", PROCERT_DEMO="true")
    assert open_host.returncode == 1 and "127.0.0.1 だけで待ち受けます" in open_host.stderr
    with_key = cli(tmp_path, "serve", PROCERT_DEMO="true", PROCERT_SECRET_KEY=resolve_secret(None, demo=True))
    assert with_key.returncode == 1 and "demo mode cannot run with PROCERT_SECRET_KEY" in with_key.stderr
    with_db = cli(tmp_path, "serve", PROCERT_DEMO="true", PROCERT_DATABASE_URL="postgresql://127.0.0.1/test")
    assert with_db.returncode == 2 and "demo mode cannot run against PROCERT_DATABASE_URL" in with_db.stderr


def test_weak_keys_are_refused_and_generated_ones_accepted(tmp_path: Path):
    for weak in ("a", "x" * 64, "password123" * 5):
        refused = cli(tmp_path, "serve", PROCERT_SECRET_KEY=weak)
        assert refused.returncode == 1 and "too weak" in refused.stderr, weak
        assert secret_problem(weak) is not None
    generated = cli(tmp_path, "secret", "generate").stdout.strip()
    assert secret_problem(generated) is None and len(generated) >= 43
    assert cli(tmp_path, "secret", "generate").stdout.strip() != generated


# ---- 12. withdrawn and suspended workers ------------------------------------------------------------------------


def test_withdrawn_workers_are_gone_and_suspended_ones_hidden(tmp_path: Path, engine):
    exp = Export()
    pro(exp, "A")
    pro(exp, "S", profile_text="秘密のプロフィール", self_pr_text="秘密の自己PR")
    exp.worker("W", display_name="退会 太郎", profile_text="退会した人のプロフィール")
    program = load_program("crowdworks-pro")
    path = tmp_path / "facts.duckdb"
    with FactStore(path) as store:
        import_export(store, exp.write(tmp_path / "e"), timezone=program.timezone)
        with session_scope(engine, write=True) as session:
            record_run(session, store=store, program=program, as_of=D1, actor="t", notify=NotifyOptions(enabled=False))
        # Later the facts say S was suspended and W withdrew (the run still holds S as certified).
        exp.rows["workers"] = [
            {**w, "status": {"S": "suspended", "W": "withdrawn"}.get(w["worker_id"], w["status"])}
            for w in exp.rows["workers"]
        ]
        import_export(store, exp.write(tmp_path / "e2", tables=("workers",)), timezone=program.timezone)
    app = web_app(program=program, engine=engine, facts_path=path, secret=SECRET, ledger_refresh_seconds=0)
    with TestClient(app, base_url="https://testserver") as client:
        gone = client.get("/workers/W")
        assert gone.status_code == 410 and "退会した人" not in gone.text and "退会 太郎" not in gone.text
        assert client.get("/api/v1/workers/W/profile").status_code == 410
        page = client.get("/workers/S")
        assert page.status_code == 200 and "秘密" not in page.text and 'id="pro-badge"' not in page.text
        profile = client.get("/api/v1/workers/S/profile").json()
        assert (profile["certified"], profile["profile_text"], profile["suspended"]) == (False, "", True)
        assert "#c8102e" not in client.get("/badge/S.svg").text  # no Pro mark
        assert [i["worker_id"] for i in client.get("/api/v1/pros").json()["items"]] == ["A"]


def test_a_signed_but_absurd_unsubscribe_id_is_refused_not_a_500(site):
    from procert.benefits.promotion import unsubscribe_token

    client, _ = site
    for absurd in (10**30, -1, 0):
        token = unsubscribe_token(SECRET, absurd)
        assert client.get(f"/newsletter/unsubscribe?token={token}").status_code == 400


def test_terminal_output_cannot_carry_control_sequences():
    from procert.cli.common import terminal_safe

    assert terminal_safe("名前\x1b[2J\x00\r消す\n次の行\t") == "名前\ufffd[2J\ufffd\ufffd消す\n次の行\t"


# ---- access control over every route ---------------------------------------------------------------------------

#: Routes anyone may read. Every other route must refuse an anonymous visitor and a worker who is not an admin.
PUBLIC = {
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/healthz",
    "/",
    "/api/v1/pros",
    "/api/v1/workers/{worker_id}/profile",
    "/badge/{worker_id}.svg",
    "/pros",
    "/workers/{worker_id}",
    "/login",
    "/logout",
    "/demo/login",
    "/admin/login",
    "/admin/logout",
    "/api/v1/jobs",
    "/api/v1/jobs/{job_id}",
    "/api/v1/jobs/{job_id}/recommended-pros",
    "/jobs",
    "/jobs/{job_id}",
    "/jobs/{job_id}/recommended-pros",
    "/api/v1/featured-pros",
    "/newsletter",
    "/newsletter/unsubscribe",
    "/newsletter/{issue_id}",
    "/program",
    "/favicon.ico",
}
#: Routes of one worker's own data: that worker (or an admin) only.
OWN = {
    "/api/v1/workers/{worker_id}/status",
    "/api/v1/workers/{worker_id}/preview",
    "/dashboard/{worker_id}",
    "/api/v1/workers/{worker_id}/jobs",
    "/api/v1/workers/{worker_id}/facts",
    "/dashboard",
    "/dashboard/facts.csv",
}
#: The signed-in worker's own pages (no worker in the path).
SIGNED_IN_OWN = {"/dashboard", "/dashboard/facts.csv"}


def every_route(app) -> list[tuple[str, str]]:
    from fastapi.routing import APIRoute

    return [(method, r.path) for r in app.routes if isinstance(r, APIRoute) for method in sorted(r.methods)]


def test_every_route_refuses_anonymous_visitors_and_other_workers(admin_site):
    client, _ = admin_site
    routes = every_route(client.app)
    assert {p for _m, p in routes} - PUBLIC - OWN, "no admin routes found"
    anonymous = TestClient(client.app, base_url="https://testserver")
    worker = TestClient(client.app, base_url="https://testserver")
    sign_in(worker, "A")
    checked = 0
    for method, template in routes:
        if template in PUBLIC:
            continue
        path = template.format(
            worker_id="B", run_id=1, job_id="X", issue_id=1, appeal_id=1, leave_id=1, correction_id=1
        )
        for who, visitor in (("anonymous", anonymous), ("worker A", worker)):
            response = visitor.request(method, path, follow_redirects=False, json={} if method != "GET" else None)
            if template in SIGNED_IN_OWN and who == "worker A":
                continue  # A's own dashboard and facts
            assert response.status_code in (303, 401, 403), f"{who}: {method} {path} → {response.status_code}"
            checked += 1
    protected = [r for r in routes if r[1] not in PUBLIC]
    assert checked == 2 * len(protected) - len(SIGNED_IN_OWN)  # every protected route, twice, but A's own pages


def test_old_sessions_and_used_links_are_purged_at_the_next_sign_in(engine):
    from datetime import timedelta

    from procert.ledger import UsedLoginLink, start_session, use_login_link
    from procert.ledger.audit import utcnow

    with session_scope(engine, write=True) as session:
        old = start_session(session, kind="worker", subject="A", hours=8, actor="t")
        assert use_login_link(session, link_id="old-link", worker_id="A")
        assert use_login_link(session, link_id="fresh-link", worker_id="A")
        assert not use_login_link(session, link_id="fresh-link", worker_id="A")  # used once only
    with session_scope(engine, write=True) as session:
        session.query(WebSession).update({WebSession.expires_at: utcnow() - timedelta(days=8)})
        session.query(UsedLoginLink).filter(UsedLoginLink.link_id == "old-link").update(
            {UsedLoginLink.used_at: utcnow() - timedelta(days=3)}
        )
    with session_scope(engine, write=True) as session:
        start_session(session, kind="worker", subject="B", hours=8, actor="t")
    with session_scope(engine) as session:
        assert [s.subject for s in session.scalars(select(WebSession))] == ["B"]
        assert [u.link_id for u in session.scalars(select(UsedLoginLink))] == ["fresh-link"]
        from procert.ledger import session_subject

        assert session_subject(session, token=old, kind="worker") is None  # the purged token signs nobody in


def test_the_webs_facts_store_keeps_the_configured_duckdb_limits(tmp_path: Path):
    from procert.settings import Settings
    from procert.web.auth import generate_secret
    from procert.web.server import app_from_settings

    exp = Export()
    pro(exp, "A")
    with FactStore(tmp_path / "facts.duckdb") as store:
        import_export(store, exp.write(tmp_path / "e"), timezone="Asia/Tokyo")
    settings = Settings(home=tmp_path, secret_key=generate_secret(), duckdb_memory_limit="256MiB", duckdb_threads=1)
    app = app_from_settings(settings)
    limit, threads = (
        app.state.context.store.reader()
        .execute("SELECT current_setting('memory_limit'), current_setting('threads')")
        .fetchone()
    )
    assert (limit, threads) == ("256.0 MiB", 1)
    app.state.context.close()
