//! Prometheus metrics of the server, served at `/metrics` in the Prometheus text format or as
//! OpenMetrics, whichever the scraper's `Accept` header asks for.
//!
//! prometheus-client encodes OpenMetrics; [`openmetrics_to_prometheus`] turns that into the
//! Prometheus text format (version 0.0.4) line by line. The gauges that describe the process and
//! its files (database size, resident memory) are read at scrape time by [`Metrics::sample`];
//! open connections are counted by whoever accepts them, through [`Metrics::open_connection`].

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// Labels of the op outcome counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `accepted`, `duplicate`, `rejected` or `stopped`.
    pub outcome: &'static str,
}

/// Labels of the request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The endpoint (`sync`, `enroll`).
    pub endpoint: &'static str,
    /// The HTTP status code.
    pub status: u16,
}

/// Labels of the HTTP answer counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// The route template (`/api/v1/sync`), the dashboard page group (`inbox`) or `other`.
    pub endpoint: String,
    /// The HTTP status code.
    pub code: u16,
}

/// Labels of the HTTP latency histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    /// As in [`HttpLabels::endpoint`].
    pub endpoint: String,
}

/// The two forms `/metrics` answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format, version 0.0.4: the default.
    Prometheus,
    /// OpenMetrics 1.0.0, only when the scraper asks for it.
    OpenMetrics,
}

impl Format {
    /// The form an `Accept` header asks for: the media range with the highest quality that
    /// names one (ties go to the one listed first). OpenMetrics only when
    /// `application/openmetrics-text` is asked for; `text/plain`, `*/*`, no header or nothing
    /// known give the Prometheus text.
    pub fn negotiate(accept: Option<&str>) -> Self {
        let mut best: Option<(f32, Self)> = None;
        for range in accept.unwrap_or("").split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut quality = 1.0_f32;
            let mut version = None;
            for param in parts {
                let Some((key, value)) = param.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "q" => quality = value.parse().unwrap_or(0.0),
                    "version" => version = Some(value.to_owned()),
                    _ => {}
                }
            }
            let format = match media.as_str() {
                "application/openmetrics-text"
                    if version
                        .as_deref()
                        .is_none_or(|v| v == "1.0.0" || v == "0.0.1") =>
                {
                    Self::OpenMetrics
                }
                "text/plain" if version.as_deref().is_none_or(|v| v == "0.0.4") => Self::Prometheus,
                "text/*" | "*/*" => Self::Prometheus,
                _ => continue,
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, format));
            }
        }
        best.map_or(Self::Prometheus, |(_, format)| format)
    }

    /// The `Content-Type` of an answer in this form.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Every metric the server keeps.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    ops: Family<OutcomeLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
    pulled: Counter,
    commit_jobs: Histogram,
    commit_seconds: Histogram,
    sync_seconds: Histogram,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Family<EndpointLabels, Histogram, fn() -> Histogram>,
    database_bytes: Gauge,
    resident_bytes: Gauge,
    open_connections: Gauge,
}

/// Buckets of the HTTP latency histogram: 1 ms to about 16 s.
fn http_latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("vaka");
        let ops = Family::<OutcomeLabels, Counter>::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let pulled = Counter::default();
        let commit_jobs = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        let commit_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        let sync_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_seconds = Family::new_with_constructor(http_latency_histogram as fn() -> _);
        let database_bytes = Gauge::default();
        let resident_bytes = Gauge::default();
        let open_connections = Gauge::default();
        registry.register("ops", "Pushed ops by outcome", ops.clone());
        registry.register(
            "requests",
            "API requests by endpoint and status, counted by the handlers",
            requests.clone(),
        );
        registry.register("pulled_ops", "Ops handed out by pulls", pulled.clone());
        registry.register(
            "commit_group_jobs",
            "Write jobs committed per transaction",
            commit_jobs.clone(),
        );
        registry.register(
            "commit_seconds",
            "Time to run and commit one group transaction",
            commit_seconds.clone(),
        );
        registry.register(
            "sync_seconds",
            "Time to answer a sync request",
            sync_seconds.clone(),
        );
        registry.register(
            "http_requests",
            "Every HTTP answer by endpoint and status code, refusals before the handler included",
            http_requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request's arrival until its answer was ready, by endpoint",
            Unit::Seconds,
            http_seconds.clone(),
        );
        registry.register_with_unit(
            "database_size",
            "Size of the SQLite database file and its write-ahead log",
            Unit::Bytes,
            database_bytes.clone(),
        );
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory of the server process",
            Unit::Bytes,
            resident_bytes.clone(),
        );
        registry.register(
            "open_connections",
            "HTTP connections open now",
            open_connections.clone(),
        );
        Self {
            registry,
            ops,
            requests,
            pulled,
            commit_jobs,
            commit_seconds,
            sync_seconds,
            http_requests,
            http_seconds,
            database_bytes,
            resident_bytes,
            open_connections,
        }
    }
}

