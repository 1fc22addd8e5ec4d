use thiserror::Error;

/// Failures of the controllers' Kubernetes side. Meta's failures are observations for decide,
/// not errors, so they surface in status instead.
#[derive(Debug, Error)]
pub enum Error {
    #[error("reading Secret {namespace}/{name}: {source}")]
    ReadSecret {
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("creating Secret {namespace}/{name}: {source}")]
    CreateSecret {
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("applying status of {kind} {namespace}/{name}: {source}")]
    ApplyStatus {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error(
        "{kind} {namespace}/{name} changed since it was read (a newer write, by this or another \
         process): its status is decided again on the fresh object"
    )]
    Conflict {
        kind: String,
        namespace: String,
        name: String,
    },
    #[error("the reconcile of {kind} {namespace}/{name} panicked (a bug: please report it)")]
    Panicked {
        kind: &'static str,
        namespace: String,
        name: String,
    },
    #[error("serializing status of {kind} {namespace}/{name}: {source}")]
    SerializeStatus {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("reading {kind} {namespace}/{name}: {source}")]
    ReadObject {
        kind: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error(transparent)]
    Finalizer(Box<kube::runtime::finalizer::Error<Error>>),
    #[error("cleaning up {namespace}/{name} at Meta: {message}")]
    Cleanup {
        namespace: String,
        name: String,
        message: String,
    },
    #[error("{kind} has no namespace")]
    NotNamespaced { kind: String },
}

impl Error {
    /// Bounded label for the reconcile metric.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::ReadSecret { .. } | Self::CreateSecret { .. } => "secret_error",
            Self::ReadObject { .. } => "read_error",
            Self::ApplyStatus { .. } | Self::SerializeStatus { .. } => "status_error",
            Self::Conflict { .. } => "conflict",
            Self::Panicked { .. } => "panic",
            Self::NotNamespaced { .. } => "invalid_object",
            Self::Finalizer(e) => match e.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(inner)
                | kube::runtime::finalizer::Error::CleanupFailed(inner) => inner.metric_label(),
                _ => "finalizer_error",
            },
            Self::Cleanup { .. } => "cleanup_error",
        }
    }
}
