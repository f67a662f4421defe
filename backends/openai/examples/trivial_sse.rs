//! Serves the trivial SSE endpoint of `inferbench_openai::instrument` on
//! 127.0.0.1, to measure the client's own overhead with the harness:
//!
//! ```sh
//! cargo run --release -p inferbench-openai --example trivial_sse -- 18080 16 &
//! inferbench run scenarios/endpoint-overhead.toml
//! ```
//!
//! Arguments: port (default 18080), chunks per answer (default 16),
//! worker threads (default 1, so that the client keeps the other core).

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut next =
        |default: usize| -> usize { args.next().and_then(|a| a.parse().ok()).unwrap_or(default) };
    let port = next(18080) as u16;
    let chunks = next(16);
    let threads = next(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let addr = inferbench_openai::instrument::serve_trivial_sse(port, chunks).await?;
        println!("trivial SSE endpoint: http://{addr}/v1 ({chunks} chunks per answer)");
        std::future::pending::<std::io::Result<()>>().await
    })
}
