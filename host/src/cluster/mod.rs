//! A node among others: several `halo serve` nodes on one PostgreSQL store
//! and one Redis form a cluster. Each commit is announced on the feed; each
//! node pushes other nodes' commits to its own connections (through each
//! tenant's broadcaster, which reads what the feed missed from the commit
//! log), and reports its connections so that limits count cluster-wide.
//!
//! * `feed`: commits announced and heard over Redis pub/sub.
//! * `nodes`: each node's report, and the cluster's totals.

mod feed;
mod nodes;

pub use nodes::{ClusterReport, NodeReport};

use std::sync::Arc;

use crate::store::Postgres;
use crate::tenant::Tenants;

/// Why joining the cluster failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The feed's URL or server.
    #[error("the feed at {url} cannot be used: {source}")]
    Feed {
        /// The URL given.
        url: String,
        /// What Redis said.
        #[source]
        source: redis::RedisError,
    },
}

/// This node's place in a cluster.
pub struct Cluster {
    nodes: Arc<nodes::Nodes>,
}

impl Cluster {
    /// Joins cluster `name` as node `node`: announces `pg`'s commits on the
    /// feed at `url`, hands other nodes' commits to `tenants`, and reports
    /// and learns connection counts.
    pub async fn join(
        url: &str,
        name: &str,
        node: &str,
        pg: &Arc<Postgres>,
        tenants: &Arc<Tenants>,
    ) -> Result<Self, ClusterError> {
        let client = redis::Client::open(url).map_err(|source| ClusterError::Feed {
            url: url.to_owned(),
            source,
        })?;
        // Fail at start, with the reason, rather than on the first commit.
        let _ = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|source| ClusterError::Feed {
                url: url.to_owned(),
                source,
            })?;
        let feed = feed::Feed::start(client.clone(), name, pg.writer(), Arc::clone(tenants));
        pg.announce_to(feed);
        let nodes = nodes::Nodes::start(client, name, node, Arc::clone(tenants));
        Ok(Self { nodes })
    }

    /// What each node reported last, and the totals.
    pub fn report(&self) -> ClusterReport {
        self.nodes.report()
    }
}
