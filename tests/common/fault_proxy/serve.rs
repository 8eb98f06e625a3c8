//! The proxy's per-connection loop: read a request, let the rules (and the chaos) decide,
//! answer, and forward what nobody stopped.

use std::io::ErrorKind;
use std::sync::{Arc, Mutex};

use tokio::net::TcpStream;

use super::answer::{error_response, Response};
use super::wire::{Head, Wire};
use super::{Action, Seen, State};

/// Serves one client connection until it closes (or a drop/reset cuts it).
pub(super) async fn serve(client: TcpStream, upstream: Arc<str>, state: Arc<Mutex<State>>) {
    let mut client = Wire::new(client);
    while let Ok(Some(head)) = client.read_head().await {
        let http10 = head.start.ends_with(" HTTP/1.0");
        // The body is read before deciding, so rules can match a query-protocol Action;
        // except after `Expect: 100-continue`, which must be answered first.
        let expects_continue = head.has_token("expect", "100-continue");
        let early_body = if expects_continue {
            None
        } else {
            match client.read_body(&head).await {
                Ok(body) => Some(body),
                Err(_) => return,
            }
        };
        let mut seen = Seen::of(&head, early_body.as_deref());
        let (delay, stop) = state.lock().unwrap().decide(&mut seen);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut keep_alive = !head.has_token("connection", "close")
            && (!http10 || head.has_token("connection", "keep-alive"));
        let response = match stop {
            Some(Action::Drop) => return,
            Some(Action::Reset) => return client.reset(),
            Some(Action::Fail { status, code }) => {
                if expects_continue {
                    keep_alive = false; // the body may never come; don't wait for it
                }
                error_response(&seen, status, code.as_deref())
            }
            None | Some(Action::Delay(_)) | Some(Action::LostAnswer) => {
                let Some(r) = pass(&mut client, &upstream, &head, early_body, &seen).await else {
                    return;
                };
                if stop.is_some() {
                    return client.reset(); // the upstream acted; its answer is lost
                }
                r
            }
        };
        if !answer(&mut client, response, keep_alive).await {
            return;
        }
    }
}

/// Reads the body if it is still to come (after `100 Continue`) and forwards the request;
/// `None` if the client went away.
async fn pass(
    client: &mut Wire,
    upstream: &str,
    head: &Head,
    early_body: Option<Vec<u8>>,
    seen: &Seen,
) -> Option<Response> {
    let body = match early_body {
        Some(body) => body,
        None => {
            client.send(b"HTTP/1.1 100 Continue\r\n\r\n").await.ok()?;
            client.read_body(head).await.ok()?
        }
    };
    Some(
        match forward(upstream, head, &body, seen.method == "HEAD").await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("fault proxy: upstream {upstream}: {e}");
                error_response(seen, 502, Some("BadGateway"))
            }
        },
    )
}

/// Sends `response`; whether the connection stays open for another request.
async fn answer(client: &mut Wire, response: Response, keep_alive: bool) -> bool {
    let (mut out, body) = response;
    out.push_str(if keep_alive {
        "\r\n"
    } else {
        "Connection: close\r\n\r\n"
    });
    let mut out = out.into_bytes();
    out.extend_from_slice(&body);
    client.send(&out).await.is_ok() && keep_alive
}

/// Sends the request upstream on a fresh connection and returns the response, reframed
/// for a kept-alive client.
async fn forward(
    upstream: &str,
    head: &Head,
    body: &[u8],
    is_head: bool,
) -> std::io::Result<Response> {
    let mut up = Wire::new(TcpStream::connect(upstream).await?);
    let mut req = format!("{}\r\n", head.start).into_bytes();
    for (k, v) in &head.headers {
        if !is_hop_header(k) && !k.eq_ignore_ascii_case("expect") {
            req.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
    }
    req.extend_from_slice(b"Connection: close\r\n\r\n");
    req.extend_from_slice(body);
    up.send(&req).await?;
    let (resp, status) = loop {
        let h = up.read_head().await?.ok_or(ErrorKind::UnexpectedEof)?;
        let status = h
            .start
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or(502);
        if status >= 200 {
            break (h, status); // skip 1xx interim responses
        }
    };
    let mut head_out = format!("{}\r\n", resp.start);
    for (k, v) in &resp.headers {
        if !is_hop_header(k) {
            head_out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    let bodiless = is_head || status == 204 || status == 304;
    let framed =
        resp.has_token("transfer-encoding", "chunked") || resp.get("content-length").is_some();
    let body = if bodiless {
        Vec::new()
    } else if framed {
        up.read_body(&resp).await?
    } else {
        let b = up.read_to_end().await?;
        head_out.push_str(&format!("Content-Length: {}\r\n", b.len()));
        b
    };
    Ok((head_out, body))
}

/// The `Action` field of a form-encoded (query-protocol) body.
pub(super) fn form_action(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.into_owned())
}

fn is_hop_header(name: &str) -> bool {
    let hop = ["connection", "keep-alive", "proxy-connection"];
    hop.iter().any(|h| name.eq_ignore_ascii_case(h))
}
