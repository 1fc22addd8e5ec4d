use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema, core::Rule};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AccountRef, Management, SyncStatus};

// Admission mirrors what Meta refuses when a template is created, so a mistake shows up at
// `kubectl apply` with a message instead of as a rejection minutes later. Every rule sits on the
// struct that holds the fields it compares. The rules only use CEL that every supported
// kube-apiserver has (regex find/findAll, the list and string libraries); CEL's cost estimator
// cannot size `string(int)`, so where a rule walks the numbers {{1}}..{{100}} it builds them from
// literal digits (see `POSITIONAL_DIGITS`).

/// One message template (one name in one language) of a WABA at Meta.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "whatsapp-operator.io",
    version = "v1alpha1",
    kind = "WhatsAppMessageTemplate",
    plural = "whatsappmessagetemplates",
    shortname = "wamt",
    category = "whatsapp",
    namespaced,
    status = "WhatsAppMessageTemplateStatus",
    doc = "A WhatsApp message template (one name in one language) of a WABA, submitted to Meta and watched by whatsapp-operator.",
    printcolumn(
        name = "Template",
        type_ = "string",
        json_path = ".spec.name",
        description = "Template name at Meta"
    ),
    printcolumn(
        name = "Language",
        type_ = "string",
        json_path = ".spec.language",
        description = "Template language"
    ),
    printcolumn(
        name = "Category",
        type_ = "string",
        json_path = ".status.category",
        description = "Category at Meta (MARKETING, UTILITY, AUTHENTICATION)"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.status",
        description = "Meta's review status (APPROVED, PENDING, REJECTED, PAUSED...)"
    ),
    printcolumn(
        name = "Quality",
        type_ = "string",
        json_path = ".status.qualityScore",
        description = "Meta's quality score (GREEN, YELLOW, RED, UNKNOWN)"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Ready condition"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
// What each category allows (AUTHENTICATION templates have a fixed layout that Meta writes).
#[x_kube(validation = Rule::new("self.category == 'AUTHENTICATION' || self.management == 'ObserveOnly' || has(self.components.body.text)").message("components.body.text is required: the message text (only AUTHENTICATION templates, whose text Meta writes, and ObserveOnly resources go without it)"))]
#[x_kube(validation = Rule::new("self.category != 'AUTHENTICATION' || !has(self.components.body.text)").message("AUTHENTICATION templates have no components.body.text: Meta writes the text (\"<code> is your verification code.\"); leave it out"))]
#[x_kube(validation = Rule::new("self.category == 'AUTHENTICATION' || !has(self.components.body.addSecurityRecommendation)").message("components.body.addSecurityRecommendation is only for AUTHENTICATION templates"))]
#[x_kube(validation = Rule::new("self.category != 'AUTHENTICATION' || !has(self.components.header)").message("AUTHENTICATION templates have no header: Meta fixes their layout; remove components.header"))]
#[x_kube(validation = Rule::new("self.category != 'AUTHENTICATION' || !has(self.components.footer) || !has(self.components.footer.text)").message("the footer of an AUTHENTICATION template has no text, only codeExpirationMinutes (Meta writes the footer)"))]
#[x_kube(validation = Rule::new("self.category == 'AUTHENTICATION' || !has(self.components.footer) || !has(self.components.footer.codeExpirationMinutes)").message("components.footer.codeExpirationMinutes is only for AUTHENTICATION templates"))]
#[x_kube(validation = Rule::new("self.category == 'AUTHENTICATION' || !has(self.components.buttons) || self.components.buttons.all(b, b.type != 'OTP')").message("OTP buttons are only for AUTHENTICATION templates"))]
#[x_kube(validation = Rule::new("self.category != 'AUTHENTICATION' || (has(self.components.buttons) && self.components.buttons.exists(b, b.type == 'OTP'))").message("AUTHENTICATION templates need an OTP button: type OTP with otpType COPY_CODE, ONE_TAP or ZERO_TAP"))]
#[x_kube(validation = Rule::new("self.category != 'AUTHENTICATION' || !has(self.components.buttons) || self.components.buttons.all(b, b.type == 'OTP')").message("AUTHENTICATION templates have exactly one button, the OTP button: remove the other buttons"))]
// Meta's time-to-live ranges per category.
#[x_kube(validation = Rule::new("self.category != 'AUTHENTICATION' || !has(self.messageSendTtlSeconds) || self.messageSendTtlSeconds == -1 || (self.messageSendTtlSeconds >= 30 && self.messageSendTtlSeconds <= 900)").message("messageSendTtlSeconds of an AUTHENTICATION template must be 30 to 900 (15 minutes), or -1 for 30 days"))]
#[x_kube(validation = Rule::new("self.category != 'UTILITY' || !has(self.messageSendTtlSeconds) || self.messageSendTtlSeconds == -1 || (self.messageSendTtlSeconds >= 30 && self.messageSendTtlSeconds <= 43200)").message("messageSendTtlSeconds of a UTILITY template must be 30 to 43200 (12 hours), or -1 for 30 days"))]
#[x_kube(validation = Rule::new("self.category != 'MARKETING' || !has(self.messageSendTtlSeconds) || (self.messageSendTtlSeconds >= 43200 && self.messageSendTtlSeconds <= 2592000)").message("messageSendTtlSeconds of a MARKETING template must be 43200 (12 hours) to 2592000 (30 days)"))]
// One way of writing variables per template, in the header and the body alike.
#[x_kube(validation = Rule::new(r"self.parameterFormat != 'POSITIONAL' || ((!has(self.components.body.text) || !self.components.body.text.matches(r'\{\{[a-z][a-z0-9_]*\}\}')) && (!has(self.components.header) || !has(self.components.header.text) || !self.components.header.text.matches(r'\{\{[a-z][a-z0-9_]*\}\}')))").message("parameterFormat is POSITIONAL (the default), so variables are numbered {{1}}, {{2}}...; set parameterFormat: NAMED to use names like {{order_id}}"))]
#[x_kube(validation = Rule::new("self.parameterFormat != 'POSITIONAL' || (!has(self.components.body.namedExamples) && (!has(self.components.header) || !has(self.components.header.namedExample)))").message("body.namedExamples and header.namedExample are for NAMED templates; a POSITIONAL template gives body.examples and header.example"))]
#[x_kube(validation = Rule::new(r"self.parameterFormat != 'NAMED' || ((!has(self.components.body.text) || !self.components.body.text.matches(r'\{\{[0-9]+\}\}')) && (!has(self.components.header) || !has(self.components.header.text) || !self.components.header.text.matches(r'\{\{[0-9]+\}\}')))").message("parameterFormat is NAMED, so header and body variables have names like {{order_id}}, not numbers like {{1}}"))]
#[x_kube(validation = Rule::new("self.parameterFormat != 'NAMED' || (!has(self.components.body.examples) && (!has(self.components.header) || !has(self.components.header.example)))").message("body.examples and header.example are for POSITIONAL templates; a NAMED template gives body.namedExamples and header.namedExample"))]
pub struct WhatsAppMessageTemplateSpec {
    /// The WhatsAppBusinessAccount (same namespace) whose WABA holds the template. Cannot be
    /// changed once set.
    #[x_kube(validation = Rule::new("self == oldSelf").message("accountRef is immutable: a template cannot move to another account through this resource"))]
    pub account_ref: AccountRef,

    /// The template's name at Meta: lowercase letters, digits and underscores, at most 512
    /// characters. Cannot be changed once set (Meta does not rename templates).
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9_]+$')").message("name must be lowercase letters, digits and underscores only, e.g. order_shipped (Meta's rule)"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("name is immutable: Meta cannot rename a template; create a new WhatsAppMessageTemplate"))]
    #[schemars(length(min = 1, max = 512))]
    pub name: String,

    /// Language and locale code, one of Meta's: e.g. en, en_US, pt_BR, es, zh_CN. Cannot be
    /// changed once set.
    #[x_kube(validation = Rule::new("self.matches('^[a-z]{2,3}(_[A-Za-z]{2,4})?$')").message("language must be one of Meta's language codes, like en, en_US, pt_BR or zh_CN"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("language is immutable: each language is its own template at Meta; create a new WhatsAppMessageTemplate"))]
    #[schemars(length(min = 2, max = 16))]
    pub language: String,

    /// MARKETING, UTILITY or AUTHENTICATION. Meta may re-categorise a template; status shows
    /// Meta's current category. AUTHENTICATION templates have a layout Meta writes: no header,
    /// a body without text, an optional footer with only codeExpirationMinutes, and exactly one
    /// OTP button.
    pub category: TemplateCategory,

    /// How variables are written: POSITIONAL ({{1}}, {{2}}) or NAMED ({{order_id}}). The header
    /// and the body use the same format (URL buttons always use {{1}}).
    #[serde(default)]
    pub parameter_format: ParameterFormat,

    /// The template's content. It is validated like Meta validates a new template, also for
    /// ObserveOnly resources (which may leave out the body text).
    pub components: TemplateComponents,

    /// Seconds Meta keeps trying to deliver a message sent with this template (Meta's
    /// message_send_ttl_seconds); Meta's default when left out (10 minutes for AUTHENTICATION,
    /// 30 days otherwise). Meta's ranges: AUTHENTICATION 30 to 900, UTILITY 30 to 43200 (both
    /// also -1, meaning 30 days), MARKETING 43200 to 2592000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_send_ttl_seconds: Option<i64>,

    /// Managed: the operator creates and edits the template. ObserveOnly: it adopts a template
    /// made elsewhere (by name and language) and only reports; it never writes to Meta.
    #[serde(default)]
    pub management: Management,

    /// What deleting the resource does at Meta. Orphan (default) leaves the template; Delete
    /// deletes this language of it (Meta keeps the name reserved for 30 days).
    #[serde(default)]
    pub deletion_policy: TemplateDeletionPolicy,
}

