//! whatsapp-operator: WhatsApp Business phone numbers as Kubernetes custom resources.

pub mod cli;
pub mod controller;
pub mod crd;
pub mod decide;
pub mod graph;
pub mod http;
pub mod meta;
pub mod metrics;
pub mod phone;
pub mod run;
mod text;
pub mod webhook;
