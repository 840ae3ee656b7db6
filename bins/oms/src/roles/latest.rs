//! The newest value per key, where "newest" is the engine sequence a value is as of.
//!
//! Positions, a shard's balances and a shard's limits all arrive on `risk-events` as
//! snapshots: each replaces the one before it (in the ingress's view, and in a persister
//! batch). An engine failover republishes older ones
//! (a new owner publishes again from its checkpoint), and a shard's sequences only grow,
//! also across a failover, so an older sequence is skipped rather than applied. An equal
//! one is the same snapshot published again and replaces it harmlessly.

use std::collections::BTreeMap;

/// The newest value per key by sequence.
#[derive(Debug)]
pub struct Latest<K, V> {
    entries: BTreeMap<K, (u64, V)>,
}

impl<K, V> Default for Latest<K, V> {
    fn default() -> Self {
        Self { entries: BTreeMap::new() }
    }
}

impl<K: Ord, V> Latest<K, V> {
    /// Keeps `value` as of `sequence` unless `key` holds a newer one; `false` when the
    /// offer was stale and nothing changed.
    pub fn offer(&mut self, key: K, sequence: u64, value: V) -> bool {
        match self.entries.get(&key) {
            Some((newer, _)) if *newer > sequence => false,
            _ => {
                self.entries.insert(key, (sequence, value));
                true
            }
        }
    }

    /// Every key with its newest value, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(key, (_, value))| (key, value))
    }

    /// The newest values, by key.
    pub fn into_values(self) -> impl Iterator<Item = V> {
        self.entries.into_values().map(|(_, value)| value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_sequence_is_skipped_and_an_equal_or_newer_one_replaces() {
        let mut latest = Latest::default();
        assert!(latest.offer("a", 5, 'x'));
        assert!(!latest.offer("a", 4, 'y'), "republished from before");
        assert!(latest.offer("a", 5, 'z'), "the same snapshot again");
        assert!(latest.offer("b", 1, 'w'), "keys are independent");
        assert!(latest.offer("a", 9, 'v'));
        let all: Vec<_> = latest.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(all, [("a", 'v'), ("b", 'w')]);
        assert_eq!(latest.into_values().collect::<Vec<_>>(), ['v', 'w']);
    }
}
