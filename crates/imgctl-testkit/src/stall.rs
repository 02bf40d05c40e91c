//! Stalling one write: the proxy holds the Nth write request (PUT, POST, PATCH, DELETE)
//! counted from [`Proxy::stall_write`] and never forwards it, so a crash-consistency test can
//! kill the client at exactly that point — the registry then holds the first N−1 writes and
//! nothing of the Nth. Once released (or re-armed) the held request is dropped, not sent:
//! nothing reaches the registry after the kill.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::proxy::Proxy;

/// The write-stalling state of a proxy.
#[derive(Debug)]
pub(crate) struct Stall {
    inner: Mutex<Inner>,
    released: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Hold the write with this number (1-based), counted since arming.
    armed: Option<usize>,
    /// Writes seen since arming.
    writes: usize,
    /// A write is held now.
    holding: bool,
    /// Bumped by every arm and release: a held request waits for it to change.
    generation: u64,
}

impl Default for Stall {
    fn default() -> Stall {
        Stall { inner: Mutex::new(Inner::default()), released: watch::channel(0).0 }
    }
}

fn is_write(method: &str) -> bool {
    matches!(method, "PUT" | "POST" | "PATCH" | "DELETE")
}

impl Stall {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a request; for the armed write, waits until released and returns true (the
    /// caller drops the request without forwarding it).
    pub(crate) async fn hold(&self, method: &str) -> bool {
        if !is_write(method) {
            return false;
        }
        let generation = {
            let mut i = self.lock();
            i.writes += 1;
            if i.armed != Some(i.writes) {
                return false;
            }
            i.holding = true;
            i.generation
        };
        let mut rx = self.released.subscribe();
        // the sender lives as long as the proxy's state; an error means it is gone
        let _ = rx.wait_for(|g| *g != generation).await;
        true
    }

    fn bump(&self, i: &mut Inner) {
        i.generation += 1;
        i.holding = false;
        self.released.send_replace(i.generation);
    }
}

impl Proxy {
    /// From now on, holds the `n`th write request (1-based; PUT/POST/PATCH/DELETE) and never
    /// forwards it. Releases (drops) any request held before.
    pub fn stall_write(&self, n: usize) {
        let stall = &self.state().stall;
        let mut i = stall.lock();
        stall.bump(&mut i);
        i.armed = Some(n);
        i.writes = 0;
    }

    /// Drops the held request (if any) and stops stalling.
    pub fn release_stall(&self) {
        let stall = &self.state().stall;
        let mut i = stall.lock();
        stall.bump(&mut i);
        i.armed = None;
    }

    /// Whether the armed write is being held now.
    pub fn stalled(&self) -> bool {
        self.state().stall.lock().holding
    }

    /// Write requests seen since [`Proxy::stall_write`].
    pub fn writes_since_armed(&self) -> usize {
        self.state().stall.lock().writes
    }

    /// Waits until the armed write is held, or `done()` says the client finished first, or
    /// `timeout` passes; true when the write is held.
    pub fn wait_stalled(&self, timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.stalled() {
                return true;
            }
            if done() {
                return self.stalled();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    }
}
