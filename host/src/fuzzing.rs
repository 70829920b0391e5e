//! Entry points for the fuzzing runner in `fuzz/`: each takes input as a
//! client, a settings file or a view could send it, and must return without
//! panicking, whatever it is. Each checks what must hold of what it accepts.
//! Not an API: the runner is its only user.

use std::path::Path;

use clap::CommandFactory;
use serde_json::{Map, Value};

/// An event name: parsed, and asked what it is.
pub fn event_name(text: &str) {
    if let Ok(event) = crate::event::Event::parse(text) {
        let _ = (event.is_read(), event.is_unsubscribe(), event.built_in());
        assert!(
            !event.view.contains(':'),
            "the view is before the first colon"
        );
    }
    let _ = crate::event::normalize_route(text);
}

/// A Socket.IO event's arguments as sent (`["<event>", data, ...]`), then the
/// data's operation id and size, as a request's are checked.
pub fn event_arguments(text: &str) {
    if let (_, Ok(Some(mut data))) = crate::socket::arguments(text) {
        let size = crate::socket::json_size(&data);
        assert_eq!(
            size,
            serde_json::to_string(&data).map_or(0, |t| t.len() as u64),
            "json_size is the compact length"
        );
        if let Ok(Some(op)) = crate::ops::take_op(&mut data) {
            assert!((1..=128).contains(&op.chars().count()));
        }
    }
}

/// A view spec as a component's `describe` returns it: lines of name,
/// collection, defaults, then `r:<route>` and `h:<handler>`.
pub fn view_spec(text: &str) {
    let mut lines = text.split('\n');
    let name = lines.next().unwrap_or_default();
    let collection = lines.next().unwrap_or_default();
    let defaults = lines.next().unwrap_or_default();
    let (mut routes, mut handlers) = (Vec::new(), Vec::new());
    for line in lines {
        match line.split_at_checked(2) {
            Some(("r:", route)) => routes.push(route.to_owned()),
            Some(("h:", handler)) => handlers.push(handler.to_owned()),
            _ => {}
        }
    }
    let per_client = text.len().is_multiple_of(2);
    if let Ok(spec) = crate::view::ViewSpec::check(
        name, collection, defaults, routes, handlers, per_client, false,
    ) {
        assert!(!spec.name.is_empty() && spec.name.len() <= crate::view::MAX_VIEW_NAME);
    }
}

/// A tenant.toml.
pub fn tenant_toml(text: &str) {
    let _ = crate::tenant::TenantConfig::parse(
        text,
        Path::new("tenant.toml"),
        crate::tenant::TenantLimits::default(),
    );
}

/// A halo.toml at `path`, read as `halo serve` reads it: its keys become
/// flags, which must then parse as the command line's do or be refused.
pub fn settings_file(path: &Path) {
    let command = crate::cli::Cli::command();
    let Some(serve) = command.find_subcommand("serve") else {
        return;
    };
    let Ok(matches) = serve.clone().try_get_matches_from(["serve"]) else {
        return;
    };
    if let Ok(flags) = crate::settings::from_file(path, serve, &matches, true) {
        let argv = std::iter::once("serve".into()).chain(flags);
        let _ = serve.clone().try_get_matches_from(argv);
    }
}

/// An update's attributes merged into a stored model: `id` never changes,
/// and every other attribute sent is there afterwards, as sent.
pub fn merge(model: &str, update: &str) {
    let (Ok(Value::Object(mut model)), Ok(Value::Object(update))) = (
        serde_json::from_str::<Value>(model),
        serde_json::from_str::<Value>(update),
    ) else {
        return;
    };
    let id = model.get("id").cloned();
    crate::store::merge(&mut model, &update, None);
    assert_eq!(model.get("id"), id.as_ref(), "id unchanged");
    for (key, value) in &update {
        if key != "id" {
            assert_eq!(model.get(key), Some(value));
        }
    }
    let only: Vec<String> = update.keys().take(1).cloned().collect();
    let before: Map<String, Value> = model.clone();
    crate::store::merge(&mut model, &Map::new(), Some(&only));
    assert_eq!(model, before, "merging nothing changes nothing");
}
