//! Tests of the in-memory host: the collection semantics the host documents,
//! one transaction per call, and the built-in routes.

use serde_json::{Value, json};

use super::*;
use crate::prelude::*;

fn alice() -> Client {
    Client::new("c1", "", json!({ "user": "alice" }))
}

fn code<T: std::fmt::Debug>(result: Result<T>) -> Option<ErrorCode> {
    result.err().map(|e| e.code())
}

/// Every built-in route, no handlers.
fn plain() -> View {
    View::new("Things")
        .collection("things")
        .defaults(json!({ "n": 0 }))
        .routes([Create, Read, Update, Patch, Delete, List])
}

#[test]
fn create_assigns_host_shaped_ids_in_creation_order() {
    let things = collection("things");
    let a = things
        .create(&json!({ "id": "mine", "n": 1 }))
        .expect("create");
    let b = things.create(&json!({ "n": 2 })).expect("create");
    let (Some(ida), Some(idb)) = (a["id"].as_str(), b["id"].as_str()) else {
        panic!("ids are strings: {a} {b}");
    };
    assert_ne!(ida, "mine", "the store assigns ids");
    for id in [ida, idb] {
        assert_eq!(id.len(), 32);
        assert!(
            id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
            "{id}"
        );
        assert_eq!(&id[12..13], "7", "a UUIDv7, as the host makes");
    }
    assert!(ida < idb, "later ids sort after earlier ones");
    assert_eq!(things.list(None, None), Ok(vec![a.clone(), b]));
    assert_eq!(things.get(ida), Ok(Some(a)));
    assert_eq!(things.get("nope"), Ok(None));
}

#[test]
fn list_filters_by_equality_and_limits() {
    let things = collection("things");
    for (n, color) in [(1, "red"), (2, "blue"), (3, "red"), (4, "red")] {
        things
            .create(&json!({ "n": n, "color": color }))
            .expect("create");
    }
    let ns = |models: Result<Vec<Value>>| -> Vec<Value> {
        models
            .unwrap_or_default()
            .iter()
            .map(|m| m["n"].clone())
            .collect()
    };
    let red = json!({ "color": "red" });
    assert_eq!(ns(things.list(Some(&red), None)), [1, 3, 4]);
    assert_eq!(ns(things.list(Some(&red), Some(2))), [1, 3]);
    assert_eq!(ns(things.list(None, Some(0))), Vec::<Value>::new());
    assert_eq!(
        code(things.list(Some(&json!([1])), None)),
        Some(ErrorCode::Invalid)
    );
    assert_eq!(
        ns(collection("other").list(None, None)),
        Vec::<Value>::new()
    );
    assert_eq!(code(collection("").get("x")), Some(ErrorCode::Invalid));
}

#[test]
fn update_merges_respects_only_and_never_changes_the_id() {
    let things = collection("things");
    let id = insert("things", json!({ "id": "t1", "a": 1, "b": 2 }))["id"].clone();
    let updated = things.update("t1", &json!({ "id": "t2", "a": 10, "c": 3 }), None);
    assert_eq!(updated, Ok(json!({ "id": id, "a": 10, "b": 2, "c": 3 })));
    let only = things.update("t1", &json!({ "a": 0, "b": 0 }), Some(&["b"]));
    assert_eq!(only, Ok(json!({ "id": "t1", "a": 10, "b": 0, "c": 3 })));
    assert_eq!(model("things", "t1"), only.ok());
    assert_eq!(
        code(things.update("gone", &json!({}), None)),
        Some(ErrorCode::NotFound)
    );
    assert_eq!(
        code(things.update("t1", &json!("x"), None)),
        Some(ErrorCode::Invalid)
    );
}

#[test]
fn remove_tells_whether_the_model_existed() {
    insert("things", json!({ "id": "t1" }));
    assert_eq!(collection("things").remove("t1"), Ok(true));
    assert_eq!(collection("things").remove("t1"), Ok(false));
    assert!(models("things").is_empty());
}

#[test]
fn a_failing_call_discards_its_writes_and_events_but_not_its_logs() {
    let view = View::new("Halfway")
        .on("halfway", |req| {
            req.collection().create(&json!({ "n": 1 }))?;
            events::to_subscribers("wrote", &json!(1))?;
            log::warn("about to fail");
            Err(Error::invalid("no"))
        })
        .on("both", |req| {
            req.collection().create(&json!({ "n": 1 }))?;
            // Reads see the call's own writes.
            let seen = req.collection().list(None, None)?.len();
            events::to_client(req.client().id(), "wrote", &json!(seen))?;
            Ok(json!(seen))
        });
    insert("Halfway", json!({ "id": "old" }));
    assert_eq!(
        code(call(&view, "halfway", &alice(), Value::Null)),
        Some(ErrorCode::Invalid)
    );
    assert_eq!(models("Halfway"), [json!({ "id": "old" })]);
    assert!(events().is_empty());
    assert_eq!(
        logs(),
        [LogLine {
            level: log::Level::Warn,
            message: "about to fail".into()
        }]
    );

    assert_eq!(call(&view, "both", &alice(), Value::Null), Ok(json!(2)));
    assert_eq!(models("Halfway").len(), 2);
    assert_eq!(
        take_events(),
        [Event {
            to: To::Client("c1".into()),
            name: "Halfway:wrote".into(),
            data: json!(2),
        }]
    );
    assert!(events().is_empty(), "taken");
}

