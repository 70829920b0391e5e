//! Each node reports its connections to Redis about once a second, under a
//! key that expires unless renewed, and reads the others' reports: what a
//! connection limit counts beyond its own node, and what the admin
//! endpoint shows of the cluster.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::tenant::Tenants;

/// How often a node reports.
const EVERY: Duration = Duration::from_secs(1);

/// How long a report stands when it is not renewed: a node that stopped
/// reporting drops out of the counts after this.
const EXPIRES_SECS: u64 = 5;

/// One node's connections, as it reported them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NodeReport {
    /// The node's name.
    pub node: String,
    /// Its connections, all tenants together.
    pub connections: usize,
    /// Its connections per tenant.
    pub tenants: BTreeMap<String, usize>,
}

/// Every node's last report and the totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterReport {
    /// This node.
    pub node: String,
    /// Every node that reported lately, this one included.
    pub nodes: Vec<NodeReport>,
    /// Connections of all nodes together.
    pub connections: usize,
}

/// The reports a node knows.
pub(super) struct Nodes {
    node: String,
    others: Mutex<Vec<NodeReport>>,
    tenants: Arc<Tenants>,
}

impl Nodes {
    /// Starts reporting as `node` of cluster `name`.
    pub(super) fn start(
        client: redis::Client,
        name: &str,
        node: &str,
        tenants: Arc<Tenants>,
    ) -> Arc<Self> {
        let nodes = Arc::new(Self {
            node: node.to_owned(),
            others: Mutex::default(),
            tenants,
        });
        tokio::spawn(report_loop(
            client,
            format!("{name}:node:"),
            Arc::downgrade(&nodes),
        ));
        nodes
    }

    fn own(&self) -> NodeReport {
        let tenants: BTreeMap<String, usize> = self
            .tenants
            .gauges()
            .into_iter()
            .map(|gauge| (gauge.name, gauge.connections))
            .collect();
        NodeReport {
            node: self.node.clone(),
            connections: tenants.values().sum(),
            tenants,
        }
    }

    /// What each node reported last, and the totals.
    pub(super) fn report(&self) -> ClusterReport {
        let mut nodes = vec![self.own()];
        nodes.extend(self.others.lock().iter().cloned());
        nodes.sort_by(|a, b| a.node.cmp(&b.node));
        ClusterReport {
            node: self.node.clone(),
            connections: nodes.iter().map(|n| n.connections).sum(),
            nodes,
        }
    }
}

async fn report_loop(client: redis::Client, prefix: String, nodes: std::sync::Weak<Nodes>) {
    let mut connection = None;
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        let Some(nodes) = nodes.upgrade() else { return };
        if connection.is_none() {
            connection = client.get_multiplexed_async_connection().await.ok();
        }
        let Some(conn) = connection.as_mut() else {
            continue;
        };
        match exchange(conn, &prefix, &nodes).await {
            Ok(others) => {
                let mut elsewhere: BTreeMap<String, usize> = BTreeMap::new();
                for report in &others {
                    for (tenant, n) in &report.tenants {
                        *elsewhere.entry(tenant.clone()).or_default() += n;
                    }
                }
                nodes.tenants.set_elsewhere(elsewhere);
                *nodes.others.lock() = others;
            }
            Err(err) => {
                tracing::debug!(cause = %err, "reporting to the cluster failed; reconnecting");
                connection = None;
            }
        }
    }
}

/// Writes this node's report and reads the others'.
async fn exchange(
    conn: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
    nodes: &Nodes,
) -> redis::RedisResult<Vec<NodeReport>> {
    let own = nodes.own();
    let text = serde_json::to_string(&own).unwrap_or_default();
    let own_key = format!("{prefix}{}", nodes.node);
    redis::cmd("SET")
        .arg(&own_key)
        .arg(text)
        .arg("EX")
        .arg(EXPIRES_SECS)
        .query_async::<()>(conn)
        .await?;
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await?;
        keys.extend(batch.into_iter().filter(|key| *key != own_key));
        if next == 0 {
            break;
        }
        cursor = next;
    }
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let values: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query_async(conn).await?;
    Ok(values
        .into_iter()
        .flatten()
        .filter_map(|text| serde_json::from_str(&text).ok())
        .collect())
}
