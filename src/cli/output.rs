//! `-o json` and `-o yaml`: one document of the same facts the text shows.

use serde::Serialize;

use super::args::Output;
use super::error::CliError;

/// The document as JSON or YAML; `None` for text, which each command renders itself.
pub fn document<T: Serialize>(doc: &T, output: Output) -> Result<Option<String>, CliError> {
    match output {
        Output::Text => Ok(None),
        Output::Json => serde_json::to_string_pretty(doc)
            .map(|s| Some(s + "\n"))
            .map_err(|e| CliError::Render {
                format: "JSON",
                message: e.to_string(),
            }),
        Output::Yaml => serde_saphyr::to_string(doc)
            .map(Some)
            .map_err(|e| CliError::Render {
                format: "YAML",
                message: e.to_string(),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Doc {
        ready: String,
        attempts_left: usize,
    }

    #[test]
    fn json_and_yaml_hold_the_same_fields() {
        let doc = Doc {
            ready: "True".into(),
            attempts_left: 2,
        };
        let json = document(&doc, Output::Json).unwrap().unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["attemptsLeft"], 2);
        let yaml = document(&doc, Output::Yaml).unwrap().unwrap();
        assert!(yaml.contains("attemptsLeft: 2"), "{yaml}");
        assert!(document(&doc, Output::Text).unwrap().is_none());
    }
}