/// Meta's template categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateCategory {
    Marketing,
    Utility,
    Authentication,
}

impl TemplateCategory {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Marketing => "MARKETING",
            Self::Utility => "UTILITY",
            Self::Authentication => "AUTHENTICATION",
        }
    }
}

/// How a template writes its variables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParameterFormat {
    #[default]
    Positional,
    Named,
}

impl ParameterFormat {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Positional => "POSITIONAL",
            Self::Named => "NAMED",
        }
    }
}

/// What deleting a template resource does at Meta.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TemplateDeletionPolicy {
    #[default]
    Orphan,
    Delete,
}

/// The parts of a template: an optional header, the body, an optional footer and buttons.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.buttons) || size(self.buttons.filter(b, b.type == 'URL')) <= 2").message("a template has at most 2 URL buttons (Meta's limit)"))]
#[x_kube(validation = Rule::new("!has(self.buttons) || ['PHONE_NUMBER', 'COPY_CODE', 'FLOW', 'VOICE_CALL', 'CATALOG', 'MPM', 'OTP'].all(t, size(self.buttons.filter(b, b.type == t)) <= 1)").message("a template has at most one button of each of the types PHONE_NUMBER, COPY_CODE, FLOW, VOICE_CALL, CATALOG, MPM and OTP (Meta's limits)"))]
#[x_kube(validation = Rule::new("!has(self.buttons) || self.buttons.map(b, b.type == 'QUICK_REPLY').isSorted() || self.buttons.map(b, b.type != 'QUICK_REPLY').isSorted()").message("QUICK_REPLY buttons must be grouped together, before or after all the other buttons: Meta refuses e.g. QUICK_REPLY, URL, QUICK_REPLY"))]
pub struct TemplateComponents {
    /// Optional header: a short text, a media file (image, video, document) or a location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<TemplateHeader>,
    /// The body, the only part every template has.
    pub body: TemplateBody,
    /// Optional footer: a short text below the body (AUTHENTICATION: the code's expiry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<TemplateFooter>,
    /// Up to 10 buttons: at most 2 URL and one each of PHONE_NUMBER, COPY_CODE, FLOW,
    /// VOICE_CALL, CATALOG, MPM and OTP; QUICK_REPLY buttons grouped together, before or after
    /// the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub buttons: Vec<TemplateButton>,
}

