//! Private notes: each client sees only the notes it owns or that are shared
//! with it, decided by the `user` claim of its handshake.
//!
//! A note is `{"id", "owner", "text", "sharedWith": [user, ...]}`. Only the
//! owner may change or delete it, and the owner never changes.
use halo_sdk::prelude::*;

fn notes() -> View {
    View::new("Notes")
        .defaults(json!({ "sharedWith": [] }))
        .routes([Create, Read, Update, Patch, Delete, List])
        .on(Create, |req| {
            let user = user(req.client())?;
            let mut note = req.with_defaults(req.data())?;
            check(&note)?;
            if !note.get("text").is_some_and(Value::is_string) {
                return Err(Error::invalid("a note needs a text"));
            }
            // `with_defaults` made an object, so this inserts; a client's
            // own `owner` is overwritten.
            note["owner"] = Value::from(user);
            req.render(req.collection().create(&note)?)
        })
        .on(Read, |req| {
            let note = stored(req)?;
            visible(user(req.client())?, &note)?;
            req.render(note)
        })
        // `patch` uses this handler too.
        .on(Update, |req| {
            let note = stored(req)?;
            owned(user(req.client())?, &note)?;
            let mut changes = req.data().clone();
            check(&changes)?;
            if let Some(fields) = changes.as_object_mut()
                && fields
                    .remove("owner")
                    .is_some_and(|owner| owner != note["owner"])
            {
                return Err(Error::forbidden("the owner of a note cannot change"));
            }
            req.render(req.collection().update(req.id()?, &changes, None)?)
        })
        .on(Delete, |req| {
            let user = user(req.client())?;
            let id = req.id()?;
            // Deleting a note that is gone already succeeds: Backbone's
            // `destroy` after a `serverdestroy` does exactly that.
            if let Some(note) = req.collection().get(id)? {
                owned(user, &note)?;
                req.collection().remove(id)?;
            }
            Ok(json!({ "id": id }))
        })
        // `list` stays built in: the host renders per client and leaves out
        // the notes this hides.
        .render(|client, note| {
            let user = client.claim_str("user")?;
            can_see(user, &note).then_some(note)
        })
}

/// The requesting user, from the `user` claim; `forbidden` without one.
fn user(client: &Client) -> Result<&str> {
    client
        .claim_str("user")
        .ok_or_else(|| Error::forbidden("sign in to use notes"))
}

/// The note the request names; `not_found` when there is none.
fn stored(req: &Request) -> Result<Value> {
    req.collection()
        .get(req.id()?)?
        .ok_or_else(|| Error::not_found("no such note"))
}

/// Whether `user` owns `note` or it is shared with them.
fn can_see(user: &str, note: &Value) -> bool {
    note["owner"] == user
        || note["sharedWith"]
            .as_array()
            .is_some_and(|users| users.iter().any(|u| u == user))
}

/// `not_found` unless `user` may see `note`, so its existence stays hidden.
fn visible(user: &str, note: &Value) -> Result<()> {
    if can_see(user, note) {
        Ok(())
    } else {
        Err(Error::not_found("no such note"))
    }
}

/// `not_found` unless `user` may see `note`, then `forbidden` unless they
/// own it.
fn owned(user: &str, note: &Value) -> Result<()> {
    visible(user, note)?;
    if note["owner"] == user {
        Ok(())
    } else {
        Err(Error::forbidden("only the owner may change a note"))
    }
}

/// `invalid` unless the attributes are an object whose `text`, when present,
/// is a string and whose `sharedWith`, when present, is a list of users.
fn check(attributes: &Value) -> Result<()> {
    let Some(fields) = attributes.as_object() else {
        return Err(Error::invalid("a note must be a JSON object"));
    };
    if fields.get("text").is_some_and(|t| !t.is_string()) {
        return Err(Error::invalid("text must be a string"));
    }
    if let Some(users) = fields.get("sharedWith")
        && !users
            .as_array()
            .is_some_and(|users| users.iter().all(Value::is_string))
    {
        return Err(Error::invalid("sharedWith must be a list of user names"));
    }
    Ok(())
}

halo_sdk::export_view!(notes);
