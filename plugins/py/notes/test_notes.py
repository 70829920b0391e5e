"""Unit tests of the Notes view against the SDK's in-memory host: the same
behaviour as the Rust view in plugins/notes."""

import pytest

from halo_sdk import ViewError
from halo_sdk.testing import Client, call, insert, model, models, render, spec

from notes import view

alice = Client("c1", "", {"user": "alice"})
bob = Client("c2", "", {"user": "bob"})
carol = Client("c3", "", {"user": "carol"})
stranger = Client("c4", "", {})


def code(fn):
    with pytest.raises(ViewError) as raised:
        fn()
    return raised.value.code


def test_spec_renders_per_client_and_keeps_list_built_in():
    described = spec(view)
    assert described["routes"] == ["create", "read", "update", "patch", "delete", "list"]
    assert described["handlers"] == ["create", "read", "update", "delete"]
    assert described["defaults"] == {"sharedWith": []}
    assert described["render_per_client"] is True
    assert described["connect"] is False


def test_create_makes_the_requester_the_owner():
    note = call(view, "create", alice, {"text": "milk", "owner": "mallory"})
    assert note == {"id": note["id"], "text": "milk", "owner": "alice", "sharedWith": []}
    assert models("Notes") == [note]


def test_create_checks_the_note():
    for data, want in [
        ({}, "a note needs a text"),
        ({"text": 7}, "text must be a string"),
        ({"text": "x", "sharedWith": "bob"}, "sharedWith must be a list of user names"),
        ({"text": "x", "sharedWith": [1]}, "sharedWith must be a list of user names"),
        ([1], "the model must be a JSON object"),
    ]:
        with pytest.raises(ViewError) as raised:
            call(view, "create", alice, data)
        assert (raised.value.code, raised.value.message) == ("invalid", want), data
    assert models("Notes") == []


def test_a_client_without_a_user_may_not_create_or_read_and_lists_none():
    insert("Notes", {"id": "n1", "owner": "alice", "text": "x", "sharedWith": []})
    assert code(lambda: call(view, "create", stranger, {"text": "x"})) == "forbidden"
    assert code(lambda: call(view, "read", stranger, {"id": "n1"})) == "forbidden"
    assert call(view, "list", stranger) == []


def test_a_shared_note_is_seen_by_bob_and_not_by_carol():
    note = call(view, "create", alice, {"text": "for bob", "sharedWith": ["bob"]})
    assert call(view, "list", bob) == [note]
    assert call(view, "list", carol) == []
    assert call(view, "read", bob, {"id": note["id"]}) == note
    assert code(lambda: call(view, "read", carol, {"id": note["id"]})) == "not_found"
    assert code(lambda: call(view, "read", alice, {"id": "gone"})) == "not_found"


def test_only_the_owner_may_change_a_note_and_the_owner_never_changes():
    note = call(view, "create", alice, {"text": "alice wrote this", "sharedWith": ["bob"]})
    id = note["id"]
    assert code(lambda: call(view, "update", bob, {"id": id, "text": "bob was here"})) == "forbidden"
    assert code(lambda: call(view, "patch", carol, {"id": id, "text": "carol"})) == "not_found"
    assert code(lambda: call(view, "patch", alice, {"id": id, "owner": "bob"})) == "forbidden"
    assert code(lambda: call(view, "patch", alice, {"id": id, "text": 1})) == "invalid"
    assert model("Notes", id)["text"] == "alice wrote this"
    # Naming the owner it already has is no change of owner.
    changed = call(view, "patch", alice, {"id": id, "owner": "alice", "text": "after"})
    assert changed == {**note, "text": "after"}


def test_unsharing_hides_the_note_from_bob():
    note = call(view, "create", alice, {"text": "one", "sharedWith": ["bob"]})
    call(view, "patch", alice, {"id": note["id"], "sharedWith": []})
    assert call(view, "list", bob) == []
    assert render(view, bob, model("Notes", note["id"])) is None
    call(view, "patch", alice, {"id": note["id"], "sharedWith": ["bob"]})
    assert [n["id"] for n in call(view, "list", bob)] == [note["id"]]


def test_delete_is_for_the_owner_and_gone_already_succeeds():
    note = call(view, "create", alice, {"text": "x", "sharedWith": ["bob"]})
    id = note["id"]
    assert code(lambda: call(view, "delete", bob, {"id": id})) == "forbidden"
    assert code(lambda: call(view, "delete", carol, {"id": id})) == "not_found"
    assert code(lambda: call(view, "delete", stranger, {"id": id})) == "forbidden"
    assert call(view, "destroy", alice, {"id": id}) == {"id": id}
    assert call(view, "delete", alice, {"id": id}) == {"id": id}
    assert models("Notes") == []


def test_render_needs_a_user_claim():
    note = {"id": "n1", "owner": "alice", "text": "x", "sharedWith": []}
    assert render(view, alice, note) == note
    assert render(view, stranger, note) is None
    assert render(view, bob, {"id": "n2", "text": "odd"}) is None
