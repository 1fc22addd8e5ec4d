//! The verdicts of `check`: the CRDs are installed and equal to this plugin's, the operator
//! runs (a Lease renewed in time, or a Deployment with a ready replica), and the webhook
//! Secret is there with its two keys. The verdicts are pure functions of what was read.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde::Serialize;
use serde_json::Value;

use crate::cli::timefmt::relative;

/// The version both CRDs serve.
pub const API_VERSION: &str = "v1alpha1";

/// One check's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    fn ok(name: &str, detail: impl Into<String>) -> Self {
        Self {
            name: name.to_string(),
            ok: true,
            detail: detail.into(),
        }
    }

    fn fail(name: &str, detail: impl Into<String>) -> Self {
        Self {
            name: name.to_string(),
            ok: false,
            detail: detail.into(),
        }
    }
}

/// What a read gave: the object, none, or the apiserver's refusal as text.
pub type Read<T> = Result<Option<T>, String>;

/// The first place two JSON documents differ, as a path such as
/// `.properties.spec.properties.phoneNumber.maxLength`.
pub fn first_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let at = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => first_difference(&at, p, q),
                    _ => Some(at),
                }
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(&format!("{path}[{i}]"), p, q)),
        _ => (a != b).then(|| {
            if path.is_empty() {
                ".".to_string()
            } else {
                path.to_string()
            }
        }),
    }
}

fn established(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        })
}

/// The schema of `API_VERSION` as JSON, when the CRD has that version.
fn schema(crd: &CustomResourceDefinition) -> Option<Value> {
    let v = crd.spec.versions.iter().find(|v| v.name == API_VERSION)?;
    serde_json::to_value(&v.schema).ok()
}

fn serves(crd: &CustomResourceDefinition) -> bool {
    crd.spec
        .versions
        .iter()
        .any(|v| v.name == API_VERSION && v.served)
}

/// The installed CRD against the one compiled into the plugin.
pub fn crd_check(
    installed: Read<CustomResourceDefinition>,
    compiled: &CustomResourceDefinition,
) -> Check {
    let name = compiled.metadata.name.clone().unwrap_or_default();
    let label = format!("CRD {name}");
    let crd = match installed {
        Err(e) => return Check::fail(&label, format!("cannot read it: {e}")),
        Ok(None) => {
            return Check::fail(
                &label,
                "not installed: `whatsapp-operator crd | kubectl apply --server-side -f -`, or install the Helm chart",
            );
        }
        Ok(Some(crd)) => crd,
    };
    if !established(&crd) {
        return Check::fail(&label, "installed but not Established yet");
    }
    if !serves(&crd) {
        return Check::fail(&label, format!("does not serve {API_VERSION}"));
    }
    let plugin = env!("CARGO_PKG_VERSION");
    match (schema(&crd), schema(compiled)) {
        (Some(a), Some(b)) => match first_difference("", &a, &b) {
            None => Check::ok(
                &label,
                format!(
                    "Established, serves {API_VERSION}, schema equal to this plugin's ({plugin})"
                ),
            ),
            Some(at) => Check::fail(
                &label,
                format!(
                    "the installed schema differs from this plugin's ({plugin}) at {at}: upgrade the \
                 CRDs or use the plugin of the installed release"
                ),
            ),
        },
        _ => Check::fail(&label, format!("has no {API_VERSION} schema")),
    }
}

/// Whether the Lease is held and was renewed within its duration.
fn fresh(lease: &Lease, now: Timestamp) -> Option<(String, Timestamp)> {
    let spec = lease.spec.as_ref()?;
    let holder = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
    let renewed = spec.renew_time.as_ref()?.0;
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(15).max(1));
    (renewed.as_second() + duration >= now.as_second()).then_some((holder, renewed))
}

fn ready_replicas(d: &Deployment) -> i32 {
    d.status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0)
}

