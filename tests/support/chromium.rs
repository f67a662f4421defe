//! Headless Chromium driven over the DevTools protocol, through the pipe
//! transport (`--remote-debugging-pipe`: the browser reads commands from
//! fd 3 and writes replies and events to fd 4, each a JSON text ended by a
//! NUL byte), so no WebSocket client and no port are needed. Chromium is
//! Debian's `chromium`, installed by `ci/setup.sh`; a missing one fails
//! with that hint.

#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

/// How long one protocol command may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// The browser binary: $CHROMIUM, else `chromium` on the PATH.
pub fn chromium_binary() -> PathBuf {
    let found = match std::env::var_os("CHROMIUM") {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        None => std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("chromium"))
                .find(|p| p.is_file())
        }),
    };
    found.unwrap_or_else(|| {
        panic!(
            "chromium is missing: run `bash ci/setup.sh` (it installs Debian's `chromium`), \
             or set CHROMIUM to a Chromium binary"
        )
    })
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: pipe2 succeeded, so both are open descriptors we now own.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// A headless browser with one page attached.
pub struct Browser {
    child: Child,
    commands: File,
    messages: Receiver<Value>,
    next_id: u64,
    session: String,
    /// Every event received so far (console messages, requests, ...).
    pub events: Vec<Value>,
    _profile: TempDir,
}

impl Browser {
    /// Starts Chromium with a fresh profile and no background traffic.
    pub fn start() -> Self {
        let profile = tempfile::tempdir().expect("a temporary profile folder");
        let (browser_reads, we_write) = pipe();
        let (we_read, browser_writes) = pipe();
        let (r, w) = (browser_reads.as_raw_fd(), browser_writes.as_raw_fd());
        let mut command = Command::new(chromium_binary());
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork
        // and exec. Both ends are first copied above 10 so that placing one
        // on 3 cannot overwrite the other; dup2 clears close-on-exec.
        unsafe {
            command.pre_exec(move || {
                let high = [r, w].map(|fd| libc::fcntl(fd, libc::F_DUPFD, 10));
                for (from, to) in [(high[0], 3), (high[1], 4)] {
                    if from < 0 || libc::dup2(from, to) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium_binary().display()));
        drop((browser_reads, browser_writes));
        let (send, messages) = channel();
        let reader = BufReader::new(File::from(we_read));
        std::thread::spawn(move || {
            for chunk in reader.split(0) {
                let Ok(bytes) = chunk else { break };
                let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
                    continue;
                };
                if send.send(value).is_err() {
                    break;
                }
            }
        });
        let mut browser = Self {
            child,
            commands: File::from(we_write),
            messages,
            next_id: 0,
            session: String::new(),
            events: Vec::new(),
            _profile: profile,
        };
        browser.attach_page();
        browser
    }

    fn attach_page(&mut self) {
        let target = self.call_browser("Target.createTarget", json!({ "url": "about:blank" }));
        let target_id = target["targetId"]
            .as_str()
            .expect("a target id")
            .to_string();
        let attached = self.call_browser(
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
        );
        self.session = attached["sessionId"]
            .as_str()
            .expect("a session")
            .to_string();
        for domain in ["Page", "Runtime", "Log", "Network"] {
            self.call(&format!("{domain}.enable"), json!({}));
        }
    }

    fn send(&mut self, mut message: Value) -> u64 {
        self.next_id += 1;
        message["id"] = json!(self.next_id);
        let mut bytes = serde_json::to_vec(&message).expect("JSON");
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .expect("writing to chromium's pipe");
        self.next_id
    }

    /// Waits for the reply to `id`, keeping the events that come first.
    fn reply(&mut self, id: u64, method: &str) -> Value {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.messages.recv_timeout(left).unwrap_or_else(|_| {
                panic!("chromium did not answer {method} in {REPLY_TIMEOUT:?}")
            });
            if message["id"].as_u64() == Some(id) {
                if let Some(error) = message.get("error") {
                    panic!("{method} failed: {error}");
                }
                return message["result"].clone();
            }
            if message.get("method").is_some() {
                self.events.push(message);
            }
        }
    }

    fn call_browser(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(json!({ "method": method, "params": params }));
        self.reply(id, method)
    }

    /// A command to the page's session.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        let id = self.send(json!({ "sessionId": session, "method": method, "params": params }));
        self.reply(id, method)
    }

    /// Opens `file` and waits for its load event.
    pub fn open(&mut self, file: &Path) -> String {
        let url = format!(
            "file://{}",
            file.canonicalize().expect("the page exists").display()
        );
        self.call("Page.navigate", json!({ "url": url }));
        let deadline = Instant::now() + REPLY_TIMEOUT;
        while !self
            .events
            .iter()
            .any(|e| e["method"] == "Page.loadEventFired")
        {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self
                .messages
                .recv_timeout(left)
                .expect("the page's load event");
            if message.get("method").is_some() {
                self.events.push(message);
            }
        }
        url
    }

    /// The value of a JavaScript expression in the page.
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
        );
        if let Some(e) = result.get("exceptionDetails") {
            panic!("evaluating `{expression}` threw: {e}");
        }
        result["result"]["value"].clone()
    }

    /// A PNG of the page (the whole page, or a clip in CSS pixels).
    pub fn screenshot(&mut self, width: u32, clip: Option<(f64, f64, f64, f64)>) -> Vec<u8> {
        use base64::Engine;
        let height = self
            .eval("document.documentElement.scrollHeight")
            .as_f64()
            .unwrap_or(800.0);
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height as u32, "deviceScaleFactor": 1, "mobile": false }),
        );
        let mut params = json!({ "format": "png", "captureBeyondViewport": true });
        if let Some((x, y, w, h)) = clip {
            params["clip"] = json!({ "x": x, "y": y, "width": w, "height": h, "scale": 1 });
        }
        let shot = self.call("Page.captureScreenshot", params);
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("base64 PNG")
    }

    /// Events of one protocol method.
    pub fn events_of(&self, method: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["method"] == method)
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.send(json!({ "method": "Browser.close" }));
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
