//! Where OTLP goes, from `--otlp`/`--otlp-protocol` or the standard
//! variables of the OpenTelemetry exporter specification
//! (<https://opentelemetry.io/docs/specs/otel/protocol/exporter/>):
//! `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_{METRICS,TRACES}_ENDPOINT`,
//! `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_EXPORTER_OTLP_TIMEOUT`,
//! `OTEL_{METRICS,TRACES}_EXPORTER=none`, `OTEL_SDK_DISABLED=true`. Headers
//! (`OTEL_EXPORTER_OTLP_HEADERS`) and the resource (`OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`) are read by the OpenTelemetry SDK itself.

use std::time::Duration;

use super::ExportError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
}

impl Protocol {
    fn parse(text: &str, from: &str) -> Result<Self, ExportError> {
        match text.trim() {
            "grpc" => Ok(Protocol::Grpc),
            "http/protobuf" | "http" => Ok(Protocol::HttpProtobuf),
            other => Err(ExportError::Config(format!(
                "{from} is {other:?}; use `grpc` or `http/protobuf` (http/json is not built in)"
            ))),
        }
    }
}

/// The OTLP part of a command line; `None` fields fall back to the
/// environment.
#[derive(Debug, Default, Clone)]
pub struct OtlpOptions {
    pub endpoint: Option<String>,
    pub protocol: Option<String>,
}

/// Resolved OTLP settings.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpConfig {
    pub protocol: Protocol,
    /// Full URL per signal when given on the command line; `None` lets the
    /// exporter read the `OTEL_EXPORTER_OTLP_*ENDPOINT` variables.
    pub metrics_endpoint: Option<String>,
    pub traces_endpoint: Option<String>,
    pub metrics: bool,
    pub traces: bool,
    /// Per-request timeout of each export.
    pub timeout: Duration,
    /// How the target is named in messages.
    pub target: String,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn disabled(name: &str) -> bool {
    var(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("none"))
}

/// The endpoint variables as set: the generic one and one per signal.
struct EnvEndpoints {
    generic: Option<String>,
    metrics: Option<String>,
    traces: Option<String>,
}

impl EnvEndpoints {
    fn read() -> Self {
        Self {
            generic: var("OTEL_EXPORTER_OTLP_ENDPOINT"),
            metrics: var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
            traces: var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        }
    }

    fn any(&self) -> bool {
        self.generic.is_some() || self.metrics.is_some() || self.traces.is_some()
    }
}

impl Protocol {
    /// The flag wins over the variable; the specification's default is
    /// HTTP.
    fn chosen(flag: Option<&str>) -> Result<Self, ExportError> {
        match (flag, var("OTEL_EXPORTER_OTLP_PROTOCOL")) {
            (Some(p), _) => Protocol::parse(p, "--otlp-protocol"),
            (None, Some(p)) => Protocol::parse(&p, "OTEL_EXPORTER_OTLP_PROTOCOL"),
            (None, None) => Ok(Protocol::HttpProtobuf),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Protocol::Grpc => "gRPC",
            Protocol::HttpProtobuf => "HTTP",
        }
    }
}

/// `OTEL_EXPORTER_OTLP_TIMEOUT`, in milliseconds.
fn timeout() -> Result<Duration, ExportError> {
    let Some(ms) = var("OTEL_EXPORTER_OTLP_TIMEOUT") else {
        return Ok(DEFAULT_TIMEOUT);
    };
    let ms = ms.trim().parse().map_err(|_| {
        ExportError::Config(format!(
            "OTEL_EXPORTER_OTLP_TIMEOUT is {ms:?}; it takes milliseconds, e.g. 5000"
        ))
    })?;
    Ok(Duration::from_millis(ms))
}

