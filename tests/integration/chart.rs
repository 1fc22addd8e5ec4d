//! The Helm chart renders with its defaults and with the value sets users reach for, using the
//! helm built with the control plane: no cluster needed, and no value rendered in a form the
//! operator refuses (a number in scientific notation crash-loops the pod).

use std::process::Command;

fn helm(args: &[&str]) -> String {
    let helm = harness::control_plane().bin_dir().join("helm");
    let chart = harness::repo_root().join("charts/whatsapp-operator");
    let out = Command::new(&helm)
        .args(args)
        .arg(&chart)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", helm.display()));
    assert!(
        out.status.success(),
        "helm {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("helm prints UTF-8")
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
    assert!(rendered.contains("\"1048576\""), "{rendered}");
    assert!(rendered.contains("\"123456789\""), "{rendered}");
    assert!(!rendered.contains("e+0"), "{rendered}");
}

/// The rendered objects, each as JSON.
fn objects(rendered: &str) -> Vec<serde_json::Value> {
    rendered
        .split("\n---")
        .filter_map(|doc| serde_saphyr::from_str::<serde_json::Value>(doc).ok())
        .filter(|v| v.get("kind").is_some())
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
    let grants_secrets = |o: &serde_json::Value| {
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
