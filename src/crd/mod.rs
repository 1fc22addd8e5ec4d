//! The operator's custom resources (`whatsapp-operator.io/v1alpha1`).

// Each printcolumn repeats `type_ = "string"`, which clippy mistakes for a duplicated attribute.
#[allow(clippy::duplicated_attributes)]
mod account;
#[allow(clippy::duplicated_attributes)]
mod channel;
mod common;
mod interval;
#[allow(clippy::duplicated_attributes)]
mod template;

pub use account::*;
pub use channel::*;
pub use common::*;
pub use interval::Interval;
pub use template::*;

use kube::CustomResourceExt;

/// API group of the resources.
pub const GROUP: &str = "whatsapp-operator.io";

/// Annotation that forces an immediate sync; its value is echoed in `status.lastHandledReconcileAt`.
pub const RECONCILE_REQUESTED_AT: &str = "whatsapp-operator.io/reconcile-requested-at";

/// Annotation that stops every call to Meta for the resource (reads and writes) while it is
/// `"true"`; removing it resumes.
pub const PAUSED_ANNOTATION: &str = "whatsapp-operator.io/paused";

/// Whether the resource carries `PAUSED_ANNOTATION: "true"`.
pub fn is_paused(meta: &kube::core::ObjectMeta) -> bool {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(PAUSED_ANNOTATION))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Finalizer guarding channel clean-up at Meta.
pub const CHANNEL_FINALIZER: &str = "whatsapp-operator.io/cleanup";

/// The CRDs as a multi-document YAML stream, exactly what `crds/` holds.
pub fn crds_yaml() -> Result<String, serde_saphyr::ser::Error> {
    let mut out = String::new();
    for crd in [
        WhatsAppBusinessAccount::crd(),
        WhatsAppChannel::crd(),
        WhatsAppMessageTemplate::crd(),
    ] {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&crd)?);
    }
    Ok(out)
}
