//! Runs the operator binary against the test control plane and the Meta simulator, and reads
//! what it did: statuses, events, metrics.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::events::v1::Event;
use kube::api::ListParams;
use kube::{Api, Client};

/// A running `whatsapp-operator run`, killed on drop.
pub struct Operator {
    child: Option<Child>,
    pub metrics_url: String,
    pub log: PathBuf,
    args: Vec<String>,
    env: Vec<(OsString, OsString)>,
    /// Whether the process starts from the test's environment or from `env` alone.
    inherit_env: bool,
}

/// A free TCP port on 127.0.0.1 for a server a test starts later (probe and release).
///
/// Taken below the kernel's ephemeral range (32768 and up by default), where `bind(":0")` and
/// outgoing connections never land, so the port cannot be taken between the probe and the
/// server's bind; and never the same twice in one test process.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed = HANDED_OUT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let seed = std::process::id() as usize * 7919;
    for attempt in 0..12_000usize {
        let port = 20_000 + ((seed + attempt * 7_757) % 12_000) as u16;
        if handed.contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            handed.push(port);
            return port;
        }
    }
    panic!("no free port between 20000 and 32000");
}

impl Operator {
    /// Starts the operator for `namespace` against the simulator at `graph_base_url`.
    pub fn start(namespace: &str, graph_base_url: &str, extra: &[&str]) -> Self {
        Self::start_with_log(
            namespace,
            graph_base_url,
            extra,
            "info,whatsapp_operator=debug",
        )
    }

    /// `start` with another `RUST_LOG` filter: benches measure with what a deployment logs.
    pub fn start_with_log(
        namespace: &str,
        graph_base_url: &str,
        extra: &[&str],
        log_filter: &str,
    ) -> Self {
        let port = free_port();
        let mut args = vec![
            "run".to_string(),
            "--graph-base-url".into(),
            graph_base_url.into(),
            "--namespaces".into(),
            namespace.into(),
            "--metrics-addr".into(),
            format!("127.0.0.1:{port}"),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let log = super::control_plane()
            .dir()
            .join(format!("operator-{namespace}-{port}.log"));
        let mut op = Self {
            child: None,
            metrics_url: format!("http://127.0.0.1:{port}/metrics"),
            log,
            args,
            env: vec![
                ("KUBECONFIG".into(), super::kubeconfig_path().into()),
                ("RUST_LOG".into(), log_filter.into()),
            ],
            inherit_env: true,
        };
        op.spawn();
        op
    }

    /// Starts the operator with exactly `args` and `env`, inheriting nothing from the test's
    /// environment, as a container gets only what its pod spec says: e.g. the args and env of
    /// the Deployment the Helm chart rendered, with a `KUBECONFIG` of the chart's
    /// ServiceAccount. `metrics_addr` is where that configuration serves `/metrics`; `label`
    /// names the log file.
    pub fn start_exact(
        label: &str,
        args: Vec<String>,
        env: Vec<(String, String)>,
        metrics_addr: &str,
    ) -> Self {
        let log = super::control_plane()
            .dir()
            .join(format!("operator-{label}.log"));
        let mut op = Self {
            child: None,
            metrics_url: format!("http://{metrics_addr}/metrics"),
            log,
            args,
            env: env.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            inherit_env: false,
        };
        op.spawn();
        op
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open the operator log");
        let mut command = Command::new(super::workspace_binary("whatsapp-operator"));
        if !self.inherit_env {
            command.env_clear();
        }
        let child = command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start whatsapp-operator");
        self.child = Some(child);
    }

    /// Process id of the running operator, e.g. to read its memory from /proc.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the process without a chance to clean up, as a crash or an eviction would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the same operator again after `kill`.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// SIGTERM, then waits for a clean exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        let pid = c.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The operator's log so far (for assertion messages).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `/metrics` text, retried while the server starts.
    pub async fn metrics(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = reqwest::get(&self.metrics_url).await
                && let Ok(t) = r.text().await
            {
                return t;
            }
            assert!(Instant::now() < deadline, "metrics endpoint never answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// How much of the operator's log a failing test shows.
const LOG_TAIL_LINES: usize = 80;

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
        // A failing test shows what the operator did, in CI too, where the control plane's
        // directory (and the whole log) is gone with the run. Skipped reconcile lines say little.
        if std::thread::panicking() {
            let text = self.log_text();
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| !l.contains(" reconciled "))
                .collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
            eprintln!(
                "--- last {} lines of {} ---\n{}",
                tail.len(),
                self.log.display(),
                tail.join("\n")
            );
        }
    }
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One event as counted: occurrences include the series count of aggregated repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenEvent {
    pub kind: String,
    pub name: String,
    pub reason: String,
    pub type_: String,
    pub note: String,
    pub count: i32,
}

/// Every `events.k8s.io/v1` Event in `namespace`.
pub async fn events(client: &Client, namespace: &str) -> Vec<SeenEvent> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let list = api.list(&ListParams::default()).await.expect("list events");
    list.items
        .into_iter()
        .map(|e| {
            let regarding = e.regarding.unwrap_or_default();
            SeenEvent {
                kind: regarding.kind.unwrap_or_default(),
                name: regarding.name.unwrap_or_default(),
                reason: e.reason.unwrap_or_default(),
                type_: e.type_.unwrap_or_default(),
                note: e.note.unwrap_or_default(),
                count: e.series.map(|s| s.count).unwrap_or(1),
            }
        })
        .collect()
}

/// Occurrences of `reason` on the object `name` in `namespace`.
pub async fn event_count(client: &Client, namespace: &str, name: &str, reason: &str) -> i32 {
    events(client, namespace)
        .await
        .iter()
        .filter(|e| e.name == name && e.reason == reason)
        .map(|e| e.count)
        .sum()
}

/// Total occurrences of all events in `namespace`.
pub async fn total_events(client: &Client, namespace: &str) -> i32 {
    events(client, namespace)
        .await
        .iter()
        .map(|e| e.count)
        .sum()
}

/// Waits until `reason` on `name` has occurred exactly `expected` times. Events are published
/// right after the status write that carries the transition, so they may trail it briefly; a
/// count above `expected` fails at once.
pub async fn expect_events(
    client: &Client,
    namespace: &str,
    name: &str,
    reason: &str,
    expected: i32,
) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let n = event_count(client, namespace, name, reason).await;
        assert!(
            n <= expected,
            "{reason} on {name}: {n} occurrences, expected {expected}: {:?}",
            events(client, namespace).await
        );
        if n == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{reason} on {name}: {n} occurrences, expected {expected}: {:?}",
            events(client, namespace).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
