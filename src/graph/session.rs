//! The Graph calls of one WABA, made with one token.

use std::collections::HashSet;

use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::warn;

use super::client::{Call, GraphClient, Param, Target, Verb};
use crate::meta::model::{PhoneNumber, SubscribedApp, TokenInfo, WabaSnapshot, decode_numbers};
use crate::meta::profile::{BusinessProfileData, PROFILE_FIELDS};
use crate::meta::template::{TEMPLATE_FIELDS, TemplateContent, decode_templates};
use crate::meta::{ErrorClass, GraphError};

/// Fields read for every phone number, health included.
pub const NUMBER_FIELDS: &str = "id,display_phone_number,verified_name,status,quality_rating,\
quality_score,messaging_limit_tier,whatsapp_business_manager_messaging_limit,name_status,\
new_name_status,code_verification_status,platform_type,throughput,account_mode,is_on_biz_app,\
is_pin_enabled,last_onboarded_time,health_status";

/// Fields read for the WABA itself.
pub const WABA_FIELDS: &str = "id,name,account_review_status,business_verification_status,\
ownership_type,whatsapp_business_manager_messaging_limit,health_status,owner_business_info";

/// Templates per page of the WABA read's `message_templates` expansion.
const TEMPLATE_PAGE: u32 = 100;

/// Stops a misbehaving pager; at Meta's default page size this is thousands of numbers.
const MAX_PAGES: usize = 200;

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize, Default)]
struct Paging {
    #[serde(default)]
    cursors: Option<Cursors>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize, Default)]
struct Cursors {
    #[serde(default)]
    after: Option<String>,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct Success {
    #[serde(default)]
    success: Option<bool>,
}

#[derive(Deserialize)]
struct DataEnvelope<T> {
    data: T,
}

/// Calls about one WABA. `Debug` shows the WABA id, never the token.
#[derive(Debug, Clone)]
pub struct WabaSession {
    client: GraphClient,
    waba_id: String,
    token: SecretString,
}

/// Graph ids are numeric; anything that could bend the URL path is refused before sending.
fn checked_id(endpoint: &'static str, id: &str) -> Result<(), GraphError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(GraphError::local(
            ErrorClass::InvalidRequest,
            endpoint,
            "Graph id must be alphanumeric",
        ))
    }
}

impl WabaSession {
    pub(crate) fn new(client: GraphClient, waba_id: String, token: SecretString) -> Self {
        Self {
            client,
            waba_id,
            token,
        }
    }

    /// The token this session calls with, for a write handed to the executor.
    pub(crate) fn token(&self) -> &SecretString {
        &self.token
    }

    pub fn waba_id(&self) -> &str {
        &self.waba_id
    }

    async fn send<T: DeserializeOwned>(&self, call: &Call) -> Result<T, GraphError> {
        self.client.execute(&self.waba_id, &self.token, call).await
    }

