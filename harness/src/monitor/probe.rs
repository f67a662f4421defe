//! One probe's figures, from what the [`Generator`] returned: the same
//! [`RequestTimeline`] definitions as a benchmark run's requests, timed from
//! the probe's scheduled time.
//!
//! [`Generator`]: inferbench_backend::Generator

use std::time::{Instant, SystemTime};

use inferbench_backend::{ErrorClass, Generation, GenerationError};

use crate::generation::agreement::Agreement;
use crate::generation::timeline::RequestTimeline;

/// What one probe measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Wall-clock time it fell due (span start).
    pub due_at: SystemTime,
    /// Seconds from due to the end: the last token, or the failure.
    pub e2e_s: f64,
    pub outcome: Result<Answer, Failure>,
}

/// An answered probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub ttft_s: Option<f64>,
    pub tpot_s: Option<f64>,
    pub itl_s: Vec<f64>,
    pub input_tokens: Option<u64>,
    pub output_tokens: u64,
    /// Against the reference's continuation, when there is one.
    pub agreement: Option<Agreement>,
}

/// A failed probe: its `error.type` and message.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub class: String,
    pub message: String,
}

fn seconds(ns: u64) -> f64 {
    ns as f64 * 1e-9
}

impl Probe {
    /// The probe due at `due` (`due_at` on the wall clock), ended `now` with
    /// `result`. An answer without any token is a malformed one: a probe
    /// asks for at least one.
    pub fn of(
        due: (Instant, SystemTime),
        result: Result<Generation, GenerationError>,
        now: Instant,
    ) -> Self {
        let (due, due_at) = due;
        let e2e_s = now.saturating_duration_since(due).as_secs_f64();
        let generation = match result {
            Ok(g) if !g.events.is_empty() => g,
            Ok(_) => {
                let e =
                    GenerationError::new(ErrorClass::MalformedStream, "the answer had no tokens");
                return Self::failed(due_at, e2e_s, &e);
            }
            Err(e) => return Self::failed(due_at, e2e_s, &e),
        };
        let ns = |at: Instant| at.saturating_duration_since(due).as_nanos() as u64;
        let token_ns: Vec<u64> = generation.events.iter().map(|e| ns(e.at)).collect();
        let output_tokens = generation
            .usage
            .map_or(token_ns.len() as u64, |u| u.completion_tokens);
        let timeline = RequestTimeline {
            arrival_ns: 0,
            start_ns: ns(generation.started),
            output_tokens: output_tokens as usize,
            token_ns,
        };
        Self {
            due_at,
            e2e_s: timeline.e2e_ns().map_or(e2e_s, seconds),
            outcome: Ok(Answer {
                ttft_s: timeline.ttft_ns().map(seconds),
                tpot_s: timeline.tpot_ns().map(|ns| ns * 1e-9),
                itl_s: timeline.itl_ns().map(seconds).collect(),
                input_tokens: generation.usage.map(|u| u.prompt_tokens),
                output_tokens,
                agreement: None,
            }),
        }
    }

    pub fn failed(due_at: SystemTime, e2e_s: f64, e: &GenerationError) -> Self {
        Self::failure(due_at, e2e_s, e.class.to_string(), e.message.clone())
    }

    pub fn failure(due_at: SystemTime, e2e_s: f64, class: String, message: String) -> Self {
        Self {
            due_at,
            e2e_s,
            outcome: Err(Failure { class, message }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use inferbench_backend::{TokenEvent, Usage};

    fn event(at: Instant) -> TokenEvent {
        TokenEvent {
            at,
            text: "x".into(),
            ids: Vec::new(),
        }
    }

    #[test]
    fn an_answer_is_timed_from_its_due_time() {
        let due = Instant::now();
        let ms = |n: u64| due + Duration::from_millis(n);
        // Sent 5 ms late, tokens at 40, 60, 100 ms; usage says 5 tokens
        // (a chunk may carry several).
        let generation = Generation {
            started: ms(5),
            events: vec![event(ms(40)), event(ms(60)), event(ms(100))],
            usage: Some(Usage {
                prompt_tokens: 7,
                completion_tokens: 5,
            }),
            finish_reason: Some("length".into()),
        };
        let p = Probe::of((due, SystemTime::UNIX_EPOCH), Ok(generation), ms(120));
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(p.e2e_s, 0.1), "the last token, not the call's end");
        let a = p.outcome.unwrap();
        assert!(close(a.ttft_s.unwrap(), 0.04));
        // (100 − 40) ms / (5 − 1) tokens.
        assert!(close(a.tpot_s.unwrap(), 0.015));
        assert_eq!(a.itl_s.len(), 2);
        assert!(close(a.itl_s[0], 0.02) && close(a.itl_s[1], 0.04));
        assert_eq!((a.input_tokens, a.output_tokens), (Some(7), 5));
    }

    #[test]
    fn failures_and_empty_answers_carry_their_class() {
        let due = Instant::now();
        let later = due + Duration::from_millis(30);
        let e = GenerationError::new(ErrorClass::HttpStatus(503), "HTTP 503: loading");
        let p = Probe::of((due, SystemTime::UNIX_EPOCH), Err(e), later);
        let f = p.outcome.unwrap_err();
        assert_eq!(
            (f.class.as_str(), f.message.as_str()),
            ("http_503", "HTTP 503: loading")
        );
        assert!((p.e2e_s - 0.03).abs() < 1e-9);
        let empty = Generation {
            started: due,
            events: Vec::new(),
            usage: None,
            finish_reason: Some("stop".into()),
        };
        let p = Probe::of((due, SystemTime::UNIX_EPOCH), Ok(empty), later);
        assert_eq!(p.outcome.unwrap_err().class, "malformed_stream");
    }
}
