//! SIGINT and SIGTERM for the whole process, from the start of a command.
//!
//! [`listen`] installs the handlers before anything slow happens (compiling a
//! module, its `describe`, a computed-deps callback), so a signal is seen
//! whatever the guest is doing. The first signal is remembered and wakes every
//! [`signalled`] future: the loader gives up (`load` runs on a blocking thread
//! that is left behind), the declarations instance's call is dropped mid-call,
//! and a run cancels its procs and prints its summary. A second signal ends
//! the process at once with 128 + its number (README "Signals").

use std::sync::OnceLock;

use tokio::sync::watch;

/// The signal that interrupted the command: 128 + its number is the exit
/// status. Carried as an error by what it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted(pub u8);

fn channel() -> &'static watch::Sender<Option<u8>> {
    static SIGNAL: OnceLock<watch::Sender<Option<u8>>> = OnceLock::new();
    SIGNAL.get_or_init(|| watch::channel(None).0)
}

/// Start listening for SIGINT and SIGTERM (inside the tokio runtime; once per
/// process, later calls do nothing).
pub fn listen() {
    static STARTED: OnceLock<()> = OnceLock::new();
    if STARTED.set(()).is_err() {
        return;
    }
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::spawn(async move {
            loop {
                let n: u8 = tokio::select! {
                    _ = int.recv() => 2,
                    _ = term.recv() => 15,
                };
                let first = channel().send_if_modified(|s| {
                    let first = s.is_none();
                    if first {
                        *s = Some(n);
                    }
                    first
                });
                if !first {
                    // The second signal: no more waiting for anything.
                    std::process::exit(128 + i32::from(n));
                }
            }
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            channel().send_replace(Some(2));
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}

/// Resolves with the signal number when one arrives (at once if one has).
/// Works in any runtime, including a helper thread's own.
pub async fn signalled() -> u8 {
    wait_on(channel()).await
}

async fn wait_on(ch: &watch::Sender<Option<u8>>) -> u8 {
    let mut rx = ch.subscribe();
    loop {
        if let Some(n) = *rx.borrow_and_update() {
            return n;
        }
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Run `work` unless a signal comes first: then [`Interrupted`].
pub async fn or_interrupted<T>(
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    or_interrupted_on(channel(), work).await
}

async fn or_interrupted_on<T>(
    ch: &watch::Sender<Option<u8>>,
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::select! {
        // Work that fails because the signal stopped it (a `describe` the
        // signal interrupted) ends as the signal, not as its own error.
        r = work => match (r, *ch.borrow()) {
            (Err(_), Some(n)) => Err(Interrupted(n).into()),
            (r, _) => r,
        },
        n = wait_on(ch) => Err(Interrupted(n).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A channel of its own: the process-wide one would interrupt other tests.
    #[tokio::test]
    async fn a_signal_wakes_every_waiter_and_stays_received() {
        let ch: &'static watch::Sender<Option<u8>> = Box::leak(Box::new(watch::channel(None).0));
        let waiter = tokio::spawn(wait_on(ch));
        let work = tokio::spawn(or_interrupted_on(ch, async {
            std::future::pending::<()>().await;
            Ok(())
        }));
        tokio::task::yield_now().await;
        ch.send_replace(Some(15));
        assert_eq!(waiter.await.unwrap(), 15);
        let e = work.await.unwrap().unwrap_err();
        assert_eq!(e.downcast_ref::<Interrupted>(), Some(&Interrupted(15)));
        assert_eq!(wait_on(ch).await, 15, "a late waiter returns at once");
        assert_eq!(
            *channel().borrow(),
            None,
            "the process-wide signal is untouched"
        );
    }

    #[tokio::test]
    async fn work_that_fails_after_a_signal_ends_as_the_signal() {
        let ch: &'static watch::Sender<Option<u8>> = Box::leak(Box::new(watch::channel(None).0));
        // The signal arrives while the work runs, and the work fails because of it (as a
        // `describe` the signal stopped): the work's error is the only branch ready.
        let work = async {
            ch.send_replace(Some(15));
            Err::<(), _>(anyhow::anyhow!("describe interrupted"))
        };
        let e = or_interrupted_on(ch, work).await.unwrap_err();
        assert_eq!(e.downcast_ref::<Interrupted>(), Some(&Interrupted(15)));
    }
}