/// Header formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HeaderFormat {
    #[default]
    Text,
    Image,
    Video,
    Document,
    Location,
}

impl HeaderFormat {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Text => "TEXT",
            Self::Image => "IMAGE",
            Self::Video => "VIDEO",
            Self::Document => "DOCUMENT",
            Self::Location => "LOCATION",
        }
    }
}

/// A variable's name and example value (NAMED parameter format).
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedExample {
    /// The variable's name as written between braces, e.g. order_id for {{order_id}}: lowercase
    /// letters, digits and underscores, starting with a letter.
    #[x_kube(validation = Rule::new("self.matches('^[a-z][a-z0-9_]*$')").message("a variable name is lowercase letters, digits and underscores, starting with a letter, e.g. order_id (written {{order_id}} in the text)"))]
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// An example value Meta's reviewers see.
    #[schemars(length(min = 1, max = 1024))]
    pub example: String,
}

/// The header: text (at most one variable) or media (with an example handle) or a location.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.format != 'TEXT' || has(self.text)").message("a TEXT header needs text (or leave the header out)"))]
#[x_kube(validation = Rule::new("self.format == 'TEXT' || (!has(self.text) && !has(self.example) && !has(self.namedExample))").message("only TEXT headers have text, example or namedExample: IMAGE, VIDEO and DOCUMENT headers take exampleHandle, LOCATION headers nothing"))]
#[x_kube(validation = Rule::new("!(self.format in ['IMAGE', 'VIDEO', 'DOCUMENT']) || has(self.exampleHandle)").message("IMAGE, VIDEO and DOCUMENT headers need exampleHandle: the handle of a sample file uploaded with Meta's resumable upload API"))]
#[x_kube(validation = Rule::new("self.format in ['IMAGE', 'VIDEO', 'DOCUMENT'] || !has(self.exampleHandle)").message("exampleHandle is only for IMAGE, VIDEO and DOCUMENT headers"))]
#[x_kube(validation = Rule::new("has(self.example) == (has(self.text) && self.text.contains('{{1}}'))").message("header.example is the value of the header's {{1}}: give it when the header text has {{1}}, and only then"))]
#[x_kube(validation = Rule::new(r"has(self.namedExample) == (has(self.text) && self.text.matches(r'\{\{[a-z][a-z0-9_]*\}\}'))").message("header.namedExample is the name and example value of the header's named variable: give it when the header text has one, e.g. {{sale_date}}, and only then"))]
#[x_kube(validation = Rule::new("!has(self.namedExample) || !has(self.text) || self.text.contains('{{' + self.namedExample.name + '}}')").message("header.namedExample.name must be the name of the header's variable: {{sale_date}} needs name sale_date"))]
pub struct TemplateHeader {
    /// TEXT (default), IMAGE, VIDEO, DOCUMENT or LOCATION.
    #[serde(default)]
    pub format: HeaderFormat,
    /// The header text (TEXT only), at most 60 characters, with at most one variable: {{1}}
    /// (POSITIONAL) or {{a_name}} (NAMED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("size(self) >= 1 && size(self) <= 60").message("header.text must be 1 to 60 characters (Meta's limit)"))]
    #[x_kube(validation = Rule::new(r"size(self.findAll(r'\{\{')) <= 1").message("header.text can hold at most one variable (Meta's limit)"))]
    #[x_kube(validation = Rule::new(r"size(self.findAll(r'\{\{')) == size(self.findAll(r'\{\{(1|[a-z][a-z0-9_]*)\}\}')) && size(self.findAll(r'\}\}')) == size(self.findAll(r'\{\{(1|[a-z][a-z0-9_]*)\}\}'))").message("the header's variable is written {{1}} (POSITIONAL: the header numbers its own variable) or {{sale_date}} (NAMED: lowercase letters, digits and underscores, starting with a letter)"))]
    #[schemars(length(max = 4096))]
    pub text: Option<String>,
    /// Example value of the header's {{1}} (POSITIONAL), required when the text has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub example: Option<String>,
    /// Name and example value of the header's named variable (NAMED), required when the text
    /// has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named_example: Option<NamedExample>,
    /// Handle of a sample media file uploaded with Meta's resumable upload API (IMAGE, VIDEO,
    /// DOCUMENT: required; other formats: not allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub example_handle: Option<String>,
}

