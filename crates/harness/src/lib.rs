//! The test harness of whatsapp-operator: a real control plane (etcd + kube-apiserver on
//! loopback, started by `hack/control-plane.sh` on first use, one per test process), the
//! operator binary as a child process ([`operator`]), the Meta simulator and a typed client of
//! its admin API ([`sim::Sim`]), and one scenario's world of all three ([`World`]). Used by the
//! integration tests and the benches, never by the operator itself.
//!
//! Every `#[tokio::test]` has its own runtime, and a `kube::Client` is tied to
//! the runtime that created it, so tests ask for a fresh client each time
//! ([`ControlPlane::client`]) instead of sharing one.
//!
//! A missing binary or a failed start panics: the tests must fail, not skip.

pub mod operator;
pub mod sim;
pub mod world;

pub use world::{World, example, example_with};

use std::{
    ffi::OsStr,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use k8s_openapi::{
    api::core::v1::Namespace,
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client, Config,
    api::{
        ApiResource, DynamicObject, GroupVersionKind, ListParams, ObjectMeta, Patch, PatchParams,
        PostParams,
    },
    config::{KubeConfigOptions, Kubeconfig},
    discovery::Scope,
    runtime::wait::{await_condition, conditions},
};

/// Field manager used for everything the tests apply.
pub const FIELD_MANAGER: &str = "whatsapp-operator-tests";

/// A control plane owned by this test process.
pub struct ControlPlane {
    dir: PathBuf,
    kubeconfig: PathBuf,
    bin_dir: PathBuf,
    config: Config,
}

static CONTROL_PLANE: OnceLock<ControlPlane> = OnceLock::new();

/// The control plane of this test binary, started on first use.
///
/// Blocks the calling thread while it starts (a few seconds once the binaries
/// are cached); other threads asking at the same time wait for the same one.
pub fn control_plane() -> &'static ControlPlane {
    CONTROL_PLANE.get_or_init(ControlPlane::start)
}

/// The repository's root (this crate lives in `crates/harness`).
pub fn repo_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// Cargo's profile directory of the running test or bench (`target/debug`, `target/release`):
/// its executables live in `deps/` beside the workspace's binaries, which Cargo builds first.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test binary");
    let deps = exe.parent().expect("the test binary's directory");
    deps.parent()
        .expect("the profile directory above deps/")
        .to_path_buf()
}

/// A binary of the workspace built for the running tests (`whatsapp-operator`, `meta-sim`).
pub fn workspace_binary(name: &str) -> PathBuf {
    let path = profile_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it first (cargo test and cargo bench build the operator's binaries; \
         `cargo build -p meta-sim` builds the simulator's)",
        path.display()
    );
    path
}

impl ControlPlane {
    fn start() -> Self {
        let exe = std::env::current_exe().expect("path of the test binary");
        let stem = exe
            .file_stem()
            .and_then(OsStr::to_str)
            .unwrap_or("tests")
            .to_owned();
        let pid = std::process::id();
        let dir = profile_dir()
            .join("../tmp/control-plane")
            .join(format!("{stem}-{pid}"));
        let script = repo_root().join("hack/control-plane.sh");
        // The script hands the processes to a watchdog that stops them once
        // this process exits; statics are never dropped, so nothing here could.
        let output = Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(&dir)
            .arg("--owner")
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", script.display()));
        if !output.status.success() {
            panic!(
                "starting the test control plane failed ({}).\n\
                 It needs kube-apiserver and etcd: run `hack/build-control-plane.sh` \
                 (or set WAO_CONTROL_PLANE_BIN to a directory holding them), plus \
                 openssl and curl on PATH.\n--- stderr of {} ---\n{}",
                output.status,
                script.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let kubeconfig = dir.join("kubeconfig");
        let bin_dir = std::fs::read_to_string(dir.join("bin-dir"))
            .map(|s| PathBuf::from(s.trim()))
            .unwrap_or_else(|e| panic!("{}/bin-dir unreadable: {e}", dir.display()));
        let config = load_config(&kubeconfig);
        ControlPlane {
            dir,
            kubeconfig,
            bin_dir,
            config,
        }
    }

    /// A new client for the calling test's runtime. Must be called inside a
    /// tokio runtime.
    pub fn client(&self) -> Client {
        Client::try_from(self.config.clone()).expect("kube client from the test kubeconfig")
    }

    /// Path of an admin kubeconfig (client certificate in `system:masters`).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// Directory holding the certificates and logs of this control plane.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Directory the kube-apiserver and etcd binaries were taken from.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// URL of the apiserver, as written in the kubeconfig.
    pub fn server_url(&self) -> String {
        self.config.cluster_url.to_string()
    }
}

/// Loading a kubeconfig is async in kube, but the control plane is created
/// from whichever test thread asks first, possibly inside a runtime that must
/// not be blocked on; a throwaway runtime on its own thread sidesteps both.
fn load_config(path: &Path) -> Config {
    let kubeconfig = Kubeconfig::read_from(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime for loading the kubeconfig")
            .block_on(Config::from_custom_kubeconfig(
                kubeconfig,
                &KubeConfigOptions::default(),
            ))
    })
    .join()
    .expect("kubeconfig loader thread")
    .unwrap_or_else(|e| panic!("invalid kubeconfig {}: {e}", path.display()))
}

/// The kubeconfig of this binary's control plane (starting it if needed).
pub fn kubeconfig_path() -> &'static Path {
    control_plane().kubeconfig_path()
}

/// kubectl: the one built next to kube-apiserver (same version, no skew
/// warning) when present, else the one on PATH.
pub fn kubectl_binary() -> PathBuf {
    let cached = control_plane().bin_dir().join("kubectl");
    if cached.is_file() {
        cached
    } else {
        PathBuf::from("kubectl")
    }
}

