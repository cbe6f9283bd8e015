//! Caps on open connections ([`Limits::max_connections`] and
//! [`Limits::connections_per_client`]). Over the total, the listener
//! stops accepting until a connection closes: clients wait in the
//! kernel's backlog, as with any busy server, instead of being turned
//! away. Over a client's own cap the new connection is closed at once,
//! before a TLS handshake or a request is read (no reply can be sent
//! before either).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Limits;

/// The connection caps' state.
#[derive(Debug)]
pub(crate) struct ConnLimit {
    total: Option<Arc<Semaphore>>,
    per_client: Option<u32>,
    open: Mutex<HashMap<IpAddr, u32>>,
}

impl ConnLimit {
    pub(crate) fn new(limits: &Limits) -> Self {
        ConnLimit {
            total: limits
                .max_connections
                .map(|n| Arc::new(Semaphore::new(n as usize))),
            per_client: limits.connections_per_client,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until one more connection may be accepted; the permit is
    /// held while it stays open (`None` without a total cap).
    pub(crate) async fn permit(&self) -> Option<OwnedSemaphorePermit> {
        // The semaphore is never closed, so acquiring cannot fail.
        self.total.clone()?.acquire_owned().await.ok()
    }

    /// Counts a connection of `ip` until the slot drops; `Err` when `ip`
    /// has as many open as its cap allows.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ClientSlot, u32> {
        let Some(max) = self.per_client else {
            return Ok(ClientSlot(None));
        };
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= max {
            return Err(max);
        }
        *n += 1;
        Ok(ClientSlot(Some((self.clone(), ip))))
    }

    #[cfg(test)]
    fn open_of(&self, ip: IpAddr) -> u32 {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&ip).copied().unwrap_or(0)
    }
}

/// A connection counted against its client's cap until dropped.
#[derive(Debug)]
pub(crate) struct ClientSlot(Option<(Arc<ConnLimit>, IpAddr)>);

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let Some((limit, ip)) = self.0.take() else {
            return;
        };
        let mut open = limit.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_slots_are_counted_per_address_and_given_back() {
        let limits = Limits {
            connections_per_client: Some(2),
            ..Limits::default()
        };
        let limit = Arc::new(ConnLimit::new(&limits));
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "::1".parse().unwrap());
        let s1 = limit.admit(a).unwrap();
        let s2 = limit.admit(a).unwrap();
        assert_eq!(limit.admit(a).unwrap_err(), 2);
        let other = limit.admit(b).unwrap();
        drop(s1);
        assert_eq!(limit.open_of(a), 1);
        let s3 = limit.admit(a).unwrap();
        drop((s2, s3, other));
        assert!(limit.open.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_total_cap_holds_back_until_a_permit_returns() {
        let limits = Limits {
            max_connections: Some(1),
            ..Limits::default()
        };
        let limit = ConnLimit::new(&limits);
        let p = limit.permit().await;
        assert!(p.is_some());
        let total = limit.total.clone().unwrap();
        assert_eq!(total.available_permits(), 0);
        drop(p);
        assert!(limit.permit().await.is_some());
        assert!(ConnLimit::new(&Limits::default()).permit().await.is_none());
    }
}
