"""The inbox over HTTP: the list in the reader's language, the unread count, marking read,
devices (idempotent, re-bound, never shown whole) and push preferences."""

from __future__ import annotations

from models.access import load_actor
from models.ops import demands as ops
from models.rules.clock import acting_at, shanghai
from models.tables.notifications import Device, PushMessage
from tests.demand_world import build_demand_world
from tests.factories import PASSWORD

INBOX = """query($unread: Boolean) { unreadNotificationCount
  notifications(unreadOnly: $unread, first: 10) { totalCount edges { node {
    id kind title body subjectType subjectId readAt } } } }"""
MARK = """mutation($input: MarkNotificationsReadInput!) { markNotificationsRead(input: $input) {
  marked unreadCount errors { code field } } }"""
REGISTER = """mutation($input: RegisterDeviceInput!) { registerDevice(input: $input) {
  device { id provider platform tokenTail appVersion } errors { code field message } } }"""

TOKEN = "1a0018970a8b2c3d4e5f60718293a4b5"


async def test_inbox_list_count_and_mark_read(gql):
    w = await build_demand_world()
    with acting_at(shanghai(2026, 11, 24, 10)):
        first = await w.dispatched()
        second = await w.dispatched()
    await gql.login("handler", PASSWORD)
    data = await gql(INBOX)
    assert data["unreadNotificationCount"] == 2
    nodes = [e["node"] for e in data["notifications"]["edges"]]
    assert [n["kind"] for n in nodes] == ["DEMAND_DISPATCHED", "DEMAND_DISPATCHED"]
    assert nodes[0]["title"] == "新诉求待签收"
    assert nodes[0]["body"].startswith(f"新诉求待签收：{second.title}")
    assert nodes[0]["subjectType"] == "Demand"
    seen = await gql("query($id: ID!) { demand(id: $id) { title } }", {"id": nodes[0]["subjectId"]})
    assert seen["demand"]["title"] == second.title
    gql.language = "en"
    english = await gql(INBOX)
    assert english["notifications"]["edges"][0]["node"]["title"] == "New demand to claim"
    gql.language = None

    marked = (await gql(MARK, {"input": {"ids": [nodes[0]["id"]]}}))["markNotificationsRead"]
    assert marked == {"marked": 1, "unreadCount": 1, "errors": []}
    unread = await gql(INBOX, {"unread": True})
    assert unread["notifications"]["totalCount"] == 1
    marked = (await gql(MARK, {"input": {"all": True}}))["markNotificationsRead"]
    assert marked["marked"] == 1 and marked["unreadCount"] == 0
    assert first.id != second.id


async def test_nobody_reads_or_marks_another_inbox(gql):
    w = await build_demand_world()
    await w.dispatched()
    await gql.login("handler", PASSWORD)
    theirs = (await gql(INBOX))["notifications"]["edges"][0]["node"]["id"]
    await gql.login("handler", PASSWORD)
    own = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": theirs})
    assert own["node"] == {"id": theirs}
    await gql.login("handler2", PASSWORD)  # a colleague with an inbox of their own
    assert (await gql("query($id: ID!) { node(id: $id) { id } }", {"id": theirs}))["node"] is None
    marked = (await gql(MARK, {"input": {"ids": [theirs]}}))["markNotificationsRead"]
    assert marked["marked"] == 0
    await gql.login("handler", PASSWORD)
    assert (await gql(INBOX))["unreadNotificationCount"] == 1
    empty = (await gql(MARK, {"input": {}}))["markNotificationsRead"]
    assert empty["errors"] == [{"code": "REQUIRED", "field": "ids"}]
    resp = await gql.post("{ unreadNotificationCount }", headers={"Authorization": ""})
    assert resp.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_devices_are_idempotent_rebound_and_masked(gql):
    w = await build_demand_world()
    device = {"provider": "jpush", "platform": "ANDROID", "token": TOKEN, "appVersion": "2.3.1"}
    await gql.login("handler", PASSWORD)
    first = (await gql(REGISTER, {"input": device}))["registerDevice"]
    again = (await gql(REGISTER, {"input": device}))["registerDevice"]
    assert first["errors"] == [] and again["device"]["id"] == first["device"]["id"]
    assert first["device"]["tokenTail"] == "…a4b5" or first["device"]["tokenTail"].endswith(
        TOKEN[-6:]
    )
    assert TOKEN not in str(first)
    assert await Device.all().count() == 1
    # The phone changes hands: the token now pushes to the new user only.
    await gql.login("handler2", PASSWORD)
    moved = (await gql(REGISTER, {"input": device}))["registerDevice"]
    assert moved["device"]["id"] == first["device"]["id"]
    assert (await Device.get()).user_id == w.users["handler2"].id  # type: ignore[attr-defined]
    await gql.login("handler", PASSWORD)
    assert (await gql("{ myDevices { id } }"))["myDevices"] == []
    await gql.login("handler2", PASSWORD)
    mine = await gql("{ myDevices { id tokenTail } }")
    assert len(mine["myDevices"]) == 1
    bad = (await gql(REGISTER, {"input": {**device, "provider": "pigeon", "token": " "}}))[
        "registerDevice"
    ]
    assert {(e["code"], e["field"]) for e in bad["errors"]} == {
        ("INVALID_CHOICE", "provider"),
        ("REQUIRED", "token"),
    }
    gone = await gql(
        "mutation($t: String!) { unregisterDevice(input: {token: $t}) { removed } }", {"t": TOKEN}
    )
    assert gone["unregisterDevice"]["removed"] is True
    assert await Device.all().count() == 0


