//! What can go wrong in the plugin; every variant exits with code 2 (see `cli::exit`).

use thiserror::Error;

use super::target::Target;

#[derive(Debug, Error)]
pub enum CliError {
    /// The command line asks for something the resource cannot do (a channel without a code
    /// Secret, a code that is not Meta's shape...): the message says what to change.
    #[error("{0}")]
    Usage(String),
    #[error("cannot read the kubeconfig: {0}")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    #[error("cannot find a kubeconfig or an in-cluster service account: {0}")]
    InferConfig(#[source] kube::config::InferConfigError),
    #[error("cannot build a Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    #[error("{target} not found in namespace {namespace}")]
    NotFound { target: Target, namespace: String },
    /// A call to the apiserver failed; `what` says which.
    #[error("{what}: {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot render the document as {format}: {message}")]
    Render {
        format: &'static str,
        message: String,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl CliError {
    /// A failed apiserver call, with what was being done.
    pub fn api(what: impl Into<String>) -> impl FnOnce(kube::Error) -> Self {
        let what = what.into();
        move |source| Self::Api { what, source }
    }
}
