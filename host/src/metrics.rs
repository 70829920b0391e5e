//! Prometheus metrics, served as text at `/metrics`.
//!
//! One registry per process, like the default registries of other
//! Prometheus clients: what is counted happens deep in the store, the view
//! runtime and the broadcaster, and threading a handle through every layer
//! would only move the global. Gauges that describe the tenants as they are
//! now (connections, warm instances) are read when scraped, so they cannot
//! drift from the truth.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::{Arc, LazyLock};

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry, Unit};

/// The content type of the text format served at `/metrics`.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A loaded tenant's gauges, read when scraped.
#[derive(Debug, Clone)]
pub struct TenantGauges {
    /// The tenant's name.
    pub name: String,
    /// Its open connections.
    pub connections: usize,
    /// Its warm view instances.
    pub warm_instances: usize,
}

/// How a request ended, as counted.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types, reason = "label values are the wire's codes")]
pub enum Outcome {
    /// Answered with a result.
    ok,
    /// Answered with an error: the code is in `code`.
    error,
}

/// Labels of a counted request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The tenant (empty for the default tenant).
    pub tenant: Arc<str>,
    /// The view the event named (`<View>:<action>`), empty if unknown.
    pub view: Arc<str>,
    /// The action, empty if unknown.
    pub action: Cow<'static, str>,
    /// `ok` or `error`.
    pub outcome: Outcome,
    /// The error's code (`not_found`, `plugin_failed`…), empty when ok.
    pub code: &'static str,
}

/// Labels of anything counted per view of a tenant.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ViewLabels {
    /// The tenant (empty for the default tenant).
    pub tenant: String,
    /// The view.
    pub view: String,
}

/// Labels of per-tenant gauges.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabels {
    /// The tenant (empty for the default tenant).
    pub tenant: String,
}

/// What a hot reload did.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types, reason = "label values read like the log's")]
pub enum Reload {
    /// A view was added or replaced.
    loaded,
    /// A view was removed.
    removed,
    /// A file was refused; the previous version, if any, stays.
    refused,
}

/// Labels of a counted hot reload.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    /// The tenant (empty for the default tenant).
    pub tenant: String,
    /// What happened.
    pub outcome: Reload,
}

/// Every metric halo exports.
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by tenant, view, action and outcome.
    pub requests: Family<RequestLabels, Counter>,
    /// Time spent running view code, per call.
    pub plugin_calls: Family<ViewLabels, Histogram>,
    /// Pushes handed to a connection's send buffer.
    pub pushes_sent: Counter,
    /// Pushes that found a connection's buffer full (the connection is then
    /// closed; its client reconnects and refetches).
    pub pushes_dropped: Counter,
    /// Time to commit one batch of transactions durably.
    pub store_commits: Histogram,
    /// Writes run again after losing to another node's commit.
    pub writes_again: Counter,
    /// Holds a write that kept losing took on its tenant.
    pub tenant_holds: Counter,
    /// Hot reloads of views, by tenant and what they did.
    pub reloads: Family<ReloadLabels, Counter>,
    connections: Family<TenantLabels, Gauge>,
    instances: Family<TenantLabels, Gauge>,
    tenants_loaded: Gauge,
    /// One scrape at a time: each clears and refills the tenant gauges.
    scraping: parking_lot::Mutex<()>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

