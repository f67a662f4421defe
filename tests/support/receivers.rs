//! Real telemetry receivers for the tests, each started on a free loopback
//! port in its own temporary folder and stopped when dropped.
//! `ci/setup.sh` installs them under `vendor/telemetry/bin/`; a missing one
//! fails the test with that hint rather than skipping it.

#![allow(dead_code)]

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::rotel_output::PrintedSpan;

pub fn vendor_bin(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vendor/telemetry/bin")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run `bash ci/setup.sh` to install the telemetry receivers",
        path.display()
    );
    path
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Polls `check` every 200 ms until it returns `Some`, or panics with
/// `what` after `limit`.
pub fn poll<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            started.elapsed() < limit,
            "gave up after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A receiver process; killed and reaped when dropped.
pub struct Receiver {
    pub name: &'static str,
    pub dir: TempDir,
    pub log: PathBuf,
    child: Child,
}

impl Receiver {
    fn start(name: &'static str, binary: &str, args: &[String]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("output.log");
        let out = fs::File::create(&log).unwrap();
        let child = Command::new(vendor_bin(binary))
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Self {
            name,
            dir,
            log,
            child,
        }
    }

    pub fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_ready(&mut self, url: &str) {
        let client = http();
        let name = self.name;
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{name} exited with {status}: {}", self.output());
            }
            if client
                .get(url)
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{name} not ready at {url} after 60 s: {}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_listening(&mut self, port: u16) {
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited with {status}: {}", self.name, self.output());
            }
            assert!(started.elapsed() < Duration::from_secs(60));
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// VictoriaMetrics with its OTLP/HTTP receiver (`/opentelemetry/v1/metrics`)
/// and Prometheus naming, answering PromQL at `/api/v1/query`.
pub struct VictoriaMetrics {
    pub receiver: Receiver,
    pub port: u16,
    /// Basic-auth credentials every request needs, if any.
    pub auth: Option<(String, String)>,
}

/// How to start VictoriaMetrics beyond the defaults.
#[derive(Default)]
pub struct VictoriaMetricsOptions<'a> {
    /// Also listen with TLS on this port, with this certificate and key
    /// (PEM); queries stay on the plain port.
    pub tls: Option<(u16, &'a Path, &'a Path)>,
    /// Require HTTP basic auth (`-httpAuth.*`) on every endpoint.
    pub basic_auth: Option<(&'a str, &'a str)>,
}

impl VictoriaMetrics {
    pub fn start() -> Self {
        Self::start_with(VictoriaMetricsOptions::default())
    }

    pub fn start_with(options: VictoriaMetricsOptions) -> Self {
        let port = free_port();
        let mut args = vec![
            "-storageDataPath=data".to_string(),
            "-opentelemetry.usePrometheusNaming".into(),
            // Answer queries with data up to now, not 30 s ago.
            "-search.latencyOffset=0s".into(),
            "-search.disableCache".into(),
        ];
        match options.tls {
            None => args.push(format!("-httpListenAddr=127.0.0.1:{port}")),
            Some((tls_port, cert, key)) => args.extend([
                format!("-httpListenAddr=127.0.0.1:{port},127.0.0.1:{tls_port}"),
                "-tls=false,true".into(),
                format!("-tlsCertFile=,{}", cert.display()),
                format!("-tlsKeyFile=,{}", key.display()),
            ]),
        }
        if let Some((user, password)) = options.basic_auth {
            args.push(format!("-httpAuth.username={user}"));
            args.push(format!("-httpAuth.password={password}"));
        }
        let mut receiver = Receiver::start("VictoriaMetrics", "victoria-metrics", &args);
        // /health answers without credentials.
        receiver.wait_ready(&format!("http://127.0.0.1:{port}/health"));
        if let Some((tls_port, _, _)) = options.tls {
            receiver.wait_listening(tls_port);
        }
        Self {
            receiver,
            port,
            auth: options
                .basic_auth
                .map(|(u, p)| (u.to_string(), p.to_string())),
        }
    }

    /// The base OTLP endpoint (`--otlp`), to which `/v1/metrics` is added.
    pub fn otlp_base(&self) -> String {
        format!("http://127.0.0.1:{}/opentelemetry", self.port)
    }

    /// With the credentials in the URL, which the HTTP client sends as
    /// basic auth.
    pub fn query_url(&self) -> String {
        let userinfo = self
            .auth
            .as_ref()
            .map_or_else(String::new, |(u, p)| format!("{u}:{p}@"));
        format!("http://{userinfo}127.0.0.1:{}/api/v1/query", self.port)
    }
}

/// A test CA and a server certificate it signed for 127.0.0.1, made with
/// the openssl command: (CA certificate, server certificate, server key).
pub fn test_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is missing: run `bash ci/setup.sh`");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let days = ["-days", "2"];
    openssl(
        &[
            &[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            ][..],
            &["-out", "ca.pem", "-subj", "/CN=inferbench test CA"],
            &days,
        ]
        .concat(),
    );
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    // A leaf certificate: webpki refuses a CA certificate as a server's.
    fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &[
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
            ][..],
            &[
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-extfile",
                "server.ext",
            ],
            &days,
        ]
        .concat(),
    );
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// Prometheus scraping a Pushgateway every second.
pub struct PushgatewayStack {
    pub pushgateway: Receiver,
    pub pushgateway_port: u16,
    pub prometheus: Receiver,
    pub prometheus_port: u16,
}

