//! The test harness itself: the control plane answers, is the version the
//! build script pins, is shared by all tests of a binary, and both kube and
//! kubectl reach it with admin rights.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::{
    Api,
    api::{ObjectMeta, PostParams},
};

#[tokio::test]
async fn apiserver_reports_pinned_version() {
    let client = harness::control_plane().client();
    let version = client.apiserver_version().await.expect("GET /version");
    // The build script sets the version through ldflags; without them the
    // server says v0.0.0-master and kubectl's skew checks misbehave.
    assert_eq!(version.git_version, "v1.36.2");
}

#[tokio::test]
async fn namespaces_are_fresh_and_usable() {
    let client = harness::control_plane().client();
    let first = harness::fresh_namespace(&client, "Smoke_Test").await;
    let second = harness::fresh_namespace(&client, "Smoke_Test").await;
    assert_ne!(first, second);
    assert!(first.starts_with("smoke-test-"), "{first}");

    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces.get(&first).await.expect("namespace exists");

    let config_maps: Api<ConfigMap> = Api::namespaced(client, &first);
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("probe".into()),
            ..ObjectMeta::default()
        },
        data: Some([("k".to_owned(), "v".to_owned())].into()),
        ..ConfigMap::default()
    };
    config_maps
        .create(&PostParams::default(), &cm)
        .await
        .expect("create ConfigMap");
    let read = config_maps.get("probe").await.expect("read ConfigMap back");
    assert_eq!(read.data, cm.data);
}

#[tokio::test]
async fn kubectl_sees_what_kube_created() {
    let client = harness::control_plane().client();
    let ns = harness::fresh_namespace(&client, "kubectl").await;
    let out = harness::kubectl_ok(["get", "namespace", &ns, "-o", "name"]);
    assert_eq!(out.trim(), format!("namespace/{ns}"));
    let can = harness::kubectl_ok(["auth", "can-i", "*", "*", "--all-namespaces"]);
    assert_eq!(can.trim(), "yes");
}

#[test]
fn one_control_plane_per_binary() {
    let handles: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| harness::control_plane() as *const _ as usize))
        .collect();
    let addresses: Vec<usize> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    assert!(addresses.windows(2).all(|w| w[0] == w[1]));
    let kubeconfig = harness::kubeconfig_path();
    assert!(kubeconfig.is_file(), "{}", kubeconfig.display());
    assert!(
        harness::control_plane()
            .server_url()
            .starts_with("https://127.0.0.1:")
    );
}
