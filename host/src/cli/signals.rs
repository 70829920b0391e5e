//! Ctrl-C and SIGTERM: the first starts a graceful shutdown, the second
//! ends the process at once.

/// Resolves on the first Ctrl-C or SIGTERM, and makes the second one end
/// the process at once, for when a graceful shutdown takes too long.
pub async fn shutdown_signal(mut signals: Signals) {
    signals.next().await;
    tracing::info!("shutting down; a second Ctrl-C or SIGTERM exits at once");
    tokio::spawn(async move {
        signals.next().await;
        eprintln!("halo: second signal, exiting now");
        std::process::exit(130);
    });
}

/// Ctrl-C and SIGTERM as one stream, listened to from start-up on, so a
/// signal that comes while views load is not lost.
pub struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                interrupt: signal(SignalKind::interrupt()).ok(),
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    pub async fn next(&mut self) {
        #[cfg(unix)]
        {
            async fn recv(signal: Option<&mut tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = recv(self.interrupt.as_mut()) => {},
                () = recv(self.term.as_mut()) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