/// The digits '0'..'9' as a CEL list literal. `POSITIONAL_DIGITS.all(t, POSITIONAL_DIGITS.all(o,
/// ...))` visits 0..99: `int(t + o)` is the number and `'{{' + (t == '0' ? o : t + o) + '}}'` its
/// variable. CEL's cost estimator can size these (unlike `string(n)`), so the rule stays within
/// the apiserver's budget.
const POSITIONAL_DIGITS: &str = "['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']";

/// Every {{n}} of the body text has its example: n <= size(examples).
fn body_variables_have_examples() -> Rule {
    Rule::new(
        "!has(self.text) || (DIGITS.all(t, DIGITS.all(o, !self.text.contains('{{' + (t == '0' ? o : t + o) + '}}') || int(t + o) <= (has(self.examples) ? size(self.examples) : 0))) && (!self.text.contains('{{100}}') || (has(self.examples) && size(self.examples) >= 100)))"
            .replace("DIGITS", POSITIONAL_DIGITS),
    )
    .message("every numbered variable of body.text needs its value in body.examples: examples lists the values of {{1}}, {{2}}... in order, so a text using {{3}} needs 3 examples")
}

/// Every example has its variable: for n examples the text uses each of {{1}}..{{n}}.
fn body_examples_have_variables() -> Rule {
    Rule::new(
        "!has(self.examples) || (has(self.text) && DIGITS.all(t, DIGITS.all(o, int(t + o) == 0 || int(t + o) > size(self.examples) || self.text.contains('{{' + (t == '0' ? o : t + o) + '}}'))) && (size(self.examples) < 100 || self.text.contains('{{100}}')))"
            .replace("DIGITS", POSITIONAL_DIGITS),
    )
    .message("body.examples must hold exactly one value per numbered variable: the text uses each of {{1}} to {{N}} for N examples, without skipping a number (Meta refuses {{1}} and {{3}} without {{2}})")
}

