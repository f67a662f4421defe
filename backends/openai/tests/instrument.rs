//! The client against the trivial SSE instrument: every chunk becomes one
//! timed event in order, usage is read, the pool serves requests in
//! parallel. (Its speed is measured with the harness, see README.)

use std::sync::Arc;
use std::time::Duration;

use inferbench_backend::{GenerationRequest, Generator, Prompt};
use inferbench_openai::{Api, EndpointClient, EndpointConfig, instrument::serve_trivial_sse};

#[test]
fn sixteen_chunks_become_sixteen_ordered_events_with_usage() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr = runtime.block_on(serve_trivial_sse(0, 16)).unwrap();
    let config = EndpointConfig {
        url: format!("http://{addr}/v1"),
        api: Api::Chat,
        model: None,
        api_key_env: None,
        stream: true,
        timeout_s: 10.0,
        tokenizer: None,
    };
    let client = Arc::new(EndpointClient::new(&config, 8, Duration::from_secs(10)).unwrap());
    let request = GenerationRequest {
        prompt: Prompt::Text("hi".into()),
        max_tokens: 16,
        ignore_eos: true,
    };
    let results = runtime.block_on(async {
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (client, request) = (client.clone(), request.clone());
                tokio::spawn(async move { client.generate(request).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    for r in results {
        let g = r.unwrap();
        assert_eq!(g.events.len(), 16);
        assert_eq!(
            g.text(),
            (0..16).map(|i| format!("t{i}")).collect::<String>()
        );
        assert!(g.events.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(g.events[0].at >= g.started);
        assert_eq!(g.usage.map(|u| u.completion_tokens), Some(16));
        assert_eq!(g.finish_reason.as_deref(), Some("length"));
    }
}
