// The view behind a TodoMVC app: todos with a non-empty title and a
// `completed` flag, checked on every write. The same behaviour as the Rust
// view in plugins/todos.
import { View, ViewError } from 'halo-sdk';

/**
 * `attributes` with a trimmed title; `invalid` when the title is present but
 * not a non-empty string, or `completed` is present but not a boolean.
 */
export function checked(attributes) {
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) {
    throw ViewError.invalid('a todo must be a JSON object');
  }
  const todo = { ...attributes };
  if (Object.hasOwn(todo, 'title')) {
    if (typeof todo.title !== 'string') throw ViewError.invalid('title must be a string');
    // Rust's `str::trim` trims Unicode white space, as String#trim does.
    todo.title = todo.title.trim();
    if (todo.title === '') throw ViewError.invalid('title must not be empty');
  }
  if (Object.hasOwn(todo, 'completed') && typeof todo.completed !== 'boolean') {
    throw ViewError.invalid('completed must be true or false');
  }
  return todo;
}

export default new View('Todos')
  .defaults({ title: '', completed: false })
  .routes(['create', 'read', 'update', 'patch', 'delete', 'list'])
  .on('create', (req) => {
    const todo = checked(req.withDefaults(req.data));
    return req.render(req.collection().create(todo));
  })
  // `patch` uses this handler too; it may carry only some attributes.
  .on('update', (req) => {
    const changes = checked(req.data);
    return req.render(req.collection().update(req.id(), changes));
  });
