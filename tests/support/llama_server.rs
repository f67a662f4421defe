//! llama.cpp's `llama-server` (built by `ci/setup.sh` into
//! vendor/llama.cpp) serving the SmolLM2 GGUF on a loopback port: the real
//! OpenAI-compatible server of the endpoint and monitor tests.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use super::receivers::free_port;
use super::{built_by_setup, repo_root};

pub fn llama_server() -> Option<PathBuf> {
    let path = std::env::var_os("INFERBENCH_LLAMA_SERVER").map_or_else(
        || repo_root().join("vendor/llama.cpp/bin/llama-server"),
        PathBuf::from,
    );
    built_by_setup(path, "the llama-server tests did not run")
}

/// A `llama-server` child on 127.0.0.1, killed (by its own handle) on drop.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    /// Starts the server with `extra` arguments and waits for `/health`.
    pub fn start(binary: &Path, log: &Path, extra: &[&str]) -> Server {
        Self::start_on(binary, log, extra, free_port())
    }

    /// The same on `port` (a server started again where it was).
    pub fn start_on(binary: &Path, log: &Path, extra: &[&str], port: u16) -> Server {
        let model = repo_root().join("vendor/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
        let log_file = fs::File::create(log).unwrap();
        let child = Process::new(binary)
            .args(["-m", model.to_str().unwrap(), "--host", "127.0.0.1"])
            .args(["--port", &port.to_string(), "-t", "1", "--no-webui"])
            .args(extra)
            .stdout(Stdio::from(log_file.try_clone().unwrap()))
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap();
        let mut server = Server { child, port };
        server.wait_healthy(log);
        server
    }

    fn wait_healthy(&mut self, log: &Path) {
        let url = format!("http://127.0.0.1:{}/health", self.port);
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("llama-server exited ({status}): {}", read(log));
            }
            if reqwest::blocking::get(&url).is_ok_and(|r| r.status().is_success()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("llama-server not healthy after 120 s: {}", read(log));
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}
