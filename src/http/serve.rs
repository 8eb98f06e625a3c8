//! The HTTP server loop: what `axum::serve` leaves out. A client that sends its headers or
//! body too slowly is disconnected, at most `http.max_connections` connections are open
//! (more wait in the kernel's backlog), and shutdown gives open connections a bounded
//! grace before closing them, so slow clients can neither exhaust the process nor hold up
//! SIGTERM.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::Frame;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// The server's bounds (`[http]` keys; the grace is `worker.shutdown_grace_secs`).
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub grace: Duration,
}

impl ServeLimits {
    pub fn from_config(cfg: &crate::config::Config) -> ServeLimits {
        ServeLimits {
            header_timeout: Duration::from_secs(cfg.http.header_timeout_secs),
            body_timeout: Duration::from_secs(cfg.http.body_timeout_secs),
            max_connections: cfg.http.max_connections,
            grace: Duration::from_secs(cfg.worker.shutdown_grace_secs),
        }
    }
}

/// Serves `app` on `listener` until `shutdown`, then waits at most `limits.grace` for
/// open connections before closing them.
pub async fn run(
    listener: TcpListener,
    app: axum::Router,
    limits: ServeLimits,
    shutdown: CancellationToken,
) {
    let app = app.layer(axum::middleware::from_fn_with_state(
        limits.body_timeout,
        body_deadline,
    ));
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut open = JoinSet::new();
    while let Some((stream, permit)) = accept(&listener, &permits, &shutdown).await {
        let conn = connection(stream, app.clone(), limits.header_timeout, shutdown.clone());
        open.spawn(async move {
            conn.await;
            drop(permit);
        });
        while open.try_join_next().is_some() {}
    }
    drop(listener);
    let drained = tokio::time::timeout(limits.grace, async {
        while open.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        warn!(
            open = open.len(),
            "closing HTTP connections still open after the grace"
        );
        open.shutdown().await;
    }
}

/// The next connection, once a permit is free; `None` on shutdown.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
    shutdown: &CancellationToken,
) -> Option<(TcpStream, OwnedSemaphorePermit)> {
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = shutdown.cancelled() => return None,
        };
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => return Some((stream, permit)),
                // Out of file descriptors and the like: back off rather than spin.
                Err(e) => {
                    warn!(error = %e, "accepting an HTTP connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.cancelled() => return None,
        }
    }
}

/// One HTTP/1.1 connection; on shutdown it finishes the request in progress and closes.
async fn connection(
    stream: TcpStream,
    app: axum::Router,
    header_timeout: Duration,
    shutdown: CancellationToken,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::pin!(conn);
    let ended = tokio::select! {
        r = conn.as_mut() => r,
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = ended {
        // Timeouts and clients that hang up: theirs to fix, not an operator's.
        debug!(error = %e, "HTTP connection ended");
    }
}

/// Middleware: the request body must arrive whole within `limit`; after that its next
/// read fails, the handler answers, and the unread connection is closed.
async fn body_deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let body = Body::new(DeadlineBody {
        inner: body,
        deadline: Box::pin(tokio::time::sleep(limit)),
    });
    next.run(Request::from_parts(parts, body)).await
}

/// A body whose reads fail once its deadline has passed.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

/// The error a late body read yields.
#[derive(Debug, thiserror::Error)]
#[error("request body not received within http.body_timeout_secs")]
pub struct BodyTimeout;

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimeout))));
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
