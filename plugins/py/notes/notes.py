"""Private notes: each client sees only the notes it owns or that are shared
with it, decided by the ``user`` claim of its handshake. The same behaviour
as the Rust view in plugins/notes.

A note is ``{"id", "owner", "text", "sharedWith": [user, ...]}``. Only the
owner may change or delete it, and the owner never changes.
"""

from halo_sdk import Client, Request, View, ViewError

view = View("Notes").defaults({"sharedWith": []}).routes(["create", "read", "update", "patch", "delete", "list"])


@view.on("create")
def create(req: Request):
    owner = user(req.client)
    note = req.with_defaults(req.data)
    check(note)
    if not isinstance(note.get("text"), str):
        raise ViewError.invalid("a note needs a text")
    # A client's own `owner` is overwritten.
    note["owner"] = owner
    return req.render(req.collection().create(note))


@view.on("read")
def read(req: Request):
    note = stored(req)
    visible(user(req.client), note)
    return req.render(note)


# `patch` uses this handler too.
@view.on("update")
def update(req: Request):
    note = stored(req)
    owned(user(req.client), note)
    changes = req.data
    check(changes)
    changes = dict(changes)
    if "owner" in changes and changes.pop("owner") != note.get("owner"):
        raise ViewError.forbidden("the owner of a note cannot change")
    return req.render(req.collection().update(req.id(), changes))


@view.on("delete")
def delete(req: Request):
    me = user(req.client)
    id = req.id()
    # Deleting a note that is gone already succeeds: Backbone's `destroy`
    # after a `serverdestroy` does exactly that.
    note = req.collection().get(id)
    if note is not None:
        owned(me, note)
        req.collection().remove(id)
    return {"id": id}


# `list` stays built in: the host renders per client and leaves out the
# notes this hides.
@view.render
def render(client: Client, note):
    me = client.claim_str("user")
    return note if me is not None and can_see(me, note) else None


def user(client: Client) -> str:
    """The requesting user, from the ``user`` claim; ``forbidden`` without one."""
    me = client.claim_str("user")
    if me is None:
        raise ViewError.forbidden("sign in to use notes")
    return me


def stored(req: Request) -> dict:
    """The note the request names; ``not_found`` when there is none."""
    note = req.collection().get(req.id())
    if note is None:
        raise ViewError.not_found("no such note")
    return note


def can_see(me: str, note) -> bool:
    """Whether ``me`` owns ``note`` or it is shared with them."""
    if not isinstance(note, dict):
        return False
    shared = note.get("sharedWith")
    return note.get("owner") == me or (isinstance(shared, list) and me in shared)


def visible(me: str, note: dict) -> None:
    """``not_found`` unless ``me`` may see ``note``, so its existence stays hidden."""
    if not can_see(me, note):
        raise ViewError.not_found("no such note")


def owned(me: str, note: dict) -> None:
    """``not_found`` unless ``me`` may see ``note``, then ``forbidden`` unless
    they own it."""
    visible(me, note)
    if note.get("owner") != me:
        raise ViewError.forbidden("only the owner may change a note")


def check(attributes) -> None:
    """``invalid`` unless the attributes are an object whose ``text``, when
    present, is a string and whose ``sharedWith``, when present, is a list
    of users."""
    if not isinstance(attributes, dict):
        raise ViewError.invalid("a note must be a JSON object")
    if "text" in attributes and not isinstance(attributes["text"], str):
        raise ViewError.invalid("text must be a string")
    if "sharedWith" in attributes:
        users = attributes["sharedWith"]
        if not (isinstance(users, list) and all(isinstance(u, str) for u in users)):
            raise ViewError.invalid("sharedWith must be a list of user names")
