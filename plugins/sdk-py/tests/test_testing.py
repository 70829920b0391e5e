"""Tests of the in-memory host: the collection semantics the host documents,
one transaction per call, the built-in routes, and the host's caps."""

import pytest

from halo_sdk import View, ViewError, collection, events as send, log
from halo_sdk.testing import (
    Client,
    call,
    connect,
    events,
    insert,
    logs,
    model,
    models,
    render,
    reset,
    seed,
    take_events,
)

alice = Client("c1", "", {"user": "alice"})


def plain() -> View:
    """Every built-in route, no handlers."""
    return View("Things").collection("things").defaults({"n": 0}).routes(["create", "read", "update", "patch", "delete", "list"])


def code_of(fn):
    with pytest.raises(ViewError) as raised:
        fn()
    return raised.value.code


def test_create_assigns_host_shaped_ids_in_creation_order():
    things = collection("things")
    a = things.create({"id": "mine", "n": 1})
    b = things.create({"n": 2})
    assert a["id"] != "mine", "the store assigns ids"
    for id in (a["id"], b["id"]):
        assert len(id) == 32 and all(c in "0123456789abcdef" for c in id)
        assert id[12] == "7", "a UUIDv7, as the host makes"
    assert a["id"] < b["id"], "later ids sort after earlier ones"
    assert things.list() == [a, b]
    assert things.get(a["id"]) == a
    assert things.get("nope") is None


def test_list_filters_by_equality_and_limits():
    things = collection("things")
    for n, color in [(1, "red"), (2, "blue"), (3, "red"), (4, "red")]:
        things.create({"n": n, "color": color})

    def ns(found):
        return [m["n"] for m in found]

    assert ns(things.list({"color": "red"})) == [1, 3, 4]
    assert ns(things.list({"color": "red"}, 2)) == [1, 3]
    assert ns(things.list(None, 0)) == []
    assert code_of(lambda: things.list([1])) == "invalid"
    assert collection("other").list() == []
    assert code_of(lambda: collection("").get("x")) == "invalid"
    # JSON equality: true is not 1.
    things.create({"n": 5, "flag": 1})
    assert things.list({"flag": True}) == []


def test_update_merges_respects_only_and_never_changes_the_id():
    things = collection("things")
    insert("things", {"id": "t1", "a": 1, "b": 2})
    assert things.update("t1", {"id": "t2", "a": 10, "c": 3}) == {"id": "t1", "a": 10, "b": 2, "c": 3}
    only = things.update("t1", {"a": 0, "b": 0}, ["b"])
    assert only == {"id": "t1", "a": 10, "b": 0, "c": 3}
    assert model("things", "t1") == only
    assert code_of(lambda: things.update("gone", {})) == "not_found"
    assert code_of(lambda: things.update("t1", "x")) == "invalid"


def test_remove_tells_whether_the_model_existed():
    insert("things", {"id": "t1"})
    assert collection("things").remove("t1") is True
    assert collection("things").remove("t1") is False
    assert models("things") == []


def test_a_failing_call_discards_its_writes_and_events_but_not_its_logs():
    view = View("Halfway")

    @view.on("halfway")
    def halfway(req):
        req.collection().create({"n": 1})
        send.to_subscribers("wrote", 1)
        log.warn("about to fail")
        raise ViewError.invalid("no")

    @view.on("both")
    def both(req):
        req.collection().create({"n": 1})
        # Reads see the call's own writes.
        seen = len(req.collection().list())
        send.to_client(req.client.id, "wrote", seen)
        return seen

    insert("Halfway", {"id": "old"})
    assert code_of(lambda: call(view, "halfway", alice)) == "invalid"
    assert models("Halfway") == [{"id": "old"}]
    assert events() == []
    assert logs() == [{"level": "warn", "message": "about to fail"}]

    assert call(view, "both", alice) == 2
    assert len(models("Halfway")) == 2
    assert take_events() == [{"to": "client", "connection": "c1", "name": "Halfway:wrote", "data": 2}]
    assert events() == [], "taken"


def test_a_handler_with_a_bug_leaves_nothing_behind():
    def crash(req):
        req.collection().create({})
        raise RuntimeError("boom")

    view = View("Crash").on("crash", crash)
    with pytest.raises(RuntimeError):
        call(view, "crash", alice)
    assert models("Crash") == []
    assert collection("Crash").list() == [], "usable afterwards"


def test_routes_are_checked_before_the_view_runs():
    view = View("V").routes(["read"]).on("ping", lambda req: "pong")
    assert call(view, "ping", alice) == "pong"
    assert code_of(lambda: call(view, "create", alice, {})) == "forbidden"
    assert code_of(lambda: call(view, "other", alice, {})) == "forbidden"
    assert call(view, "disconnect", alice) is True
    # A custom route listed without a handler would not load.
    assert code_of(lambda: call(View("V").routes(["archive"]), "archive", alice)) == "forbidden"


