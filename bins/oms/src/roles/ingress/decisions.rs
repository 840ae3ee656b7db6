//! Commands waiting for their decisions, and the matching of `executions` messages to them.
//!
//! A decision is a command's `eventCount` messages, `commandResult` last. They are matched
//! by `commandId`; once the broker has said where the command landed, also by its
//! `(ordersPartition, ordersOffset)`, because an engine that takes over a dead owner's shard
//! publishes the journaled decisions again without the command id, which only the ingress
//! knew. Messages are kept by `eventIndex`, so a decision that arrives partly from the
//! first owner and partly (again, whole) from the next one is still complete and has each
//! message once.

use std::collections::{BTreeMap, HashMap};

use oms_kafka::messages::ExecutionMessage;
use tokio::sync::oneshot;

/// A command waiting for its `executions` messages.
struct Waiter {
    messages: BTreeMap<u32, ExecutionMessage>,
    done: oneshot::Sender<Vec<ExecutionMessage>>,
    /// Where the command landed on `orders`, once the broker acknowledged it.
    landed: Option<(i32, i64)>,
}

/// The commands this ingress waits on, bounded (`--ingress-decisions-max`).
#[derive(Default)]
pub struct Decisions {
    by_command: HashMap<String, Waiter>,
    by_position: HashMap<(i32, i64), String>,
}

impl Decisions {
    /// Starts waiting for `command_id`'s decision, unless `max` commands already wait.
    pub fn expect(&mut self, command_id: &str, max: usize) -> Option<oneshot::Receiver<Vec<ExecutionMessage>>> {
        if self.by_command.len() >= max {
            return None;
        }
        let (done, decided) = oneshot::channel();
        self.by_command.insert(command_id.to_owned(), Waiter { messages: BTreeMap::new(), done, landed: None });
        Some(decided)
    }

    /// Records where the broker put `command_id`, so its decision is matched by position too.
    pub fn landed(&mut self, command_id: &str, partition: i32, offset: i64) {
        if let Some(waiter) = self.by_command.get_mut(command_id) {
            waiter.landed = Some((partition, offset));
            self.by_position.insert((partition, offset), command_id.to_owned());
        }
    }

    /// Stops waiting for `command_id` (timed out, or not delivered).
    pub fn forget(&mut self, command_id: &str) {
        if let Some(waiter) = self.by_command.remove(command_id)
            && let Some(position) = waiter.landed
        {
            self.by_position.remove(&position);
        }
    }

    /// Commands waiting.
    pub fn len(&self) -> usize {
        self.by_command.len()
    }

    /// Offers one `executions` message; when it completes a waiting command's decision, the
    /// command's client is woken with the messages in `eventIndex` order.
    pub fn offer(&mut self, message: ExecutionMessage) {
        let header = message.header();
        let command_id = match &header.command_id {
            Some(id) => id.clone(),
            None => {
                let position = header
                    .orders_partition
                    .zip(header.orders_offset.as_deref().and_then(|offset| offset.parse::<i64>().ok()));
                match position.and_then(|position| self.by_position.get(&position)) {
                    Some(id) => id.clone(),
                    None => return,
                }
            }
        };
        let (index, count) = (header.event_index, header.event_count);
        let Some(waiter) = self.by_command.get_mut(&command_id) else { return };
        waiter.messages.entry(index).or_insert(message);
        let complete = (0..count).all(|i| waiter.messages.contains_key(&i));
        if complete && let Some(waiter) = self.by_command.remove(&command_id) {
            if let Some(position) = waiter.landed {
                self.by_position.remove(&position);
            }
            // The client may have given up already: nothing to wake then.
            let _ = waiter.done.send(waiter.messages.into_values().collect());
        }
    }
}

#[cfg(test)]
mod tests {
    use oms_kafka::messages::decode_execution;

    use super::*;

    /// A `commandResult` at `index` of `count`, with or without the command id.
    fn result(command_id: Option<&str>, index: u32, count: u32) -> ExecutionMessage {
        let id = command_id.map_or("null".to_owned(), |id| format!("\"{id}\""));
        let json = format!(
            r#"{{"type":"commandResult","v":1,"commandId":{id},"sequence":"9","ordersPartition":2,"ordersOffset":"41","eventIndex":{index},"eventCount":{count},"orderId":"9","status":"NEW","trades":0,"rejectReason":null}}"#
        );
        decode_execution(json.as_bytes()).expect("decodes")
    }

    fn indices(messages: &[ExecutionMessage]) -> Vec<u32> {
        messages.iter().map(|m| m.header().event_index).collect()
    }

    #[test]
    fn a_decision_completes_when_every_event_index_is_in() {
        let mut decisions = Decisions::default();
        let mut decided = decisions.expect("c-1", 10).expect("room");
        decisions.offer(result(Some("c-1"), 1, 2));
        assert!(decided.try_recv().is_err(), "one of two messages");
        decisions.offer(result(Some("c-1"), 1, 2));
        assert!(decided.try_recv().is_err(), "a repeat does not count twice");
        decisions.offer(result(Some("c-1"), 0, 2));
        assert_eq!(indices(&decided.try_recv().expect("complete")), [0, 1]);
        assert_eq!(decisions.len(), 0);
    }

    #[test]
    fn a_republished_decision_without_the_command_id_is_matched_by_its_position() {
        let mut decisions = Decisions::default();
        let mut decided = decisions.expect("c-1", 10).expect("room");
        // The first owner got one message out before it died.
        decisions.offer(result(Some("c-1"), 0, 2));
        // Unknown position yet: a stranger's republished decision is not taken.
        decisions.offer(result(None, 1, 2));
        assert!(decided.try_recv().is_err());
        decisions.landed("c-1", 2, 41);
        // The new owner republishes the whole decision, without the command id.
        decisions.offer(result(None, 0, 2));
        decisions.offer(result(None, 1, 2));
        assert_eq!(indices(&decided.try_recv().expect("complete")), [0, 1]);
        assert!(decisions.by_position.is_empty(), "the position is released with the waiter");
    }

    #[test]
    fn a_forgotten_command_is_not_woken_and_the_bound_holds() {
        let mut decisions = Decisions::default();
        let mut decided = decisions.expect("c-1", 1).expect("room");
        assert!(decisions.expect("c-2", 1).is_none(), "at the bound");
        decisions.landed("c-1", 2, 41);
        decisions.forget("c-1");
        decisions.offer(result(Some("c-1"), 0, 1));
        decisions.offer(result(None, 0, 1));
        assert!(decided.try_recv().is_err());
        assert!(decisions.by_position.is_empty() && decisions.len() == 0);
        assert!(decisions.expect("c-2", 1).is_some(), "room again");
    }
}
