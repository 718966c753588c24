//! Requests written to storaged and awaiting their response, keyed by request id.
//!
//! The map keeps the whole call, not only its waiter: when the link dies, the dispatcher
//! takes the calls back and resends them on the next link (writes with the same request
//! key, so storaged runs each exactly once).

use std::collections::HashMap;
use std::sync::Mutex;

use super::call::Call;

/// The in-flight map of one link. Short critical sections only: insert on send, remove on
/// response, take everything back on link loss.
#[derive(Default)]
pub struct InFlight {
    map: Mutex<HashMap<u64, Call>>,
}

impl InFlight {
    pub fn insert(&self, id: u64, call: Call) {
        if let Ok(mut map) = self.map.lock() {
            map.insert(id, call);
        }
    }

    pub fn remove(&self, id: u64) -> Option<Call> {
        self.map.lock().ok()?.remove(&id)
    }

    /// The client that sent the call with link id `id`, if it is still in flight.
    pub fn client_of(&self, id: u64) -> Option<u64> {
        let map = self.map.lock().ok()?;
        map.get(&id).map(|c| c.client).filter(|c| *c != 0)
    }

    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes every call back, in the order they were sent (ids grow per link), so a resend
    /// keeps that order.
    pub fn take_all(&self) -> Vec<Call> {
        let mut calls: Vec<(u64, Call)> = match self.map.lock() {
            Ok(mut map) => map.drain().collect(),
            Err(_) => return Vec::new(),
        };
        calls.sort_unstable_by_key(|(id, _)| *id);
        calls.into_iter().map(|(_, call)| call).collect()
    }
}
