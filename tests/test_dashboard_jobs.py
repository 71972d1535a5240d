"""The jobs page: the merchant's own jobs with their progress, and the status its script
refreshes them from; for owners."""

from __future__ import annotations

from flask import Flask

from tests.conftest import Shop
from tests.dashboard_client import add_user, sign_in
from tests.test_jobs import wait_finished


def _queue(app: Flask, shop: Shop, kind: str) -> str:
    with app.extensions["db"].tenant_session(shop.merchant) as session:
        job = app.extensions["jobs"].enqueue(session, kind, {})
        session.commit()
        return str(job.id)


def test_owners_see_their_jobs_and_their_progress(app: Flask, shop_a: Shop, shop_b: Shop) -> None:
    done = _queue(app, shop_a, "notes.count")
    app.extensions["jobs"].run(done)
    assert wait_finished(app, done).status.value == "succeeded"
    waiting = _queue(app, shop_a, "notes.count")
    theirs = _queue(app, shop_b, "notes.count")
    add_user(app, shop_a, "owner@shop-a.test")
    add_user(app, shop_a, "agent@shop-a.test", "agent")
    client = app.test_client()
    assert sign_in(client, "owner@shop-a.test").status_code == 302

    page = client.get("/dashboard/jobs/").get_data(as_text=True)
    assert page.count("notes.count") >= 2 and "Done" in page and "Queued" in page
    assert f'data-job="{waiting}"' in page and f'data-job="{done}"' not in page  # watched
    assert theirs not in page
    assert '<script src="/dashboard/static/jobs.js" defer></script>' in page  # no inline script

    status = client.get(f"/dashboard/jobs/status?ids={waiting},{done},{theirs},bad-id").get_json()
    assert set(status) == {waiting, done}  # another merchant's job is not theirs to watch
    assert status[waiting] == {
        "status": "queued",
        "status_name": "Queued",
        "progress": 0.0,
        "message": "",
        "time_left": "",
        "finished": False,
    }
    assert status[done]["finished"] is True and status[done]["progress"] == 1.0
    german = client.get(f"/dashboard/jobs/status?ids={waiting}", headers={"Accept-Language": "de"})
    assert german.get_json()[waiting]["status_name"] == "Wartet"

    agent = app.test_client()
    assert sign_in(agent, "agent@shop-a.test").status_code == 302
    assert agent.get("/dashboard/jobs/").status_code == 403
    watched = agent.get(f"/dashboard/jobs/status?ids={waiting}")  # the owner's job: not shown
    assert watched.status_code == 200 and watched.get_json() == {}  # an agent sees imports
    assert "/dashboard/jobs/" not in agent.get("/dashboard/").get_data(as_text=True)
