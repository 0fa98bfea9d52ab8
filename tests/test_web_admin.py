"""The admin console and the admin API: Argon2 sign-in, CSRF, runs with who gained and lost, worker lookup,
overrides end to end, the outbox and the audit log; access rules for anonymous users, workers and API keys."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from procert.facts import FactStore
from procert.ledger import (
    AdminUser,
    AuditEntry,
    NotifyOptions,
    create_admin,
    create_api_key,
    disable_admin,
    record_run,
    session_scope,
)
from procert.programs import load_program
from tests.test_web import sign_in, site  # noqa: F401  (the fixture)

PASSWORD = "correct horse battery staple"
D2 = date(2026, 10, 1)  # long after the pros' activity: they lose the status


@pytest.fixture
def admin_site(site, tmp_path):  # noqa: F811
    client, engine = site
    with session_scope(engine, write=True) as session:
        create_admin(session, username="alice", password=PASSWORD, actor="test")
        _row, key = create_api_key(session, name="backend", actor="test")
    return client, engine, key


def csrf_of(html: str) -> str:
    return html.split('name="csrf" value="')[1].split('"')[0]


def admin_sign_in(client, password: str = PASSWORD, next_path: str = "/admin"):
    form = client.get("/admin/login").text
    return client.post(
        "/admin/login",
        data={"csrf": csrf_of(form), "username": "alice", "password": password, "next": next_path},
        follow_redirects=False,
    )


def test_console_pages_send_anonymous_visitors_to_sign_in(admin_site):
    client, _engine, _key = admin_site
    for path in ("/admin", "/admin/runs/1", "/admin/workers?q=A", "/admin/overrides", "/admin/outbox", "/admin/audit"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/admin/login?next=/admin"), path


def test_sign_in_checks_the_argon2_hash_csrf_and_audits_both_outcomes(admin_site):
    client, engine, _key = admin_site
    with session_scope(engine) as session:
        stored = session.scalar(select(AdminUser.password_hash).where(AdminUser.username == "alice"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    # Without the form's CSRF token: refused before the password is even checked.
    no_csrf = client.post("/admin/login", data={"username": "alice", "password": PASSWORD}, follow_redirects=False)
    assert no_csrf.status_code == 403
    wrong = admin_sign_in(client, password="not the password at all")
    assert wrong.status_code == 401 and 'id="login-error"' in wrong.text
    assert client.get("/admin", follow_redirects=False).status_code == 303
    ok = admin_sign_in(client)
    assert (ok.status_code, ok.headers["location"]) == (303, "/admin")
    assert client.get("/admin").status_code == 200
    with session_scope(engine) as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("admin.sign%"))).all()
    assert actions == ["admin.sign_in_failed", "admin.signed_in"]


def test_sign_in_never_redirects_off_site(admin_site):
    client, _engine, _key = admin_site
    response = admin_sign_in(client, next_path="https://evil.example/admin")
    assert response.headers["location"] == "/admin"
    assert admin_sign_in(client, next_path="/admin/audit").headers["location"] == "/admin/audit"


def test_runs_page_shows_counts_and_who_gained_and_lost_with_reasons(admin_site, tmp_path):
    client, engine, _key = admin_site
    program = load_program("crowdworks-pro")
    with FactStore(tmp_path / "facts.duckdb", read_only=True) as store, session_scope(engine, write=True) as session:
        record_run(session, store=store, program=program, as_of=D2, actor="test", notify=NotifyOptions(enabled=False))
    admin_sign_in(client)
    home = client.get("/admin").text
    assert "crowdworks-pro" in home and 'id="runs"' in home and "2026-10-01" in home and "2025-01-01" in home
    first, second = client.get("/api/v1/runs", headers={"X-API-Key": _key}).json()["items"][::-1]
    assert (first["as_of"], first["certified"], first["transitions"]) == ("2025-01-01", 2, {"granted": 2})
    assert second["certified"] == 0 and second["transitions"]["lost"] == 2
    granted_page = client.get(f"/admin/runs/{first['id']}").text
    granted_table = granted_page.split('id="granted"')[1].split("</table>")[0]
    assert ">A<" in granted_table and ">B<" in granted_table and "条件による判定" in granted_table
    lost_table = client.get(f"/admin/runs/{second['id']}").text.split('id="lost"')[1].split("</table>")[0]
    assert ">A<" in lost_table and "納品完了率(過去1年)" in lost_table  # the failed criteria by their names


def test_worker_lookup_and_an_override_applied_end_to_end_through_the_forms(admin_site):
    client, engine, _key = admin_site
    admin_sign_in(client)
    assert client.get("/api/v1/pros").json()["total"] == 2
    page = client.get("/admin/workers?q=A").text
    assert 'id="worker-status"' in page and "佐藤 さくら" in page and "2025-01-01" in page.split('id="history"')[1]
    by_name = client.get("/admin/workers", params={"q": "Ken"}).text
    assert 'href="/admin/workers?q=B"' in by_name.split('id="matches"')[1]
    form = {"worker_id": "A", "certified": "false", "reason": "規約違反の調査中", "expires_on": ""}
    assert client.post("/admin/overrides", data={**form, "csrf": "forged"}).status_code == 403
    applied = client.post("/admin/overrides", data={**form, "csrf": csrf_of(page)}, follow_redirects=False)
    assert (applied.status_code, applied.headers["location"]) == (303, "/admin/workers?q=A")
    after = client.get("/admin/workers?q=A").text
    assert 'id="locked"' in after and "規約違反の調査中" in after and "未認定" in after
    # The lock takes effect everywhere at once: directory, profile badge, audit log.
    assert [i["worker_id"] for i in client.get("/api/v1/pros").json()["items"]] == ["B"]
    assert client.get("/api/v1/workers/A/profile").json()["certified"] is False
    with session_scope(engine) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "override.set"))
    assert (entry.actor, entry.subject, entry.details["reason"]) == ("admin:alice", "worker:A", "規約違反の調査中")
    cleared = client.post("/admin/overrides/clear", data={"worker_id": "A", "csrf": csrf_of(after)})
    assert cleared.status_code == 200 and client.get("/api/v1/pros").json()["total"] == 2


def test_outbox_audit_and_overrides_pages_render_for_admins(admin_site):
    client, _engine, _key = admin_site
    admin_sign_in(client)
    assert 'id="outbox"' in client.get("/admin/outbox").text
    assert client.get("/admin/outbox?status=bogus").status_code == 422
    audit = client.get("/admin/audit").text
    assert "admin.signed_in" in audit and "admin:alice" in audit
    assert 'id="overrides"' in client.get("/admin/overrides?all=true").text
    assert client.get("/admin/runs/999").status_code == 404


def test_admin_api_needs_admin_credentials(admin_site):
    client, _engine, key = admin_site
    paths = ["/api/v1/program", "/api/v1/runs", "/api/v1/transitions", "/api/v1/overrides", "/api/v1/notifications"]
    for path in [*paths, "/api/v1/audit", "/api/v1/runs/1", "/api/v1/runs/1/transitions"]:
        anonymous = client.get(path)
        assert anonymous.status_code == 401, path
        assert anonymous.json()["error"]["code"] == "unauthenticated"
        assert client.get(path, headers={"X-API-Key": "pck_wrong"}).status_code == 401, path
        assert client.get(path, headers={"X-API-Key": key}).status_code == 200, path
    sign_in(client, "A")  # a worker is not an admin
    forbidden = client.get("/api/v1/runs")
    assert (forbidden.status_code, forbidden.json()["error"]["code"]) == (403, "forbidden")
    assert (
        client.post("/api/v1/overrides", json={"worker_id": "A", "certified": True, "reason": "x"}).status_code == 403
    )


def test_admin_api_runs_transitions_and_overrides(admin_site):
    client, _engine, key = admin_site
    h = {"X-API-Key": key}
    runs = client.get("/api/v1/runs", headers=h).json()
    assert runs["total"] == 1
    run_id = runs["items"][0]["id"]
    assert client.get(f"/api/v1/runs/{run_id}", headers=h).json()["workers"] == 3
    missing = client.get("/api/v1/runs/999", headers=h)
    assert (missing.status_code, missing.json()["error"]["message"]) == (404, "no run #999")
    transitions = client.get(f"/api/v1/runs/{run_id}/transitions", headers=h).json()
    assert sorted((x["worker_id"], x["kind"], x["reason"]) for x in transitions["items"]) == [
        ("A", "granted", "criteria"),
        ("B", "granted", "criteria"),
    ]
    of_b = client.get("/api/v1/transitions?worker_id=B", headers=h).json()
    assert [x["worker_id"] for x in of_b["items"]] == ["B"] and of_b["items"][0]["values"]["overall_rating"] == 4.85
    assert client.get("/api/v1/transitions?kind=nope", headers=h).status_code == 422
    assert client.get("/api/v1/program", headers=h).json()["id"] == "crowdworks-pro"

    created = client.post(
        "/api/v1/overrides",
        headers=h,
        json={"worker_id": "C", "certified": True, "reason": "manual review", "expires_on": "2030-01-01"},
    )
    assert created.status_code == 201
    assert created.json()["created_by"].startswith("api_key:") and created.json()["expires_on"] == "2030-01-01"
    assert "C" in [i["worker_id"] for i in client.get("/api/v1/pros").json()["items"]]
    assert [o["worker_id"] for o in client.get("/api/v1/overrides", headers=h).json()["items"]] == ["C"]
    bad = client.post("/api/v1/overrides", headers=h, json={"worker_id": "C", "certified": "maybe", "reason": ""})
    assert bad.status_code == 422 and {d["location"] for d in bad.json()["error"]["details"]} == {
        "body.certified",
        "body.reason",
    }
    unknown = client.post("/api/v1/overrides", headers=h, json={"worker_id": "ZZ", "certified": True, "reason": "x"})
    assert unknown.status_code == 404
    assert client.delete("/api/v1/overrides/C", headers=h).json() == {"worker_id": "C", "cleared": 1}
    assert client.delete("/api/v1/overrides/C", headers=h).status_code == 404


def test_a_browser_session_must_send_the_csrf_header_to_change_state_through_the_api(admin_site):
    client, _engine, _key = admin_site
    admin_sign_in(client)
    body = {"worker_id": "A", "certified": False, "reason": "check"}
    assert client.post("/api/v1/overrides", json=body).status_code == 403
    token = csrf_of(client.get("/admin/workers?q=A").text)
    assert client.post("/api/v1/overrides", json=body, headers={"X-CSRF-Token": token}).status_code == 201


def test_a_disabled_admin_is_signed_out_at_the_next_request(admin_site):
    client, engine, _key = admin_site
    admin_sign_in(client)
    assert client.get("/admin").status_code == 200
    with session_scope(engine, write=True) as session:
        disable_admin(session, username="alice", actor="test")
    assert client.get("/admin", follow_redirects=False).status_code == 303
    assert admin_sign_in(client).status_code == 401


def test_admin_passwords_must_be_long_and_names_unique(admin_site):
    from procert.ledger import AdminError

    _client, engine, _key = admin_site
    with session_scope(engine, write=True) as session, pytest.raises(AdminError, match="12 characters"):
        create_admin(session, username="bob", password="short", actor="test")
    with session_scope(engine, write=True) as session, pytest.raises(AdminError, match="already exists"):
        create_admin(session, username="alice", password=PASSWORD, actor="test")


def test_english_console_by_accept_language(admin_site):
    client, _engine, _key = admin_site
    page = client.get("/admin/login", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    assert "Admin sign-in" in page and '<html lang="en">' in page
    assert "管理者ログイン" in client.get("/admin/login").text
