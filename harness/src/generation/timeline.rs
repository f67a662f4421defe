//! What happened to one request, and the latency figures derived from it.
//! Definitions as in the OpenTelemetry GenAI semantic conventions and MLPerf:
//! - TTFT (time to first token) = first token − arrival (queueing included);
//! - TPOT (time per output token) = (end-to-end − TTFT) / (tokens − 1);
//! - ITL (inter-token latency) = the gaps between consecutive tokens;
//! - end-to-end = last token − arrival.

/// Times in nanoseconds from a common origin (the start of the load run).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestTimeline {
    pub arrival_ns: u64,
    /// When processing began (after any queueing).
    pub start_ns: u64,
    /// When each output token became available, in order (for a server:
    /// each streamed content chunk).
    pub token_ns: Vec<u64>,
    /// Output tokens: `token_ns.len()` in process; a server's `usage` (or
    /// the tokenizer's count), since a chunk may carry several tokens.
    pub output_tokens: usize,
}

impl RequestTimeline {
    /// One timestamp per output token.
    pub fn per_token(arrival_ns: u64, start_ns: u64, token_ns: Vec<u64>) -> Self {
        Self {
            arrival_ns,
            start_ns,
            output_tokens: token_ns.len(),
            token_ns,
        }
    }

    pub fn ttft_ns(&self) -> Option<u64> {
        self.token_ns.first().map(|t| t - self.arrival_ns)
    }

    pub fn e2e_ns(&self) -> Option<u64> {
        self.token_ns.last().map(|t| t - self.arrival_ns)
    }

    pub fn queue_ns(&self) -> u64 {
        self.start_ns - self.arrival_ns
    }

    /// Prefill time: processing start to the first token.
    pub fn prefill_ns(&self) -> Option<u64> {
        self.token_ns.first().map(|t| t - self.start_ns)
    }

    /// `None` for fewer than 2 tokens (TPOT is undefined there).
    pub fn tpot_ns(&self) -> Option<f64> {
        let n = self.output_tokens;
        if n < 2 {
            return None;
        }
        Some((self.e2e_ns()? - self.ttft_ns()?) as f64 / (n - 1) as f64)
    }

    pub fn itl_ns(&self) -> impl Iterator<Item = u64> + '_ {
        self.token_ns.windows(2).map(|w| w[1] - w[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_from_a_constructed_timeline() {
        // Arrives at 100, waits 50, first token at 250, then 4 more tokens at
        // 280, 320, 330, 390.
        let t = RequestTimeline::per_token(100, 150, vec![250, 280, 320, 330, 390]);
        assert_eq!(t.ttft_ns(), Some(150));
        assert_eq!(t.queue_ns(), 50);
        assert_eq!(t.prefill_ns(), Some(100));
        assert_eq!(t.e2e_ns(), Some(290));
        // (290 − 150) / (5 − 1) = 35
        assert_eq!(t.tpot_ns(), Some(35.0));
        assert_eq!(t.itl_ns().collect::<Vec<_>>(), vec![30, 40, 10, 60]);
    }

    #[test]
    fn one_token_has_no_tpot() {
        let t = RequestTimeline::per_token(0, 0, vec![10]);
        assert_eq!((t.tpot_ns(), t.itl_ns().count()), (None, 0));
        // A chunk of 3 tokens: TPOT over the tokens, ITL over the chunks.
        let chunked = RequestTimeline {
            output_tokens: 4,
            ..RequestTimeline::per_token(0, 0, vec![10, 40])
        };
        assert_eq!(
            (chunked.tpot_ns(), chunked.itl_ns().count()),
            (Some(10.0), 1)
        );
    }
}