    /// Runs one logical call and reports its outcome once.
    async fn observed<T>(
        &self,
        endpoint: &'static str,
        fut: impl Future<Output = Result<T, GraphError>>,
    ) -> Result<T, GraphError> {
        let result = fut.await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.class.as_str(),
        };
        self.client.observe(endpoint, outcome);
        result
    }

    async fn post_success(&self, call: Call) -> Result<(), GraphError> {
        let endpoint = call.endpoint;
        let answer: Success = self.send(&call).await?;
        if answer.success == Some(false) {
            return Err(GraphError::local(
                ErrorClass::Other,
                endpoint,
                "Graph answered success=false",
            ));
        }
        Ok(())
    }

    fn number_call(
        &self,
        endpoint: &'static str,
        verb: Verb,
        phone_number_id: &str,
        edge: Option<&str>,
    ) -> Result<Call, GraphError> {
        checked_id(endpoint, phone_number_id)?;
        let path = match edge {
            Some(edge) => format!("{phone_number_id}/{edge}"),
            None => phone_number_id.to_owned(),
        };
        Ok(Call::new(endpoint, verb, path))
    }

    fn waba_call(
        &self,
        endpoint: &'static str,
        verb: Verb,
        edge: Option<&str>,
    ) -> Result<Call, GraphError> {
        checked_id(endpoint, &self.waba_id)?;
        let path = match edge {
            Some(edge) => format!("{}/{edge}", self.waba_id),
            None => self.waba_id.clone(),
        };
        Ok(Call::new(endpoint, verb, path))
    }

    /// The WABA with all its numbers and their health: one request by field expansion, then
    /// the `phone_numbers` pages Meta links to.
    pub async fn read_waba(&self) -> Result<WabaSnapshot, GraphError> {
        self.observed("read_waba", self.read_waba_inner(false))
            .await
    }

    /// `read_waba` with the WABA's message templates in the same request (the
    /// `message_templates` expansion), their pages followed too.
    pub async fn read_waba_and_templates(&self) -> Result<WabaSnapshot, GraphError> {
        self.observed("read_waba", self.read_waba_inner(true)).await
    }

    async fn read_waba_inner(&self, templates: bool) -> Result<WabaSnapshot, GraphError> {
        const EP: &str = "read_waba";
        let mut fields = format!("{WABA_FIELDS},phone_numbers{{{NUMBER_FIELDS}}}");
        if templates {
            fields.push_str(&format!(
                ",message_templates.limit({TEMPLATE_PAGE}){{{TEMPLATE_FIELDS}}}"
            ));
        }
        let call = self
            .waba_call(EP, Verb::Get, None)?
            .query("fields", Param::text(&fields));
        let mut raw: serde_json::Map<String, Value> = self.send(&call).await?;
        let first_numbers = raw.remove("phone_numbers");
        let first_templates = raw.remove("message_templates");
        let mut snapshot: WabaSnapshot = serde_json::from_value(Value::Object(raw))
            .map_err(|e| GraphError::decode(EP, 200, &e))?;
        if let Some(first) = first_numbers {
            let raw_numbers = self
                .follow_pages(first, "phone_numbers", NUMBER_FIELDS)
                .await?;
            let (numbers, malformed) = decode_numbers(raw_numbers);
            for m in &malformed {
                warn!(phone_number_id = ?m.id, error = %m.error, "a number of the WABA did not decode");
            }
            snapshot.phone_numbers = numbers;
            snapshot.malformed_numbers = malformed;
        }
        if templates {
            // A WABA without templates may leave the edge out altogether.
            let raw_templates = match first_templates {
                Some(first) => {
                    self.follow_pages(first, "message_templates", TEMPLATE_FIELDS)
                        .await?
                }
                None => Vec::new(),
            };
            let (found, malformed) = decode_templates(raw_templates);
            for m in &malformed {
                warn!(template = ?m.name, language = ?m.language, error = %m.error, "a template of the WABA did not decode");
            }
            snapshot.message_templates = Some(found);
            snapshot.malformed_templates = malformed;
        }
        Ok(snapshot)
    }

    /// Every record of an expanded edge: the first page as the WABA read returned it, then the
    /// pages Meta links to (or, for a link elsewhere, the same page asked for by cursor).
    async fn follow_pages(
        &self,
        first: Value,
        edge: &'static str,
        fields: &str,
    ) -> Result<Vec<Value>, GraphError> {
        const EP: &str = "read_waba";
        let mut page: Page<Value> =
            serde_json::from_value(first).map_err(|e| GraphError::decode(EP, 200, &e))?;
        let mut seen = HashSet::new();
        let mut records = Vec::new();
        loop {
            records.append(&mut page.data);
            let paging = page.paging.unwrap_or_default();
            let Some(next) = paging.next else { break };
            if !seen.insert(next.clone()) || seen.len() > MAX_PAGES {
                return Err(GraphError::local(
                    ErrorClass::Other,
                    EP,
                    format!("{edge} paging does not end"),
                ));
            }
            let call = match self.client.trusted_link(&next) {
                Some(url) => {
                    let mut call = Call::new(EP, Verb::Get, String::new());
                    call.target = Target::Link(url);
                    call
                }
                None => {
                    // A link elsewhere must not receive the token: ask for the same page by
                    // cursor instead.
                    let after = paging.cursors.and_then(|c| c.after).ok_or_else(|| {
                        GraphError::local(
                            ErrorClass::Other,
                            EP,
                            format!("{edge} paging link points elsewhere and has no cursor"),
                        )
                    })?;
                    self.waba_call(EP, Verb::Get, Some(edge))?
                        .query("fields", Param::text(fields))
                        .query("after", Param::text(&after))
                }
            };
            page = self.send(&call).await?;
        }
        Ok(records)
    }

    pub async fn read_number(&self, phone_number_id: &str) -> Result<PhoneNumber, GraphError> {
        self.observed("read_number", async {
            let call = self
                .number_call("read_number", Verb::Get, phone_number_id, None)?
                .query("fields", Param::text(NUMBER_FIELDS));
            self.send(&call).await
        })
        .await
    }

    /// Adds a number to the WABA; returns the new phone number id.
    pub async fn add_number(
        &self,
        cc: &str,
        phone_number: &str,
        verified_name: &str,
    ) -> Result<String, GraphError> {
        self.observed("add_number", async {
            let call = self
                .waba_call("add_number", Verb::Post, Some("phone_numbers"))?
                .body("cc", Param::text(cc))
                .body("phone_number", Param::text(phone_number))
                .body("verified_name", Param::text(verified_name));
            let created: Created = self.send(&call).await?;
            Ok(created.id)
        })
        .await
    }

    /// Asks Meta to send the ownership code by `method` (`SMS` or `VOICE`).
    pub async fn request_code(
        &self,
        phone_number_id: &str,
        method: &str,
        language: &str,
    ) -> Result<(), GraphError> {
        self.observed("request_code", async {
            let method = method.trim().to_ascii_uppercase();
            if !matches!(method.as_str(), "SMS" | "VOICE") {
                return Err(GraphError::local(
                    ErrorClass::InvalidRequest,
                    "request_code",
                    "code method must be SMS or VOICE",
                ));
            }
            let call = self
                .number_call(
                    "request_code",
                    Verb::Post,
                    phone_number_id,
                    Some("request_code"),
                )?
                .body("code_method", Param::text(&method))
                .body("language", Param::text(language));
            self.post_success(call).await
        })
        .await
    }

    pub async fn verify_code(
        &self,
        phone_number_id: &str,
        code: &SecretString,
    ) -> Result<(), GraphError> {
        self.observed("verify_code", async {
            let call = self
                .number_call(
                    "verify_code",
                    Verb::Post,
                    phone_number_id,
                    Some("verify_code"),
                )?
                .body("code", Param::Secret(code.clone()));
            self.post_success(call).await
        })
        .await
    }

    /// Registers the number for Cloud API with its two-step PIN. Never retried: each attempt
    /// spends one of ten per 72 hours.
    pub async fn register(
        &self,
        phone_number_id: &str,
        pin: &SecretString,
    ) -> Result<(), GraphError> {
        self.observed("register", async {
            let call = self
                .number_call("register", Verb::Post, phone_number_id, Some("register"))?
                .body("messaging_product", Param::text("whatsapp"))
                .body("pin", Param::Secret(pin.clone()));
            self.post_success(call).await
        })
        .await
    }

    /// Creates a template (`POST /{waba-id}/message_templates`); returns Meta's id.
    pub async fn create_template(
        &self,
        name: &str,
        language: &str,
        content: &TemplateContent,
    ) -> Result<String, GraphError> {
        const EP: &str = "create_template";
        self.observed(EP, async {
            let mut call = self
                .waba_call(EP, Verb::Post, Some("message_templates"))?
                .body("name", Param::text(name))
                .body("language", Param::text(language));
            call = with_content(call, content, true);
            let created: Created = self.send(&call).await?;
            Ok(created.id)
        })
        .await
    }

    /// Edits a template's components (and TTL) in place (`POST /{template-id}`).
    pub async fn edit_template(
        &self,
        template_id: &str,
        content: &TemplateContent,
    ) -> Result<(), GraphError> {
        const EP: &str = "edit_template";
        self.observed(EP, async {
            checked_id(EP, template_id)?;
            let call = with_content(
                Call::new(EP, Verb::Post, template_id.to_owned()),
                content,
                false,
            );
            self.post_success(call).await
        })
        .await
    }

    /// Deletes one language of a template (`DELETE /{waba-id}/message_templates?name=&hsm_id=`).
    pub async fn delete_template(&self, name: &str, template_id: &str) -> Result<(), GraphError> {
        const EP: &str = "delete_template";
        self.observed(EP, async {
            checked_id(EP, template_id)?;
            let call = self
                .waba_call(EP, Verb::Delete, Some("message_templates"))?
                .query("name", Param::text(name))
                .query("hsm_id", Param::text(template_id));
            self.post_success(call).await
        })
        .await
    }

    pub async fn deregister(&self, phone_number_id: &str) -> Result<(), GraphError> {
        self.observed("deregister", async {
            let call = self.number_call(
                "deregister",
                Verb::Post,
                phone_number_id,
                Some("deregister"),
            )?;
            self.post_success(call).await
        })
        .await
    }

    /// Sets or changes the two-step verification PIN.
    pub async fn set_pin(
        &self,
        phone_number_id: &str,
        pin: &SecretString,
    ) -> Result<(), GraphError> {
        self.observed("set_pin", async {
            let call = self
                .number_call("set_pin", Verb::Post, phone_number_id, None)?
                .body("pin", Param::Secret(pin.clone()));
            self.post_success(call).await
        })
        .await
    }

    /// `POST /{phone-number-id}` with `new_display_name`: Meta reviews the name; the number keeps
    /// its current name meanwhile.
    pub async fn request_display_name(
        &self,
        phone_number_id: &str,
        name: &str,
    ) -> Result<(), GraphError> {
        self.observed("request_display_name", async {
            let call = self
                .number_call("request_display_name", Verb::Post, phone_number_id, None)?
                .body("new_display_name", Param::text(name));
            self.post_success(call).await
        })
        .await
    }

    pub async fn business_profile(
        &self,
        phone_number_id: &str,
    ) -> Result<BusinessProfileData, GraphError> {
        self.observed("get_profile", async {
            let call = self
                .number_call(
                    "get_profile",
                    Verb::Get,
                    phone_number_id,
                    Some("whatsapp_business_profile"),
                )?
                .query("fields", Param::text(PROFILE_FIELDS));
            let page: DataEnvelope<Vec<BusinessProfileData>> = self.send(&call).await?;
            Ok(page.data.into_iter().next().unwrap_or_default())
        })
        .await
    }

    /// Sends the `Some` fields of `update`.
    pub async fn update_business_profile(
        &self,
        phone_number_id: &str,
        update: &BusinessProfileData,
    ) -> Result<(), GraphError> {
        self.observed("update_profile", async {
            let mut call = self.number_call(
                "update_profile",
                Verb::Post,
                phone_number_id,
                Some("whatsapp_business_profile"),
            )?;
            for (k, v) in update.update_body() {
                call = call.body(k, Param::Plain(v));
            }
            self.post_success(call).await
        })
        .await
    }

    pub async fn subscribed_apps(&self) -> Result<Vec<SubscribedApp>, GraphError> {
        self.observed("subscribed_apps", async {
            let call = self.waba_call("subscribed_apps", Verb::Get, Some("subscribed_apps"))?;
            let page: DataEnvelope<Vec<SubscribedApp>> = self.send(&call).await?;
            Ok(page.data)
        })
        .await
    }

    /// Subscribes the token's app to the WABA's webhooks, optionally with a WABA-level
    /// override `(callback_uri, verify_token)`.
    pub async fn subscribe_app(
        &self,
        override_callback: Option<(&str, &SecretString)>,
    ) -> Result<(), GraphError> {
        self.observed("subscribe_app", async {
            let mut call = self.waba_call("subscribe_app", Verb::Post, Some("subscribed_apps"))?;
            if let Some((uri, verify_token)) = override_callback {
                call = call
                    .body("override_callback_uri", Param::text(uri))
                    .body("verify_token", Param::Secret(verify_token.clone()));
            }
            self.post_success(call).await
        })
        .await
    }

    pub async fn unsubscribe_app(&self) -> Result<(), GraphError> {
        self.observed("unsubscribe_app", async {
            let call = self.waba_call("unsubscribe_app", Verb::Delete, Some("subscribed_apps"))?;
            self.post_success(call).await
        })
        .await
    }

    /// Inspects the session's own token. Not counted against the WABA budget: Meta does not
    /// count it either.
    pub async fn debug_token(&self) -> Result<TokenInfo, GraphError> {
        self.observed("debug_token", async {
            let mut call = Call::new("debug_token", Verb::Get, "debug_token".to_owned())
                .query("input_token", Param::Secret(self.token.clone()));
            call.budgeted = false;
            let info: DataEnvelope<TokenInfo> = self.send(&call).await?;
            Ok(info.data)
        })
        .await
    }
}

/// The content of a create (category and format included) or an edit (Meta lets an edit change
/// only the components and the TTL; the category of an approved template is Meta's to change).
fn with_content(mut call: Call, content: &TemplateContent, create: bool) -> Call {
    if create {
        call = call
            .body("category", Param::text(&content.category))
            .body("parameter_format", Param::text(&content.parameter_format));
    }
    call = call.body(
        "components",
        Param::Plain(Value::Array(content.components.clone())),
    );
    if let Some(ttl) = content.message_send_ttl_seconds {
        call = call.body("message_send_ttl_seconds", Param::Plain(Value::from(ttl)));
    }
    call
}