/// Runs kubectl against the test control plane.
pub fn kubectl<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    kubectl_with_stdin(args, None)
}

/// Runs kubectl against the test control plane, feeding `stdin` to it (for
/// `-f -`).
pub fn kubectl_with_stdin<I, S>(args: I, stdin: Option<&[u8]>) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let binary = kubectl_binary();
    let mut child = Command::new(&binary)
        .arg("--kubeconfig")
        .arg(kubeconfig_path())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; run hack/build-control-plane.sh (it builds kubectl) \
                 or install kubectl",
                binary.display()
            )
        });
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("kubectl stdin is piped");
        pipe.write_all(input).expect("write kubectl stdin");
    }
    child.wait_with_output().expect("wait for kubectl")
}

/// Panics with kubectl's stderr unless it succeeded; returns stdout.
pub fn kubectl_ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args
        .into_iter()
        .map(|a| a.as_ref().to_os_string())
        .collect();
    let out = kubectl(&args);
    assert!(
        out.status.success(),
        "kubectl {:?} failed: {}\n{}",
        args,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("kubectl prints UTF-8")
}

static NAMESPACE_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Creates a namespace no other test in this binary uses and returns its
/// name. Namespaces are never deleted: without a controller-manager they
/// would stay Terminating, and the whole control plane is thrown away anyway.
pub async fn fresh_namespace(client: &Client, prefix: &str) -> String {
    let n = NAMESPACE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut base: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    base.truncate(50);
    let base = base.trim_matches('-');
    let base = if base.is_empty() { "test" } else { base };
    let name = format!("{base}-{n}");
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("cannot create namespace {name}: {e}"));
    name
}

/// All CRDs defined in `crds/*.yaml` (multi-document files allowed).
pub fn crds_from_repo() -> Vec<CustomResourceDefinition> {
    let dir = repo_root().join("crds");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| matches!(p.extension().and_then(OsStr::to_str), Some("yaml" | "yml")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no CRD YAML in {}", dir.display());
    files
        .iter()
        .flat_map(|path| {
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            serde_saphyr::from_multiple::<CustomResourceDefinition>(&text)
                .unwrap_or_else(|e| panic!("{} is not a list of CRDs: {e}", path.display()))
        })
        .collect()
}

static CRDS_INSTALLED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// Server-side-applies every CRD in `crds/` and waits until each is
/// Established. Runs once per test binary; later calls return at once.
pub async fn install_crds(client: &Client) {
    CRDS_INSTALLED
        .get_or_init(|| apply_crds(client.clone()))
        .await;
}

async fn apply_crds(client: Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let crds = crds_from_repo();
    for crd in &crds {
        let name = crd.metadata.name.clone().expect("CRD has a name");
        api.patch(&name, &params, &Patch::Apply(crd))
            .await
            .unwrap_or_else(|e| panic!("server-side apply of CRD {name} failed: {e}"));
    }
    for crd in &crds {
        let name = crd.metadata.name.as_deref().expect("CRD has a name");
        let established = await_condition(api.clone(), name, conditions::is_crd_established());
        tokio::time::timeout(Duration::from_secs(60), established)
            .await
            .unwrap_or_else(|_| panic!("CRD {name} not Established within 60 s"))
            .unwrap_or_else(|e| panic!("watching CRD {name} failed: {e}"));
        wait_until_served(api.clone().into_client(), crd).await;
    }
}

/// Established does not yet mean the new endpoints answer: right after it a
/// create can still get 404 for a moment. Listing each served version until
/// it works makes the first test's first create reliable.
async fn wait_until_served(client: Client, crd: &CustomResourceDefinition) {
    let spec = &crd.spec;
    for version in spec.versions.iter().filter(|v| v.served) {
        let gvk = GroupVersionKind::gvk(&spec.group, &version.name, &spec.names.kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, &spec.names.plural);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            match api.list(&ListParams::default().limit(1)).await {
                Ok(_) => break,
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!(
                    "{}/{} not served 60 s after Established: {e}",
                    gvk.group, resource.plural
                ),
            }
        }
    }
}

/// Resolves the API resource of a `apiVersion`/`kind` pair via discovery.
pub async fn resource_for(client: &Client, api_version: &str, kind: &str) -> (ApiResource, bool) {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, caps) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .unwrap_or_else(|e| panic!("discovery of {api_version} {kind} failed: {e}"));
    (resource, caps.scope == Scope::Namespaced)
}

/// Server-side-applies every document of a (multi-document) YAML text into
/// `namespace` (namespaced kinds) and returns the applied objects.
pub async fn apply_yaml(
    client: &Client,
    namespace: &str,
    yaml: &str,
) -> Result<Vec<DynamicObject>, kube::Error> {
    let docs: Vec<DynamicObject> = serde_saphyr::from_multiple(yaml)
        .unwrap_or_else(|e| panic!("YAML does not parse as Kubernetes objects: {e}\n{yaml}"));
    let mut applied = Vec::with_capacity(docs.len());
    for doc in docs {
        let types = doc
            .types
            .clone()
            .expect("every document has apiVersion and kind");
        let (resource, namespaced) = resource_for(client, &types.api_version, &types.kind).await;
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(client.clone(), namespace, &resource)
        } else {
            Api::all_with(client.clone(), &resource)
        };
        let name = doc
            .metadata
            .name
            .clone()
            .expect("every document has a name");
        let params = PatchParams::apply(FIELD_MANAGER).force();
        applied.push(api.patch(&name, &params, &Patch::Apply(&doc)).await?);
    }
    Ok(applied)
}
