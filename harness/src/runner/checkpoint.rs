//! What a worker does for a Llama checkpoint beyond the synthetic GPT:
//! real text in (the `[inputs]` text windows and prompts, through the
//! model's tokenizer), the cached f64 Llama reference, and perplexity.

use inferbench_backend::{BackendError, HostTensor, TokenBatch};

use super::protocol::WorkerJob;
use crate::generation::agreement::Agreement;
use crate::generation::load::reference_continuation;
use crate::generation::{GenerationSummary, Requests};
use crate::model::llama_reference::CachedLlamaReference;
use crate::model::perplexity::{self, Perplexity};
use crate::model::text::TextCodec;
use crate::scenario::{GenerationCase, ReferenceKind};
use inferbench_reference::gpt::ReferenceLogits;

/// The checkpoint's tokenizer and chat template; `None` for other models.
/// A checkpoint without a tokenizer still runs on random ids (its results
/// then have no texts); only `[inputs]` text needs one.
pub fn codec(job: &WorkerJob) -> Result<Option<TextCodec>, BackendError> {
    let (Some(folder), Some(checkpoint)) = (&job.tokenizer_dir, &job.case.model.llama) else {
        return Ok(None);
    };
    let case = &job.case;
    let needed = case.text.is_some()
        || case
            .generation
            .as_ref()
            .is_some_and(|g| !g.prompts.is_empty());
    match TextCodec::load(folder, &checkpoint.path) {
        Ok(codec) => Ok(Some(codec)),
        Err(e) if needed => Err(e),
        Err(_) => Ok(None),
    }
}

/// The f64 reference of a checkpoint whose case asks for one.
pub fn reference(job: &WorkerJob) -> Option<CachedLlamaReference> {
    let config = job.llama.as_ref()?;
    (job.case.reference == ReferenceKind::F64)
        .then(|| CachedLlamaReference::new(config, &job.weights, &job.spec_dir))
}

/// The windows of the case's `[inputs] text`, if it reads one.
pub fn text_input(
    job: &WorkerJob,
    codec: Option<&TextCodec>,
) -> Result<Option<TokenBatch>, BackendError> {
    let case = &job.case;
    match (&case.text, codec) {
        (Some(path), Some(codec)) => codec.text_windows(path, case.batch, case.seq_len).map(Some),
        (Some(path), None) => Err(BackendError::Load(format!(
            "{}: text inputs need the model's tokenizer; this model has none",
            path.display()
        ))),
        (None, _) => Ok(None),
    }
}

/// The requests of a generation case: its text prompts tokenized (chat
/// turns through the chat template), else random ids over the vocabulary;
/// stopping at the model's end-of-sequence token unless `ignore_eos`.
pub fn requests(
    job: &WorkerJob,
    codec: Option<&TextCodec>,
    g: &GenerationCase,
) -> Result<Requests, BackendError> {
    let vocab = job
        .llama
        .as_ref()
        .map_or(job.case.model.spec.vocab_size, |c| c.vocab_size);
    let mut requests = Requests::random(vocab);
    if !g.ignore_eos {
        requests.eos = job
            .llama
            .as_ref()
            .and_then(|c| c.eos_token_id)
            .map(i64::from);
    }
    let Some(codec) = codec.filter(|_| !g.prompts.is_empty()) else {
        return Ok(requests);
    };
    for (i, prompt) in g.prompts.iter().enumerate() {
        let text = codec.prompt_text(prompt)?;
        let ids = codec.encode(&text)?;
        if ids.is_empty() {
            return Err(BackendError::Load(format!(
                "prompt {} gives no tokens; every prompt needs some text",
                i + 1
            )));
        }
        requests
            .prompts
            .push(ids.into_iter().map(i64::from).collect());
        requests.prompt_texts.push(text);
    }
    Ok(requests)
}

/// Perplexity of the case's logits on its text windows, beside the
/// reference's on the same windows when it ran.
pub fn text_perplexity(
    logits: &HostTensor,
    input: &TokenBatch,
    vocab: usize,
    reference: Option<&ReferenceLogits>,
) -> Option<Perplexity> {
    let (value, scored_tokens) = perplexity::of_windows(&logits.data, input, vocab)?;
    let reference = reference.and_then(|r| perplexity::of_windows(&r.data, input, r.vocab_size));
    Some(Perplexity {
        value,
        reference: reference.map(|r| r.0),
        windows: input.batch,
        scored_tokens,
    })
}

