//! The view behind a TodoMVC app: todos with a non-empty title and a
//! `completed` flag, checked on every write.
use halo_sdk::prelude::*;

fn todos() -> View {
    View::new("Todos")
        .defaults(json!({ "title": "", "completed": false }))
        .routes([Create, Read, Update, Patch, Delete, List])
        .on(Create, |req| {
            let todo = checked(req.with_defaults(req.data())?)?;
            req.render(req.collection().create(&todo)?)
        })
        // `patch` uses this handler too; it may carry only some attributes.
        .on(Update, |req| {
            let changes = checked(req.data().clone())?;
            req.render(req.collection().update(req.id()?, &changes, None)?)
        })
}

/// `attributes` with a trimmed title, or `invalid` when the title is present
/// but not a non-empty string, or `completed` is present but not a boolean.
fn checked(mut attributes: Value) -> Result<Value> {
    let Some(fields) = attributes.as_object_mut() else {
        return Err(Error::invalid("a todo must be a JSON object"));
    };
    if let Some(title) = fields.get_mut("title") {
        let Some(text) = title.as_str() else {
            return Err(Error::invalid("title must be a string"));
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(Error::invalid("title must not be empty"));
        }
        *title = Value::from(trimmed);
    }
    if fields.get("completed").is_some_and(|c| !c.is_boolean()) {
        return Err(Error::invalid("completed must be true or false"));
    }
    Ok(attributes)
}

halo_sdk::export_view!(todos);
