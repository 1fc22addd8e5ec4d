//! Admission behaviour of the CRDs in `crds/` on a real kube-apiserver:
//! examples are accepted, bad specs are rejected with a message a person
//! understands, identifiers are immutable, status is a separate subresource,
//! `kubectl get` shows the printer columns and `kubectl explain` documents
//! every field.

use std::{ffi::OsStr, path::PathBuf, time::Duration};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams},
};
use serde_json::{Value, json};

const GROUP: &str = "whatsapp-operator.io";
const VERSION: &str = "v1alpha1";
const API_VERSION: &str = "whatsapp-operator.io/v1alpha1";

#[derive(Clone, Copy, Debug)]
enum Kind {
    Channel,
    Account,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Channel => "WhatsAppChannel",
            Kind::Account => "WhatsAppBusinessAccount",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Channel => "whatsappchannels",
            Kind::Account => "whatsappbusinessaccounts",
        }
    }

    fn resource(self) -> ApiResource {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(GROUP, VERSION, self.name()),
            self.plural(),
        )
    }

    fn api(self, client: &Client, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(client.clone(), namespace, &self.resource())
    }

    fn valid_spec(self) -> Value {
        match self {
            Kind::Channel => json!({
                "accountRef": {"name": "acme"},
                "phoneNumber": "+55 11 98765-4321",
            }),
            Kind::Account => json!({
                "businessAccountId": "102290129340398",
                "credentialsSecretRef": {"name": "acme-graph-token", "key": "token"},
            }),
        }
    }
}

fn manifest(kind: Kind, name: &str, spec: &Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": API_VERSION,
        "kind": kind.name(),
        "metadata": {"name": name},
        "spec": spec,
    }))
    .expect("manifest is a valid object")
}

/// `base` with the value at a `/`-separated path replaced (objects on the
/// way are created); `Value::Null` removes the field.
fn with(mut base: Value, path: &str, value: Value) -> Value {
    let mut keys: Vec<&str> = path.split('/').collect();
    let last = keys.pop().expect("non-empty path");
    let mut node = &mut base;
    for key in keys {
        node = node
            .as_object_mut()
            .expect("path goes through objects")
            .entry(key)
            .or_insert_with(|| json!({}));
    }
    let object = node.as_object_mut().expect("parent is an object");
    if value.is_null() {
        object.remove(last);
    } else {
        object.insert(last.to_owned(), value);
    }
    base
}

async fn apply(
    client: &Client,
    namespace: &str,
    kind: Kind,
    name: &str,
    spec: &Value,
) -> Result<DynamicObject, kube::Error> {
    let params = PatchParams::apply(harness::FIELD_MANAGER).force();
    kind.api(client, namespace)
        .patch(name, &params, &Patch::Apply(manifest(kind, name, spec)))
        .await
}

/// The apiserver's message for a rejected write, or a description of what
/// happened instead.
fn rejection(result: Result<DynamicObject, kube::Error>) -> Result<String, String> {
    match result {
        Err(kube::Error::Api(status)) if status.code == 422 => Ok(status.message),
        Err(other) => Err(format!("failed for another reason: {other}")),
        Ok(_) => Err("was accepted".to_owned()),
    }
}

async fn setup() -> Client {
    let client = harness::control_plane().client();
    harness::install_crds(&client).await;
    client
}

async fn setup_namespace(prefix: &str) -> (Client, String) {
    let client = setup().await;
    let ns = harness::fresh_namespace(&client, prefix).await;
    (client, ns)
}