/// The operator runs: its leader-election Lease is held and renewed in time, or (without
/// leader election) its Deployment has a ready replica.
pub fn operator_check(
    namespace: &str,
    name: &str,
    lease: Read<Lease>,
    deployment: Read<Deployment>,
    now: Timestamp,
) -> Check {
    let label = format!("operator {namespace}/{name}");
    if let Ok(Some(l)) = &lease
        && let Some((holder, renewed)) = fresh(l, now)
    {
        return Check::ok(
            &label,
            format!("Lease held by {holder}, renewed {}", relative(renewed, now)),
        );
    }
    if let Ok(Some(d)) = &deployment
        && ready_replicas(d) > 0
    {
        return Check::ok(
            &label,
            format!("Deployment has {} ready replica(s)", ready_replicas(d)),
        );
    }
    let lease_text = match lease {
        Err(e) => format!("Lease unreadable ({e})"),
        Ok(None) => "no Lease".to_string(),
        Ok(Some(_)) => "Lease not renewed in time".to_string(),
    };
    let deployment_text = match deployment {
        Err(e) => format!("Deployment unreadable ({e})"),
        Ok(None) => "no Deployment".to_string(),
        Ok(Some(_)) => "Deployment without a ready replica".to_string(),
    };
    Check::fail(
        &label,
        format!(
            "not running: {lease_text}, {deployment_text} (set --operator-namespace and \
         --operator-name to the Helm release's)"
        ),
    )
}

/// The webhook Secret exists and holds a value under each key.
pub fn webhook_check(namespace: &str, name: &str, secret: Read<Secret>, keys: &[&str]) -> Check {
    let label = format!("webhook Secret {namespace}/{name}");
    let secret = match secret {
        Err(e) => return Check::fail(&label, format!("cannot read it: {e}")),
        Ok(None) => {
            return Check::fail(
                &label,
                format!(
                    "not found: kubectl create secret generic {name} -n {namespace} \
             --from-literal={}=<APP_SECRET> --from-literal={}=<TOKEN>",
                    keys.first().unwrap_or(&"app-secret"),
                    keys.get(1).unwrap_or(&"verify-token")
                ),
            );
        }
        Ok(Some(s)) => s,
    };
    let has = |k: &&str| {
        let data = secret
            .data
            .as_ref()
            .and_then(|d| d.get(*k))
            .is_some_and(|v| !v.0.is_empty());
        let text = secret
            .string_data
            .as_ref()
            .and_then(|d| d.get(*k))
            .is_some_and(|v| !v.is_empty());
        data || text
    };
    let missing: Vec<&str> = keys.iter().filter(|k| !has(k)).copied().collect();
    if missing.is_empty() {
        Check::ok(&label, format!("present with {}", keys.join(" and ")))
    } else {
        Check::fail(
            &label,
            format!("present, but without a value for {}", missing.join(" and ")),
        )
    }
}