/// An open connection, counted in the open connections gauge until it is dropped.
#[derive(Debug)]
#[must_use = "the connection counts as open only while the guard lives"]
pub struct ConnectionGuard(Gauge);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    /// Counts `n` pushed ops with `outcome`.
    pub fn count_ops(&self, outcome: &'static str, n: usize) {
        self.ops
            .get_or_create(&OutcomeLabels { outcome })
            .inc_by(n as u64);
    }

    /// Counts a request.
    pub fn count_request(&self, endpoint: &'static str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels { endpoint, status })
            .inc();
    }

    /// Counts ops handed out by a pull.
    pub fn count_pulled(&self, n: usize) {
        self.pulled.inc_by(n as u64);
    }

    /// Records one group commit.
    pub fn observe_commit(&self, jobs: usize, took: Duration) {
        self.commit_jobs.observe(jobs as f64);
        self.commit_seconds.observe(took.as_secs_f64());
    }

    /// Records the time a sync request took.
    pub fn observe_sync(&self, took: Duration) {
        self.sync_seconds.observe(took.as_secs_f64());
    }

    /// Counts one HTTP answer with `code` for `endpoint` (a bounded label: a route template, a
    /// page group or `other`, never a raw path) and records how long it took.
    pub fn observe_http(&self, endpoint: &str, code: u16, took: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels {
                endpoint: endpoint.to_owned(),
                code,
            })
            .inc();
        self.http_seconds
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Counts a connection as open until the returned guard is dropped: the accept loop holds
    /// one per connection.
    pub fn open_connection(&self) -> ConnectionGuard {
        self.open_connections.inc();
        ConnectionGuard(self.open_connections.clone())
    }

    /// Sets the gauges that describe the process and its store: the database's size in bytes
    /// (`Store::size_bytes`) and the resident memory. Called at scrape time.
    pub fn sample(&self, database_bytes: u64) {
        self.database_bytes.set(saturating_i64(database_bytes));
        self.resident_bytes
            .set(saturating_i64(resident_memory_bytes()));
    }

    /// The metrics in `format`.
    pub fn render(&self, format: Format) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            tracing::error!("cannot encode metrics");
        }
        match format {
            Format::OpenMetrics => text,
            Format::Prometheus => openmetrics_to_prometheus(&text),
        }
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The bytes of the SQLite file at `database` plus its write-ahead log (`…-wal`); a missing
/// file counts 0.
pub fn database_size_bytes(database: &Path) -> u64 {
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    [database, Path::new(&wal)]
        .iter()
        .filter_map(|path| std::fs::metadata(path).ok())
        .map(|meta| meta.len())
        .sum()
}

/// The process's resident memory in bytes (`VmRSS` of `/proc/self/status`); 0 where there is
/// no such file.
pub fn resident_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let kib = line.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?;
                kib.trim().parse::<u64>().ok()
            })
        })
        .map_or(0, |kib| kib * 1024)
}

