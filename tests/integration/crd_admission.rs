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
    Template,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Channel => "WhatsAppChannel",
            Kind::Account => "WhatsAppBusinessAccount",
            Kind::Template => "WhatsAppMessageTemplate",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Channel => "whatsappchannels",
            Kind::Account => "whatsappbusinessaccounts",
            Kind::Template => "whatsappmessagetemplates",
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
            Kind::Template => marketing_template(),
        }
    }
}

/// A MARKETING template with an image header, three positional variables, a footer, two URL
/// buttons (one with a variable) and a quick reply.
fn marketing_template() -> Value {
    json!({
        "accountRef": {"name": "acme"},
        "name": "summer_sale",
        "language": "en_US",
        "category": "MARKETING",
        "components": {
            "header": {"format": "IMAGE", "exampleHandle": "4::aW1hZ2UvanBlZw==:ARbExample"},
            "body": {
                "text": "Hi {{1}}, our summer sale ends {{2}}. Use code {{3}} at checkout.",
                "examples": ["Ana", "on Sunday", "SUMMER25"],
            },
            "footer": {"text": "Reply STOP to opt out"},
            "buttons": [
                {
                    "type": "URL",
                    "text": "Shop now",
                    "url": "https://shop.example/sale/{{1}}",
                    "example": "https://shop.example/sale/summer25",
                },
                {"type": "URL", "text": "Our stores", "url": "https://shop.example/stores"},
                {"type": "QUICK_REPLY", "text": "Stop promotions"},
            ],
        },
    })
}

/// A UTILITY template with NAMED variables in its text header and body, a URL and a phone button.
fn utility_template() -> Value {
    json!({
        "accountRef": {"name": "acme"},
        "name": "order_shipped",
        "language": "pt_BR",
        "category": "UTILITY",
        "parameterFormat": "NAMED",
        "messageSendTtlSeconds": 3600,
        "components": {
            "header": {
                "text": "Pedido {{order_id}}",
                "namedExample": {"name": "order_id", "example": "12345"},
            },
            "body": {
                "text": "Olá {{first_name}}, seu pedido {{order_id}} foi enviado e chega em {{eta}}. Obrigado!",
                "namedExamples": [
                    {"name": "first_name", "example": "Ana"},
                    {"name": "order_id", "example": "12345"},
                    {"name": "eta", "example": "2 dias"},
                ],
            },
            "buttons": [
                {
                    "type": "URL",
                    "text": "Rastrear",
                    "url": "https://shop.example/track/{{1}}",
                    "example": "https://shop.example/track/12345",
                },
                {"type": "PHONE_NUMBER", "text": "Ligar", "phoneNumber": "+55 11 98765-4321"},
            ],
        },
    })
}