impl OtlpConfig {
    /// `Ok(None)` when OTLP is not asked for: no `--otlp` and no endpoint
    /// variable.
    pub fn resolve(options: &OtlpOptions) -> Result<Option<Self>, ExportError> {
        // The SDK-wide switch of the specification turns OTLP off whatever
        // else is set.
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Ok(None);
        }
        let env = EnvEndpoints::read();
        if options.endpoint.is_none() && !env.any() {
            return Ok(None);
        }
        let protocol = Protocol::chosen(options.protocol.as_deref())?;
        let timeout = timeout()?;
        let (metrics_endpoint, traces_endpoint) = match &options.endpoint {
            Some(base) => (
                Some(signal_url(base, protocol, "metrics")?),
                Some(signal_url(base, protocol, "traces")?),
            ),
            None => (None, None),
        };
        // The flag replaces every variable; without it, each variable set
        // is a target.
        let targets = distinct([
            options.endpoint.clone(),
            env.metrics.clone().filter(|_| metrics_endpoint.is_none()),
            env.traces.clone().filter(|_| traces_endpoint.is_none()),
            env.generic.clone().filter(|_| options.endpoint.is_none()),
        ]);
        // Every endpoint, flag or variable, is checked before the run
        // measures anything: a bad one used to fail only after the run.
        for t in &targets {
            check_endpoint(t)?;
        }
        // With only signal-specific variables, a signal without one is off.
        let generic = options.endpoint.is_some() || env.generic.is_some();
        Ok(Some(Self {
            protocol,
            metrics_endpoint,
            traces_endpoint,
            metrics: !disabled("OTEL_METRICS_EXPORTER") && (generic || env.metrics.is_some()),
            traces: !disabled("OTEL_TRACES_EXPORTER") && (generic || env.traces.is_some()),
            timeout,
            target: format!("OTLP ({}) {}", protocol.label(), targets.join(", ")),
        }))
    }
}

/// The endpoints that are set, each once, in order.
fn distinct(endpoints: [Option<String>; 4]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in endpoints.into_iter().flatten() {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// The URL of one signal for a base endpoint given on the command line:
/// OTLP/HTTP appends `/v1/<signal>` as the specification does for
/// `OTEL_EXPORTER_OTLP_ENDPOINT`; gRPC uses the base as it is.
fn signal_url(base: &str, protocol: Protocol, signal: &str) -> Result<String, ExportError> {
    check_endpoint(base)?;
    Ok(match protocol {
        Protocol::Grpc => base.to_string(),
        Protocol::HttpProtobuf => format!("{}/v1/{signal}", base.trim_end_matches('/')),
    })
}

/// An endpoint is `http://HOST…` or `https://HOST…`.
fn check_endpoint(url: &str) -> Result<(), ExportError> {
    let bad = |why: String| {
        Err(ExportError::Config(format!(
            "the OTLP endpoint {url:?} {why}"
        )))
    };
    match url.split_once("://") {
        None => bad(format!(
            "needs a scheme: write http://{url} (plain) or https://{url} (TLS)"
        )),
        Some((scheme, _)) if scheme != "http" && scheme != "https" => bad(format!(
            "has the scheme `{scheme}`; OTLP takes http:// (plain) or https:// (TLS)"
        )),
        Some((_, rest)) if rest.split(['/', '?', '#']).next().is_none_or(str::is_empty) => {
            bad("has no host, e.g. http://localhost:4318".to_string())
        }
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_without_a_usable_scheme_or_host_are_refused_up_front() {
        let e = check_endpoint("ftp://h:4318").unwrap_err().to_string();
        assert!(
            e.contains("the scheme `ftp`") && !e.contains("http://ftp://"),
            "{e}"
        );
        let e = check_endpoint("http://").unwrap_err().to_string();
        assert!(e.contains("has no host"), "{e}");
        let e = check_endpoint("h:4318").unwrap_err().to_string();
        assert!(e.contains("write http://h:4318"), "{e}");
        assert!(check_endpoint("https://collector.example/otlp").is_ok());
    }

    #[test]
    fn http_endpoints_get_the_signal_path_and_grpc_needs_a_scheme() {
        assert_eq!(
            signal_url("http://h:4318/", Protocol::HttpProtobuf, "metrics").unwrap(),
            "http://h:4318/v1/metrics"
        );
        assert_eq!(
            signal_url("http://h:4317", Protocol::Grpc, "traces").unwrap(),
            "http://h:4317"
        );
        let e = signal_url("h:4317", Protocol::Grpc, "traces").unwrap_err();
        assert!(e.to_string().contains("http://h:4317"), "{e}");
        let e = Protocol::parse("http/json", "--otlp-protocol").unwrap_err();
        assert!(e.to_string().contains("grpc"), "{e}");
    }
}
