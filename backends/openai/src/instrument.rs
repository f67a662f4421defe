//! A trivial SSE endpoint on loopback that answers every request with
//! `chunks` one-token chunks plus usage, as fast as it can. It is a
//! measuring instrument for the client's own overhead and the highest rate
//! it drives, not a stand-in for a server: the client's behaviour against
//! real servers is tested against llama.cpp's `llama-server`.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Binds 127.0.0.1 on a free port (or `port`) and serves until the runtime
/// stops; returns the address.
pub async fn serve_trivial_sse(port: u16, chunks: usize) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, chunks));
                }
                // An overloaded run can hold more connections than the
                // process may open (EMFILE) or see one reset before it was
                // accepted: keep listening, as a server does, instead of
                // refusing every later connection.
                Err(e) => {
                    eprintln!("trivial SSE endpoint: accept failed ({e}); still listening");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
    });
    Ok(addr)
}

/// Serves keep-alive requests on one connection until the client closes it.
async fn connection(mut stream: TcpStream, chunks: usize) {
    let _ = stream.set_nodelay(true);
    let mut buffer = Vec::with_capacity(4096);
    let body = response_events(chunks);
    loop {
        let Some(request_len) = read_request(&mut stream, &mut buffer).await else {
            return;
        };
        buffer.drain(..request_len);
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                    cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for event in &body {
            let framed = format!("{:x}\r\n{event}\r\n", event.len());
            if stream.write_all(framed.as_bytes()).await.is_err() {
                return;
            }
        }
        if stream.write_all(b"0\r\n\r\n").await.is_err() {
            return;
        }
    }
}

fn response_events(chunks: usize) -> Vec<String> {
    let mut events: Vec<String> = (0..chunks)
        .map(|i| {
            let finish = if i + 1 == chunks {
                "\"length\""
            } else {
                "null"
            };
            format!(
                "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"t{i}\"}},\
                 \"finish_reason\":{finish}}}]}}\n\n"
            )
        })
        .collect();
    events.push(format!(
        "data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":4,\"completion_tokens\":{chunks},\
         \"total_tokens\":{}}}}}\n\n",
        chunks + 4
    ));
    events.push("data: [DONE]\n\n".into());
    events
}

/// Reads one request (headers plus a `content-length` body) into `buffer`;
/// returns its length, or `None` when the connection closed.
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<usize> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let body_len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let total = end + 4 + body_len;
            if buffer.len() >= total {
                return Some(total);
            }
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
