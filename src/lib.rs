//! whatsapp-operator: WhatsApp Business phone numbers as Kubernetes custom resources.

pub mod sim;