/// The body: the message text with examples for every variable.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = body_variables_have_examples())]
#[x_kube(validation = body_examples_have_variables())]
#[x_kube(validation = Rule::new(r"!has(self.text) || (has(self.namedExamples) ? self.namedExamples.map(e, size(self.text.split('{{' + e.name + '}}')) - 1).sum() : 0) == size(self.text.findAll(r'\{\{[a-z][a-z0-9_]*\}\}'))").message("every named variable of body.text needs a namedExamples entry with its name and an example value, e.g. {name: order_id, example: \"12345\"} for {{order_id}}"))]
#[x_kube(validation = Rule::new("!has(self.namedExamples) || self.namedExamples.all(e, has(self.text) && self.text.contains('{{' + e.name + '}}'))").message("every namedExamples entry must name a variable that body.text uses: add {{its_name}} to the text or remove the entry"))]
pub struct TemplateBody {
    /// The message text, 1 to 1024 characters. It must not start or end with a variable.
    /// POSITIONAL variables are {{1}}, {{2}}... numbered without gaps (at most {{100}}); NAMED
    /// ones are {{order_id}}-style names. AUTHENTICATION templates have no text: Meta writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("size(self) >= 1 && size(self) <= 1024").message("body.text must be 1 to 1024 characters (Meta's limit)"))]
    #[x_kube(validation = Rule::new(r"size(self.findAll(r'\{\{')) == size(self.findAll(r'\{\{([1-9][0-9]?|100|[a-z][a-z0-9_]*)\}\}')) && size(self.findAll(r'\}\}')) == size(self.findAll(r'\{\{([1-9][0-9]?|100|[a-z][a-z0-9_]*)\}\}'))").message("body.text has a malformed variable: write {{1}}, {{2}}... (POSITIONAL: 1 to 100, no leading zeros) or {{order_id}} (NAMED: lowercase letters, digits and underscores, starting with a letter), with two braces on each side"))]
    #[x_kube(validation = Rule::new(r"!self.matches(r'^\s*\{\{[^{}]*\}\}')").message("body.text must not start with a variable (Meta refuses it): put some words before it"))]
    #[x_kube(validation = Rule::new(r"!self.matches(r'\{\{[^{}]*\}\}[\s\p{P}]*$')").message("body.text must not end with a variable, even one followed by punctuation (Meta refuses it): put some words after it"))]
    #[schemars(length(max = 2048))]
    pub text: Option<String>,
    /// Example values of {{1}}, {{2}}... in order (POSITIONAL): exactly one per variable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), inner(length(min = 1, max = 1024)))]
    pub examples: Vec<String>,
    /// Example values of each named variable (NAMED): exactly one entry per variable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(validation = Rule::new("self.all(e, size(self.filter(f, f.name == e.name)) == 1)").message("namedExamples lists each variable once"))]
    #[schemars(length(max = 100))]
    pub named_examples: Vec<NamedExample>,
    /// Authentication templates only: add "For your security, do not share this code."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_security_recommendation: Option<bool>,
}

