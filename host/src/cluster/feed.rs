//! The change feed: each commit this node makes is published on its
//! tenant's Redis channel; every node hears every tenant's channel and hands
//! the commits of tenants it has loaded to their broadcasters. Pub/sub
//! delivers at most once, and nothing while Redis is away: after every
//! (re)subscription each tenant reads the commit log for what it missed.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::store::{Announce, logged};
use crate::tenant::Tenants;
use crate::tx::Emit;

/// Messages that may wait for Redis; more are dropped (the log has them).
const MAX_WAITING: usize = 65_536;

/// How long to wait before reconnecting to Redis.
const RECONNECT: Duration = Duration::from_millis(500);

/// A node's end of the feed.
pub(super) struct Feed {
    channel_prefix: String,
    writer: uuid::Uuid,
    outgoing: mpsc::Sender<(String, String)>,
}

impl Feed {
    /// Starts publishing and listening on cluster `name`'s channels.
    pub(super) fn start(
        client: redis::Client,
        name: &str,
        writer: uuid::Uuid,
        tenants: Arc<Tenants>,
    ) -> Arc<Self> {
        let channel_prefix = format!("{name}:feed:");
        let (outgoing, queue) = mpsc::channel(MAX_WAITING);
        // On a thread of its own: on the runtime's workers the publish
        // would wait behind this node's own fan-out of the same commit,
        // and every other node would push it that much later.
        let publisher = client.clone();
        let started = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .and_then(|runtime| {
                std::thread::Builder::new()
                    .name("halo-feed".into())
                    .spawn(move || runtime.block_on(publish(publisher, queue)))
            });
        if let Err(err) = started {
            tracing::error!(cause = %err, "cannot start the feed's publisher; other nodes read commits from the log");
        }
        tokio::spawn(listen(client, channel_prefix.clone(), writer, tenants));
        Arc::new(Self {
            channel_prefix,
            writer,
            outgoing,
        })
    }
}

impl Announce for Feed {
    fn announce(&self, tenant: &str, seq: u64, body: Arc<str>) {
        let channel = format!("{}{tenant}", self.channel_prefix);
        let message = format!("{} {seq} {body}", self.writer);
        if self.outgoing.try_send((channel, message)).is_err() {
            tracing::debug!(
                tenant,
                seq,
                "feed backlog full; other nodes read this commit from the log"
            );
        }
    }
}

/// Publishes announced commits in order, reconnecting as needed.
async fn publish(client: redis::Client, mut queue: mpsc::Receiver<(String, String)>) {
    let mut connection = None;
    while let Some((channel, message)) = queue.recv().await {
        if connection.is_none() {
            match client.get_multiplexed_async_connection().await {
                Ok(conn) => connection = Some(conn),
                Err(err) => {
                    tracing::debug!(cause = %err, "feed unreachable; commits are read from the log");
                    continue;
                }
            }
        }
        if let Some(conn) = connection.as_mut() {
            let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(&message)
                .query_async(conn)
                .await;
            if let Err(err) = sent {
                tracing::warn!(cause = %err, "publishing on the feed failed; reconnecting");
                connection = None;
            }
        }
    }
}

/// Hears every tenant's channel and hands other nodes' commits over, for
/// as long as the process runs.
async fn listen(client: redis::Client, prefix: String, writer: uuid::Uuid, tenants: Arc<Tenants>) {
    let pattern = format!("{prefix}*");
    let own = writer.to_string();
    loop {
        let mut pubsub = match client.get_async_pubsub().await {
            Ok(pubsub) => pubsub,
            Err(err) => {
                tracing::warn!(cause = %err, "feed unreachable; reconnecting");
                tokio::time::sleep(RECONNECT).await;
                continue;
            }
        };
        if let Err(err) = pubsub.psubscribe(&pattern).await {
            tracing::warn!(cause = %err, "subscribing to the feed failed; reconnecting");
            tokio::time::sleep(RECONNECT).await;
            continue;
        }
        tracing::info!("listening to the feed");
        // What was published while nobody listened is in the log.
        for slot in tenants.slots() {
            if let Some(tenant) = slot.tenant() {
                tenant.broadcaster().catch_up();
            }
        }
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let channel = message.get_channel_name();
            let Some(tenant) = channel.strip_prefix(&prefix) else {
                continue;
            };
            let Ok(payload) = message.get_payload::<String>() else {
                continue;
            };
            hand_over(&tenants, tenant, &own, &payload);
        }
        tracing::warn!("feed connection lost; reconnecting");
        tokio::time::sleep(RECONNECT).await;
    }
}

/// Hands a commit heard on the feed to its tenant's broadcaster, if the
/// tenant is loaded here and the commit is another node's.
fn hand_over(tenants: &Tenants, tenant: &str, own: &str, payload: &str) {
    let Some((writer, rest)) = payload.split_once(' ') else {
        return;
    };
    if writer == own {
        return;
    }
    let Some((seq, body)) = rest.split_once(' ') else {
        return;
    };
    let Ok(seq) = seq.parse::<u64>() else {
        return;
    };
    let Some(loaded) = tenants.slot(tenant).and_then(|slot| slot.tenant()) else {
        return;
    };
    // Only other nodes' commits get this far.
    match logged(seq, body, false) {
        Ok(commit) => {
            let emits: Vec<Emit> = commit
                .events
                .and_then(|events| serde_json::from_value(events).ok())
                .unwrap_or_default();
            loaded
                .broadcaster()
                .foreign(seq, commit.changes.into(), emits);
        }
        Err(err) => {
            tracing::warn!(tenant, seq, cause = %err, "unreadable commit on the feed; reading it from the log")
        }
    }
}