impl PushgatewayStack {
    pub fn start() -> Self {
        let pushgateway_port = free_port();
        let mut pushgateway = Receiver::start(
            "Pushgateway",
            "prometheus-pushgateway",
            &[format!("--web.listen-address=127.0.0.1:{pushgateway_port}")],
        );
        pushgateway.wait_ready(&format!("http://127.0.0.1:{pushgateway_port}/-/ready"));
        let prometheus_port = free_port();
        let config = tempfile::tempdir().unwrap();
        let config_path = config.path().join("prometheus.yml");
        // honor_labels keeps the pushed job/instance labels, as the
        // Pushgateway's documentation asks.
        fs::write(
            &config_path,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:{pushgateway_port}']\n"
            ),
        )
        .unwrap();
        let mut prometheus = Receiver::start(
            "Prometheus",
            "prometheus",
            &[
                format!("--config.file={}", config_path.display()),
                "--storage.tsdb.path=data".into(),
                format!("--web.listen-address=127.0.0.1:{prometheus_port}"),
            ],
        );
        prometheus.wait_ready(&format!("http://127.0.0.1:{prometheus_port}/-/ready"));
        // The config folder lives as long as Prometheus runs.
        std::mem::forget(config);
        Self {
            pushgateway,
            pushgateway_port,
            prometheus,
            prometheus_port,
        }
    }

    pub fn pushgateway_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.pushgateway_port)
    }

    pub fn query_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1/query", self.prometheus_port)
    }
}

/// Prometheus with the given `prometheus.yml` and the files it names (rule
/// files), all in one folder that lives as long as it runs.
pub struct Prometheus {
    pub receiver: Receiver,
    pub port: u16,
}

impl Prometheus {
    pub fn start(config: &str, files: &[(&str, &str)]) -> Self {
        let port = free_port();
        let folder = tempfile::tempdir().unwrap();
        for (name, text) in files {
            fs::write(folder.path().join(name), text).unwrap();
        }
        let config_path = folder.path().join("prometheus.yml");
        fs::write(&config_path, config).unwrap();
        let mut receiver = Receiver::start(
            "Prometheus",
            "prometheus",
            &[
                format!("--config.file={}", config_path.display()),
                "--storage.tsdb.path=data".into(),
                format!("--web.listen-address=127.0.0.1:{port}"),
            ],
        );
        receiver.wait_ready(&format!("http://127.0.0.1:{port}/-/ready"));
        std::mem::forget(folder);
        Self { receiver, port }
    }

    pub fn query_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1/query", self.port)
    }

    /// (alert name, state: pending or firing) of every active alert.
    pub fn alerts(&self) -> Vec<(String, String)> {
        let url = format!("http://127.0.0.1:{}/api/v1/alerts", self.port);
        let body: serde_json::Value = http()
            .get(url)
            .send()
            .and_then(|r| r.bytes())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        body["data"]["alerts"]
            .as_array()
            .map(|alerts| {
                alerts
                    .iter()
                    .map(|a| {
                        let name = a["labels"]["alertname"].as_str().unwrap_or_default();
                        let state = a["state"].as_str().unwrap_or_default();
                        (name.to_string(), state.to_string())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The rotel OTLP collector, printing every span it receives in detail.
pub struct Rotel {
    pub receiver: Receiver,
    pub grpc_port: u16,
    pub http_port: u16,
}

impl Rotel {
    pub fn start() -> Self {
        let (grpc_port, http_port) = (free_port(), free_port());
        let dir = tempfile::tempdir().unwrap();
        let mut receiver = Receiver::start(
            "rotel",
            "rotel-agent",
            &[
                "start".into(),
                format!("--otlp-grpc-endpoint=127.0.0.1:{grpc_port}"),
                format!("--otlp-http-endpoint=127.0.0.1:{http_port}"),
                "--exporter=blackhole".into(),
                "--debug-log=traces".into(),
                "--debug-log-verbosity=detailed".into(),
                format!("--pid-file={}", dir.path().join("rotel.pid").display()),
                format!("--log-file={}", dir.path().join("rotel.log").display()),
            ],
        );
        receiver.wait_listening(grpc_port);
        receiver.wait_listening(http_port);
        std::mem::forget(dir);
        Self {
            receiver,
            grpc_port,
            http_port,
        }
    }

    /// Every span printed so far.
    pub fn spans(&self) -> Vec<PrintedSpan> {
        super::rotel_output::parse_spans(&self.receiver.output())
    }
}

/// PromQL instant query → (labels, value) of each series.
pub fn promql(url: &str, query: &str) -> Vec<(std::collections::BTreeMap<String, String>, f64)> {
    let url = reqwest::Url::parse_with_params(url, &[("query", query)]).unwrap();
    // A store that is still starting answers nothing: callers poll.
    let body: serde_json::Value = match http().get(url).send().and_then(|r| r.bytes()) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => return Vec::new(),
    };
    let Some(result) = body["data"]["result"].as_array() else {
        return Vec::new();
    };
    result
        .iter()
        .map(|series| {
            let labels = series["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            let value = series["value"][1].as_str().unwrap().parse().unwrap();
            (labels, value)
        })
        .collect()
}
