"""Tests of the View builder, Request and Client, and the export glue: what
the host reads from ``describe`` and gets back from ``handle``, ``render``
and ``connect``."""

import pytest

from halo_sdk import Client, Request, View, ViewError, guest
from halo_sdk.testing import logs


def my_models() -> View:
    view = View("MyModels").defaults({"someProperty": "a default value"}).routes(["create", "read", "update", "list"])
    view.on("update", lambda req: req.data)
    return view


def code_of(fn):
    with pytest.raises(ViewError) as raised:
        fn()
    return raised.value.code


def test_spec_lists_routes_handlers_and_defaults():
    assert guest.spec(my_models()) == {
        "name": "MyModels",
        "collection": "MyModels",
        "defaults": '{"someProperty":"a default value"}',
        "routes": ["create", "read", "update", "list"],
        "handlers": ["update"],
        "render_per_client": False,
        "connect": False,
    }


def test_a_custom_handler_is_also_a_route_and_destroy_is_delete():
    view = View("V").collection("c")

    @view.on("archive")
    def archive(req):
        return None

    view.routes(["read", "archive", "destroy"])

    @view.render
    def render(client, model):
        return model

    @view.connect
    def connect(client):
        return None

    spec = guest.spec(view)
    assert spec["collection"] == "c"
    assert spec["routes"] == ["archive", "read", "delete"]
    assert spec["handlers"] == ["archive"]
    assert spec["render_per_client"] and spec["connect"]
    assert archive(None) is None, "decorators hand back the function"


def test_patch_falls_back_to_the_update_handler():
    view = my_models()
    assert view.handles("patch") and not view.handles("create")
    assert guest.spec(view)["handlers"] == ["update"], "the host does the fallback too"


def test_defaults_that_are_not_a_dict_fail_the_build():
    with pytest.raises(TypeError, match="defaults must be a JSON object"):
        View("V").defaults([1])


def test_id_is_a_string_or_an_integer():
    def req(data):
        return Request(View("V"), "read", Client("c1"), data)

    assert req({"id": "a1"}).id() == "a1"
    assert req({"id": 7}).id() == "7"
    for bad in [{}, {"id": ""}, {"id": 1.5}, {"id": [1]}, {"id": True}, "x", None]:
        assert code_of(lambda: req(bad).id()) == "invalid", bad


def test_with_defaults_puts_the_data_over_the_defaults():
    view = View("V").defaults({"title": "", "completed": False})
    req = Request(view, "create", Client("c1"), None)
    assert req.with_defaults({"title": "milk"}) == {"title": "milk", "completed": False}
    assert code_of(lambda: req.with_defaults([])) == "invalid"
    assert view.default_attributes == {"title": "", "completed": False}, "defaults stay unchanged"


def test_a_hidden_model_renders_as_not_found():
    view = View("V")
    view.render(lambda client, model: model if model["owner"] == client.claims.get("user") else None)
    req = Request(view, "read", Client("c1", "", {"user": "bob"}), None)
    assert req.render({"owner": "bob"}) == {"owner": "bob"}
    assert code_of(lambda: req.render({"owner": "alice"})) == "not_found"


def test_claims_that_are_not_an_object_count_as_none():
    assert Client.from_wire("c1", "t", "not json").claims == {}
    assert Client("c1", "t", [1]).claims == {}
    client = Client("c1", "t", {"user": "alice", "admin": True})
    assert client.claim_str("user") == "alice"
    assert client.claim_str("admin") is None


def test_handle_runs_the_handler_with_parsed_data_and_claims():
    view = View("V").on("whoami", lambda req: {"user": req.client.claim_str("user"), "data": req.data})
    alice = Client.from_wire("c1", "", '{"user":"alice"}')
    assert guest.handle(view, "whoami", alice, "[1]") == '{"user":"alice","data":[1]}'
    assert guest.handle(view, "whoami", Client("c1"), "  ") == '{"user":null,"data":null}', "empty data is null"


def test_handle_refuses_actions_without_a_handler_and_data_that_is_not_json():
    view = View("V").on("whoami", lambda req: None)
    assert code_of(lambda: guest.handle(view, "update", Client("c1"), "{}")) == "forbidden"
    assert code_of(lambda: guest.handle(view, "whoami", Client("c1"), "{")) == "invalid"


def test_a_bug_in_a_handler_is_logged_and_raised_as_it_is():
    def crash(req):
        raise KeyError("boom")

    async def later(req):
        return 1

    view = View("V").on("crash", crash).on("later", later)
    with pytest.raises(KeyError):
        guest.handle(view, "crash", Client("c1"), "null")
    assert "V:crash failed" in logs()[0]["message"] and "KeyError" in logs()[0]["message"]
    with pytest.raises(TypeError, match="must be synchronous"):
        guest.handle(view, "later", Client("c1"), "null")


def test_without_render_or_connect_functions_everything_passes():
    view = View("V")
    assert guest.render(view, Client("c1"), '{"a":1}') == '{"a":1}'
    assert guest.connect(view, Client("c1")) is None


def test_render_hides_on_none_on_a_view_error_and_on_a_model_that_is_not_json():
    view = View("V")

    @view.render
    def render(client, model):
        if model.get("secret"):
            raise ViewError.forbidden("secret")
        return {"id": model["id"]} if model["owner"] == client.claims.get("user") else None

    alice = Client("c1", "", {"user": "a"})
    assert guest.render(view, alice, '{"id":"1","owner":"a"}') == '{"id":"1"}'
    assert guest.render(view, alice, '{"id":"1","owner":"b"}') is None
    assert guest.render(view, alice, '{"secret":true}') is None
    assert guest.render(view, alice, "nope") is None


def test_connect_refuses_with_the_views_error():
    view = View("V")

    @view.connect
    def connect(client):
        if client.claim_str("user") is None:
            raise ViewError.forbidden("sign in")

    assert guest.connect(view, Client("c1", "", {"user": "a"})) is None
    with pytest.raises(ViewError) as raised:
        guest.connect(view, Client("c1"))
    assert raised.value == ViewError.forbidden("sign in")


def test_view_error_carries_the_codes_clients_receive():
    assert ViewError.not_found("x").to_json() == {"code": "not_found", "message": "x"}
    with pytest.raises(ValueError):
        ViewError("nope", "x")


def test_resolve_view_takes_a_module_attribute_or_a_builder():
    class Module:
        view = View("A")

    assert guest.resolve_view(Module).name == "A"
    assert guest.resolve_view(lambda: View("B")).name == "B"
    with pytest.raises(TypeError):
        guest.resolve_view(object())
