//! Server-Sent Events as the OpenAI streaming API uses them: events are
//! separated by a blank line and carry their payload in `data:` lines
//! (WHATWG HTML, "Server-sent events", §9.2.6). Bytes arrive in arbitrary
//! pieces, so the parser buffers until an event is complete.

/// Incremental parser: feed it bytes, take complete events' data out.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
}

impl SseParser {
    /// Adds `bytes` and appends the data of every event they complete to
    /// `out` (multi-line data joined with `\n`, as the spec says).
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<String>) {
        self.buffer.extend_from_slice(bytes);
        let mut consumed = 0;
        while let Some((end, next)) = event_end(&self.buffer[consumed..]) {
            let event = &self.buffer[consumed..consumed + end];
            if let Some(data) = event_data(event) {
                out.push(data);
            }
            consumed += next;
        }
        self.buffer.drain(..consumed);
    }

    /// Bytes received that do not yet form a complete event.
    pub fn pending(&self) -> &[u8] {
        &self.buffer
    }
}

/// Where the first event in `b` ends and the next begins: at a blank line,
/// with `\n` or `\r\n` line ends.
fn event_end(b: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' {
            if b.get(i + 1) == Some(&b'\n') {
                return Some((i, i + 2));
            }
            if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                return Some((i, i + 3));
            }
        }
        i += 1;
    }
    None
}

fn event_data(event: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(event);
    let mut data: Option<String> = None;
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(value) = line.strip_prefix("data:") {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(value.to_string()),
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_reads_come_out_whole() {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        p.feed(b"data: {\"a\"", &mut out);
        assert!(out.is_empty());
        p.feed(
            b":1}\n\n: comment\n\ndata: x\r\ndata: y\r\n\r\ndata: [DO",
            &mut out,
        );
        assert_eq!(out, vec!["{\"a\":1}", "x\ny"]);
        p.feed(b"NE]\n\n", &mut out);
        assert_eq!(out.last().map(String::as_str), Some("[DONE]"));
        assert!(p.pending().is_empty());
    }
}
