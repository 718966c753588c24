//! Requests written to storaged and awaiting their response, keyed by request id.

use std::collections::HashMap;
use std::sync::Mutex;

use tandem_shared::wire::Frame;
use tokio::sync::oneshot;

use super::LinkError;

type Waiter = oneshot::Sender<Result<Frame, LinkError>>;

/// The in-flight map of one link. Short critical sections only: insert on send, remove on
/// response, drain on link loss.
#[derive(Default)]
pub struct InFlight {
    map: Mutex<HashMap<u64, Waiter>>,
}

impl InFlight {
    pub fn insert(&self, id: u64, waiter: Waiter) {
        if let Ok(mut map) = self.map.lock() {
            map.insert(id, waiter);
        }
    }

    pub fn remove(&self, id: u64) -> Option<Waiter> {
        self.map.lock().ok()?.remove(&id)
    }

    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fails every waiting request: the link died after they were written.
    pub fn fail_all(&self, error: &LinkError) {
        let drained: Vec<Waiter> = match self.map.lock() {
            Ok(mut map) => map.drain().map(|(_, w)| w).collect(),
            Err(_) => return,
        };
        for waiter in drained {
            let _ = waiter.send(Err(error.clone()));
        }
    }
}