fn example_files() -> Vec<PathBuf> {
    let dir = harness::repo_root().join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        // Subdirectories (such as the simulator's state) are not manifests.
        .filter(|p| p.is_file())
        .filter(|p| matches!(p.extension().and_then(OsStr::to_str), Some("yaml" | "yml")))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_example_is_accepted_by_server_side_apply() {
    let client = setup().await;
    let files = example_files();
    assert!(!files.is_empty(), "no examples found");
    let mut custom_resources = 0;
    for file in &files {
        let yaml = std::fs::read_to_string(file).expect("example readable");
        // Each file in its own namespace, as a user would try it.
        let stem = file
            .file_stem()
            .and_then(OsStr::to_str)
            .unwrap_or("example");
        let ns = harness::fresh_namespace(&client, &format!("example-{stem}")).await;
        let applied = harness::apply_yaml(&client, &ns, &yaml)
            .await
            .unwrap_or_else(|e| panic!("{} rejected: {e}", file.display()));
        for object in &applied {
            assert!(
                object.metadata.uid.is_some(),
                "{} not stored",
                file.display()
            );
            if object
                .types
                .as_ref()
                .is_some_and(|t| t.api_version == API_VERSION)
            {
                custom_resources += 1;
            }
        }
    }
    assert!(
        custom_resources >= files.len(),
        "expected every example to hold a WhatsApp resource, found {custom_resources} in {} files",
        files.len()
    );
}

struct Case {
    what: &'static str,
    kind: Kind,
    spec: Value,
    expect: &'static str,
}

fn invalid_cases() -> Vec<Case> {
    let channel = || Kind::Channel.valid_spec();
    let account = || Kind::Account.valid_spec();
    let phone = |n: &str| with(channel(), "phoneNumber", json!(n));
    let profile = |field: &str, v: Value| with(channel(), &format!("businessProfile/{field}"), v);
    let phone_format = "phoneNumber must start with + and the country code";
    let phone_digits = "phoneNumber must have 8 to 15 digits including the country code";
    vec![
        Case {
            what: "letters in the phone number",
            kind: Kind::Channel,
            spec: phone("+55 11 9876A-4321"),
            expect: phone_format,
        },
        Case {
            what: "phone number without + and country code",
            kind: Kind::Channel,
            spec: phone("11 98765-4321"),
            expect: phone_format,
        },
        Case {
            what: "country code starting with 0",
            kind: Kind::Channel,
            spec: phone("+055 11 98765-4321"),
            expect: "phoneNumber must begin with a country code, which never starts with 0",
        },
        Case {
            what: "too few digits",
            kind: Kind::Channel,
            spec: phone("+55 1234"),
            expect: phone_digits,
        },
        Case {
            what: "too many digits",
            kind: Kind::Channel,
            spec: phone("+55 11 98765-4321-12345"),
            expect: phone_digits,
        },
        Case {
            what: "missing phone number",
            kind: Kind::Channel,
            spec: with(channel(), "phoneNumber", Value::Null),
            expect: "spec.phoneNumber: Required value",
        },
        Case {
            what: "missing accountRef",
            kind: Kind::Channel,
            spec: with(channel(), "accountRef", Value::Null),
            expect: "spec.accountRef: Required value",
        },
        Case {
            what: "unknown management",
            kind: Kind::Channel,
            spec: with(channel(), "management", json!("Automatic")),
            expect: "spec.management: Unsupported value: \"Automatic\"",
        },
        Case {
            what: "unknown verificationMethod",
            kind: Kind::Channel,
            spec: with(channel(), "registration/verificationMethod", json!("EMAIL")),
            expect: "spec.registration.verificationMethod: Unsupported value: \"EMAIL\"",
        },
        Case {
            what: "unknown deletionPolicy",
            kind: Kind::Channel,
            spec: with(channel(), "deletionPolicy", json!("Delete")),
            expect: "spec.deletionPolicy: Unsupported value: \"Delete\"",
        },
        Case {
            what: "unknown vertical",
            kind: Kind::Channel,
            spec: profile("vertical", json!("SHOPPING")),
            expect: "spec.businessProfile.vertical: Unsupported value: \"SHOPPING\"",
        },
        Case {
            what: "about over 139 characters",
            kind: Kind::Channel,
            spec: profile("about", json!("a".repeat(140))),
            expect: "about must be 1 to 139 characters",
        },
        Case {
            what: "description over 512 characters",
            kind: Kind::Channel,
            spec: profile("description", json!("d".repeat(513))),
            expect: "description must be at most 512 characters",
        },
        Case {
            what: "three websites",
            kind: Kind::Channel,
            spec: profile(
                "websites",
                json!([
                    "https://a.example",
                    "https://b.example",
                    "https://c.example"
                ]),
            ),
            expect: "websites can list at most 2 URLs",
        },
        Case {
            what: "website without http(s)",
            kind: Kind::Channel,
            spec: profile("websites", json!(["acme.example"])),
            expect: "each website must be an http:// or https:// URL",
        },
        Case {
            what: "bad e-mail",
            kind: Kind::Channel,
            spec: profile("email", json!("support-at-acme.example")),
            expect: "email must be an e-mail address",
        },
        Case {
            what: "bad verification language",
            kind: Kind::Channel,
            spec: with(channel(), "registration/language", json!("Portuguese")),
            expect: "language must look like en_US",
        },
        Case {
            what: "letters in businessAccountId",
            kind: Kind::Account,
            spec: with(account(), "businessAccountId", json!("10229O129340398")),
            expect: "businessAccountId must contain digits only",
        },
        Case {
            what: "syncInterval below 1m",
            kind: Kind::Account,
            spec: with(account(), "syncInterval", json!("30s")),
            expect: "syncInterval must be at least 1m",
        },
        Case {
            what: "syncInterval not a duration",
            kind: Kind::Account,
            spec: with(account(), "syncInterval", json!("ten minutes")),
            expect: "syncInterval must be a duration",
        },
        Case {
            what: "webhook override callback over plain http",
            kind: Kind::Account,
            spec: with(
                account(),
                "webhooks/overrideCallbackUri",
                json!("http://hooks.acme.example/meta"),
            ),
            expect: "overrideCallbackUri must be an https:// URL",
        },
        Case {
            what: "missing credentialsSecretRef",
            kind: Kind::Account,
            spec: with(account(), "credentialsSecretRef", Value::Null),
            expect: "spec.credentialsSecretRef: Required value",
        },
    ]
}

#[tokio::test]
async fn invalid_specs_are_rejected_with_a_helpful_message() {
    let (client, ns) = setup_namespace("invalid").await;
    // The unmodified specs pass, so each rejection below is down to the one
    // field a case changes.
    for kind in [Kind::Channel, Kind::Account] {
        apply(&client, &ns, kind, "valid", &kind.valid_spec())
            .await
            .unwrap_or_else(|e| panic!("valid {} rejected: {e}", kind.name()));
    }
    let cases = invalid_cases();
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let name = format!("invalid-{i}");
        let result = apply(&client, &ns, case.kind, &name, &case.spec).await;
        match rejection(result) {
            Ok(message) if message.contains(case.expect) => {}
            Ok(message) => failures.push(format!(
                "{}: rejected, but the message lacks {:?}: {message}",
                case.what, case.expect
            )),
            Err(e) => failures.push(format!("{}: {e}", case.what)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn identifiers_are_immutable_after_create() {
    let (client, ns) = setup_namespace("immutable").await;
    let channel = Kind::Channel.valid_spec();
    apply(&client, &ns, Kind::Channel, "sales", &channel)
        .await
        .expect("create channel");
    let account = Kind::Account.valid_spec();
    apply(&client, &ns, Kind::Account, "acme", &account)
        .await
        .expect("create account");

    let updates = [
        (
            Kind::Channel,
            "sales",
            with(channel.clone(), "accountRef/name", json!("other")),
            "accountRef is immutable",
        ),
        (
            Kind::Channel,
            "sales",
            with(channel.clone(), "phoneNumber", json!("+55 11 91234-5678")),
            "phoneNumber is immutable",
        ),
        (
            Kind::Account,
            "acme",
            with(account.clone(), "businessAccountId", json!("987654321")),
            "businessAccountId is immutable",
        ),
    ];
    for (kind, name, spec, expect) in updates {
        let message = rejection(apply(&client, &ns, kind, name, &spec).await)
            .unwrap_or_else(|e| panic!("update expecting {expect:?} {e}"));
        assert!(message.contains(expect), "{message}");
    }

    // Mutable fields still change, so the rules above are not blanket locks.
    let renamed = with(channel, "displayName", json!("Acme Store"));
    let updated = apply(&client, &ns, Kind::Channel, "sales", &renamed)
        .await
        .expect("changing displayName is allowed");
    assert_eq!(updated.data["spec"]["displayName"], "Acme Store");
    assert_eq!(updated.metadata.generation, Some(2));
}

fn channel_status() -> Value {
    json!({
        "phase": "Connected",
        "phoneNumberId": "106540352242922",
        "status": "CONNECTED",
        "qualityRating": "GREEN",
        "messagingLimit": "TIER_2K",
        "health": {"canSendMessage": "AVAILABLE"},
        "conditions": [{
            "type": "Ready",
            "status": "True",
            "reason": "Connected",
            "message": "The number is registered and can send messages.",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
            "observedGeneration": 1,
        }],
    })
}

fn account_status() -> Value {
    json!({
        "name": "Acme Corp",
        "messagingLimit": "TIER_10K",
        "health": {"canSendMessage": "LIMITED"},
        "conditions": [{
            "type": "Ready",
            "status": "False",
            "reason": "Limited",
            "message": "The account can send with limitations.",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }],
    })
}

#[tokio::test]
async fn status_is_a_subresource_independent_of_spec() {
    let (client, ns) = setup_namespace("status").await;
    let api = Kind::Channel.api(&client, &ns);
    let created = apply(
        &client,
        &ns,
        Kind::Channel,
        "sales",
        &Kind::Channel.valid_spec(),
    )
    .await
    .expect("create channel");
    let generation = created.metadata.generation;
    assert_eq!(generation, Some(1));

    // A status write that also tries to change spec: only status changes.
    let params = PatchParams::default();
    let patched = api
        .patch_status(
            "sales",
            &params,
            &Patch::Merge(json!({
                "spec": {"displayName": "Sneaky"},
                "status": channel_status(),
            })),
        )
        .await
        .expect("patch status");
    assert_eq!(patched.data["status"]["phase"], "Connected");
    assert_eq!(patched.data["status"]["qualityRating"], "GREEN");
    assert_eq!(patched.data["spec"], created.data["spec"]);
    assert_eq!(patched.metadata.generation, generation);

    // A spec write that also tries to change status: only spec changes, and
    // the generation moves.
    let patched = api
        .patch(
            "sales",
            &params,
            &Patch::Merge(json!({
                "spec": {"displayName": "Acme Store"},
                "status": {"phase": "Blocked"},
            })),
        )
        .await
        .expect("patch spec");
    assert_eq!(patched.data["spec"]["displayName"], "Acme Store");
    assert_eq!(patched.data["status"]["phase"], "Connected");
    assert_eq!(patched.metadata.generation, Some(2));

    // Server-side apply of status, as the operator writes it.
    let ssa = serde_json::from_value::<DynamicObject>(json!({
        "apiVersion": API_VERSION,
        "kind": "WhatsAppChannel",
        "metadata": {"name": "sales"},
        "status": {"phase": "Degraded", "qualityRating": "YELLOW"},
    }))
    .expect("status manifest");
    let applied = api
        .patch_status(
            "sales",
            &PatchParams::apply("whatsapp-operator").force(),
            &Patch::Apply(ssa),
        )
        .await
        .expect("server-side apply status");
    assert_eq!(applied.data["status"]["qualityRating"], "YELLOW");
    assert_eq!(applied.data["spec"]["displayName"], "Acme Store");
    assert_eq!(applied.metadata.generation, Some(2));
}

/// Status times are typed (`format: date-time`): a malformed one never reaches the operator,
/// which would otherwise have to guess what it meant.
#[tokio::test]
async fn status_times_must_be_rfc3339() {
    let (client, ns) = setup_namespace("status-time").await;
    let api = Kind::Channel.api(&client, &ns);
    apply(
        &client,
        &ns,
        Kind::Channel,
        "sales",
        &Kind::Channel.valid_spec(),
    )
    .await
    .expect("create channel");
    let params = PatchParams::default();
    let refused = api
        .patch_status(
            "sales",
            &params,
            &Patch::Merge(json!({"status": {"lastSyncTime": "yesterday"}})),
        )
        .await;
    match refused {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "{status:?}");
            assert!(
                status.message.contains("lastSyncTime"),
                "{}",
                status.message
            );
        }
        other => panic!("a malformed time was accepted: {other:?}"),
    }
    let accepted = api
        .patch_status(
            "sales",
            &params,
            &Patch::Merge(json!({"status": {"lastSyncTime": "2026-11-23T16:41:03Z"}})),
        )
        .await
        .expect("an RFC 3339 time is accepted");
    assert_eq!(
        accepted.data["status"]["lastSyncTime"],
        "2026-11-23T16:41:03Z"
    );
}

/// Splits a kubectl table line into cells (columns are separated by at
/// least two spaces; single spaces occur inside values).
fn cells(line: &str) -> Vec<String> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn kubectl_get_shows_printer_columns_from_status() {
    let (client, ns) = setup_namespace("columns").await;
    apply(
        &client,
        &ns,
        Kind::Channel,
        "sales",
        &Kind::Channel.valid_spec(),
    )
    .await
    .expect("create channel");
    apply(
        &client,
        &ns,
        Kind::Account,
        "acme",
        &Kind::Account.valid_spec(),
    )
    .await
    .expect("create account");
    let params = PatchParams::default();
    Kind::Channel
        .api(&client, &ns)
        .patch_status(
            "sales",
            &params,
            &Patch::Merge(json!({"status": channel_status()})),
        )
        .await
        .expect("channel status");
    Kind::Account
        .api(&client, &ns)
        .patch_status(
            "acme",
            &params,
            &Patch::Merge(json!({"status": account_status()})),
        )
        .await
        .expect("account status");

    let out = harness::kubectl_ok(["get", "wac,waba", "-n", &ns]);
    let blocks: Vec<Vec<Vec<String>>> = out
        .split("\n\n")
        .map(|block| {
            block
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(cells)
                .collect()
        })
        .filter(|rows: &Vec<Vec<String>>| !rows.is_empty())
        .collect();
    assert_eq!(blocks.len(), 2, "two tables expected:\n{out}");

    let channel = &blocks[0];
    assert_eq!(
        channel[0],
        [
            "NAME", "NUMBER", "PHASE", "QUALITY", "LIMIT", "HEALTH", "READY", "AGE"
        ],
        "{out}"
    );
    assert_eq!(channel.len(), 2, "{out}");
    assert_eq!(
        channel[1][..7],
        [
            "whatsappchannel.whatsapp-operator.io/sales",
            "+55 11 98765-4321",
            "Connected",
            "GREEN",
            "TIER_2K",
            "AVAILABLE",
            "True",
        ],
        "{out}"
    );

    let account = &blocks[1];
    assert_eq!(
        account[0],
        ["NAME", "WABA ID", "NAME", "HEALTH", "LIMIT", "READY", "AGE"],
        "{out}"
    );
    assert_eq!(account.len(), 2, "{out}");
    assert_eq!(
        account[1][..6],
        [
            "whatsappbusinessaccount.whatsapp-operator.io/acme",
            "102290129340398",
            "Acme Corp",
            "LIMITED",
            "TIER_10K",
            "False",
        ],
        "{out}"
    );
}

/// Every property below `schema` has a description; returns the paths of
/// those that do not.
fn undocumented(schema: &JSONSchemaProps, path: &str, missing: &mut Vec<String>) {
    for (name, prop) in schema.properties.iter().flatten() {
        let child = format!("{path}.{name}");
        if prop
            .description
            .as_deref()
            .is_none_or(|d| d.trim().is_empty())
        {
            missing.push(child.clone());
        }
        undocumented(prop, &child, missing);
    }
    match &schema.items {
        Some(JSONSchemaPropsOrArray::Schema(items)) => {
            undocumented(items, &format!("{path}[]"), missing)
        }
        Some(JSONSchemaPropsOrArray::Schemas(all)) => {
            for items in all {
                undocumented(items, &format!("{path}[]"), missing);
            }
        }
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(values)) = &schema.additional_properties {
        undocumented(values, &format!("{path}{{}}"), missing);
    }
}

#[tokio::test]
async fn every_field_has_a_description() {
    let client = setup().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    for kind in [Kind::Channel, Kind::Account] {
        let crd = crds
            .get(&format!("{}.{GROUP}", kind.plural()))
            .await
            .expect("CRD installed");
        for version in &crd.spec.versions {
            let schema = version
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .expect("CRD version has a schema");
            let mut missing = Vec::new();
            for section in ["spec", "status"] {
                let props = schema
                    .properties
                    .as_ref()
                    .and_then(|p| p.get(section))
                    .unwrap_or_else(|| panic!("{} has no {section}", kind.name()));
                if props.description.as_deref().is_none_or(str::is_empty) {
                    missing.push(section.to_owned());
                }
                undocumented(props, section, &mut missing);
            }
            assert!(
                missing.is_empty(),
                "{} {}: fields without description: {missing:?}",
                kind.name(),
                version.name
            );
        }
    }
}

/// `kubectl explain` reads the apiserver's OpenAPI, which publishes a new
/// CRD a moment after it is Established; poll until it is there.
fn kubectl_explain(target: &str, recursive: bool) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut args = vec!["explain", target];
    if recursive {
        args.push("--recursive");
    }
    loop {
        let out = harness::kubectl(&args);
        if out.status.success() {
            return String::from_utf8(out.stdout).expect("UTF-8");
        }
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            std::time::Instant::now() < deadline,
            "kubectl explain {target} still failing after 60 s: {stderr}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[tokio::test]
async fn kubectl_explain_documents_the_spec() {
    setup().await;
    let out = kubectl_explain("whatsappchannel.spec", true);
    for field in [
        "accountRef",
        "phoneNumber",
        "displayName",
        "management",
        "registration",
        "verificationMethod",
        "pinSecretRef",
        "businessProfile",
        "websites",
        "vertical",
        "deletionPolicy",
    ] {
        assert!(out.contains(field), "explain lacks {field}:\n{out}");
    }

    let out = kubectl_explain("waba.spec", true);
    for field in ["businessAccountId", "credentialsSecretRef", "syncInterval"] {
        assert!(out.contains(field), "explain lacks {field}:\n{out}");
    }

    // Field descriptions come through, not just names.
    let out = kubectl_explain("wac.spec.phoneNumber", false);
    assert!(out.contains("DESCRIPTION"), "{out}");
    assert!(out.contains("country code"), "{out}");
}
