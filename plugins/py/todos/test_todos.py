"""Unit tests of the Todos view against the SDK's in-memory host: the same
behaviour as the Rust view in plugins/todos."""

import pytest

from halo_sdk import ViewError
from halo_sdk.testing import Client, call, insert, model, models, spec

from todos import view

alice = Client("c1", "", {"user": "alice"})


def refused(fn):
    with pytest.raises(ViewError) as raised:
        fn()
    return raised.value.code, raised.value.message


def test_spec_overrides_create_and_update():
    described = spec(view)
    assert described["routes"] == ["create", "read", "update", "patch", "delete", "list"]
    assert described["handlers"] == ["create", "update"]
    assert described["defaults"] == {"title": "", "completed": False}
    assert described["render_per_client"] is False


def test_create_trims_the_title_and_applies_the_defaults():
    todo = call(view, "create", alice, {"title": "  milk  "})
    assert todo == {"id": todo["id"], "title": "milk", "completed": False}
    assert models("Todos") == [todo]


def test_create_refuses_bad_titles_and_flags_and_stores_nothing():
    for data, message in [
        ({}, "title must not be empty"),
        ({"title": "   "}, "title must not be empty"),
        ({"title": 7}, "title must be a string"),
        ({"title": "milk", "completed": "yes"}, "completed must be true or false"),
        ({"title": "milk", "completed": 1}, "completed must be true or false"),
        ([1], "the model must be a JSON object"),
    ]:
        assert refused(lambda: call(view, "create", alice, data)) == ("invalid", message), data
    assert models("Todos") == []


def test_update_and_patch_check_what_they_carry_and_merge_it():
    id = insert("Todos", {"title": "milk", "completed": False})["id"]
    assert call(view, "patch", alice, {"id": id, "completed": True}) == {"id": id, "title": "milk", "completed": True}
    assert call(view, "update", alice, {"id": id, "title": " bread "}) == {"id": id, "title": "bread", "completed": True}
    assert refused(lambda: call(view, "patch", alice, {"id": id, "title": ""}))[0] == "invalid"
    assert refused(lambda: call(view, "patch", alice, {"id": id, "completed": 1}))[0] == "invalid"
    assert refused(lambda: call(view, "patch", alice, {"id": "gone", "completed": True}))[0] == "not_found"
    assert refused(lambda: call(view, "patch", alice, {"completed": True}))[0] == "invalid"
    assert model("Todos", id) == {"id": id, "title": "bread", "completed": True}


def test_read_list_and_delete_are_built_in():
    todo = call(view, "create", alice, {"title": "milk"})
    assert call(view, "read", alice, {"id": todo["id"]}) == todo
    assert call(view, "list", alice) == [todo]
    assert call(view, "destroy", alice, {"id": todo["id"]}) == {"id": todo["id"]}
    assert call(view, "delete", alice, {"id": todo["id"]}) == {"id": todo["id"]}
    assert refused(lambda: call(view, "read", alice, {"id": todo["id"]}))[0] == "not_found"