/// The footer: text, or (authentication) the code's expiry.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.text) || has(self.codeExpirationMinutes)").message("a footer needs text (or, in AUTHENTICATION templates, codeExpirationMinutes); leave the footer out otherwise"))]
pub struct TemplateFooter {
    /// Footer text, 1 to 60 characters, without variables (not in AUTHENTICATION templates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("size(self) >= 1 && size(self) <= 60").message("footer.text must be 1 to 60 characters (Meta's limit)"))]
    #[x_kube(validation = Rule::new(r"!self.matches(r'\{\{|\}\}')").message("footer.text cannot hold variables: Meta fills in no footer"))]
    #[schemars(length(max = 4096))]
    pub text: Option<String>,
    /// Authentication templates only: minutes the code is valid, 1 to 90 ("This code expires in
    /// N minutes.").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 90").message("codeExpirationMinutes must be 1 to 90 (Meta's limit)"))]
    pub code_expiration_minutes: Option<i64>,
}

/// Button kinds Meta documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ButtonType {
    QuickReply,
    Url,
    PhoneNumber,
    CopyCode,
    Otp,
    Flow,
    Catalog,
    Mpm,
    VoiceCall,
}

impl ButtonType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::QuickReply => "QUICK_REPLY",
            Self::Url => "URL",
            Self::PhoneNumber => "PHONE_NUMBER",
            Self::CopyCode => "COPY_CODE",
            Self::Otp => "OTP",
            Self::Flow => "FLOW",
            Self::Catalog => "CATALOG",
            Self::Mpm => "MPM",
            Self::VoiceCall => "VOICE_CALL",
        }
    }
}

/// How an authentication template's code button works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OtpType {
    CopyCode,
    OneTap,
    ZeroTap,
}

impl OtpType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::CopyCode => "COPY_CODE",
            Self::OneTap => "ONE_TAP",
            Self::ZeroTap => "ZERO_TAP",
        }
    }
}