#[test]
fn a_panicking_handler_leaves_nothing_behind() {
    let view = View::new("Crash").on("crash", |req| {
        req.collection().create(&json!({}))?;
        panic!("boom");
    });
    // The view is not used after the panic, so no broken state is observed.
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        call(&view, "crash", &alice(), Value::Null)
    }));
    assert!(crashed.is_err());
    assert!(models("Crash").is_empty());
    // The fake is usable afterwards.
    assert_eq!(collection("Crash").list(None, None), Ok(vec![]));
}

#[test]
fn routes_are_checked_before_the_view_runs() {
    let view = View::new("V")
        .routes([Read])
        .on("ping", |_| Ok(json!("pong")));
    assert_eq!(
        call(&view, "ping", &alice(), Value::Null),
        Ok(json!("pong"))
    );
    assert_eq!(
        code(call(&view, Create, &alice(), json!({}))),
        Some(ErrorCode::Forbidden)
    );
    assert_eq!(
        code(call(&view, "other", &alice(), json!({}))),
        Some(ErrorCode::Forbidden)
    );
    assert_eq!(
        call(&view, "disconnect", &alice(), Value::Null),
        Ok(json!(true))
    );
    // A custom route listed without a handler would not load.
    let broken = View::new("V").routes(["archive"]);
    assert_eq!(
        code(call(&broken, "archive", &alice(), Value::Null)),
        Some(ErrorCode::Forbidden)
    );
}

#[test]
fn built_ins_run_as_in_the_host() {
    let view = plain();
    let created = call(&view, Create, &alice(), json!({ "name": "a", "id": "x" })).expect("create");
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    assert_ne!(id, "x");
    assert_eq!(created, json!({ "id": id, "n": 0, "name": "a" }));
    assert_eq!(
        call(&view, Read, &alice(), json!({ "id": id })),
        Ok(created.clone())
    );
    assert_eq!(
        call(&view, Patch, &alice(), json!({ "id": id, "n": 5 })),
        Ok(json!({ "id": id, "n": 5, "name": "a" }))
    );
    assert_eq!(
        call(&view, List, &alice(), json!([])),
        Ok(json!([{ "id": id, "n": 5, "name": "a" }]))
    );
    assert_eq!(
        call(&view, "destroy", &alice(), json!({ "id": id })),
        Ok(json!({ "id": id }))
    );
    // Already gone is success, as the original client needs.
    assert_eq!(
        call(&view, Delete, &alice(), json!({ "id": id })),
        Ok(json!({ "id": id }))
    );
    assert!(models("things").is_empty());

    for (action, data, want) in [
        (Create, json!([1]), ErrorCode::Invalid),
        (Read, json!({}), ErrorCode::Invalid),
        (Read, json!({ "id": 1.5 }), ErrorCode::Invalid),
        (Read, json!({ "id": "nope" }), ErrorCode::NotFound),
        (Update, json!({ "id": "nope" }), ErrorCode::NotFound),
        (Delete, json!("x"), ErrorCode::Invalid),
    ] {
        assert_eq!(
            code(call(&view, action.clone(), &alice(), data.clone())),
            Some(want),
            "{action} {data}"
        );
    }
}

#[test]
fn built_ins_render_per_client() {
    let view = plain().render(|client, model| {
        (model["owner"] == client.claims()["user"]).then(|| json!({ "id": model["id"] }))
    });
    insert("things", json!({ "id": "a", "owner": "alice" }));
    insert("things", json!({ "id": "b", "owner": "bob" }));
    assert_eq!(
        call(&view, List, &alice(), Value::Null),
        Ok(json!([{ "id": "a" }]))
    );
    assert_eq!(
        code(call(&view, Read, &alice(), json!({ "id": "b" }))),
        Some(ErrorCode::NotFound)
    );
    assert_eq!(
        code(call(&view, Update, &alice(), json!({ "id": "b", "n": 1 }))),
        Some(ErrorCode::NotFound)
    );
    // Deleting a hidden model is the same as deleting a missing one.
    assert_eq!(
        call(&view, Delete, &alice(), json!({ "id": "b" })),
        Ok(json!({ "id": "b" }))
    );
    assert!(model("things", "b").is_some(), "hidden, so not deleted");
    // A created model hidden from its creator is answered with its id.
    let created = call(&view, Create, &alice(), json!({ "owner": "bob" })).expect("create");
    assert_eq!(created.as_object().map(|o| o.len()), Some(1));
    assert_eq!(render(&view, &alice(), json!({ "owner": "bob" })), None);
    assert_eq!(
        render(&plain(), &alice(), json!({ "owner": "bob" })),
        Some(json!({ "owner": "bob" }))
    );
}

