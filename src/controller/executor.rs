//! The one door through which the operator writes to Meta. Controllers describe a write as a
//! [`MetaAction`] and hand it to the context's [`MetaExecutor`]; the real executor sends it
//! through the Graph client (exactly once: the client never retries writes), a test's fake is a
//! closure. Reads (the account's WABA read, the profile comparison, `debug_token`) stay with the
//! observing code.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use secrecy::SecretString;

use crate::graph::{BusinessProfileData, GraphClient};
use crate::meta::GraphError;
use crate::meta::template::TemplateContent;

/// A write to Meta on behalf of one WABA.
#[derive(Clone, Debug)]
pub enum MetaAction {
    /// Adds a number to the WABA; Meta answers with the new phone number id.
    AddNumber {
        cc: String,
        number: String,
        verified_name: String,
    },
    RequestCode {
        phone_number_id: String,
        method: &'static str,
        language: String,
    },
    VerifyCode {
        phone_number_id: String,
        code: SecretString,
    },
    Register {
        phone_number_id: String,
        pin: SecretString,
    },
    SetPin {
        phone_number_id: String,
        pin: SecretString,
    },
    RequestDisplayName {
        phone_number_id: String,
        name: String,
    },
    UpdateBusinessProfile {
        phone_number_id: String,
        update: BusinessProfileData,
    },
    Deregister {
        phone_number_id: String,
    },
    /// Subscribes the token's app to the WABA's webhooks, optionally with a WABA-level override
    /// `(callback_uri, verify_token)`.
    SubscribeApp {
        override_callback: Option<(String, SecretString)>,
    },
    /// Creates a message template; Meta reviews it.
    CreateTemplate {
        name: String,
        language: String,
        content: TemplateContent,
    },
    /// Replaces a template's components (and TTL).
    EditTemplate {
        template_id: String,
        content: TemplateContent,
    },
    /// Deletes one language of a template.
    DeleteTemplate {
        name: String,
        template_id: String,
    },
}

impl MetaAction {
    /// Bounded name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::AddNumber { .. } => "add_number",
            Self::RequestCode { .. } => "request_code",
            Self::VerifyCode { .. } => "verify_code",
            Self::Register { .. } => "register",
            Self::SetPin { .. } => "set_pin",
            Self::RequestDisplayName { .. } => "request_display_name",
            Self::UpdateBusinessProfile { .. } => "update_profile",
            Self::Deregister { .. } => "deregister",
            Self::SubscribeApp { .. } => "subscribe_app",
            Self::CreateTemplate { .. } => "create_template",
            Self::EditTemplate { .. } => "edit_template",
            Self::DeleteTemplate { .. } => "delete_template",
        }
    }
}

/// Where a write goes: the WABA and the token that may write to it.
pub struct Target<'a> {
    pub waba_id: &'a str,
    pub token: SecretString,
}

impl fmt::Debug for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("waba_id", &self.waba_id)
            .finish_non_exhaustive()
    }
}

/// Executes writes to Meta. `Fn(&str, &MetaAction) -> Result<(), GraphError>` closures are
/// executors too, which is all a test's fake needs.
pub trait MetaExecutor: Send + Sync {
    fn execute<'a>(
        &'a self,
        target: Target<'a>,
        action: &'a MetaAction,
    ) -> BoxFuture<'a, Result<(), GraphError>>;
}

impl<F> MetaExecutor for F
where
    F: Fn(&str, &MetaAction) -> Result<(), GraphError> + Send + Sync,
{
    fn execute<'a>(
        &'a self,
        target: Target<'a>,
        action: &'a MetaAction,
    ) -> BoxFuture<'a, Result<(), GraphError>> {
        let result = self(target.waba_id, action);
        Box::pin(async move { result })
    }
}

/// The executor of a running operator: Meta's Graph API.
pub struct GraphExecutor(pub GraphClient);

impl MetaExecutor for GraphExecutor {
    fn execute<'a>(
        &'a self,
        target: Target<'a>,
        action: &'a MetaAction,
    ) -> BoxFuture<'a, Result<(), GraphError>> {
        Box::pin(async move {
            let session = self.0.session(target.waba_id, target.token);
            match action {
                MetaAction::AddNumber {
                    cc,
                    number,
                    verified_name,
                } => session
                    .add_number(cc, number, verified_name)
                    .await
                    .map(|_| ()),
                MetaAction::RequestCode {
                    phone_number_id,
                    method,
                    language,
                } => {
                    session
                        .request_code(phone_number_id, method, language)
                        .await
                }
                MetaAction::VerifyCode {
                    phone_number_id,
                    code,
                } => session.verify_code(phone_number_id, code).await,
                MetaAction::Register {
                    phone_number_id,
                    pin,
                } => session.register(phone_number_id, pin).await,
                MetaAction::SetPin {
                    phone_number_id,
                    pin,
                } => session.set_pin(phone_number_id, pin).await,
                MetaAction::RequestDisplayName {
                    phone_number_id,
                    name,
                } => session.request_display_name(phone_number_id, name).await,
                MetaAction::UpdateBusinessProfile {
                    phone_number_id,
                    update,
                } => {
                    session
                        .update_business_profile(phone_number_id, update)
                        .await
                }
                MetaAction::Deregister { phone_number_id } => {
                    session.deregister(phone_number_id).await
                }
                MetaAction::SubscribeApp { override_callback } => {
                    session
                        .subscribe_app(override_callback.as_ref().map(|(u, t)| (u.as_str(), t)))
                        .await
                }
                MetaAction::CreateTemplate {
                    name,
                    language,
                    content,
                } => session
                    .create_template(name, language, content)
                    .await
                    .map(|_| ()),
                MetaAction::EditTemplate {
                    template_id,
                    content,
                } => session.edit_template(template_id, content).await,
                MetaAction::DeleteTemplate { name, template_id } => {
                    session.delete_template(name, template_id).await
                }
            }
        })
    }
}

/// The executor a context holds.
pub type SharedExecutor = Arc<dyn MetaExecutor>;

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test]
    async fn a_closure_is_an_executor_and_sees_every_action_once() {
        let seen = Mutex::new(Vec::new());
        let fake = |waba: &str, a: &MetaAction| {
            seen.lock().unwrap().push(format!("{waba}:{}", a.name()));
            Ok(())
        };
        let action = MetaAction::Deregister {
            phone_number_id: "1".into(),
        };
        let target = Target {
            waba_id: "w",
            token: SecretString::from("t"),
        };
        assert_eq!(fake.execute(target, &action).await, Ok(()));
        assert_eq!(*seen.lock().unwrap(), vec!["w:deregister".to_string()]);
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let action = MetaAction::Register {
            phone_number_id: "1".into(),
            pin: SecretString::from("918273"),
        };
        let target = Target {
            waba_id: "w",
            token: SecretString::from("EAAGsecret"),
        };
        let shown = format!("{action:?} {target:?}");
        assert!(!shown.contains("918273"), "{shown}");
        assert!(!shown.contains("EAAGsecret"), "{shown}");
    }
}