/// One button. Which fields apply depends on `type`; the others are refused.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(self.type in ['QUICK_REPLY', 'URL', 'PHONE_NUMBER', 'FLOW', 'VOICE_CALL']) || has(self.text)").message("QUICK_REPLY, URL, PHONE_NUMBER, FLOW and VOICE_CALL buttons need text: the label, at most 25 characters"))]
#[x_kube(validation = Rule::new("self.type != 'COPY_CODE' || !has(self.text)").message("COPY_CODE buttons have no text: WhatsApp labels them itself"))]
#[x_kube(validation = Rule::new("self.type != 'URL' || has(self.url)").message("URL buttons need url: the https:// address the button opens"))]
#[x_kube(validation = Rule::new("self.type == 'URL' || !has(self.url)").message("url is only for URL buttons"))]
#[x_kube(validation = Rule::new("self.type != 'URL' || !has(self.url) || !self.url.endsWith('{{1}}') || has(self.example)").message("a URL button whose url ends in {{1}} needs example: the whole address with {{1}} filled in, e.g. https://shop.example/orders/12345"))]
#[x_kube(validation = Rule::new("self.type in ['URL', 'COPY_CODE'] || !has(self.example)").message("example is only for URL buttons (the address with its variable filled in) and COPY_CODE buttons (a sample code)"))]
#[x_kube(validation = Rule::new("self.type != 'COPY_CODE' || (has(self.example) && size(self.example) >= 1 && size(self.example) <= 15)").message("COPY_CODE buttons need example: a sample code of 1 to 15 characters, e.g. SUMMER25"))]
#[x_kube(validation = Rule::new("self.type != 'PHONE_NUMBER' || has(self.phoneNumber)").message("PHONE_NUMBER buttons need phoneNumber: the number to call, with its country code"))]
#[x_kube(validation = Rule::new("self.type == 'PHONE_NUMBER' || !has(self.phoneNumber)").message("phoneNumber is only for PHONE_NUMBER buttons"))]
#[x_kube(validation = Rule::new("self.type != 'OTP' || has(self.otpType)").message("OTP buttons need otpType: COPY_CODE, ONE_TAP or ZERO_TAP"))]
#[x_kube(validation = Rule::new("self.type == 'OTP' || (!has(self.otpType) && !has(self.supportedApps) && !has(self.zeroTapTermsAccepted))").message("otpType, supportedApps and zeroTapTermsAccepted are only for OTP buttons"))]
#[x_kube(validation = Rule::new("!has(self.otpType) || self.otpType == 'COPY_CODE' || (has(self.supportedApps) && size(self.supportedApps) >= 1)").message("ONE_TAP and ZERO_TAP buttons need supportedApps: the Android apps (packageName and signatureHash) that receive the code"))]
#[x_kube(validation = Rule::new("!has(self.supportedApps) || !has(self.otpType) || self.otpType != 'COPY_CODE'").message("supportedApps is only for ONE_TAP and ZERO_TAP buttons: a COPY_CODE button hands the code to no app"))]
#[x_kube(validation = Rule::new("!has(self.otpType) || self.otpType != 'ZERO_TAP' || (has(self.zeroTapTermsAccepted) && self.zeroTapTermsAccepted)").message("ZERO_TAP buttons need zeroTapTermsAccepted: true, your acceptance of Meta's zero-tap terms"))]
#[x_kube(validation = Rule::new("!has(self.zeroTapTermsAccepted) || (has(self.otpType) && self.otpType == 'ZERO_TAP')").message("zeroTapTermsAccepted is only for ZERO_TAP buttons"))]
#[x_kube(validation = Rule::new("self.type != 'FLOW' || has(self.flowId)").message("FLOW buttons need flowId: the Flow's ID at Meta"))]
#[x_kube(validation = Rule::new("self.type == 'FLOW' || (!has(self.flowId) && !has(self.flowAction) && !has(self.navigateScreen))").message("flowId, flowAction and navigateScreen are only for FLOW buttons"))]
#[x_kube(validation = Rule::new("!has(self.navigateScreen) || !has(self.flowAction) || self.flowAction == 'navigate'").message("navigateScreen only goes with flowAction navigate"))]
pub struct TemplateButton {
    /// QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, FLOW, CATALOG, MPM or VOICE_CALL.
    #[serde(rename = "type")]
    pub type_: ButtonType,
    /// The button's label, 1 to 25 characters, without variables: required for QUICK_REPLY,
    /// URL, PHONE_NUMBER, FLOW and VOICE_CALL; not allowed for COPY_CODE; Meta's default when
    /// left out of OTP, CATALOG and MPM buttons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("size(self) >= 1 && size(self) <= 25").message("button text must be 1 to 25 characters (Meta's limit)"))]
    #[x_kube(validation = Rule::new(r"!self.matches(r'\{\{|\}\}')").message("button text cannot hold variables"))]
    #[schemars(length(max = 1024))]
    pub text: Option<String>,
    /// URL: the address, https, at most 2000 characters, optionally ending in one {{1}}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("size(self) <= 2000").message("url must be at most 2000 characters (Meta's limit)"))]
    #[x_kube(validation = Rule::new("self.startsWith('https://')").message("url must be an https:// address"))]
    #[x_kube(validation = Rule::new(r"size(self.findAll(r'\{\{|\}\}')) == 0 || (size(self.findAll(r'\{\{|\}\}')) == 2 && self.endsWith('{{1}}'))").message("url can hold one variable, {{1}}, and only at its end, e.g. https://shop.example/orders/{{1}}"))]
    #[schemars(length(max = 4096))]
    pub url: Option<String>,
    /// URL: an example of the whole address with its variable filled in (required when the url
    /// ends in {{1}}). COPY_CODE: an example code, 1 to 15 characters (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub example: Option<String>,
    /// PHONE_NUMBER: the number to call, with its country code, at most 20 characters, e.g.
    /// +15550051310 (spaces, dashes, dots and parentheses are allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("size(self) <= 20").message("phoneNumber must be at most 20 characters (Meta's limit)"))]
    #[x_kube(validation = Rule::new(r"self.matches(r'^\+?[1-9][0-9 ().-]*$')").message("phoneNumber must be the number with its country code: digits with optional spaces, dashes, dots or parentheses and an optional leading +, e.g. +15550051310"))]
    #[x_kube(validation = Rule::new("self.matches('^[^0-9]*([0-9][^0-9]*){8,15}$')").message("phoneNumber must have 8 to 15 digits including the country code (E.164)"))]
    #[schemars(length(max = 32))]
    pub phone_number: Option<String>,
    /// OTP: COPY_CODE, ONE_TAP or ZERO_TAP (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_type: Option<OtpType>,
    /// OTP one-tap and zero-tap (required there, not allowed otherwise): the Android apps that
    /// receive the code, at most 5.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5))]
    pub supported_apps: Vec<SupportedApp>,
    /// OTP zero-tap (required there, and true): the user accepted Meta's zero-tap terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zero_tap_terms_accepted: Option<bool>,
    /// FLOW: the Flow's ID at Meta (required), digits only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]+$')").message("flowId must be the Flow's numeric ID at Meta, e.g. \"1234567890123456\""))]
    #[schemars(length(max = 64))]
    pub flow_id: Option<String>,
    /// FLOW: navigate (Meta's default) or data_exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self in ['navigate', 'data_exchange']").message("flowAction must be navigate or data_exchange"))]
    #[schemars(length(max = 32))]
    pub flow_action: Option<String>,
    /// FLOW: the first screen, for the navigate action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub navigate_screen: Option<String>,
}

