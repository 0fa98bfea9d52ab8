"""Fair promotion: the rotation rule (by property and by hand), eligibility, newsletter issues sent through the
outbox to a real SMTP server with a working unsubscribe link, the archive and the featured pros endpoint."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from procert.benefits.promotion import (
    Candidate,
    History,
    NewsletterError,
    choose_features,
    choose_site_features,
    compose_issue,
    division_quotas,
    import_subscribers,
    send_issue,
)
from procert.facts import FactStore, import_export
from procert.ledger import NotifyOptions, current_pros, record_run, session_scope, set_override
from procert.notify import SmtpConfig, send_pending
from procert.programs import load_program
from tests.conftest import Export
from tests.test_ledger import pro
from tests.test_notify import parts, smtp  # noqa: F401  (the fixture)
from tests.web_support import web_app

PROGRAM = load_program("crowdworks-pro")
D1 = date(2025, 1, 1)
SECRET = secrets.token_urlsafe(32)


def simulate(sizes: list[int], places: int, issues: int) -> dict[str, int]:
    candidates = [Candidate(f"d{d}-{i}", f"d{d}", date(2024, 1, 1)) for d, n in enumerate(sizes) for i in range(n)]
    history: dict[str, History] = {}
    counts = {c.worker_id: 0 for c in candidates}
    for k in range(issues):
        day = date(2025, 1, 1) + timedelta(days=7 * k)
        for c in choose_features(candidates, history, places):
            counts[c.worker_id] += 1
            history[c.worker_id] = History(counts[c.worker_id], day)
        for d in range(len(sizes)):
            in_division = [n for w, n in counts.items() if w.startswith(f"d{d}-")]
            assert max(in_division) - min(in_division) <= 1, (sizes, places, k)
    return counts


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=25), min_size=1, max_size=6),
    places=st.integers(min_value=1, max_value=15),
    issues=st.integers(min_value=1, max_value=30),
)
def test_feature_counts_within_a_division_never_differ_by_more_than_one(sizes, places, issues):
    counts = simulate(sizes, places, issues)
    assert sum(counts.values()) == issues * min(places, sum(sizes))


@given(
    counts=st.dictionaries(st.text("abcdef", min_size=1, max_size=3), st.integers(1, 50), min_size=1),
    places=st.integers(0, 40),
)
def test_quotas_are_proportional_by_largest_remainders(counts, places):
    quotas = division_quotas(counts, places)
    total = sum(counts.values())
    assert sum(quotas.values()) == min(places, total)
    for division, n in counts.items():
        share = min(places, total) * n / total
        assert int(share) <= quotas[division] <= int(share) + 1 and quotas[division] <= n


def test_quotas_and_rotation_by_hand():
    # 6 writers, 3 engineers, 1 designer, 5 places: 3, 1.5, 0.5 → 3, 1, 0 and one place left for the largest
    # remainder (a tie at .5: the larger division, engineers).
    assert division_quotas({"writer": 6, "engineer": 3, "designer": 1}, 5) == {
        "writer": 3,
        "engineer": 2,
        "designer": 0,
    }
    old = [Candidate(f"W{i}", "writer", date(2024, 1, 1)) for i in range(3)]
    new = Candidate("NEW", "writer", date(2025, 6, 1))
    history = {"W0": History(1, date(2025, 1, 1)), "W1": History(1, date(2025, 2, 1)), "W2": History(0, None)}
    # Never featured first (the newest certified among them first), then the longest ago.
    assert [c.worker_id for c in choose_features([*old, new], history, 3)] == ["NEW", "W2", "W0"]


@pytest.fixture
def promo(tmp_path: Path, engine):
    exp = Export()
    for wid, division in (("A", "writer"), ("B", "writer"), ("E", "engineer"), ("L", "writer"), ("P", "writer")):
        pro(exp, wid, division=division, display_name=f"Pro {wid}")
    store = FactStore(tmp_path / "facts.duckdb")
    import_export(store, exp.write(tmp_path / "e1"), timezone="Asia/Tokyo")
    with session_scope(engine, write=True) as session:
        record_run(session, store=store, program=PROGRAM, as_of=D1, actor="t", notify=NotifyOptions(enabled=False))
        set_override(session, program_id=PROGRAM.id, worker_id="L", certified=False, reason="locked out", actor="t")
    # P is suspended after the run: still certified by the ledger until the next one, but not promoted.
    exp.rows["workers"] = [dict(r, status="suspended") if r["worker_id"] == "P" else r for r in exp.rows["workers"]]
    import_export(store, exp.write(tmp_path / "e2", tables=("workers",)), timezone="Asia/Tokyo")
    yield engine, store
    store.close()


def candidates(engine) -> list[Candidate]:
    with session_scope(engine) as session:
        return [
            Candidate(p.worker_id, p.division, p.since) for p in current_pros(session, program_id=PROGRAM.id, on=D1)
        ]


def test_issues_feature_only_eligible_pros_and_rotate(promo):
    engine, store = promo
    featured = []
    for k in range(3):
        with session_scope(engine, write=True) as session:
            issue = compose_issue(
                session,
                store=store,
                program=PROGRAM,
                issue_date=D1 + timedelta(days=7 * k),
                pros=candidates(engine),
                public_url="https://pro.example",
                actor="t",
            )
            featured.append([f["worker_id"] for f in issue.content["featured"]])
    # Eligible: A, B (writers), E (engineer); L is locked out, P suspended. 6 places but only 3 pros.
    assert featured == [["E", "A", "B"]] * 3
    with session_scope(engine, write=True) as session, pytest.raises(NewsletterError, match="already composed"):
        compose_issue(
            session,
            store=store,
            program=PROGRAM,
            issue_date=D1,
            pros=candidates(engine),
            public_url="https://pro.example",
            actor="t",
        )


def test_newsletter_reaches_subscribers_by_smtp_and_unsubscribe_is_honoured(promo, tmp_path, smtp):  # noqa: F811
    engine, store = promo
    controller, inbox = smtp
    subscribers = tmp_path / "subscribers.csv"
    subscribers.write_text("email,name,locale\nhana@example.jp,花子,ja\nbob@example.com,Bob,en\n", encoding="utf-8")
    with session_scope(engine, write=True) as session:
        assert import_subscribers(session, path=subscribers, actor="t").added == 2
        compose_issue(
            session,
            store=store,
            program=PROGRAM,
            issue_date=D1,
            pros=candidates(engine),
            public_url="https://pro.example",
            actor="t",
        )
        issue, queued = send_issue(
            session, program=PROGRAM, issue_id=None, secret=SECRET, public_url="https://pro.example", actor="t"
        )
    assert queued == 2
    report = send_pending(engine, config=SmtpConfig(port=controller.port, sender="news@example.jp"))
    assert report.sent == 2
    ja = next(m for m in inbox.messages if "hana@example.jp" in m["To"])
    text, html = parts(ja)
    assert "Pro A" in text and "https://pro.example/workers/A" in html and "/badge/A.svg" in html
    assert "配信停止" in text and ja["List-Unsubscribe"].startswith(
        "<https://pro.example/newsletter/unsubscribe?token="
    )
    en = next(m for m in inbox.messages if "bob@example.com" in m["To"])
    assert "Unsubscribe" in parts(en)[0] and en["Subject"].startswith("Pro Crowd Worker news")

    # The link works: a confirmation page, then the unsubscription, then no more mail.
    store.close()  # the app opens the facts read-only
    app = web_app(program=PROGRAM, engine=engine, facts_path=store.path, secret=SECRET, ledger_refresh_seconds=0)
    link = en["List-Unsubscribe"].strip("<>").replace("https://pro.example", "")
    with TestClient(app, base_url="https://testserver") as client:
        page = client.get(link)
        assert page.status_code == 200 and 'id="unsubscribe-form"' in page.text
        done = client.post(link)
        assert done.status_code == 200 and 'id="unsubscribed"' in done.text
        assert client.get(link.replace("token=", "token=x")).status_code == 400  # a forged link does nothing
        archive = client.get("/newsletter").text
        assert f'data-issue="{issue.id}"' in archive
        assert 'data-worker="A"' in client.get(f"/newsletter/{issue.id}").text
        # Nothing chosen yet: reading does not choose (a GET never writes).
        before = client.get("/api/v1/featured-pros").json()
        assert (before["chosen_on"], before["items"]) == (None, [])
        today = client.app.state.context.today()
        with session_scope(engine, write=True) as session:
            chosen = choose_site_features(
                session,
                store=FactStore(store.path, read_only=True),
                program=PROGRAM,
                pros=candidates(engine),
                on=today,
                actor="t",
            )
        assert {c.worker_id for c in chosen} == {"A", "B", "E"}
        featured = client.get("/api/v1/featured-pros").json()
        assert featured["chosen_on"] == today.isoformat()
        assert {i["worker_id"] for i in featured["items"]} == {"A", "B", "E"}
        assert client.get("/api/v1/featured-pros").json() == featured  # the same all day
        assert all(i["profile_url"].startswith("http://127.0.0.1:8000/") for i in featured["items"])
        # The Host header never reaches the links: they are built from PROCERT_PUBLIC_URL.
        forged = client.get("/api/v1/featured-pros", headers={"host": "evil.example"}).json()
        assert not any("evil.example" in i["profile_url"] for i in forged["items"])
    with session_scope(engine, write=True) as session:
        compose_issue(
            session,
            store=FactStore(tmp_path / "facts.duckdb", read_only=True),
            program=PROGRAM,
            issue_date=D1 + timedelta(days=7),
            pros=candidates(engine),
            public_url="https://pro.example",
            actor="t",
        )
        _issue, queued_again = send_issue(
            session, program=PROGRAM, issue_id=None, secret=SECRET, public_url="https://pro.example", actor="t"
        )
    assert queued_again == 1  # Bob unsubscribed


def test_bad_subscriber_files_store_nothing(promo, tmp_path):
    engine, _store = promo
    path = tmp_path / "subs.csv"
    path.write_text("email,name,locale\nok@example.jp,a,ja\nnot-an-email,b,ja\nok@example.jp,c,fr\n", encoding="utf-8")
    with session_scope(engine, write=True) as session, pytest.raises(NewsletterError) as failure:
        import_subscribers(session, path=path, actor="t")
    message = str(failure.value)
    assert "row 2, column email: 'not-an-email' is not an e-mail address" in message
    assert "row 3, column email: 'ok@example.jp' appears twice" in message and "row 3, column locale" in message