def test_built_ins_run_as_in_the_host():
    view = plain()
    created = call(view, "create", alice, {"name": "a", "id": "x"})
    id = created["id"]
    assert id != "x"
    assert created == {"id": id, "n": 0, "name": "a"}
    assert call(view, "read", alice, {"id": id}) == created
    assert call(view, "patch", alice, {"id": id, "n": 5}) == {"id": id, "n": 5, "name": "a"}
    assert call(view, "list", alice, []) == [{"id": id, "n": 5, "name": "a"}]
    assert call(view, "destroy", alice, {"id": id}) == {"id": id}
    assert call(view, "delete", alice, {"id": id}) == {"id": id}, "already gone is success"
    assert models("things") == []
    for action, data, want in [
        ("create", [1], "invalid"),
        ("read", {}, "invalid"),
        ("read", {"id": 1.5}, "invalid"),
        ("read", {"id": "nope"}, "not_found"),
        ("update", {"id": "nope"}, "not_found"),
        ("delete", "x", "invalid"),
    ]:
        assert code_of(lambda: call(view, action, alice, data)) == want, (action, data)


def test_built_ins_render_per_client():
    view = plain()
    view.render(lambda client, m: {"id": m["id"]} if m.get("owner") == client.claims.get("user") else None)
    insert("things", {"id": "a", "owner": "alice"})
    insert("things", {"id": "b", "owner": "bob"})
    assert call(view, "list", alice) == [{"id": "a"}]
    assert code_of(lambda: call(view, "read", alice, {"id": "b"})) == "not_found"
    assert code_of(lambda: call(view, "update", alice, {"id": "b", "n": 1})) == "not_found"
    # Deleting a hidden model is the same as deleting a missing one.
    assert call(view, "delete", alice, {"id": "b"}) == {"id": "b"}
    assert model("things", "b") is not None, "hidden, so not deleted"
    # A created model hidden from its creator is answered with its id.
    created = call(view, "create", alice, {"owner": "bob"})
    assert list(created) == ["id"]
    assert render(view, alice, {"owner": "bob"}) is None
    assert render(plain(), alice, {"owner": "bob"}) == {"owner": "bob"}


def test_patch_uses_the_update_handler_as_update():
    view = plain().on("update", lambda req: req.action)
    assert call(view, "patch", alice, {"id": "x"}) == "update"


def test_render_and_connect_may_read_but_not_write():
    insert("things", {"id": "a"})
    view = plain()

    @view.render
    def render_it(client, m):
        assert code_of(lambda: collection("things").create({})) == "forbidden"
        assert code_of(lambda: send.to_subscribers("x", 1)) == "forbidden"
        return m

    @view.connect
    def check(client):
        if collection("things").get("a") is None or client.claim_str("user") is None:
            raise ViewError.forbidden("sign in")

    assert render(view, alice, {"id": "a"}) is not None
    assert connect(view, alice) is None
    assert code_of(lambda: connect(view, Client("c2"))) == "forbidden"
    assert len(models("things")) == 1


def test_events_and_their_names_are_checked_as_in_the_host():
    def emit(req):
        send.to_subscribers(req.data, None)

    view = View("V").on("emit", emit)
    for bad in ["", "a:b", "a/b"]:
        assert code_of(lambda: call(view, "emit", alice, bad)) == "invalid", bad
    # Outside a call there is no view to prefix the name with.
    send.to_client("c9", "hello", {})
    assert events() == [{"to": "client", "connection": "c9", "name": "hello", "data": {}}]


def test_a_call_may_write_a_thousand_times_and_emit_a_hundred_events():
    def flood(req):
        for _ in range(1001):
            req.collection().create({})

    def shout(req):
        for i in range(101):
            send.to_subscribers("x", i)

    view = View("V").on("flood", flood).on("shout", shout)
    assert code_of(lambda: call(view, "flood", alice)) == "invalid"
    assert models("V") == []
    assert code_of(lambda: call(view, "shout", alice)) == "invalid"
    assert events() == []


def test_insert_keeps_string_ids_and_reset_starts_over():
    seeded = seed("things", [{"id": "a", "n": 1}, {"n": 2}])
    assert seeded[0]["id"] == "a"
    insert("things", {"id": "a", "n": 3})
    assert model("things", "a") == {"id": "a", "n": 3}
    assert len(models("things")) == 2, "replaced, not added"
    first = seeded[1]["id"]
    reset()
    assert models("things") == []
    assert insert("things", {})["id"] == first, "ids start over"
    with pytest.raises(TypeError, match="must be a JSON object"):
        insert("things", [1])


def test_an_update_that_changes_nothing_answers_only_the_id():
    stored = insert("things", {"id": "m1", "title": "same"})
    assert call(plain(), "update", alice, {"id": "m1", "title": "same"}) == {"id": "m1"}
    assert model("things", "m1") == stored
    assert call(plain(), "update", alice, {"id": "m1", "title": "new"})["title"] == "new"


def test_what_a_test_gets_back_is_a_copy():
    stored = insert("things", {"id": "a", "tags": ["x"]})
    stored["tags"].append("y")
    models("things")[0]["tags"].append("z")
    assert model("things", "a") == {"id": "a", "tags": ["x"]}
