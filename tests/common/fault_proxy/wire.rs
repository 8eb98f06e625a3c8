//! Just enough HTTP/1.1 framing for the proxy: heads, Content-Length and chunked bodies.

use std::io::ErrorKind;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A request or status line with its headers.
pub(super) struct Head {
    pub(super) start: String,
    pub(super) headers: Vec<(String, String)>,
}

impl Head {
    pub(super) fn parse(raw: &[u8]) -> std::io::Result<Head> {
        let text = std::str::from_utf8(raw).map_err(|_| ErrorKind::InvalidData)?;
        let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
        let start = lines.next().ok_or(ErrorKind::InvalidData)?.to_owned();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Ok(Head { start, headers })
    }
    pub(super) fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let named = self
            .headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name));
        named.map(|(_, v)| v.as_str())
    }
    pub(super) fn get<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.values(name).next()
    }
    pub(super) fn has_token(&self, name: &str, token: &str) -> bool {
        let mut tokens = self.values(name).flat_map(|v| v.split(','));
        tokens.any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

/// A TCP stream with a read buffer and just enough HTTP/1.1 framing.
pub(super) struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Wire {
    pub(super) fn new(stream: TcpStream) -> Self {
        let buf = Vec::new();
        Wire { stream, buf }
    }

    /// Closes the connection with a TCP reset (RST) rather than an orderly close.
    pub(super) fn reset(self) {
        // SO_LINGER 0 makes close(2) send RST at once; it cannot block (the deprecation is
        // about non-zero lingers blocking the thread on drop).
        #[allow(deprecated)]
        let _ = self.stream.set_linger(Some(std::time::Duration::ZERO));
    }

    pub(super) async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Reads more; false at end of stream.
    pub(super) async fn fill(&mut self) -> std::io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    pub(super) async fn fill_or_eof(&mut self) -> std::io::Result<()> {
        let more = self.fill().await?;
        more.then_some(()).ok_or(ErrorKind::UnexpectedEof.into())
    }

    /// The next head, or `None` if the peer closed cleanly between messages.
    pub(super) async fn read_head(&mut self) -> std::io::Result<Option<Head>> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let raw: Vec<u8> = self.buf.drain(..end + 4).collect();
                return Head::parse(&raw).map(Some);
            }
            if self.buf.len() > 64 * 1024 {
                return Err(ErrorKind::InvalidData.into());
            }
            if !self.fill().await? {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(ErrorKind::UnexpectedEof.into())
                };
            }
        }
    }

    pub(super) async fn take(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        while self.buf.len() < n {
            self.fill_or_eof().await?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    pub(super) async fn line(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n") {
                return Ok(self.buf.drain(..end + 2).collect());
            }
            self.fill_or_eof().await?;
        }
    }

    /// The raw body (chunk framing kept) of a message with this head.
    pub(super) async fn read_body(&mut self, head: &Head) -> std::io::Result<Vec<u8>> {
        if head.has_token("transfer-encoding", "chunked") {
            let mut out = Vec::new();
            loop {
                let line = self.line().await?;
                out.extend_from_slice(&line);
                let size = std::str::from_utf8(&line)
                    .ok()
                    .and_then(|l| usize::from_str_radix(l.split(';').next()?.trim(), 16).ok())
                    .ok_or(ErrorKind::InvalidData)?;
                if size == 0 {
                    loop {
                        let trailer = self.line().await?;
                        out.extend_from_slice(&trailer);
                        if trailer == b"\r\n" {
                            return Ok(out);
                        }
                    }
                }
                out.extend_from_slice(&self.take(size + 2).await?);
            }
        }
        match head.get("content-length").map(str::parse::<usize>) {
            Some(Ok(n)) => self.take(n).await,
            Some(Err(_)) => Err(ErrorKind::InvalidData.into()),
            None => Ok(Vec::new()),
        }
    }

    pub(super) async fn read_to_end(&mut self) -> std::io::Result<Vec<u8>> {
        while self.fill().await? {}
        Ok(std::mem::take(&mut self.buf))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
