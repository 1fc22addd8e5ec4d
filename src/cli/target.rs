//! `KIND/NAME` as kubectl spells it: `wac/acme-sales`, `waba/acme`, `whatsappchannel/NAME`...

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Which of the operator's resources a command is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Kind {
    Channel,
    Account,
    Template,
}

impl Kind {
    /// The Kubernetes kind, as Events name it in `involvedObject.kind`.
    pub fn kind_name(self) -> &'static str {
        match self {
            Kind::Channel => "WhatsAppChannel",
            Kind::Account => "WhatsAppBusinessAccount",
            Kind::Template => "WhatsAppMessageTemplate",
        }
    }

    /// The short name, as the plugin prints targets.
    pub fn short(self) -> &'static str {
        match self {
            Kind::Channel => "wac",
            Kind::Account => "waba",
            Kind::Template => "wamt",
        }
    }

    /// Every spelling kubectl would accept (short name, singular, plural, with the group) plus
    /// the plain words `channel`, `account` and `template`.
    fn parse(word: &str) -> Option<Self> {
        let word = word.to_ascii_lowercase();
        let bare = word.strip_suffix(".whatsapp-operator.io").unwrap_or(&word);
        match bare {
            "wac" | "whatsappchannel" | "whatsappchannels" | "channel" | "channels" => {
                Some(Kind::Channel)
            }
            "waba"
            | "whatsappbusinessaccount"
            | "whatsappbusinessaccounts"
            | "account"
            | "accounts" => Some(Kind::Account),
            "wamt"
            | "whatsappmessagetemplate"
            | "whatsappmessagetemplates"
            | "template"
            | "templates" => Some(Kind::Template),
            _ => None,
        }
    }
}

/// A resource named on the command line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    pub kind: Kind,
    pub name: String,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.short(), self.name)
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((kind, name)) = s.split_once('/') else {
            return Err(format!(
                "expected KIND/NAME such as wac/acme-sales, waba/acme or wamt/order-update, got {s:?}"
            ));
        };
        let kind = Kind::parse(kind).ok_or_else(|| {
            format!(
                "unknown kind {kind:?}: use wac (WhatsAppChannel), waba (WhatsAppBusinessAccount) or wamt (WhatsAppMessageTemplate)"
            )
        })?;
        if !is_object_name(name) {
            return Err(format!(
                "{name:?} is not a Kubernetes object name (lowercase letters, digits, '-' and '.')"
            ));
        }
        Ok(Target {
            kind,
            name: name.to_string(),
        })
    }
}

/// A DNS subdomain, the names both CRDs accept.
fn is_object_name(name: &str) -> bool {
    let edges_ok =
        |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (1..=253).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && edges_ok(name.chars().next())
        && edges_ok(name.chars().last())
}

/// A target that must be a channel (`verify`, `budget`): clap's value parser.
pub fn channel_target(s: &str) -> Result<Target, String> {
    let target: Target = s.parse()?;
    if target.kind != Kind::Channel {
        return Err(format!(
            "{target} is an account; this command takes a channel: wac/NAME"
        ));
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kubectls_spellings_of_both_kinds() {
        for (text, kind) in [
            ("wac/acme-sales", Kind::Channel),
            ("whatsappchannel/acme-sales", Kind::Channel),
            ("WhatsAppChannels/acme-sales", Kind::Channel),
            ("channel/acme-sales", Kind::Channel),
            (
                "whatsappchannels.whatsapp-operator.io/acme-sales",
                Kind::Channel,
            ),
            ("waba/acme-sales", Kind::Account),
            ("account/acme-sales", Kind::Account),
            ("whatsappbusinessaccount/acme-sales", Kind::Account),
            ("wamt/acme-sales", Kind::Template),
            ("whatsappmessagetemplates/acme-sales", Kind::Template),
            ("template/acme-sales", Kind::Template),
        ] {
            let t: Target = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(t.kind, kind, "{text}");
            assert_eq!(t.name, "acme-sales");
        }
        let t: Target = "channel/acme".parse().unwrap();
        assert_eq!(t.to_string(), "wac/acme");
    }

    #[test]
    fn refuses_what_kubectl_would_refuse() {
        let err = |s: &str| s.parse::<Target>().unwrap_err();
        assert!(err("acme").contains("expected KIND/NAME"));
        assert!(err("pod/acme").contains("unknown kind \"pod\""));
        assert!(err("wac/").contains("not a Kubernetes object name"));
        assert!(err("wac/Acme").contains("not a Kubernetes object name"));
        assert!(err("wac/-acme").contains("not a Kubernetes object name"));
        assert!(err("wac/a/b").contains("not a Kubernetes object name"));
    }

    #[test]
    fn channel_only_commands_refuse_an_account() {
        assert!(channel_target("wac/acme").is_ok());
        let e = channel_target("waba/acme").unwrap_err();
        assert!(e.contains("waba/acme is an account"), "{e}");
    }
}
