//! docs/api.md must be what hack/gen-api-docs.py renders from crds/whatsapp-operator.io.yaml
//! (which crd_drift keeps equal to what `whatsapp-operator crd` prints).

use std::process::Command;

#[test]
fn api_reference_matches_the_crds() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/hack/gen-api-docs.py");
    let output = Command::new("python3")
        .arg(script)
        .arg("--check")
        .output()
        .expect("run python3 hack/gen-api-docs.py --check (python3 must be installed)");
    assert!(
        output.status.success(),
        "docs/api.md is stale: regenerate it with `python3 hack/gen-api-docs.py` and commit it\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
