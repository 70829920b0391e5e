"""The view behind a TodoMVC app: todos with a non-empty title and a
``completed`` flag, checked on every write. The same behaviour as the Rust
view in plugins/todos and the JavaScript one in plugins/js/todos.
"""

from halo_sdk import Request, View, ViewError

view = (
    View("Todos")
    .defaults({"title": "", "completed": False})
    .routes(["create", "read", "update", "patch", "delete", "list"])
)


@view.on("create")
def create(req: Request):
    todo = checked(req.with_defaults(req.data))
    return req.render(req.collection().create(todo))


# `patch` uses this handler too; it may carry only some attributes.
@view.on("update")
def update(req: Request):
    changes = checked(req.data)
    return req.render(req.collection().update(req.id(), changes))


def checked(attributes) -> dict:
    """``attributes`` with a trimmed title; ``invalid`` when the title is
    present but not a non-empty string, or ``completed`` is present but not
    a boolean."""
    if not isinstance(attributes, dict):
        raise ViewError.invalid("a todo must be a JSON object")
    todo = dict(attributes)
    if "title" in todo:
        if not isinstance(todo["title"], str):
            raise ViewError.invalid("title must be a string")
        # str.strip() trims Unicode white space, as Rust's str::trim does.
        todo["title"] = todo["title"].strip()
        if todo["title"] == "":
            raise ViewError.invalid("title must not be empty")
    # bool only: in Python True is also an int, and 1 is not a boolean.
    if "completed" in todo and not isinstance(todo["completed"], bool):
        raise ViewError.invalid("completed must be true or false")
    return todo
