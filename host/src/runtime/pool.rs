//! The host-wide memory total: admission of stores against `--max-total-memory`.
//!
//! Every proc store reserves its whole memory cap before it is created and
//! gives it back when it is dropped. A store whose cap does not fit in what is
//! left waits (first come, first served) until enough comes back; nothing
//! already running is ever refused a growth because of a neighbour, so a proc
//! runs out of memory only at its own cap, the same on every machine.
//!
//! The reservation is counted in KiB on a tokio semaphore (its permits are
//! `u32` per acquisition), so caps are rounded up to whole KiB.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::units::fmt_size as size;

/// The shared total; `None` inside means unbounded. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub(crate) struct MemoryPool {
    inner: Option<Arc<Pool>>,
}

#[derive(Debug)]
struct Pool {
    permits: Arc<Semaphore>,
    total: u64,
    total_kib: u32,
}

/// A store's reservation; dropping it gives the memory back.
#[derive(Debug)]
pub(crate) struct Admission {
    _permit: Option<OwnedSemaphorePermit>,
}

fn kib(bytes: u64) -> u64 {
    bytes.div_ceil(1024)
}

impl MemoryPool {
    /// A pool of `total` bytes, or an unbounded one.
    pub(crate) fn new(total: Option<u64>) -> Self {
        MemoryPool {
            inner: total.map(|total| {
                let total_kib = kib(total).min(u64::from(u32::MAX)) as u32;
                Arc::new(Pool {
                    permits: Arc::new(Semaphore::new(total_kib as usize)),
                    total,
                    total_kib,
                })
            }),
        }
    }

    /// Reserve `cap` bytes, waiting while they do not fit in what is left.
    /// `Err` when the cap is larger than the whole total (it would never fit).
    pub(crate) async fn admit(&self, cap: u64) -> Result<Admission, String> {
        let Some(pool) = &self.inner else {
            return Ok(Admission { _permit: None });
        };
        let want = kib(cap);
        if want > u64::from(pool.total_kib) {
            return Err(format!(
                "its memory cap of {} is larger than the host-wide total of {} \
                 (`--max-total-memory`); lower the cap with `--max-memory` or raise the total",
                size(cap),
                size(pool.total)
            ));
        }
        let permit = Arc::clone(&pool.permits)
            .acquire_many_owned(want as u32)
            .await
            .map_err(|_| "the host's memory pool is closed".to_owned())?;
        Ok(Admission {
            _permit: Some(permit),
        })
    }

    /// Bytes not reserved now (`None` when unbounded).
    #[cfg(test)]
    pub(crate) fn available(&self) -> Option<u64> {
        self.inner
            .as_ref()
            .map(|p| p.permits.available_permits() as u64 * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_store_waits_until_its_cap_fits() {
        let pool = MemoryPool::new(Some(10 << 20));
        let a = pool.admit(6 << 20).await.expect("fits");
        assert_eq!(pool.available(), Some(4 << 20));
        let waiting = pool.admit(6 << 20);
        tokio::pin!(waiting);
        assert!(
            futures_poll_once(waiting.as_mut()).await.is_none(),
            "must wait while the first holds 6 MiB"
        );
        drop(a);
        let b = waiting.await.expect("fits after the first is dropped");
        drop(b);
        assert_eq!(pool.available(), Some(10 << 20));
        let err = pool.admit(11 << 20).await.expect_err("never fits");
        assert!(
            err.contains("larger than the host-wide total of 10 MiB"),
            "{err}"
        );
        assert!(MemoryPool::new(None).admit(u64::MAX).await.is_ok());
    }

    /// Poll a future once: `Some` if it is ready.
    async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
        let mut f = f;
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut f).poll(cx) {
                std::task::Poll::Ready(v) => Some(v),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
