//! `crds/` and the chart's copy must hold exactly what `whatsapp-operator crd` prints.

use std::process::Command;

#[test]
fn crds_directory_matches_the_crd_command() {
    let output = Command::new(env!("CARGO_BIN_EXE_whatsapp-operator"))
        .arg("crd")
        .output()
        .expect("run whatsapp-operator crd");
    assert!(
        output.status.success(),
        "crd command failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).expect("utf-8 output");
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crds/whatsapp-operator.io.yaml"
    );
    let committed = std::fs::read_to_string(path).expect("read crds/whatsapp-operator.io.yaml");
    assert!(
        printed == committed,
        "crds/whatsapp-operator.io.yaml is stale: run `cargo run -- crd > crds/whatsapp-operator.io.yaml`"
    );
    assert_eq!(printed.matches("kind: CustomResourceDefinition").count(), 3);

    // The chart's CRD template renders this file (so Helm upgrades CRDs too); it must carry
    // the same text.
    let chart = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/charts/whatsapp-operator/files/crds.yaml"
    );
    let chart_copy = std::fs::read_to_string(chart).expect("read the chart's CRDs");
    assert!(
        printed == chart_copy,
        "charts/whatsapp-operator/files/crds.yaml is stale: copy crds/whatsapp-operator.io.yaml there"
    );
}