#[test]
fn patch_uses_the_update_handler_as_update() {
    let view = plain().on(Update, |req| Ok(json!(req.action().as_str())));
    assert_eq!(
        call(&view, Patch, &alice(), json!({ "id": "x" })),
        Ok(json!("update"))
    );
}

#[test]
fn render_and_connect_may_read_but_not_write() {
    insert("things", json!({ "id": "a" }));
    let view = plain()
        .render(|_, model| {
            let wrote = collection("things").create(&json!({}));
            assert_eq!(code(wrote), Some(ErrorCode::Forbidden));
            let pushed = events::to_subscribers("x", &json!(1));
            assert_eq!(code(pushed), Some(ErrorCode::Forbidden));
            Some(model)
        })
        .connect(|client| match collection("things").get("a")? {
            Some(_) if client.claim_str("user").is_some() => Ok(()),
            _ => Err(Error::forbidden("sign in")),
        });
    assert!(render(&view, &alice(), json!({ "id": "a" })).is_some());
    assert_eq!(connect(&view, &alice()), Ok(()));
    let stranger = Client::new("c2", "", json!({}));
    assert_eq!(code(connect(&view, &stranger)), Some(ErrorCode::Forbidden));
    assert_eq!(models("things").len(), 1);
}

#[test]
fn events_and_names_are_checked_as_in_the_host() {
    let view = View::new("V").on("emit", |req| {
        let name = req.data().as_str().unwrap_or_default();
        events::to_subscribers(name, &json!(null))?;
        Ok(Value::Null)
    });
    for bad in ["", "a:b", "a/b"] {
        assert_eq!(
            code(call(&view, "emit", &alice(), json!(bad))),
            Some(ErrorCode::Invalid),
            "{bad:?}"
        );
    }
    // Outside a call there is no view to prefix the name with.
    events::to_client("c9", "hello", &json!({})).expect("sent");
    assert_eq!(
        events(),
        [Event {
            to: To::Client("c9".into()),
            name: "hello".into(),
            data: json!({}),
        }]
    );
}

#[test]
fn a_call_may_write_at_most_a_thousand_times() {
    let view = View::new("V").on("flood", |req| {
        for _ in 0..1001 {
            req.collection().create(&json!({}))?;
        }
        Ok(Value::Null)
    });
    assert_eq!(
        code(call(&view, "flood", &alice(), Value::Null)),
        Some(ErrorCode::Invalid)
    );
    assert!(models("V").is_empty());
}

#[test]
fn insert_keeps_string_ids_and_reset_starts_over() {
    let seeded = seed("things", [json!({ "id": "a", "n": 1 }), json!({ "n": 2 })]);
    assert_eq!(seeded[0]["id"], "a");
    insert("things", json!({ "id": "a", "n": 3 }));
    assert_eq!(model("things", "a"), Some(json!({ "id": "a", "n": 3 })));
    assert_eq!(models("things").len(), 2, "replaced, not added");
    let first = seeded[1]["id"].clone();
    reset();
    assert!(models("things").is_empty());
    assert_eq!(insert("things", json!({}))["id"], first, "ids start over");
}

#[test]
#[should_panic(expected = "must be a JSON object")]
fn inserting_what_is_not_an_object_panics() {
    insert("things", json!([1]));
}

#[test]
fn each_thread_has_its_own_host() {
    insert("things", json!({ "id": "here" }));
    let elsewhere = std::thread::spawn(|| models("things")).join();
    assert_eq!(elsewhere.ok(), Some(vec![]));
    assert_eq!(models("things").len(), 1);
}

#[test]
fn an_update_that_changes_nothing_answers_only_the_id() {
    reset();
    let view = plain();
    let stored = insert("things", json!({ "id": "m1", "title": "same" }));
    let answer = call(
        &view,
        Update,
        &alice(),
        json!({ "id": "m1", "title": "same" }),
    );
    assert_eq!(answer, Ok(json!({ "id": "m1" })));
    assert_eq!(model("things", "m1"), Some(stored));
    let changed = call(
        &view,
        Update,
        &alice(),
        json!({ "id": "m1", "title": "new" }),
    );
    assert_eq!(changed.map(|m| m["title"].clone()), Ok(json!("new")));
}
