//! How a model looks to a client through a view: as stored, or as the
//! view's `render` shows it to that client's audience (clients with equal
//! claims see models alike). Also what each audience was last shown, so a
//! commit that changes a model again diffs against it instead of rendering
//! the model's old state anew.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::applied::Applied;
use crate::client::Client;
use crate::reply::Reply;
use crate::store::Model;
use crate::tx::Tx;
use crate::view::{CallError, FailReason, View};

/// `model` as `client` sees it through `view`, as the text to answer with:
/// `None` when hidden. Printed once, here, or taken as the view printed it.
pub async fn render(
    applied: &Arc<Applied>,
    view: &View,
    client: &Client,
    model: &Model,
) -> Result<Option<Reply>, CallError> {
    if !view.spec().render_per_client {
        return Ok(Some(Reply::model(model)));
    }
    // Boxed: the view call's future is a kilobyte, which every built-in
    // route's future would otherwise carry (and move whole a few times)
    // though only per-client views ever enter it.
    let rendered =
        Box::pin(view.render(client, print(model), Tx::new(Arc::clone(applied)))).await?;
    rendered
        .map(|text| Reply::from_text(text).map_err(|_| not_json()))
        .transpose()
}

fn not_json() -> CallError {
    CallError::Failed {
        reason: FailReason::Trap,
        detail: "render returned text that is not JSON".into(),
    }
}

/// A model of a per-client view, as JSON `text`, as `client` sees it: a
/// push renders the same text for many audiences and prints it once.
pub async fn render_text(
    applied: &Arc<Applied>,
    view: &View,
    client: &Client,
    text: Arc<str>,
) -> Result<Option<Value>, CallError> {
    let rendered = view
        .render(client, text, Tx::new(Arc::clone(applied)))
        .await?;
    match rendered {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|_| not_json()),
    }
}

/// How `client` sees a model given as text, or `None`: a failing render
/// hides the model, since nothing the view could not vouch for may leak.
pub async fn sight(
    applied: &Arc<Applied>,
    view: &View,
    client: &Client,
    model: Option<&Arc<str>>,
) -> Option<Value> {
    let model = model?;
    match render_text(applied, view, client, Arc::clone(model)).await {
        Ok(sight) => sight,
        Err(err) => {
            tracing::warn!(view = %view.spec().name, cause = %err, "render failed during a push; model hidden from that audience");
            None
        }
    }
}

/// Renders one view call holds at most: they share its CPU deadline and its
/// turn, so a call stays well within a tick while the per-call costs (slot,
/// turn, instance) are paid once for all of them.
const RENDERS_PER_CALL: usize = 32;

/// How each client of `jobs` sees its model given as text, in order; `None`
/// where hidden. Rendered a few dozen to a call; a call that fails is done
/// again one render at a time, so a failing render hides its model from its
/// own audience only.
pub async fn sights(
    applied: &Arc<Applied>,
    view: &View,
    jobs: &[(Client, Arc<str>)],
) -> Vec<Option<Value>> {
    let mut out = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(RENDERS_PER_CALL) {
        let batch = view.render_many(chunk, Tx::new(Arc::clone(applied))).await;
        let parsed: Option<Vec<Option<Value>>> = match batch {
            Ok(texts) => texts
                .into_iter()
                .map(|text| match text {
                    None => Some(None),
                    Some(text) => serde_json::from_str(&text).ok().map(Some),
                })
                .collect(),
            Err(err) => {
                tracing::debug!(view = %view.spec().name, cause = %err, "a batch of renders failed; rendering them one by one");
                None
            }
        };
        match parsed {
            Some(sights) => out.extend(sights),
            // A render failed, or printed what is not JSON: the one-by-one
            // path hides that model from that audience alone, and logs it.
            None => {
                for (client, model) in chunk {
                    out.push(sight(applied, view, client, Some(model)).await);
                }
            }
        }
    }
    out
}

/// A model printed as JSON text. Printing a map of JSON values cannot fail.
pub fn print(model: &Model) -> Arc<str> {
    serde_json::to_string(model).unwrap_or_default().into()
}

/// How one audience sees a model before and after a change.
#[derive(Debug, Clone, Default)]
pub struct Sight {
    /// Before the change; `None` if it did not exist or was hidden.
    pub before: Option<Value>,
    /// After the change; `None` if it is gone or hidden.
    pub after: Option<Value>,
}

/// Sights of one change by audience (a client's claims). Claims are hashed
/// several times per delivery of a rendered push; foldhash (randomly seeded)
/// does that in a fraction of SipHash's time.
pub type Sights = foldhash::HashMap<Arc<str>, Sight>;

/// The clients of a push by audience: one client per distinct claims.
pub type Audiences = foldhash::HashMap<Arc<str>, Client>;

/// What each audience (a client's claims) was shown of a model; `None`
/// where it was hidden.
pub type Seen = foldhash::HashMap<Arc<str>, Option<Value>>;

/// Most sights [`Shown`] keeps: a commit of many models to many audiences is
/// not worth holding on to.
const MAX_SHOWN: usize = 10_000;

/// What each audience was last pushed of the models the last rendered
/// commit wrote. The next commit that changes the same model from that same
/// text diffs against these instead of rendering the model again: they are
/// what those clients hold.
#[derive(Debug, Default)]
pub struct Shown {
    models: HashMap<(String, String), LastShown>,
}

#[derive(Debug)]
struct LastShown {
    /// The model's text when it was shown.
    text: Arc<str>,
    /// Each audience's sight of it then.
    sights: Seen,
}

impl Shown {
    /// What each audience was shown of `view`'s model `id`, if it was last
    /// shown as `text`: looked up once for all of a change's audiences.
    pub fn seen(&self, view: &str, id: &str, text: &Arc<str>) -> Option<&Seen> {
        let last = self.models.get(&(view.to_owned(), id.to_owned()))?;
        (last.text == *text).then_some(&last.sights)
    }

    /// Records what a commit showed of `view`'s model `id`, now `text`.
    pub fn record(&mut self, view: &str, id: &str, text: Arc<str>, sights: &Sights) {
        let sights = sights
            .iter()
            .map(|(audience, sight)| (Arc::clone(audience), sight.after.clone()))
            .collect();
        self.models
            .insert((view.to_owned(), id.to_owned()), LastShown { text, sights });
    }

    /// Keeps what it records small enough to be worth it.
    pub fn trim(&mut self) {
        let kept: usize = self.models.values().map(|last| last.sights.len()).sum();
        if kept > MAX_SHOWN {
            self.models.clear();
        }
    }
}