std::thread_local! {
    /// The request counter this thread counted last, with its labels. A
    /// family finds a counter by hashing its labels (SipHash) under a lock,
    /// 600 instructions of every request; a thread mostly counts the same
    /// event again. The family never drops a counter, so a kept one stays
    /// the family's.
    static LAST_REQUEST: RefCell<Option<(RequestLabels, Counter)>> = const { RefCell::new(None) };
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// `metric`, registered in `registry` as `name` with `help`.
fn registered<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("halo");
        let requests = registered(
            &mut registry,
            "requests",
            "Requests answered, by tenant, view, action and outcome",
            Family::default(),
        );
        // 10 µs to about 1.3 s: a warm call takes microseconds, a deadline
        // is 100 ms by default.
        let plugin_calls = Family::<ViewLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_01, 2.0, 18))
        });
        registry.register_with_unit(
            "plugin_call_duration",
            "Time spent running view code, per call",
            Unit::Seconds,
            plugin_calls.clone(),
        );
        let pushes_sent = registered(
            &mut registry,
            "pushes_sent",
            "Pushes handed to a connection's send buffer",
            Counter::default(),
        );
        let pushes_dropped = registered(
            &mut registry,
            "pushes_dropped",
            "Pushes that found a connection's send buffer full; the connection is closed and its client refetches",
            Counter::default(),
        );
        // 100 µs to about 3 s: one fsync on a disk.
        let store_commits = Histogram::new(exponential_buckets(0.000_1, 2.0, 15));
        registry.register_with_unit(
            "store_commit_duration",
            "Time to commit one batch of transactions durably",
            Unit::Seconds,
            store_commits.clone(),
        );
        let writes_again = registered(
            &mut registry,
            "writes_run_again",
            "Writes run again after losing to another node's commit (shared store)",
            Counter::default(),
        );
        let tenant_holds = registered(
            &mut registry,
            "tenant_holds",
            "Holds on a tenant taken by writes that kept losing to other nodes' commits; other nodes' commits wait meanwhile",
            Counter::default(),
        );
        let reloads = registered(
            &mut registry,
            "hot_reloads",
            "Views loaded, replaced, removed or refused from plugins folders (start-up and tenant loads included), by tenant and outcome",
            Family::default(),
        );
        let connections = registered(
            &mut registry,
            "connections",
            "Open Socket.IO connections, by tenant",
            Family::default(),
        );
        let instances = registered(
            &mut registry,
            "plugin_instances",
            "Warm view instances kept for reuse, by tenant",
            Family::default(),
        );
        let tenants_loaded = registered(
            &mut registry,
            "tenants_loaded",
            "Tenants loaded now (others load on their first connection)",
            Gauge::default(),
        );
        Self {
            registry,
            requests,
            plugin_calls,
            pushes_sent,
            pushes_dropped,
            store_commits,
            writes_again,
            tenant_holds,
            reloads,
            connections,
            instances,
            tenants_loaded,
            scraping: parking_lot::Mutex::new(()),
        }
    }

    /// Counts one answered request.
    pub fn count_request(&self, labels: RequestLabels) {
        LAST_REQUEST.with(|last| {
            let mut last = last.borrow_mut();
            match &*last {
                Some((seen, counter)) if *seen == labels => {
                    counter.inc();
                }
                _ => {
                    let counter = self.requests.get_or_create(&labels).clone();
                    counter.inc();
                    *last = Some((labels, counter));
                }
            }
        });
    }

    /// Where the durations of `view`'s calls are counted: looked up once
    /// per loaded view, so a call only adds to it.
    pub fn plugin_calls_of(&self, tenant: &str, view: &str) -> Histogram {
        self.plugin_calls
            .get_or_create(&ViewLabels {
                tenant: tenant.to_owned(),
                view: view.to_owned(),
            })
            .clone()
    }

    /// Counts a hot reload.
    pub fn reload(&self, tenant: &str, outcome: Reload) {
        self.reloads
            .get_or_create(&ReloadLabels {
                tenant: tenant.to_owned(),
                outcome,
            })
            .inc();
    }

    /// The metrics in Prometheus' text format, with the gauges of the
    /// tenants loaded now.
    pub fn render(&self, loaded: impl IntoIterator<Item = TenantGauges>) -> String {
        let _one_at_a_time = self.scraping.lock();
        // Tenants unloaded since the last scrape must not linger.
        self.connections.clear();
        self.instances.clear();
        let mut count = 0;
        for tenant in loaded {
            count += 1;
            let labels = TenantLabels {
                tenant: tenant.name,
            };
            self.connections
                .get_or_create(&labels)
                .set(i64::try_from(tenant.connections).unwrap_or(i64::MAX));
            self.instances
                .get_or_create(&labels)
                .set(i64::try_from(tenant.warm_instances).unwrap_or(i64::MAX));
        }
        self.tenants_loaded.set(count);
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(action: &'static str, code: &'static str) -> RequestLabels {
        RequestLabels {
            tenant: Arc::from("metrics-test"),
            view: Arc::from("V"),
            action: Cow::Borrowed(action),
            outcome: if code.is_empty() {
                Outcome::ok
            } else {
                Outcome::error
            },
            code,
        }
    }

    #[test]
    fn each_request_is_counted_under_its_own_labels_whatever_came_before() {
        let metrics = metrics();
        let count = |l: RequestLabels| metrics.requests.get_or_create(&l).get();
        for l in [
            labels("update", ""),
            labels("update", ""),
            labels("update", "not_found"),
            labels("update", ""),
            labels("list", ""),
        ] {
            metrics.count_request(l);
        }
        // From another thread, with its own last counter.
        std::thread::spawn(move || metrics.count_request(labels("list", "")))
            .join()
            .ok();
        assert_eq!(count(labels("update", "")), 3);
        assert_eq!(count(labels("update", "not_found")), 1);
        assert_eq!(count(labels("list", "")), 2);
    }
}
