//! Models of one SQLite store kept parsed in memory, so that reading a model
//! back (a handler's read before its write, the writer's merge) does not
//! take a read transaction and parse its JSON each time.
//!
//! Only the store's writer thread fills it, with every model it commits, as
//! of that commit, before it publishes the commit: so an entry is what the
//! file holds, as long as nothing else writes the file. A read never fills
//! it, since a read may come from a moment another connection (a tenant's
//! previous copy finishing its last commits while the next copy opens) was
//! still writing; and the writer empties it when SQLite's `data_version`
//! says another connection wrote, checked at every batch.

use std::sync::Arc;

use lru::LruCache;
use parking_lot::Mutex;

use crate::store::Model;

/// Bytes of JSON a store keeps parsed: a few thousand typical models. An
/// idle tenant's cache holds only what its last clients touched.
pub(super) const CACHE_BYTES: usize = 4 << 20;

/// What an entry costs besides its model's JSON: its key and bookkeeping.
const ENTRY_OVERHEAD: usize = 96;

/// One model as of commit `version`; `None`: no such model.
struct Entry {
    version: u64,
    model: Option<Arc<Model>>,
    /// Its JSON's length, as stored.
    len: usize,
    weight: usize,
}

/// The cache of one store, bounded by the JSON size of what it holds.
pub(super) struct Cache {
    inner: Mutex<Inner>,
}

struct Inner {
    entries: LruCache<String, Entry>,
    bytes: usize,
    max: usize,
}

/// One string key per model (collection, NUL, id): a lookup allocates once,
/// not twice.
pub(super) fn key(collection: &str, id: &str) -> String {
    let mut key = String::with_capacity(collection.len() + 1 + id.len());
    key.push_str(collection);
    key.push('\0');
    key.push_str(id);
    key
}

impl Cache {
    /// An empty cache holding up to `max` bytes of JSON.
    pub(super) fn new(max: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: LruCache::unbounded(),
                bytes: 0,
                max,
            }),
        }
    }

    /// The model if the cache has it: `Some(None)` means there is no such
    /// model.
    pub(super) fn get(&self, collection: &str, id: &str) -> Option<Option<Arc<Model>>> {
        self.get_sized(collection, id).map(|(model, _)| model)
    }

    /// As [`get`](Self::get), with the length of the model's JSON.
    pub(super) fn get_sized(
        &self,
        collection: &str,
        id: &str,
    ) -> Option<(Option<Arc<Model>>, usize)> {
        let mut inner = self.inner.lock();
        inner
            .entries
            .get(&key(collection, id))
            .map(|entry| (entry.model.clone(), entry.len))
    }

    /// Keeps the model with `key` (see [`key`]), `body_len` bytes of JSON,
    /// as of commit `version`, unless the cache has it as of a later commit.
    pub(super) fn put(
        &self,
        key: String,
        version: u64,
        model: Option<Arc<Model>>,
        body_len: usize,
    ) {
        let weight = body_len + key.len() + ENTRY_OVERHEAD;
        let mut inner = self.inner.lock();
        if weight > inner.max {
            return;
        }
        if let Some(entry) = inner.entries.peek(&key)
            && entry.version > version
        {
            return;
        }
        let old = inner.entries.put(
            key,
            Entry {
                version,
                model,
                len: body_len,
                weight,
            },
        );
        inner.bytes = inner.bytes + weight - old.map_or(0, |old| old.weight);
        while inner.bytes > inner.max {
            match inner.entries.pop_lru() {
                Some((_, evicted)) => inner.bytes -= evicted.weight,
                None => break,
            }
        }
    }

    /// Forgets everything: the file was written by another connection.
    pub(super) fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.entries.clear();
        inner.bytes = 0;
    }
}

impl Default for Cache {
    fn default() -> Self {
        Self::new(CACHE_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn model(value: serde_json::Value) -> Option<Arc<Model>> {
        value.as_object().cloned().map(Arc::new)
    }

    #[test]
    fn an_entry_is_never_replaced_by_an_older_one() {
        let cache = Cache::default();
        cache.put(key("c", "1"), 5, model(json!({"id": "1", "v": "new"})), 20);
        // A read that started before commit 5 comes back late.
        cache.put(key("c", "1"), 4, model(json!({"id": "1", "v": "old"})), 20);
        assert_eq!(
            cache.get("c", "1"),
            Some(model(json!({"id": "1", "v": "new"})))
        );
        cache.put(key("c", "1"), 6, None, 0);
        assert_eq!(cache.get("c", "1"), Some(None), "a removal is kept too");
        assert_eq!(cache.get("c", "2"), None, "never seen: not known");
    }

    #[test]
    fn it_holds_no_more_than_its_bytes_dropping_the_least_recently_used() {
        let cache = Cache::new(3 * (100 + 3 + ENTRY_OVERHEAD));
        for id in ["a", "b", "c"] {
            cache.put(key("c", id), 1, model(json!({"id": id})), 100);
        }
        // Touch `a`, so `b` is the least recently used.
        assert!(cache.get("c", "a").is_some());
        cache.put(key("c", "d"), 2, model(json!({"id": "d"})), 100);
        assert_eq!(cache.get("c", "b"), None);
        for id in ["a", "c", "d"] {
            assert!(cache.get("c", id).is_some(), "{id} kept");
        }
        // Bigger than the whole cache: not kept, nothing evicted for it.
        cache.put(key("c", "huge"), 3, model(json!({"id": "huge"})), 10_000);
        assert_eq!(cache.get("c", "huge"), None);
        assert!(cache.get("c", "a").is_some());
        cache.clear();
        assert_eq!(cache.get("c", "a"), None);
    }
}