/// The served model's first text against the f64 reference's greedy
/// continuation of the same raw prompt, when the scenario names the
/// checkpoint the server serves (`[model]`) and sends raw prompts
/// (`api = "completions"`: a chat template leaves no like-for-like text).
/// The server's text is tokenized again with the checkpoint's tokenizer,
/// as the in-process rows' agreement compares token ids.
pub fn served_agreement(
    job: &WorkerJob,
    g: &GenerationCase,
    summary: &mut GenerationSummary,
) -> Result<(), BackendError> {
    let raw = job
        .case
        .endpoint
        .as_ref()
        .is_some_and(|e| e.api == inferbench_openai::Api::Completions);
    if !raw || summary.prompt_text.is_empty() {
        return Ok(());
    }
    let (Some(reference), Some(codec)) = (reference(job), codec(job)?) else {
        return Ok(());
    };
    let ids = |text: &str| -> Result<Vec<i64>, BackendError> {
        Ok(codec.encode(text)?.into_iter().map(i64::from).collect())
    };
    let prompt = ids(&summary.prompt_text)?;
    let eos = job
        .llama
        .as_ref()
        .and_then(|c| c.eos_token_id)
        .map(i64::from)
        .filter(|_| !g.ignore_eos);
    let expected = reference_continuation(&reference, &prompt, g.gen_len, eos)?;
    let served = ids(&summary.generated_text)?;
    summary.agreement = Some(Agreement::of(&served, &expected));
    summary.reference_text = codec.decode(&expected)?;
    summary.reference_tokens = expected;
    summary.prompt_tokens = prompt;
    summary.first_request_tokens = served;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use inferbench_reference::fixtures::{smollm2_folder, smollm2_gguf};

    use crate::runner::protocol::{Outcome, WorkerJob, WorkerReport};
    use crate::runner::worker::execute;
    use crate::scenario::parse_str;

    /// The worker job of the one case `settings` expand to, on SmolLM2 in
    /// candle f32, its conversion and reference results in the shared model
    /// cache. `dir` holds the scenario's files.
    fn smollm2_job(dir: &Path, settings: &str) -> WorkerJob {
        let text = format!(
            "backends = 'candle'\nthreads = 2\n{settings}\n[model]\ngguf = '{}'\n\
             [warmup]\niterations = 0\nseconds = 0\n\
             [measurement]\nmin_iterations = 1\nmin_seconds = 0\n",
            smollm2_gguf().display()
        );
        let mut cases = parse_str(&text, &dir.join("s.toml"), "s", 1)
            .unwrap_or_else(|e| panic!("{e}"))
            .cases;
        assert_eq!(cases.len(), 1);
        let model = smollm2_folder().expect("run `bash ci/setup.sh` for the SmolLM2 fixture");
        WorkerJob {
            case: cases.remove(0),
            spec_dir: model.weights.parent().unwrap().to_path_buf(),
            weights: model.weights,
            llama: Some(model.config),
            tokenizer_dir: Some(model.folder),
            encoder: None,
            inject_slowdown_pct: 0.0,
        }
    }

    fn measured(report: &WorkerReport) {
        assert_eq!(report.outcome, Outcome::Measured, "{:?}", report.outcome);
    }

    #[test]
    fn a_chat_prompt_stops_at_eos_as_the_reference_does() {
        // Chat turns through SmolLM2's ChatML template; the instruct model
        // answers briefly and ends with <|im_end|>, its EOS.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("chat.jsonl"),
            r#"{"messages": [{"role": "user", "content": "What is the capital of France? One word."}]}"#,
        )
        .unwrap();
        let job = smollm2_job(
            dir.path(),
            "[generation]\ngen_len = 24\nrequests = 1\nignore_eos = false\n\
             [inputs]\nprompts = 'chat.jsonl'",
        );
        let report = execute(&job);
        measured(&report);
        let g = report.generation.unwrap();
        assert!(
            g.prompt_text
                .contains("<|im_start|>user\nWhat is the capital")
                && g.prompt_text.ends_with("<|im_start|>assistant\n"),
            "{:?}",
            g.prompt_text
        );
        let eos = job.llama.unwrap().eos_token_id.unwrap() as i64;
        let tokens = &g.first_request_tokens;
        assert_eq!(tokens.last(), Some(&eos), "{:?}", g.generated_text);
        assert!(tokens.len() < 24, "{tokens:?}");
        assert_eq!(g.mean_output_tokens, Some(tokens.len() as f64));
        assert!(g.generated_text.contains("Paris"), "{:?}", g.generated_text);
        // The reference stops at the same place with the same text.
        assert_eq!(&g.reference_tokens, tokens);
        assert_eq!(g.reference_text, g.generated_text);
        let agreement = g.agreement.unwrap();
        assert!(agreement.exact_match && agreement.prefix_tokens == tokens.len());
        // KV-cache logits against the reference recomputed at every step.
        let accuracy = report.accuracy.unwrap();
        assert!(
            accuracy.rel_l2 < 1e-4 && accuracy.top1 == 1.0,
            "{accuracy:?}"
        );
    }

    #[test]
    fn text_too_short_for_the_windows_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("short.txt"), "Hello world").unwrap();
        let job = smollm2_job(dir.path(), "seq_len = 8\n[inputs]\ntext = 'short.txt'");
        let report = execute(&job);
        let Outcome::Error(message) = &report.outcome else {
            panic!("{:?}", report.outcome);
        };
        assert!(
            message.contains("short.txt: 2 tokens make 0 windows of 8, and batch 1 needs 1"),
            "{message}"
        );
    }
}