/// An AUTHENTICATION template with a one-tap OTP button.
fn authentication_template() -> Value {
    json!({
        "accountRef": {"name": "acme"},
        "name": "login_code",
        "language": "en",
        "category": "AUTHENTICATION",
        "messageSendTtlSeconds": 300,
        "components": {
            "body": {"addSecurityRecommendation": true},
            "footer": {"codeExpirationMinutes": 10},
            "buttons": [{
                "type": "OTP",
                "otpType": "ONE_TAP",
                "text": "Copy code",
                "supportedApps": [{"packageName": "com.example.bank", "signatureHash": "K8a/AINcGX7"}],
            }],
        },
    })
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
/// way are created; a number picks an item of a list); `Value::Null` removes
/// the field.
fn with(mut base: Value, path: &str, value: Value) -> Value {
    let mut keys: Vec<&str> = path.split('/').collect();
    let last = keys.pop().expect("non-empty path");
    let mut node = &mut base;
    for key in keys {
        node = match node {
            Value::Array(items) => {
                let i: usize = key.parse().expect("list index");
                items.get_mut(i).expect("list index in range")
            }
            other => other
                .as_object_mut()
                .expect("path goes through objects and lists")
                .entry(key)
                .or_insert_with(|| json!({})),
        };
    }
    if let Value::Array(items) = node {
        let i: usize = last.parse().expect("list index");
        items[i] = value;
        return base;
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
    let failures = refusal_failures(&client, &ns, &cases).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Applies each case (as a new object) and describes every case that was not
/// refused with a message containing its `expect`.
async fn refusal_failures(client: &Client, ns: &str, cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let name = format!("invalid-{i}");
        let result = apply(client, ns, case.kind, &name, &case.spec).await;
        match rejection(result) {
            Ok(message) if message.contains(case.expect) => {}
            Ok(message) => failures.push(format!(
                "{}: rejected, but the message lacks {:?}: {message}",
                case.what, case.expect
            )),
            Err(e) => failures.push(format!("{}: {e}", case.what)),
        }
    }
    failures
}

/// Templates Meta accepts, beyond the three examples: each is accepted, so the
/// rules refuse no more than Meta does.
fn valid_template_variants() -> Vec<(&'static str, Value)> {
    let m = marketing_template;
    let u = utility_template;
    let a = authentication_template;
    let qr = || json!({"type": "QUICK_REPLY", "text": "Yes"});
    let url = || json!({"type": "URL", "text": "Open", "url": "https://shop.example"});
    let hundred = (1..=100)
        .map(|k| format!("{{{{{k}}}}} x"))
        .collect::<Vec<_>>()
        .join(" ");
    vec![
        ("the three examples: marketing", m()),
        ("the three examples: utility with NAMED variables", u()),
        ("the three examples: authentication with ONE_TAP", a()),
        (
            "a variable used twice",
            with(
                m(),
                "components/body/text",
                json!("Hi {{1}}, yes {{1}}: the sale ends {{2}}. Use code {{3}} at checkout."),
            ),
        ),
        (
            "100 variables",
            with(
                with(
                    m(),
                    "components/body/text",
                    json!(format!("Values: {hundred} more.")),
                ),
                "components/body/examples",
                json!((1..=100).map(|k| k.to_string()).collect::<Vec<_>>()),
            ),
        ),
        (
            "a body ending in an emoji after its last variable",
            with(
                m(),
                "components/body/text",
                json!("Hi {{1}}, the sale ends {{2}}. Code {{3}} 🎉"),
            ),
        ),
        (
            "a text header with {{1}}",
            with(
                m(),
                "components/header",
                json!({"text": "Sale for {{1}}", "example": "Ana"}),
            ),
        ),
        (
            "a location header",
            with(m(), "components/header", json!({"format": "LOCATION"})),
        ),
        (
            "no header, footer or buttons",
            with(
                with(
                    with(m(), "components/header", Value::Null),
                    "components/footer",
                    Value::Null,
                ),
                "components/buttons",
                Value::Null,
            ),
        ),
        (
            "a COPY_CODE button",
            with(
                m(),
                "components/buttons",
                json!([{"type": "COPY_CODE", "example": "SUMMER25"}, url()]),
            ),
        ),
        (
            "a FLOW button",
            with(
                m(),
                "components/buttons",
                json!([{"type": "FLOW", "text": "Book", "flowId": "1234567890", "flowAction": "navigate", "navigateScreen": "START"}]),
            ),
        ),
        (
            "ten quick replies",
            with(m(), "components/buttons", json!(vec![qr(); 10])),
        ),
        (
            "quick replies before the other buttons",
            with(
                m(),
                "components/buttons",
                json!([qr(), qr(), url(), {"type": "PHONE_NUMBER", "text": "Call", "phoneNumber": "15550051310"}]),
            ),
        ),
        (
            "a UTILITY TTL of -1 (30 days)",
            with(u(), "messageSendTtlSeconds", json!(-1)),
        ),
        (
            "a MARKETING TTL of 30 days",
            with(m(), "messageSendTtlSeconds", json!(2592000)),
        ),
        (
            "an OTP COPY_CODE button",
            with(
                a(),
                "components/buttons",
                json!([{"type": "OTP", "otpType": "COPY_CODE"}]),
            ),
        ),
        (
            "an OTP ZERO_TAP button with its terms accepted",
            with(
                with(a(), "components/buttons/0/otpType", json!("ZERO_TAP")),
                "components/buttons/0/zeroTapTermsAccepted",
                json!(true),
            ),
        ),
        (
            "an authentication template with an empty body and no footer",
            with(
                with(a(), "components/footer", Value::Null),
                "components/body",
                json!({}),
            ),
        ),
        (
            "an ObserveOnly template without body text",
            json!({
                "accountRef": {"name": "acme"},
                "name": "legacy_offer",
                "language": "es",
                "category": "MARKETING",
                "management": "ObserveOnly",
                "components": {"body": {}},
            }),
        ),
        ("language zh_Hant", with(m(), "language", json!("zh_Hant"))),
    ]
}

#[tokio::test]
async fn templates_meta_accepts_are_accepted() {
    let (client, ns) = setup_namespace("template-valid").await;
    let mut failures = Vec::new();
    for (i, (what, spec)) in valid_template_variants().into_iter().enumerate() {
        let name = format!("valid-{i}");
        if let Err(e) = apply(&client, &ns, Kind::Template, &name, &spec).await {
            failures.push(format!("{what}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn template_case(what: &'static str, spec: Value, expect: &'static str) -> Case {
    Case {
        what,
        kind: Kind::Template,
        spec,
        expect,
    }
}

/// Templates Meta would refuse, each with the text its message must contain.
fn invalid_template_cases() -> Vec<Case> {
    let m = marketing_template;
    let u = utility_template;
    let a = authentication_template;
    let qr = || json!({"type": "QUICK_REPLY", "text": "Yes"});
    let url = |u: &str| json!({"type": "URL", "text": "Open", "url": u});
    let body = |text: &str| with(m(), "components/body/text", json!(text));
    let button =
        |i: usize, field: &str, v: Value| with(m(), &format!("components/buttons/{i}/{field}"), v);
    let otp = |field: &str, v: Value| with(a(), &format!("components/buttons/0/{field}"), v);
    let malformed = "body.text has a malformed variable";
    let missing_example = "every numbered variable of body.text needs its value in body.examples";
    let unused_example = "body.examples must hold exactly one value per numbered variable";
    let one_each = "at most one button of each of the types PHONE_NUMBER";
    let named = u()
        .pointer("/components/body/namedExamples")
        .cloned()
        .expect("named examples");
    let plus_named = |entry: Value| {
        let mut list = named.as_array().expect("a list").clone();
        list.push(entry);
        with(u(), "components/body/namedExamples", Value::Array(list))
    };
    vec![
        // Name and language.
        template_case(
            "uppercase in the name",
            with(m(), "name", json!("Summer_Sale")),
            "name must be lowercase letters, digits and underscores only",
        ),
        template_case(
            "a dash in the name",
            with(m(), "name", json!("summer-sale")),
            "name must be lowercase letters, digits and underscores only",
        ),
        template_case(
            "a name over 512 characters",
            with(m(), "name", json!("a".repeat(513))),
            "spec.name: Too long",
        ),
        template_case(
            "a language name instead of a code",
            with(m(), "language", json!("english")),
            "language must be one of Meta's language codes",
        ),
        template_case(
            "a language with a dash",
            with(m(), "language", json!("en-US")),
            "language must be one of Meta's language codes",
        ),
        template_case(
            "an unknown category",
            with(m(), "category", json!("SERVICE")),
            "spec.category: Unsupported value: \"SERVICE\"",
        ),
        // Body text and positional variables.
        template_case(
            "a MARKETING body without text",
            with(m(), "components/body/text", Value::Null),
            "components.body.text is required",
        ),
        template_case(
            "a body over 1024 characters",
            body(&format!(
                "Hi {{{{1}}}}, {} {{{{2}}}} and {{{{3}}}} ok",
                "x".repeat(1020)
            )),
            "body.text must be 1 to 1024 characters",
        ),
        template_case(
            "a variable without example",
            with(m(), "components/body/examples", json!(["Ana", "on Sunday"])),
            missing_example,
        ),
        template_case(
            "an example without variable",
            with(
                m(),
                "components/body/examples",
                json!(["Ana", "on Sunday", "SUMMER25", "extra"]),
            ),
            unused_example,
        ),
        template_case(
            "examples for a text without variables",
            body("Our summer sale is on. Come by!"),
            unused_example,
        ),
        template_case(
            "variables skipping {{3}}",
            with(
                body("Hi {{1}}, the sale ends {{2}}. Code {{4}} at checkout."),
                "components/body/examples",
                json!(["Ana", "Sunday", "S25", "x"]),
            ),
            unused_example,
        ),
        template_case(
            "variable {{0}}",
            with(
                body("Hi {{0}}, the sale ends soon."),
                "components/body/examples",
                json!(["Ana"]),
            ),
            malformed,
        ),
        template_case(
            "spaces inside the braces",
            body("Hi {{ 1 }}, the sale ends {{2}}. Code {{3}} now."),
            malformed,
        ),
        template_case(
            "a single closing brace",
            body("Hi {{1}, the sale ends {{2}}. Code {{3}} now."),
            malformed,
        ),
        template_case(
            "a body starting with a variable",
            body("{{1}}, our sale ends {{2}}. Code {{3}} now."),
            "body.text must not start with a variable",
        ),
        template_case(
            "a body ending with a variable and a full stop",
            body("Hi {{1}}, the sale ends {{2}}. Use code {{3}}."),
            "body.text must not end with a variable",
        ),
        // One parameter format per template.
        template_case(
            "a named variable in a POSITIONAL template",
            body("Hi {{first_name}}, the sale ends {{2}}. Code {{3}} now."),
            "parameterFormat is POSITIONAL (the default)",
        ),
        template_case(
            "namedExamples in a POSITIONAL template",
            with(
                m(),
                "components/body/namedExamples",
                json!([{"name": "x", "example": "y"}]),
            ),
            "body.namedExamples and header.namedExample are for NAMED templates",
        ),
        template_case(
            "a numbered variable in a NAMED template",
            with(
                u(),
                "components/body/text",
                json!("Olá {{1}}, seu pedido {{order_id}} chega em {{eta}}. Obrigado!"),
            ),
            "parameterFormat is NAMED",
        ),
        template_case(
            "examples in a NAMED template",
            with(u(), "components/body/examples", json!(["x"])),
            "body.examples and header.example are for POSITIONAL templates",
        ),
        // Named variables.
        template_case(
            "a named variable without namedExamples entry",
            with(
                u(),
                "components/body/namedExamples",
                json!([{"name": "first_name", "example": "Ana"}, {"name": "order_id", "example": "1"}]),
            ),
            "every named variable of body.text needs a namedExamples entry",
        ),
        template_case(
            "a namedExamples entry the text does not use",
            plus_named(json!({"name": "coupon", "example": "X"})),
            "every namedExamples entry must name a variable that body.text uses",
        ),
        template_case(
            "a variable listed twice in namedExamples",
            plus_named(json!({"name": "eta", "example": "X"})),
            "namedExamples lists each variable once",
        ),
        template_case(
            "a variable name with uppercase and a dash",
            with(
                u(),
                "components/body/namedExamples/0/name",
                json!("First-Name"),
            ),
            "a variable name is lowercase letters, digits and underscores",
        ),
        // Header.
        template_case(
            "a TEXT header without text",
            with(u(), "components/header", json!({"format": "TEXT"})),
            "a TEXT header needs text",
        ),
        template_case(
            "a header over 60 characters",
            with(
                u(),
                "components/header/text",
                json!(format!("Pedido {} {{{{order_id}}}}", "x".repeat(60))),
            ),
            "header.text must be 1 to 60 characters",
        ),
        template_case(
            "two variables in the header",
            with(
                u(),
                "components/header/text",
                json!("Pedido {{order_id}} {{eta}}"),
            ),
            "header.text can hold at most one variable",
        ),
        template_case(
            "header variable {{2}}",
            with(
                m(),
                "components/header",
                json!({"text": "Sale {{2}}", "example": "now"}),
            ),
            "the header's variable is written {{1}}",
        ),
        template_case(
            "a header variable without example",
            with(m(), "components/header", json!({"text": "Sale for {{1}}"})),
            "header.example is the value of the header's {{1}}",
        ),
        template_case(
            "a named header variable without namedExample",
            with(u(), "components/header/namedExample", Value::Null),
            "header.namedExample is the name and example value",
        ),
        template_case(
            "a header namedExample of another name",
            with(
                u(),
                "components/header/namedExample/name",
                json!("first_name"),
            ),
            "header.namedExample.name must be the name of the header's variable",
        ),
        template_case(
            "an IMAGE header without exampleHandle",
            with(m(), "components/header/exampleHandle", Value::Null),
            "IMAGE, VIDEO and DOCUMENT headers need exampleHandle",
        ),
        template_case(
            "an IMAGE header with text",
            with(m(), "components/header/text", json!("Sale")),
            "only TEXT headers have text, example or namedExample",
        ),
        template_case(
            "a LOCATION header with exampleHandle",
            with(m(), "components/header/format", json!("LOCATION")),
            "exampleHandle is only for IMAGE, VIDEO and DOCUMENT headers",
        ),
        // Footer.
        template_case(
            "a footer over 60 characters",
            with(m(), "components/footer/text", json!("f".repeat(61))),
            "footer.text must be 1 to 60 characters",
        ),
        template_case(
            "a variable in the footer",
            with(m(), "components/footer/text", json!("Hi {{1}}")),
            "footer.text cannot hold variables",
        ),
        template_case(
            "an empty footer",
            with(m(), "components/footer", json!({})),
            "a footer needs text",
        ),
        template_case(
            "codeExpirationMinutes in a MARKETING template",
            with(m(), "components/footer/codeExpirationMinutes", json!(10)),
            "codeExpirationMinutes is only for AUTHENTICATION templates",
        ),
        template_case(
            "codeExpirationMinutes of 91",
            with(a(), "components/footer/codeExpirationMinutes", json!(91)),
            "codeExpirationMinutes must be 1 to 90",
        ),
        // Button counts and order.
        template_case(
            "eleven buttons",
            with(m(), "components/buttons", json!(vec![qr(); 11])),
            "must have at most 10 items",
        ),
        template_case(
            "three URL buttons",
            with(
                m(),
                "components/buttons",
                json!([
                    url("https://a.example"),
                    url("https://b.example"),
                    url("https://c.example")
                ]),
            ),
            "a template has at most 2 URL buttons",
        ),
        template_case(
            "two PHONE_NUMBER buttons",
            with(
                m(),
                "components/buttons",
                json!(vec![
                    json!({"type": "PHONE_NUMBER", "text": "Call", "phoneNumber": "+15550051310"});
                    2
                ]),
            ),
            one_each,
        ),
        template_case(
            "two COPY_CODE buttons",
            with(
                m(),
                "components/buttons",
                json!(vec![json!({"type": "COPY_CODE", "example": "SUMMER25"}); 2]),
            ),
            one_each,
        ),
        template_case(
            "quick replies split by a URL button",
            with(
                m(),
                "components/buttons",
                json!([qr(), url("https://a.example"), qr()]),
            ),
            "QUICK_REPLY buttons must be grouped together",
        ),
        template_case(
            "an unknown button type",
            button(2, "type", json!("CALL")),
            "spec.components.buttons[2].type: Unsupported value: \"CALL\"",
        ),
        // Button fields.
        template_case(
            "a quick reply without text",
            button(2, "text", Value::Null),
            "QUICK_REPLY, URL, PHONE_NUMBER, FLOW and VOICE_CALL buttons need text",
        ),
        template_case(
            "button text over 25 characters",
            button(2, "text", json!("t".repeat(26))),
            "button text must be 1 to 25 characters",
        ),
        template_case(
            "a URL button without url",
            button(1, "url", Value::Null),
            "URL buttons need url",
        ),
        template_case(
            "a plain http url",
            button(1, "url", json!("http://shop.example/stores")),
            "url must be an https:// address",
        ),
        template_case(
            "a url over 2000 characters",
            button(
                1,
                "url",
                json!(format!("https://shop.example/{}", "a".repeat(2000))),
            ),
            "url must be at most 2000 characters",
        ),
        template_case(
            "a url variable in the middle",
            button(0, "url", json!("https://shop.example/{{1}}/sale")),
            "url can hold one variable, {{1}}, and only at its end",
        ),
        template_case(
            "two url variables",
            button(0, "url", json!("https://shop.example/{{1}}/{{1}}")),
            "url can hold one variable, {{1}}, and only at its end",
        ),
        template_case(
            "a url variable without example",
            button(0, "example", Value::Null),
            "a URL button whose url ends in {{1}} needs example",
        ),
        template_case(
            "url on a quick reply",
            button(2, "url", json!("https://shop.example")),
            "url is only for URL buttons",
        ),
        template_case(
            "example on a quick reply",
            button(2, "example", json!("x")),
            "example is only for URL buttons",
        ),
        template_case(
            "a PHONE_NUMBER button without phoneNumber",
            with(u(), "components/buttons/1/phoneNumber", Value::Null),
            "PHONE_NUMBER buttons need phoneNumber",
        ),
        template_case(
            "letters in the phone number",
            with(
                u(),
                "components/buttons/1/phoneNumber",
                json!("+55 11 CALL-ME"),
            ),
            "phoneNumber must be the number with its country code",
        ),
        template_case(
            "too few digits in the phone number",
            with(u(), "components/buttons/1/phoneNumber", json!("+55 1234")),
            "phoneNumber must have 8 to 15 digits",
        ),
        template_case(
            "phoneNumber on a URL button",
            with(
                u(),
                "components/buttons/0/phoneNumber",
                json!("+15550051310"),
            ),
            "phoneNumber is only for PHONE_NUMBER buttons",
        ),
        template_case(
            "a COPY_CODE button without example",
            with(m(), "components/buttons/2", json!({"type": "COPY_CODE"})),
            "COPY_CODE buttons need example",
        ),
        template_case(
            "a COPY_CODE example over 15 characters",
            with(
                m(),
                "components/buttons/2",
                json!({"type": "COPY_CODE", "example": "C".repeat(16)}),
            ),
            "COPY_CODE buttons need example: a sample code of 1 to 15 characters",
        ),
        template_case(
            "a COPY_CODE button with text",
            with(
                m(),
                "components/buttons/2",
                json!({"type": "COPY_CODE", "example": "SUMMER25", "text": "Copy"}),
            ),
            "COPY_CODE buttons have no text",
        ),
        template_case(
            "a FLOW button without flowId",
            with(
                m(),
                "components/buttons/2",
                json!({"type": "FLOW", "text": "Book"}),
            ),
            "FLOW buttons need flowId",
        ),
        template_case(
            "flowId on a quick reply",
            button(2, "flowId", json!("123")),
            "flowId, flowAction and navigateScreen are only for FLOW buttons",
        ),
        template_case(
            "an unknown flowAction",
            with(
                m(),
                "components/buttons/2",
                json!({"type": "FLOW", "text": "Book", "flowId": "123", "flowAction": "open"}),
            ),
            "flowAction must be navigate or data_exchange",
        ),
        template_case(
            "navigateScreen with data_exchange",
            with(
                m(),
                "components/buttons/2",
                json!({"type": "FLOW", "text": "Book", "flowId": "123", "flowAction": "data_exchange", "navigateScreen": "START"}),
            ),
            "navigateScreen only goes with flowAction navigate",
        ),
        // Authentication templates.
        template_case(
            "an OTP button in a MARKETING template",
            with(
                m(),
                "components/buttons/2",
                json!({"type": "OTP", "otpType": "COPY_CODE"}),
            ),
            "OTP buttons are only for AUTHENTICATION templates",
        ),
        template_case(
            "an AUTHENTICATION template without buttons",
            with(a(), "components/buttons", Value::Null),
            "AUTHENTICATION templates need an OTP button",
        ),
        template_case(
            "an AUTHENTICATION template with a quick reply too",
            with(
                a(),
                "components/buttons",
                json!([a()["components"]["buttons"][0].clone(), qr()]),
            ),
            "AUTHENTICATION templates have exactly one button, the OTP button",
        ),
        template_case(
            "two OTP buttons",
            with(
                a(),
                "components/buttons",
                json!(vec![a()["components"]["buttons"][0].clone(); 2]),
            ),
            "at most one button of each of the types",
        ),
        template_case(
            "an AUTHENTICATION template with body text",
            with(a(), "components/body/text", json!("Your code is {{1}} ok")),
            "AUTHENTICATION templates have no components.body.text",
        ),
        template_case(
            "an AUTHENTICATION template with a header",
            with(a(), "components/header", json!({"text": "Login"})),
            "AUTHENTICATION templates have no header",
        ),
        template_case(
            "an AUTHENTICATION footer with text",
            with(a(), "components/footer/text", json!("Thanks")),
            "the footer of an AUTHENTICATION template has no text",
        ),
        template_case(
            "addSecurityRecommendation in a UTILITY template",
            with(
                u(),
                "components/body/addSecurityRecommendation",
                json!(true),
            ),
            "addSecurityRecommendation is only for AUTHENTICATION templates",
        ),
        template_case(
            "an OTP button without otpType",
            otp("otpType", Value::Null),
            "OTP buttons need otpType",
        ),
        template_case(
            "a ONE_TAP button without supportedApps",
            otp("supportedApps", Value::Null),
            "ONE_TAP and ZERO_TAP buttons need supportedApps",
        ),
        template_case(
            "a ZERO_TAP button without accepted terms",
            otp("otpType", json!("ZERO_TAP")),
            "ZERO_TAP buttons need zeroTapTermsAccepted: true",
        ),
        template_case(
            "a ZERO_TAP button with the terms refused",
            with(
                otp("otpType", json!("ZERO_TAP")),
                "components/buttons/0/zeroTapTermsAccepted",
                json!(false),
            ),
            "ZERO_TAP buttons need zeroTapTermsAccepted: true",
        ),
        template_case(
            "zeroTapTermsAccepted on a ONE_TAP button",
            otp("zeroTapTermsAccepted", json!(true)),
            "zeroTapTermsAccepted is only for ZERO_TAP buttons",
        ),
        template_case(
            "supportedApps on an OTP COPY_CODE button",
            otp("otpType", json!("COPY_CODE")),
            "supportedApps is only for ONE_TAP and ZERO_TAP buttons",
        ),
        template_case(
            "otpType on a quick reply",
            button(2, "otpType", json!("COPY_CODE")),
            "otpType, supportedApps and zeroTapTermsAccepted are only for OTP buttons",
        ),
        template_case(
            "a package name with one part",
            otp("supportedApps/0/packageName", json!("bank")),
            "packageName must be an Android package name",
        ),
        template_case(
            "a signature hash with a dash",
            otp("supportedApps/0/signatureHash", json!("K8a-AINcGX7")),
            "signatureHash must be the app's 11-character signing key hash",
        ),
        // Time to live.
        template_case(
            "an AUTHENTICATION TTL of 901 s",
            with(a(), "messageSendTtlSeconds", json!(901)),
            "messageSendTtlSeconds of an AUTHENTICATION template must be 30 to 900",
        ),
        template_case(
            "a UTILITY TTL of 20 s",
            with(u(), "messageSendTtlSeconds", json!(20)),
            "messageSendTtlSeconds of a UTILITY template must be 30 to 43200",
        ),
        template_case(
            "a MARKETING TTL of one hour",
            with(m(), "messageSendTtlSeconds", json!(3600)),
            "messageSendTtlSeconds of a MARKETING template must be 43200",
        ),
    ]
}

#[tokio::test]
async fn invalid_templates_are_rejected_with_a_helpful_message() {
    let (client, ns) = setup_namespace("template-invalid").await;
    apply(
        &client,
        &ns,
        Kind::Template,
        "valid",
        &Kind::Template.valid_spec(),
    )
    .await
    .expect("the valid template is accepted");
    let cases = invalid_template_cases();
    assert!(cases.len() >= 20);
    let failures = refusal_failures(&client, &ns, &cases).await;
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
    let template = Kind::Template.valid_spec();
    apply(&client, &ns, Kind::Template, "summer-sale", &template)
        .await
        .expect("create template");

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
        (
            Kind::Template,
            "summer-sale",
            with(template.clone(), "name", json!("summer_sale_v2")),
            "name is immutable: Meta cannot rename a template",
        ),
        (
            Kind::Template,
            "summer-sale",
            with(template.clone(), "language", json!("pt_BR")),
            "language is immutable: each language is its own template at Meta",
        ),
        (
            Kind::Template,
            "summer-sale",
            with(template.clone(), "accountRef/name", json!("other")),
            "accountRef is immutable: a template cannot move to another account",
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

    // A template's content, category and TTL may change (Meta edits them in place).
    let edited = with(
        with(
            template,
            "components/footer/text",
            json!("Reply STOP to unsubscribe"),
        ),
        "messageSendTtlSeconds",
        json!(86400),
    );
    let updated = apply(&client, &ns, Kind::Template, "summer-sale", &edited)
        .await
        .expect("editing a template's content is allowed");
    assert_eq!(
        updated.data["spec"]["components"]["footer"]["text"],
        "Reply STOP to unsubscribe"
    );
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

fn template_status() -> Value {
    json!({
        "templateId": "572279198452421",
        "status": "APPROVED",
        "category": "MARKETING",
        "qualityScore": "GREEN",
        "conditions": [{
            "type": "Ready",
            "status": "True",
            "reason": "Approved",
            "message": "Meta approved the template; it can be sent.",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
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

    // Templates: name and language from spec, Meta's view from status.
    apply(
        &client,
        &ns,
        Kind::Template,
        "summer-sale",
        &Kind::Template.valid_spec(),
    )
    .await
    .expect("create template");
    Kind::Template
        .api(&client, &ns)
        .patch_status(
            "summer-sale",
            &params,
            &Patch::Merge(json!({"status": template_status()})),
        )
        .await
        .expect("template status");
    let out = harness::kubectl_ok(["get", "wamt", "-n", &ns]);
    let rows: Vec<Vec<String>> = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(cells)
        .collect();
    assert_eq!(
        rows[0],
        [
            "NAME", "TEMPLATE", "LANGUAGE", "CATEGORY", "STATUS", "QUALITY", "READY", "AGE"
        ],
        "{out}"
    );
    assert_eq!(rows.len(), 2, "{out}");
    assert_eq!(
        rows[1][..7],
        [
            "summer-sale",
            "summer_sale",
            "en_US",
            "MARKETING",
            "APPROVED",
            "GREEN",
            "True"
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
    for kind in [Kind::Channel, Kind::Account, Kind::Template] {
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

    let out = kubectl_explain("wamt.spec", true);
    for field in [
        "accountRef",
        "name",
        "language",
        "category",
        "parameterFormat",
        "components",
        "header",
        "exampleHandle",
        "namedExample",
        "body",
        "examples",
        "namedExamples",
        "addSecurityRecommendation",
        "footer",
        "codeExpirationMinutes",
        "buttons",
        "otpType",
        "supportedApps",
        "signatureHash",
        "zeroTapTermsAccepted",
        "flowId",
        "messageSendTtlSeconds",
        "management",
        "deletionPolicy",
    ] {
        assert!(out.contains(field), "explain lacks {field}:\n{out}");
    }
    let out = kubectl_explain("wamt.spec.components.body.text", false);
    assert!(out.contains("1024 characters"), "{out}");

    // Field descriptions come through, not just names.
    let out = kubectl_explain("wac.spec.phoneNumber", false);
    assert!(out.contains("DESCRIPTION"), "{out}");
    assert!(out.contains("country code"), "{out}");
}
