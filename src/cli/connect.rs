//! The user's cluster, found as kubectl finds it: `--kubeconfig`, else `$KUBECONFIG`, else
//! `~/.kube/config`, else the in-cluster service account; `--context` or the current one; the
//! namespace from `-n`, else the context's, else "default".

use kube::Client;
use kube::config::{Config, KubeConfigOptions, Kubeconfig};

use super::args::Global;
use super::error::CliError;

/// A client and the namespace commands act in.
pub struct Connection {
    pub client: Client,
    pub namespace: String,
}

/// `-n` when given, else the kubeconfig context's namespace (kube gives "default" when the
/// context names none).
pub fn namespace(flag: Option<&str>, from_config: &str) -> String {
    match flag {
        Some(ns) if !ns.is_empty() => ns.to_string(),
        _ => from_config.to_string(),
    }
}

async fn config(global: &Global) -> Result<Config, CliError> {
    let options = KubeConfigOptions {
        context: global.context.clone(),
        ..Default::default()
    };
    match (&global.kubeconfig, &global.context) {
        (Some(path), _) => {
            let file = Kubeconfig::read_from(path).map_err(CliError::Kubeconfig)?;
            Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(CliError::Kubeconfig)
        }
        (None, Some(_)) => Config::from_kubeconfig(&options)
            .await
            .map_err(CliError::Kubeconfig),
        (None, None) => Config::infer().await.map_err(CliError::InferConfig),
    }
}

pub async fn connect(global: &Global) -> Result<Connection, CliError> {
    let config = config(global).await?;
    let namespace = namespace(global.namespace.as_deref(), &config.default_namespace);
    let client = Client::try_from(config).map_err(CliError::Client)?;
    Ok(Connection { client, namespace })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_over_the_context() {
        assert_eq!(namespace(Some("messaging"), "team-a"), "messaging");
        assert_eq!(namespace(None, "team-a"), "team-a");
        assert_eq!(namespace(Some(""), "default"), "default");
    }

    /// kube reads the context's namespace, and "default" when it has none.
    #[tokio::test]
    async fn the_contexts_namespace_is_the_default() {
        let yaml = r#"
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: scoped
  context: {cluster: c, user: u, namespace: team-a}
- name: plain
  context: {cluster: c, user: u}
current-context: plain
"#;
        let file = Kubeconfig::from_yaml(yaml).unwrap();
        for (context, expected) in [(Some("scoped"), "team-a"), (None, "default")] {
            let options = KubeConfigOptions {
                context: context.map(String::from),
                ..Default::default()
            };
            let config = Config::from_custom_kubeconfig(file.clone(), &options)
                .await
                .unwrap();
            assert_eq!(namespace(None, &config.default_namespace), expected);
        }
    }
}