/// An Android app that receives one-tap or zero-tap codes.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedApp {
    /// The app's package name, e.g. com.example.bank.
    #[x_kube(validation = Rule::new(r"self.matches(r'^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$')").message("packageName must be an Android package name: two or more parts separated by dots, each starting with a letter, e.g. com.example.bank"))]
    #[schemars(length(min = 1, max = 224))]
    pub package_name: String,
    /// The app's 11-character signing key hash.
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9+/]{11}$')").message("signatureHash must be the app's 11-character signing key hash (letters, digits, + and /)"))]
    #[schemars(length(min = 11, max = 11))]
    pub signature_hash: String,
}

/// Meta's view of the template plus the operator's progress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhatsAppMessageTemplateStatus {
    /// Generation of the spec the status reflects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready (APPROVED and sendable), Synced and Stalled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// Meta's template ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,

    /// Meta's status, verbatim: APPROVED, PENDING, REJECTED, PAUSED, DISABLED, IN_APPEAL,
    /// LIMIT_EXCEEDED, ARCHIVED, PENDING_DELETION, DELETED...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,

    /// Meta's current category (it may differ from the spec's when Meta re-categorised it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,

    /// The category before Meta's last change, when Meta changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_category: Option<String>,

    /// A category change Meta announced (template_category_update): the category it moves to
    /// and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_change: Option<CategoryChange>,

    /// Meta's quality score: GREEN, YELLOW, RED or UNKNOWN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_score: Option<String>,

    /// Why Meta rejected the template, with its recommendation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<TemplateRejection>,

    /// Why Meta paused the template (FIRST_PAUSE, SECOND_PAUSE, RATE_LIMITING_PAUSE...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<TemplatePause>,

    /// When Meta disabled the template (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<Time>,

    /// The operator's writes of this template: what it submitted, its edits and the write in
    /// flight. Survives restarts so a template is never created twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission: Option<TemplateSubmission>,

    /// When the operator applied the newest webhook notice of each part of status
    /// (template/status, template/quality, template/category), by its own clock: a read of
    /// Meta that began earlier cannot override what the notice said.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub notices_applied_at: std::collections::BTreeMap<String, Time>,

    /// Sync bookkeeping.
    #[serde(default, flatten)]
    pub sync: SyncStatus,

    /// Webhook notices waiting and the delivery times of those applied.
    #[serde(default, flatten)]
    pub webhook: super::WebhookRecord,
}

/// An announced category change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryChange {
    /// The category Meta will give the template.
    pub correct_category: String,
    /// When Meta will change it (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
}

/// Meta's rejection of a template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRejection {
    /// Meta's reason: ABUSIVE_CONTENT, INCORRECT_CATEGORY, INVALID_FORMAT, PROMOTIONAL, SCAM,
    /// TAG_CONTENT_MISMATCH...
    pub reason: String,
    /// Meta's recommendation, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
}

/// Meta's pause of a template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplatePause {
    /// FIRST_PAUSE, SECOND_PAUSE, RATE_LIMITING_PAUSE...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Meta's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When it was paused (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
}

/// What the operator wrote to Meta for this template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSubmission {
    /// Fingerprint of the content last submitted (category, format, components), so a rejected
    /// template is submitted again only once its spec changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// When it was created at Meta by the operator (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    /// When content was last sent to Meta (create or edit, RFC 3339): a read older than this
    /// cannot show it yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<Time>,
    /// Edits of the approved template (RFC 3339), newest last, kept 30 days: Meta allows one per
    /// 24 hours and ten per 30 days.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<Time>,
    /// The write in flight: its intent is in status, Meta's answer not yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<TemplateWriteInFlight>,
    /// No write before this time (RFC 3339): Meta's limits or a failure's backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Time>,
    /// Consecutive failed writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i32>", range(min = 0))]
    pub failures: Option<u32>,
    /// What the last failed write said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A write whose call to Meta has left and not been answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateWriteInFlight {
    /// create, edit or delete.
    pub action: String,
    /// Fingerprint of the content sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// When its intent was written (RFC 3339).
    pub started_at: Time,
}
