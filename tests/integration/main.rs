//! The integration suite: one binary, so one link and one control plane (etcd + kube-apiserver
//! on loopback, started on first use by the harness) for every scenario. Each module is one
//! area of behaviour; scenarios that need Kubernetes create their own namespace, and each starts
//! its own operator process and Meta simulator over real HTTP on 127.0.0.1.

mod api_docs;
mod chart;
mod chart_install;
mod claims;
mod cli;
mod control_plane;
mod crd_admission;
mod crd_drift;
mod graph_client;
mod leader;
mod parity;
mod pipeline;
mod registration;
mod sync;
mod templates;
mod webhook_receiver;
mod webhooks;