/// Turns OpenMetrics text (as prometheus-client writes it) into the Prometheus text format
/// 0.0.4: a counter's `# HELP` and `# TYPE` name its `_total` samples, an info metric becomes a
/// gauge named `…_info`, `unknown` becomes `untyped`, and the lines that format does not have
/// (`# UNIT`, `# EOF`, counters' `_created` samples) are left out. Exemplars are not used by
/// this server and not converted.
pub fn openmetrics_to_prometheus(openmetrics: &str) -> String {
    let types: HashMap<&str, &str> = openmetrics
        .lines()
        .filter_map(|line| {
            let mut words = line.strip_prefix("# TYPE ")?.split(' ');
            Some((words.next()?, words.next()?))
        })
        .collect();
    let renamed = |name: &str| match types.get(name) {
        Some(&"counter") => format!("{name}_total"),
        Some(&"info") => format!("{name}_info"),
        _ => name.to_owned(),
    };
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            out.push_str(&format!("# HELP {} {help}\n", renamed(name)));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            let kind = match kind {
                "info" => "gauge",
                "unknown" => "untyped",
                kind => kind,
            };
            out.push_str(&format!("# TYPE {} {kind}\n", renamed(name)));
        } else if line.starts_with("# UNIT ")
            || line == "# EOF"
            || is_created_of_counter(line, &types)
        {
            continue;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn is_created_of_counter(line: &str, types: &HashMap<&str, &str>) -> bool {
    let name = line.split(['{', ' ']).next().unwrap_or("");
    name.strip_suffix("_created")
        .is_some_and(|family| types.get(family) == Some(&"counter"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::none(None, Format::Prometheus)]
    #[case::empty(Some(""), Format::Prometheus)]
    #[case::anything(Some("*/*"), Format::Prometheus)]
    #[case::text(Some("text/plain"), Format::Prometheus)]
    #[case::text_version(Some("text/plain; version=0.0.4"), Format::Prometheus)]
    #[case::unknown(Some("application/json"), Format::Prometheus)]
    #[case::openmetrics(Some("application/openmetrics-text"), Format::OpenMetrics)]
    #[case::openmetrics_version(
        Some("application/openmetrics-text; version=1.0.0"),
        Format::OpenMetrics
    )]
    #[case::openmetrics_unknown_version(
        Some("application/openmetrics-text; version=2.0.0"),
        Format::Prometheus
    )]
    #[case::prometheus_server(
        Some(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        ),
        Format::OpenMetrics
    )]
    #[case::text_preferred(
        Some("application/openmetrics-text;q=0.5, text/plain"),
        Format::Prometheus
    )]
    #[case::openmetrics_refused(Some("application/openmetrics-text;q=0"), Format::Prometheus)]
    #[case::tie_goes_to_first(Some("text/plain, application/openmetrics-text"), Format::Prometheus)]
    #[case::case_insensitive(Some("Application/OpenMetrics-Text"), Format::OpenMetrics)]
    fn accept_header_picks_the_format(#[case] accept: Option<&str>, #[case] expected: Format) {
        assert_eq!(Format::negotiate(accept), expected);
    }

    #[test]
    fn openmetrics_counters_units_and_eof_become_prometheus_text() {
        let openmetrics = "# HELP vaka_ops Pushed ops.\n\
                           # TYPE vaka_ops counter\n\
                           vaka_ops_total{outcome=\"accepted\"} 3\n\
                           vaka_ops_created{outcome=\"accepted\"} 1700000000.0\n\
                           # HELP vaka_database_size_bytes Size.\n\
                           # TYPE vaka_database_size_bytes gauge\n\
                           # UNIT vaka_database_size_bytes bytes\n\
                           vaka_database_size_bytes 4096\n\
                           # HELP vaka_build Build.\n\
                           # TYPE vaka_build info\n\
                           vaka_build_info{version=\"1\"} 1\n\
                           # HELP vaka_odd Odd.\n\
                           # TYPE vaka_odd unknown\n\
                           vaka_odd 1\n\
                           # EOF\n";
        let expected = "# HELP vaka_ops_total Pushed ops.\n\
                        # TYPE vaka_ops_total counter\n\
                        vaka_ops_total{outcome=\"accepted\"} 3\n\
                        # HELP vaka_database_size_bytes Size.\n\
                        # TYPE vaka_database_size_bytes gauge\n\
                        vaka_database_size_bytes 4096\n\
                        # HELP vaka_build_info Build.\n\
                        # TYPE vaka_build_info gauge\n\
                        vaka_build_info{version=\"1\"} 1\n\
                        # HELP vaka_odd Odd.\n\
                        # TYPE vaka_odd untyped\n\
                        vaka_odd 1\n";
        assert_eq!(openmetrics_to_prometheus(openmetrics), expected);
    }

    #[test]
    fn both_forms_name_every_metric() {
        let metrics = Metrics::default();
        metrics.observe_http("/api/v1/sync", 401, Duration::from_millis(3));
        let openmetrics = metrics.render(Format::OpenMetrics);
        assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
        assert!(openmetrics.contains("# TYPE vaka_http_requests counter\n"));
        assert!(
            openmetrics.contains("# UNIT vaka_http_request_duration_seconds seconds\n"),
            "{openmetrics}"
        );
        let text = metrics.render(Format::Prometheus);
        assert!(
            !text.contains("# EOF") && !text.contains("# UNIT"),
            "{text}"
        );
        assert!(text.contains("# TYPE vaka_http_requests_total counter\n"));
        assert!(
            text.contains("vaka_http_requests_total{endpoint=\"/api/v1/sync\",code=\"401\"} 1\n")
        );
        assert!(text.contains("# TYPE vaka_http_request_duration_seconds histogram\n"));
    }

    #[test]
    fn a_connection_counts_as_open_while_its_guard_lives() {
        let metrics = Metrics::default();
        let open = |m: &Metrics| {
            m.render(Format::Prometheus).lines().find_map(|l| {
                l.strip_prefix("vaka_open_connections ")?
                    .parse::<i64>()
                    .ok()
            })
        };
        let first = metrics.open_connection();
        let second = metrics.open_connection();
        assert_eq!(open(&metrics), Some(2));
        drop(first);
        assert_eq!(open(&metrics), Some(1));
        drop(second);
        assert_eq!(open(&metrics), Some(0));
    }

    #[test]
    fn database_size_counts_the_file_and_its_write_ahead_log() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let database = dir.path().join("vaka.sqlite3");
        assert_eq!(database_size_bytes(&database), 0);
        std::fs::write(&database, [0u8; 4096]).expect("writing the database");
        std::fs::write(dir.path().join("vaka.sqlite3-wal"), [0u8; 1000]).expect("writing the WAL");
        assert_eq!(database_size_bytes(&database), 5096);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn resident_memory_is_read_on_linux() {
        assert!(resident_memory_bytes() > 1024 * 1024);
    }
}
