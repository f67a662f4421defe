//! A probe's answer against the reference's greedy continuation of the
//! same prompt (computed once, when the monitor starts), for the agreement
//! gauges: a quantized or misconfigured server shows as agreement that
//! drops, not only as latency.

use inferbench_backend::Generation;

use crate::generation::agreement::Agreement;
use crate::model::text::TextCodec;

/// The expected continuation of each prompt, in the order the probes cycle
/// through them, and the tokenizer that turns a served answer's text back
/// into the model's token ids (in-process answers carry their ids).
pub struct Judge {
    pub expected: Vec<Vec<i64>>,
    pub codec: Option<TextCodec>,
}

impl Judge {
    /// The agreement of the answer to the probe of prompt `index`.
    pub fn agreement(&self, index: usize, generation: &Generation) -> Option<Agreement> {
        let expected = self.expected.get(index % self.expected.len().max(1))?;
        let ids: Vec<i64> = generation
            .events
            .iter()
            .flat_map(|e| e.ids.iter().copied())
            .collect();
        let candidate = if ids.is_empty() {
            let codec = self.codec.as_ref()?;
            let ids = codec.encode(&generation.text()).ok()?;
            ids.into_iter().map(i64::from).collect()
        } else {
            ids
        };
        Some(Agreement::of(&candidate, expected))
    }
}
