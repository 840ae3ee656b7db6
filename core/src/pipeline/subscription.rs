//! Bounded subscriptions to the event stream.
//!
//! Each subscriber has its own bounded channel. The publish stage never blocks on a
//! subscriber: one whose channel is full is cut off and told so ([`SubscriptionError::Lagged`])
//! once it has drained what it has, so a slow reader can never stall the engine.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use thiserror::Error;

use crate::model::{Event, Sequence};

/// Why a subscription returned no event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum SubscriptionError {
    /// The subscriber fell behind by more than its capacity and was cut off; events after
    /// the cut are not delivered. Resubscribe and resync from a query.
    #[error("subscriber fell behind and was disconnected")]
    Lagged,
    /// The engine shut down.
    #[error("engine shut down")]
    Closed,
    /// Nothing arrived within the timeout.
    #[error("no event within the timeout")]
    Timeout,
}

/// A stream of `(command sequence, event)` in sequence order, released after durability.
#[derive(Debug)]
pub struct Subscription {
    receiver: Receiver<(Sequence, Event)>,
    lagged: Arc<AtomicBool>,
}

impl Subscription {
    /// Next event, waiting up to `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<(Sequence, Event), SubscriptionError> {
        match self.receiver.recv_timeout(timeout) {
            Ok(item) => Ok(item),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(SubscriptionError::Timeout),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(self.ended()),
        }
    }

    /// Next event if one is waiting.
    pub fn try_recv(&self) -> Result<Option<(Sequence, Event)>, SubscriptionError> {
        match self.receiver.try_recv() {
            Ok(item) => Ok(Some(item)),
            Err(crossbeam_channel::TryRecvError::Empty) => Ok(None),
            Err(crossbeam_channel::TryRecvError::Disconnected) => Err(self.ended()),
        }
    }

    fn ended(&self) -> SubscriptionError {
        if self.lagged.load(Ordering::Acquire) { SubscriptionError::Lagged } else { SubscriptionError::Closed }
    }
}

#[derive(Debug)]
struct Subscriber {
    sender: Sender<(Sequence, Event)>,
    lagged: Arc<AtomicBool>,
}

/// The publish stage's list of subscribers.
#[derive(Debug, Default)]
pub(crate) struct Subscribers {
    list: Mutex<Vec<Subscriber>>,
}

impl Subscribers {
    pub(crate) fn add(&self, capacity: usize) -> Subscription {
        let (sender, receiver) = crossbeam_channel::bounded(capacity.max(1));
        let lagged = Arc::new(AtomicBool::new(false));
        if let Ok(mut list) = self.list.lock() {
            list.push(Subscriber { sender, lagged: Arc::clone(&lagged) });
        }
        Subscription { receiver, lagged }
    }

    /// Delivers one event to everyone, dropping subscribers that are full or gone.
    pub(crate) fn deliver(&self, sequence: Sequence, event: &Event) {
        let Ok(mut list) = self.list.lock() else { return };
        list.retain(|s| match s.sender.try_send((sequence, *event)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                s.lagged.store(true, Ordering::Release);
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        });
    }

    /// Disconnects everyone (shutdown).
    pub(crate) fn close(&self) {
        if let Ok(mut list) = self.list.lock() {
            list.clear();
        }
    }
}