/// The checks, one line each.
pub fn render(checks: &[Check]) -> String {
    checks
        .iter()
        .map(|c| {
            format!(
                "{:<5} {}: {}\n",
                if c.ok { "OK" } else { "FAIL" },
                c.name,
                c.detail
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::WhatsAppChannel;
    use k8s_openapi::ByteString;
    use k8s_openapi::api::apps::v1::DeploymentStatus;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
        CustomResourceDefinitionCondition, CustomResourceDefinitionStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    use kube::CustomResourceExt;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-12-01T10:00:00Z".parse().unwrap()
    }

    fn installed(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
        crd.status = Some(CustomResourceDefinitionStatus {
            conditions: Some(vec![CustomResourceDefinitionCondition {
                type_: "Established".into(),
                status: "True".into(),
                ..Default::default()
            }]),
            ..Default::default()
        });
        crd
    }

    #[test]
    fn finds_where_two_documents_differ() {
        let a = json!({"p": {"x": [1, {"y": 2}], "z": true}});
        assert_eq!(first_difference("", &a, &a), None);
        let b = json!({"p": {"x": [1, {"y": 3}], "z": true}});
        assert_eq!(first_difference("", &a, &b).as_deref(), Some(".p.x[1].y"));
        let c = json!({"p": {"x": [1, {"y": 2}]}});
        assert_eq!(first_difference("", &a, &c).as_deref(), Some(".p.z"));
        let d = json!({"p": {"x": [1], "z": true}});
        assert_eq!(first_difference("", &a, &d).as_deref(), Some(".p.x"));
    }

    #[test]
    fn the_installed_crd_must_equal_the_plugins() {
        let compiled = WhatsAppChannel::crd();
        let ok = crd_check(Ok(Some(installed(compiled.clone()))), &compiled);
        assert!(ok.ok, "{ok:?}");
        assert_eq!(ok.name, "CRD whatsappchannels.whatsapp-operator.io");
        assert!(
            ok.detail.contains("schema equal to this plugin's"),
            "{ok:?}"
        );

        let mut changed = installed(compiled.clone());
        let schema = changed.spec.versions[0].schema.as_mut().unwrap();
        let root = schema.open_api_v3_schema.as_mut().unwrap();
        root.description = Some("an older release".into());
        let diff = crd_check(Ok(Some(changed)), &compiled);
        assert!(!diff.ok);
        assert!(
            diff.detail.contains("differs from this plugin's"),
            "{diff:?}"
        );
        assert!(
            diff.detail.contains("at .openAPIV3Schema.description"),
            "{diff:?}"
        );

        let missing = crd_check(Ok(None), &compiled);
        assert!(
            !missing.ok && missing.detail.starts_with("not installed"),
            "{missing:?}"
        );
        let pending = crd_check(Ok(Some(compiled.clone())), &compiled);
        assert!(
            !pending.ok && pending.detail.contains("not Established"),
            "{pending:?}"
        );
        let mut unserved = installed(compiled.clone());
        unserved.spec.versions[0].served = false;
        let unserved = crd_check(Ok(Some(unserved)), &compiled);
        assert!(!unserved.ok && unserved.detail.contains("does not serve v1alpha1"));
        let forbidden = crd_check(Err("forbidden".into()), &compiled);
        assert!(!forbidden.ok && forbidden.detail.contains("forbidden"));
    }

    fn lease(holder: &str, renewed: &str) -> Lease {
        Lease {
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.into()),
                lease_duration_seconds: Some(15),
                renew_time: Some(MicroTime(renewed.parse().unwrap())),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn deployment(ready: i32) -> Deployment {
        Deployment {
            status: Some(DeploymentStatus {
                ready_replicas: Some(ready),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_operator_runs_when_its_lease_is_fresh_or_its_deployment_ready() {
        let check = |l: Read<Lease>, d: Read<Deployment>| {
            operator_check("whatsapp-operator", "whatsapp-operator", l, d, now())
        };
        let held = check(Ok(Some(lease("pod-a", "2026-12-01T09:59:55Z"))), Ok(None));
        assert!(held.ok, "{held:?}");
        assert_eq!(held.detail, "Lease held by pod-a, renewed 5s ago");
        let stale = lease("pod-a", "2026-12-01T09:50:00Z");
        let by_deployment = check(Ok(Some(stale.clone())), Ok(Some(deployment(2))));
        assert!(by_deployment.ok);
        assert_eq!(by_deployment.detail, "Deployment has 2 ready replica(s)");
        let down = check(Ok(Some(stale)), Ok(Some(deployment(0))));
        assert!(!down.ok);
        assert!(
            down.detail.starts_with(
                "not running: Lease not renewed in time, Deployment without a ready replica"
            ),
            "{down:?}"
        );
        let nothing = check(Ok(None), Err("forbidden".into()));
        assert!(
            nothing
                .detail
                .contains("no Lease, Deployment unreadable (forbidden)"),
            "{nothing:?}"
        );
        let released = check(Ok(Some(lease("", "2026-12-01T09:59:59Z"))), Ok(None));
        assert!(!released.ok, "a Lease nobody holds");
    }

    fn secret(data: &[(&str, &str)]) -> Secret {
        Secret {
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn the_webhook_secret_needs_both_keys() {
        let keys = ["app-secret", "verify-token"];
        let check = |s: Read<Secret>| webhook_check("wao", "whatsapp-operator-webhook", s, &keys);
        let ok = check(Ok(Some(secret(&[
            ("app-secret", "a"),
            ("verify-token", "v"),
        ]))));
        assert!(ok.ok, "{ok:?}");
        let empty = check(Ok(Some(secret(&[
            ("app-secret", "a"),
            ("verify-token", ""),
        ]))));
        assert!(!empty.ok);
        assert_eq!(
            empty.detail,
            "present, but without a value for verify-token"
        );
        let missing = check(Ok(None));
        assert!(!missing.ok);
        assert!(missing.detail.contains(
            "kubectl create secret generic whatsapp-operator-webhook -n wao --from-literal=app-secret="
        ), "{missing:?}");
    }

    #[test]
    fn each_check_is_one_line_with_its_verdict() {
        let text = render(&[Check::ok("a", "fine"), Check::fail("b", "broken")]);
        assert_eq!(text, "OK    a: fine\nFAIL  b: broken\n");
    }
}