async def test_preferences_mute_kinds_and_set_quiet_hours(gql):
    w = await build_demand_world()
    await gql.login("handler", PASSWORD)
    defaults = await gql(
        "{ notificationPreferences { mutedKinds quietStart quietEnd quietOnHolidays language } }"
    )
    assert defaults["notificationPreferences"] == {
        "mutedKinds": [],
        "quietStart": "22:00:00",
        "quietEnd": "08:00:00",
        "quietOnHolidays": True,
        "language": "zh",
    }
    saved = await gql(
        """mutation { setNotificationPreferences(input: {mutedKinds: [DEMAND_WARNING],
             quietStart: "21:00:00", quietEnd: "07:30:00", language: "en"}) {
             preferences { mutedKinds quietStart quietEnd language } errors { code } } }"""
    )
    assert saved["setNotificationPreferences"]["preferences"] == {
        "mutedKinds": ["DEMAND_WARNING"],
        "quietStart": "21:00:00",
        "quietEnd": "07:30:00",
        "language": "en",
    }
    await gql(REGISTER, {"input": {"provider": "log", "platform": "IOS", "token": TOKEN}})
    handler = await load_actor(w.users["handler"].id)
    with acting_at(shanghai(2026, 11, 24, 21, 30)):
        d = await w.submit()
        await ops.dispatch_demand(w.dispatcher, d.id, department_id=w.bureau.id, limit_days=5)
    push = await PushMessage.get()
    assert push.due_at == shanghai(2026, 11, 25, 7, 30)
    assert handler.user_id == w.users["handler"].id


DEAD = """{ deadPushes(first: 10) { totalCount edges { node { id provider kind attempts
  lastError deviceTail } } } }"""


async def test_operators_see_dead_letters_and_send_them_again(gql):
    from models.rules.notification_kinds import PushStatus
    from tests.factories import make_user

    w = await build_demand_world()
    await make_user("root", "ADMIN", None)
    device = await Device.create(
        user_id=w.users["handler"].id, provider="jpush", platform="ANDROID", token=TOKEN
    )
    await w.dispatched()
    push = await PushMessage.get()
    await PushMessage.filter(id=push.id).update(
        status=PushStatus.DEAD.value, attempts=8, last_error="HTTP 503 after 8 attempts"
    )
    await gql.login("county_admin", PASSWORD)  # a county's admin is not the push operator
    refused = await gql.post(DEAD)
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await gql.login("root", PASSWORD)
    dead = (await gql(DEAD))["deadPushes"]
    node = dead["edges"][0]["node"]
    assert dead["totalCount"] == 1
    assert (node["provider"], node["kind"], node["attempts"]) == ("jpush", "DEMAND_DISPATCHED", 8)
    assert node["lastError"] == "HTTP 503 after 8 attempts"
    assert node["deviceTail"] == "…" + TOKEN[-6:]
    retried = await gql(
        "mutation($ids: [ID!]!) { retryPush(input: {ids: $ids}) { queued errors { code } } }",
        {"ids": [node["id"]]},
    )
    assert retried["retryPush"] == {"queued": 1, "errors": []}
    again = await PushMessage.get(id=push.id)
    assert again.status is PushStatus.PENDING and again.attempts == 0
    assert again.device_id == device.id  # type: ignore[attr-defined]
    assert (await gql(DEAD))["deadPushes"]["totalCount"] == 0
