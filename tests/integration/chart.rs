//! The Helm chart renders with its defaults and with the value sets users reach for, using the
//! helm built with the control plane, and no value renders in a form the operator refuses (a
//! number in scientific notation crash-loops the pod). Every object of every value set is
//! accepted by the test apiserver in a server-side dry run, so what the chart renders is valid
//! Kubernetes, not only valid YAML.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use harness::operator::eventually;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::{Value, json};

/// helm as built with the control plane, pointed at the test control plane, with its cache and
/// configuration in the control plane's directory rather than the user's home.
pub(crate) fn helm_command(args: &[&str]) -> Command {
    let cp = harness::control_plane();
    let home = cp.dir().join("helm");
    let mut command = Command::new(cp.bin_dir().join("helm"));
    command
        .args(args)
        .arg("--kubeconfig")
        .arg(cp.kubeconfig_path())
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"));
    command
}

/// Runs helm and fails the test unless it succeeded; returns stdout.
pub(crate) fn helm_ok(args: &[&str]) -> String {
    let out: Output = helm_command(args)
        .output()
        .unwrap_or_else(|e| panic!("run helm {args:?}: {e}"));
    assert!(
        out.status.success(),
        "helm {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("helm prints UTF-8")
}

/// Runs helm with the chart as the last argument.
pub(crate) fn helm(args: &[&str]) -> String {
    let chart = harness::repo_root().join("charts/whatsapp-operator");
    let chart = chart.to_str().expect("UTF-8 chart path");
    helm_ok(&[args, &[chart]].concat())
}

/// A values file named after `name` in the control plane's directory.
pub(crate) fn values_file(name: &str, yaml: &str) -> PathBuf {
    let path = harness::control_plane()
        .dir()
        .join(format!("values-{name}.yaml"));
    std::fs::write(&path, yaml).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// `helm template` of release `release` into `namespace` with the values `yaml`.
fn render(release: &str, namespace: &str, yaml: &str) -> String {
    let file = values_file(release, yaml);
    let file = file.to_str().expect("UTF-8 values path");
    helm(&["template", release, "--namespace", namespace, "-f", file])
}

#[test]
fn the_chart_lints_and_renders_with_its_defaults() {
    helm(&["lint", "--strict"]);
    let rendered = helm(&["template", "whatsapp-operator"]);
    assert!(rendered.contains("kind: Deployment"), "{rendered}");
    assert!(rendered.contains("kind: CustomResourceDefinition"));
    assert!(rendered.contains("--leader-election"));
    assert!(rendered.contains("kind: PodDisruptionBudget"));
    // A release named like the chart is not named twice.
    assert!(!rendered.contains("whatsapp-operator-whatsapp-operator"));
}

#[test]
fn numbers_render_as_plain_integers() {
    let rendered = helm(&[
        "template",
        "wao",
        "--set",
        "webhook.enabled=true",
        "--set",
        "graph.hourlyBudgetPerWaba=123456789",
    ]);
    assert!(rendered.contains("\"3145728\""), "{rendered}");
    assert!(rendered.contains("\"123456789\""), "{rendered}");
    assert!(!rendered.contains("e+0"), "{rendered}");
}

/// The rendered objects, each as JSON; a document that does not parse fails the test.
fn objects(rendered: &str) -> Vec<Value> {
    rendered
        .split("\n---")
        .filter(|doc| {
            doc.lines().any(|l| {
                let l = l.trim();
                !l.is_empty() && !l.starts_with('#') && l != "---"
            })
        })
        .map(|doc| {
            serde_saphyr::from_str::<Value>(doc)
                .unwrap_or_else(|e| panic!("a rendered document does not parse: {e}\n{doc}"))
        })
        .inspect(|v| assert!(v.get("kind").is_some(), "a document without kind: {v}"))
        .collect()
}

#[test]
fn namespaced_mode_grants_secrets_in_the_watched_namespaces_only() {
    let rendered = helm(&[
        "template",
        "wao",
        "--set",
        "watchNamespaces={team-a,team-b}",
    ]);
    let namespaced = objects(&rendered);
    // Any Secret of a namespace (a rule on secrets without resourceNames); the webhook's own
    // Secret, granted by name in the release namespace, is not that.
    let grants_secrets = |o: &Value| {
        o["rules"].as_array().is_some_and(|rules| {
            rules.iter().any(|r| {
                r["resources"]
                    .as_array()
                    .is_some_and(|rs| rs.contains(&"secrets".into()))
                    && r.get("resourceNames").is_none()
            })
        })
    };
    let roles: Vec<&str> = namespaced
        .iter()
        .filter(|o| o["kind"] == "Role" && grants_secrets(o))
        .filter_map(|o| o["metadata"]["namespace"].as_str())
        .collect();
    assert_eq!(roles, ["team-a", "team-b"], "{rendered}");
    assert!(
        !namespaced
            .iter()
            .any(|o| o["kind"] == "ClusterRole" && grants_secrets(o)),
        "a ClusterRole grants Secrets in namespaced mode:\n{rendered}"
    );
    // In the default mode one ClusterRole does.
    let all = objects(&helm(&["template", "wao"]));
    assert!(
        all.iter()
            .any(|o| o["kind"] == "ClusterRole" && grants_secrets(o))
    );
}

// --- Every rendered object, in a server-side dry run ------------------------------------------

/// CRDs for the kinds the chart renders that this control plane has no CRD for: Prometheus
/// Operator's ServiceMonitor and PrometheusRule, and Gateway API's HTTPRoute. They are minimal
/// stand-ins, not the upstream CRDs (thousands of lines each): every field the chart renders is
/// declared with the type, pattern and required keys of the upstream schema, and nothing else,
/// so under strict field validation a misspelt, misplaced or mistyped field fails the dry run.
/// A field the chart starts rendering must be added here too.
const FOREIGN_CRDS: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  names: {kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          required: [spec]
          properties:
            spec:
              type: object
              required: [selector]
              properties:
                selector:
                  type: object
                  properties:
                    matchLabels: {type: object, additionalProperties: {type: string}}
                namespaceSelector:
                  type: object
                  properties:
                    any: {type: boolean}
                    matchNames: {type: array, items: {type: string}}
                endpoints:
                  type: array
                  items:
                    type: object
                    properties:
                      port: {type: string}
                      path: {type: string}
                      honorLabels: {type: boolean}
                      interval:
                        type: string
                        pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$'
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: prometheusrules.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  names: {kind: PrometheusRule, listKind: PrometheusRuleList, plural: prometheusrules, singular: prometheusrule}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          required: [spec]
          properties:
            spec:
              type: object
              properties:
                groups:
                  type: array
                  items:
                    type: object
                    required: [name]
                    properties:
                      name: {type: string, minLength: 1}
                      rules:
                        type: array
                        items:
                          type: object
                          required: [expr]
                          properties:
                            alert: {type: string}
                            record: {type: string}
                            expr: {x-kubernetes-int-or-string: true}
                            for:
                              type: string
                              pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$'
                            labels: {type: object, additionalProperties: {type: string}}
                            annotations: {type: object, additionalProperties: {type: string}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: httproutes.gateway.networking.k8s.io
  annotations:
    # Required for groups under k8s.io; a value starting with "unapproved" says it is not.
    api-approved.kubernetes.io: "unapproved, a test stand-in for Gateway API's HTTPRoute"
spec:
  group: gateway.networking.k8s.io
  names: {kind: HTTPRoute, listKind: HTTPRouteList, plural: httproutes, singular: httproute}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          required: [spec]
          properties:
            spec:
              type: object
              properties:
                parentRefs:
                  type: array
                  maxItems: 32
                  items:
                    type: object
                    required: [name]
                    properties:
                      group: {type: string, maxLength: 253}
                      kind: {type: string, minLength: 1, maxLength: 63}
                      name: {type: string, minLength: 1, maxLength: 253}
                      namespace: {type: string, minLength: 1, maxLength: 63}
                      sectionName: {type: string, minLength: 1, maxLength: 253}
                      port: {type: integer, format: int32, minimum: 1, maximum: 65535}
                hostnames:
                  type: array
                  maxItems: 16
                  items:
                    type: string
                    minLength: 1
                    maxLength: 253
                    pattern: '^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'
                rules:
                  type: array
                  items:
                    type: object
                    properties:
                      matches:
                        type: array
                        items:
                          type: object
                          properties:
                            path:
                              type: object
                              properties:
                                type: {type: string, enum: [Exact, PathPrefix, RegularExpression]}
                                value: {type: string, maxLength: 1024}
                      backendRefs:
                        type: array
                        items:
                          type: object
                          required: [name]
                          properties:
                            name: {type: string, minLength: 1, maxLength: 253}
                            port: {type: integer, format: int32, minimum: 1, maximum: 65535}
"#;

/// Installs [`FOREIGN_CRDS`] and waits until each kind is served.
async fn install_foreign_crds(client: &kube::Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crds: Vec<CustomResourceDefinition> =
        serde_saphyr::from_multiple(FOREIGN_CRDS).expect("the stand-in CRDs parse");
    let params = PatchParams::apply(harness::FIELD_MANAGER).force();
    for crd in &crds {
        let name = crd.metadata.name.as_deref().expect("CRD name");
        api.patch(name, &params, &Patch::Apply(crd))
            .await
            .unwrap_or_else(|e| panic!("apply CRD {name}: {e}"));
    }
    for crd in &crds {
        let name = crd.metadata.name.as_deref().expect("CRD name");
        tokio::time::timeout(
            Duration::from_secs(30),
            await_condition(api.clone(), name, conditions::is_crd_established()),
        )
        .await
        .unwrap_or_else(|_| panic!("CRD {name} not Established within 30 s"))
        .unwrap_or_else(|e| panic!("watch CRD {name}: {e}"));
        let spec = &crd.spec;
        let gvk = GroupVersionKind::gvk(&spec.group, "v1", &spec.names.kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, &spec.names.plural);
        let objects: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        eventually(
            &format!("{name} served"),
            Duration::from_secs(30),
            || async { objects.list(&ListParams::default().limit(1)).await.ok() },
        )
        .await;
    }
}

/// Field manager of the dry runs.
const DRY_RUN_MANAGER: &str = "chart-dry-run";

/// Server-side-applies `object` as a dry run with strict field validation (an unknown or
/// duplicated field is an error, as with `kubectl apply --server-side --dry-run=server`).
/// Namespaced objects must name their namespace: `helm template | kubectl apply -f -` would
/// otherwise put them wherever the current context points.
async fn dry_run(client: &kube::Client, object: &Value) -> Result<(), String> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let what = format!("{kind} {name}");
    let (resource, namespaced) = harness::resource_for(client, api_version, kind).await;
    let api: Api<DynamicObject> = if namespaced {
        let Some(ns) = object["metadata"]["namespace"].as_str() else {
            return Err(format!("{what}: namespaced but names no namespace"));
        };
        Api::namespaced_with(client.clone(), ns, &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    };
    let params = PatchParams::apply(DRY_RUN_MANAGER)
        .force()
        .dry_run()
        .validation_strict();
    api.patch(name, &params, &Patch::Apply(object))
        .await
        .map(drop)
        .map_err(|e| format!("{what}: {e}"))
}

/// What a value set must render beyond being accepted.
type Check = Box<dyn Fn(&[Value])>;

/// One value set: a name, its values.yaml, and its check.
struct ValueSet {
    name: &'static str,
    values: String,
    check: Check,
}

fn find<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    match find(objects, kind).as_slice() {
        [o] => o,
        other => panic!("expected one {kind}, found {}", other.len()),
    }
}

fn container(objects: &[Value]) -> &Value {
    &one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
}

fn env_value<'a>(objects: &'a [Value], name: &str) -> Option<&'a Value> {
    container(objects)["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
}

fn args(objects: &[Value]) -> Vec<String> {
    container(objects)["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string arg").to_string())
        .collect()
}

fn kinds(objects: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// The dashboard ConfigMap; its one data entry must be the dashboard of files/dashboard.json,
/// as valid JSON.
fn dashboard(objects: &[Value]) -> &Value {
    let map = one(objects, "ConfigMap");
    let data = map["data"].as_object().expect("ConfigMap data");
    assert_eq!(data.len(), 1, "{map}");
    let json = data["whatsapp-operator.json"]
        .as_str()
        .expect("the dashboard as a string");
    let dashboard: Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("the dashboard is not valid JSON: {e}\n{json}"));
    let file = harness::repo_root().join("charts/whatsapp-operator/files/dashboard.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(file).expect("dashboard.json"))
        .expect("files/dashboard.json parses");
    assert_eq!(dashboard, file);
    assert_eq!(dashboard["uid"], "whatsapp-operator");
    assert!(
        dashboard["panels"]
            .as_array()
            .is_some_and(|p| p.len() >= 10)
    );
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .expect("template variables")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert_eq!(variables, ["datasource", "namespace"]);
    map
}

fn value_sets(team_a: &str, team_b: &str) -> Vec<ValueSet> {
    vec![
        ValueSet {
            name: "defaults",
            values: String::new(),
            check: Box::new(|o| {
                assert_eq!(
                    kinds(o),
                    [
                        "ClusterRole",
                        "ClusterRoleBinding",
                        "CustomResourceDefinition",
                        "Deployment",
                        "PodDisruptionBudget",
                        "Role",
                        "RoleBinding",
                        "Service",
                        "ServiceAccount",
                    ]
                );
                assert_eq!(find(o, "CustomResourceDefinition").len(), 3);
                assert!(args(o).contains(&"--leader-election".to_string()));
                // The small /metrics unless asked for the full state sets.
                assert_eq!(
                    env_value(o, "WAO_METRICS_STATE_SETS").map(|e| &e["value"]),
                    Some(&json!("current"))
                );
                // With a lease, a rolling update keeps a leader through upgrades.
                assert!(one(o, "Deployment")["spec"]["strategy"].is_null());
            }),
        },
        ValueSet {
            name: "webhook-routes",
            values: r#"
webhook: {enabled: true, port: 9443, path: /meta/hook}
ingress:
  enabled: true
  className: nginx
  annotations: {cert-manager.io/cluster-issuer: letsencrypt}
  hosts: [wa.example.com, wa2.example.com]
  tls: [{secretName: wa-tls, hosts: [wa.example.com, wa2.example.com]}]
httpRoute:
  enabled: true
  annotations: {team: messaging}
  parentRefs: [{name: public, namespace: gateway, sectionName: https}]
  hostnames: [wa.example.com]
"#
            .into(),
            check: Box::new(|o| {
                let ingress = one(o, "Ingress");
                assert_eq!(ingress["spec"]["rules"].as_array().map(Vec::len), Some(2));
                let path = &ingress["spec"]["rules"][0]["http"]["paths"][0];
                assert_eq!(path["path"], "/meta/hook", "{ingress}");
                assert_eq!(path["backend"]["service"]["port"]["name"], "webhook");
                let route = one(o, "HTTPRoute");
                assert_eq!(route["spec"]["rules"][0]["backendRefs"][0]["port"], 9443);
                assert_eq!(
                    env_value(o, "WAO_WEBHOOK_ADDR").map(|e| &e["value"]),
                    Some(&json!("0.0.0.0:9443"))
                );
            }),
        },
        ValueSet {
            name: "namespaced",
            values: format!("watchNamespaces: [{team_a}, {team_b}, {team_a}]\n"),
            check: Box::new({
                let (a, b) = (team_a.to_string(), team_b.to_string());
                move |o| {
                    let mut role_namespaces: Vec<&str> = find(o, "Role")
                        .iter()
                        .filter_map(|r| r["metadata"]["namespace"].as_str())
                        .filter(|ns| *ns == a || *ns == b)
                        .collect();
                    role_namespaces.sort();
                    assert_eq!(role_namespaces, [a.as_str(), b.as_str()]);
                    assert_eq!(
                        env_value(o, "WAO_NAMESPACES").map(|e| &e["value"]),
                        Some(&json!(format!("{a},{b}")))
                    );
                }
            }),
        },
        ValueSet {
            name: "monitoring",
            values: r#"
metrics:
  port: 9090
  stateSets: full
  serviceMonitor: {enabled: true, interval: 15s, labels: {release: prometheus}}
  prometheusRule: {enabled: true, labels: {release: prometheus}}
  dashboard: {enabled: true}
"#
            .into(),
            check: Box::new(|o| {
                // The Grafana sidecar's label, in the release namespace.
                let dashboard = dashboard(o);
                assert_eq!(dashboard["metadata"]["labels"]["grafana_dashboard"], "1");
                assert_eq!(
                    dashboard["metadata"]["namespace"],
                    one(o, "Deployment")["metadata"]["namespace"]
                );
                assert_eq!(
                    env_value(o, "WAO_METRICS_STATE_SETS").map(|e| &e["value"]),
                    Some(&json!("full"))
                );
                let monitor = one(o, "ServiceMonitor");
                assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
                assert_eq!(monitor["spec"]["endpoints"][0]["interval"], "15s");
                // Alerts name the channel's namespace, not the operator's.
                assert_eq!(monitor["spec"]["endpoints"][0]["honorLabels"], true);
                let rule = one(o, "PrometheusRule");
                let alerts: usize = rule["spec"]["groups"]
                    .as_array()
                    .map(|groups| {
                        groups
                            .iter()
                            .filter_map(|g| g["rules"].as_array())
                            .map(Vec::len)
                            .sum()
                    })
                    .unwrap_or_default();
                assert!(alerts >= 15, "{rule}");
            }),
        },
        ValueSet {
            name: "dashboard-elsewhere",
            values: format!(
                r#"
metrics:
  dashboard:
    enabled: true
    namespace: {team_a}
    labels: {{grafana_dashboard: "1", team: messaging}}
    annotations: {{grafana_folder: WhatsApp}}
"#
            ),
            check: Box::new({
                let a = team_a.to_string();
                move |o| {
                    let dashboard = dashboard(o);
                    assert_eq!(dashboard["metadata"]["namespace"], a.as_str());
                    assert_eq!(dashboard["metadata"]["labels"]["grafana_dashboard"], "1");
                    assert_eq!(dashboard["metadata"]["labels"]["team"], "messaging");
                    assert_eq!(
                        dashboard["metadata"]["annotations"]["grafana_folder"],
                        "WhatsApp"
                    );
                    // Without a ServiceMonitor or rules: the dashboard alone.
                    assert!(find(o, "ServiceMonitor").is_empty());
                }
            }),
        },
        ValueSet {
            name: "single-replica",
            values: "replicaCount: 1\nleaderElection: {enabled: false}\n".into(),
            check: Box::new(|o| {
                assert_eq!(one(o, "Deployment")["spec"]["replicas"], 1);
                // No lease: an old and a new pod must never overlap during an upgrade.
                assert_eq!(one(o, "Deployment")["spec"]["strategy"]["type"], "Recreate");
                assert!(find(o, "PodDisruptionBudget").is_empty());
                assert!(
                    !o.iter().any(|r| r["kind"] == "Role"
                        && r["rules"].to_string().contains("coordination.k8s.io")),
                    "a Lease Role without leader election"
                );
                assert_eq!(args(o), ["run"]);
            }),
        },
        ValueSet {
            name: "names",
            values: "nameOverride: wa\nfullnameOverride: wa-custom\n".into(),
            check: Box::new(|o| {
                for obj in o.iter().filter(|o| o["kind"] != "CustomResourceDefinition") {
                    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
                    assert!(name.starts_with("wa-custom"), "{name}");
                    assert_eq!(obj["metadata"]["labels"]["app.kubernetes.io/name"], "wa");
                }
                let pod = &one(o, "Deployment")["spec"]["template"]["spec"];
                assert_eq!(pod["serviceAccountName"], "wa-custom");
                assert!(args(o).contains(&"--lease-name=wa-custom".to_string()));
            }),
        },
        ValueSet {
            name: "extras",
            values: r#"
crds: {keep: false}
image: {digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
imagePullSecrets: [{name: regcred}]
serviceAccount: {annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::1:role/wa"}}
extraArgs: ["--graph-hourly-budget=150", "--concurrency", "4"]
extraEnv:
  - {name: HTTPS_PROXY, value: "http://proxy:3128"}
  - name: EXTRA_FROM_SECRET
    valueFrom: {secretKeyRef: {name: proxy-auth, key: token}}
podLabels: {team: messaging}
podAnnotations: {prometheus.io/scrape: "false"}
service: {type: NodePort, annotations: {a: b}}
podDisruptionBudget: {maxUnavailable: 50%}
nodeSelector: {kubernetes.io/os: linux}
tolerations: [{key: dedicated, operator: Equal, value: messaging, effect: NoSchedule}]
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector: {matchLabels: {app.kubernetes.io/name: whatsapp-operator}}
topologySpreadConstraints:
  - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway}
priorityClassName: system-cluster-critical
"#
            .into(),
            check: Box::new(|o| {
                assert!(
                    args(o).ends_with(&[
                        "--graph-hourly-budget=150".to_string(),
                        "--concurrency".to_string(),
                        "4".to_string()
                    ]),
                    "{:?}",
                    args(o)
                );
                assert_eq!(
                    env_value(o, "HTTPS_PROXY").map(|e| &e["value"]),
                    Some(&json!("http://proxy:3128"))
                );
                assert!(env_value(o, "EXTRA_FROM_SECRET").is_some());
                let pod = &one(o, "Deployment")["spec"]["template"]["spec"];
                let spread = &pod["topologySpreadConstraints"][0];
                assert!(spread["labelSelector"]["matchLabels"].is_object(), "{pod}");
                assert_eq!(
                    one(o, "PodDisruptionBudget")["spec"]["maxUnavailable"],
                    "50%"
                );
                assert!(find(o, "CustomResourceDefinition").iter().all(|c| {
                    c["metadata"]["annotations"]
                        .get("helm.sh/resource-policy")
                        .is_none()
                }));
            }),
        },
    ]
}

/// Copies of rendered objects the apiserver must refuse: proof that the dry run validates
/// (built-in kinds and the stand-in CRDs alike) rather than accepting anything.
fn broken_copies(objects: &[Value]) -> Vec<(String, Value)> {
    let mut broken = Vec::new();
    let mut edit = |kind: &str, what: &str, f: &dyn Fn(&mut Value)| {
        if let Some(o) = objects.iter().find(|o| o["kind"] == kind) {
            let mut o = o.clone();
            f(&mut o);
            broken.push((format!("{kind} with {what}"), o));
        }
    };
    edit("Deployment", "port 70000", &|o| {
        o["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = json!(70000)
    });
    edit("Deployment", "an unknown field", &|o| {
        o["spec"]["template"]["spec"]["containers"][0]["argz"] = json!(["run"])
    });
    edit("ServiceMonitor", "no selector", &|o| {
        o["spec"].as_object_mut().expect("spec").remove("selector");
    });
    edit("PrometheusRule", "a rule without expr", &|o| {
        o["spec"]["groups"][0]["rules"][0]
            .as_object_mut()
            .expect("rule")
            .remove("expr");
    });
    edit("HTTPRoute", "an unknown field", &|o| {
        o["spec"]["rules"][0]["backendRef"] = json!([{"name": "x"}])
    });
    edit("HTTPRoute", "a host name with a port", &|o| {
        o["spec"]["hostnames"] = json!(["wa.example.com:443"])
    });
    broken
}

/// Every object of the defaults and of each value set passes a server-side dry run against the
/// real apiserver; deliberately broken copies do not.
#[tokio::test]
async fn every_rendered_object_passes_a_server_side_dry_run() {
    let client = harness::control_plane().client();
    harness::install_crds(&client).await;
    install_foreign_crds(&client).await;
    let release_ns = harness::fresh_namespace(&client, "chart-dry-run").await;
    let team_a = harness::fresh_namespace(&client, "chart-team-a").await;
    let team_b = harness::fresh_namespace(&client, "chart-team-b").await;

    let mut refused = Vec::new();
    let mut broken_accepted = Vec::new();
    let mut broken_kinds = Vec::new();
    for set in value_sets(&team_a, &team_b) {
        let release = format!("dry-{}", set.name);
        let rendered = render(&release, &release_ns, &set.values);
        let objects = objects(&rendered);
        let refused_before = refused.len();
        for object in &objects {
            if let Err(e) = dry_run(&client, object).await {
                refused.push(format!("[{}] {e}", set.name));
            }
        }
        // What the set is for, once the apiserver accepted it (a refusal says more).
        if refused.len() == refused_before {
            (set.check)(&objects);
        }
        for (what, object) in broken_copies(&objects) {
            broken_kinds.push(what.clone());
            if dry_run(&client, &object).await.is_ok() {
                broken_accepted.push(format!("[{}] {what}", set.name));
            }
        }
    }
    assert!(
        refused.is_empty(),
        "the apiserver refused rendered objects:\n{}",
        refused.join("\n")
    );
    assert!(
        broken_accepted.is_empty(),
        "broken objects passed the dry run:\n{}",
        broken_accepted.join("\n")
    );
    // Each kind of broken copy was tried at least once.
    for what in [
        "Deployment with port 70000",
        "ServiceMonitor with no selector",
        "PrometheusRule with a rule without expr",
        "HTTPRoute with an unknown field",
        "HTTPRoute with a host name with a port",
    ] {
        assert!(broken_kinds.iter().any(|k| k == what), "{what} never tried");
    }
    // A dry run leaves nothing behind.
    let (resource, _) = harness::resource_for(&client, "apps/v1", "Deployment").await;
    let deployments: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &release_ns, &resource);
    assert!(
        deployments
            .list(&ListParams::default())
            .await
            .expect("list Deployments")
            .items
            .is_empty()
    );
}
