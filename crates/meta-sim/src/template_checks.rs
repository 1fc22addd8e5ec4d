//! What Meta checks in a template before it accepts it for review: the name, the category and
//! the components (required body, lengths, button count, variables and their examples).
//! Every failure is error 100 with `error_user_title`/`error_user_msg` and `error_data.details`
//! saying what is wrong.

use serde_json::Value;

use super::graph_error::GraphError;
use super::rules::Params;
use super::state::Component;

pub const NAME_MAX: usize = 512;
pub const BODY_MAX: usize = 1024;
pub const HEADER_TEXT_MAX: usize = 60;
pub const FOOTER_MAX: usize = 60;
pub const BUTTONS_MAX: usize = 10;
pub const BUTTON_TEXT_MAX: usize = 25;
pub const CATEGORIES: &[&str] = &["MARKETING", "UTILITY", "AUTHENTICATION"];
/// Subcode for a variable at the start or end of the body (third-party reports; UNCONFIRMED).
pub const DANGLING_VARIABLE_SUBCODE: i64 = 2388299;

/// Error 100 for a template Meta refuses, with a title and what is wrong.
pub fn refused(title: &str, what: &str) -> GraphError {
    GraphError::new(100, "Invalid parameter")
        .details(what.to_owned())
        .user(title, what)
}

pub fn check_name(name: &str) -> Result<(), GraphError> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(refused(
            "Invalid template name",
            "Template names can only contain lowercase letters, numbers and underscores (^[a-z0-9_]+$).",
        ));
    }
    if name.chars().count() > NAME_MAX {
        return Err(refused(
            "Invalid template name",
            &format!("Template names can be at most {NAME_MAX} characters long."),
        ));
    }
    Ok(())
}

/// `category`, upper-cased, one of MARKETING, UTILITY, AUTHENTICATION.
pub fn check_category(raw: &str) -> Result<String, GraphError> {
    let category = raw.trim().to_ascii_uppercase();
    if CATEGORIES.contains(&category.as_str()) {
        Ok(category)
    } else {
        Err(GraphError::invalid_param(&format!(
            "Param category must be one of {{MARKETING, UTILITY, AUTHENTICATION}} - got \"{raw}\"."
        )))
    }
}

/// `parameter_format`, upper-cased, POSITIONAL (default) or NAMED.
pub fn check_parameter_format(raw: Option<String>) -> Result<String, GraphError> {
    let Some(raw) = raw else {
        return Ok("POSITIONAL".to_owned());
    };
    let format = raw.trim().to_ascii_uppercase();
    if format == "POSITIONAL" || format == "NAMED" {
        Ok(format)
    } else {
        Err(GraphError::invalid_param(&format!(
            "Param parameter_format must be one of {{POSITIONAL, NAMED}} - got \"{raw}\"."
        )))
    }
}

/// `components` from a JSON body (an array) or a form (the array as a JSON string); `type` and
/// `format` are upper-cased as Meta serves them.
pub fn parse_components(params: &Params) -> Result<Vec<Component>, GraphError> {
    let raw = params
        .get("components")
        .ok_or_else(|| GraphError::missing_param("components"))?;
    let value = match raw {
        Value::String(s) => serde_json::from_str::<Value>(s)
            .map_err(|_| GraphError::invalid_param("Param components must be a JSON array"))?,
        other => other.clone(),
    };
    if !value.is_array() {
        return Err(GraphError::invalid_param(
            "Param components must be a JSON array",
        ));
    }
    let mut components: Vec<Component> = serde_json::from_value(value).map_err(|e| {
        GraphError::invalid_param("Param components is not valid")
            .details(format!("components: {e}"))
    })?;
    for c in &mut components {
        c.kind = c.kind.to_ascii_uppercase();
        if let Some(f) = c.format.as_mut() {
            *f = f.to_ascii_uppercase();
        }
        for b in &mut c.buttons {
            b.kind = b.kind.to_ascii_uppercase();
        }
    }
    Ok(components)
}

/// Message template TTL: an integer number of seconds.
pub fn parse_ttl(params: &Params) -> Result<Option<i64>, GraphError> {
    match params.get("message_send_ttl_seconds") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad_ttl),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad_ttl()),
        Some(_) => Err(bad_ttl()),
    }
}

fn bad_ttl() -> GraphError {
    GraphError::invalid_param("Param message_send_ttl_seconds must be an integer")
}

/// The variables (`{{1}}`, `{{first_name}}`) of a text, as written between the braces.
pub fn variables(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            break;
        };
        out.push(after[..end].trim().to_owned());
        rest = &after[end + 2..];
    }
    out
}

fn check_variable_names(vars: &[String], format: &str, part: &str) -> Result<(), GraphError> {
    for v in vars {
        let positional = !v.is_empty() && v.chars().all(|c| c.is_ascii_digit());
        let named = !v.is_empty()
            && !positional
            && v.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        let ok = if format == "NAMED" {
            named
        } else {
            positional && v != "0"
        };
        if !ok {
            let expected = if format == "NAMED" {
                "named parameters such as {{first_name}} (lowercase letters, numbers and underscores)"
            } else {
                "numbered parameters {{1}}, {{2}}, …"
            };
            return Err(refused(
                "Invalid variable",
                &format!(
                    "The {part} has the variable {{{{{v}}}}}, but a template with parameter_format {format} uses {expected}."
                ),
            ));
        }
    }
    Ok(())
}

fn distinct(vars: &[String]) -> Vec<&String> {
    let mut seen: Vec<&String> = Vec::new();
    for v in vars {
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen
}

fn missing_examples(part: &str) -> GraphError {
    refused(
        "Missing sample values",
        &format!(
            "The {part} has variables without examples: add sample values for every variable in example."
        ),
    )
}

fn check_body(c: &Component, format: &str) -> Result<(), GraphError> {
    let text = c.text.as_deref().unwrap_or_default();
    if text.chars().count() > BODY_MAX {
        return Err(refused(
            "Message body is too long",
            &format!("The body can have at most {BODY_MAX} characters."),
        ));
    }
    let vars = variables(text);
    if vars.is_empty() {
        return Ok(());
    }
    check_variable_names(&vars, format, "body")?;
    let trimmed = text.trim();
    if trimmed.starts_with("{{") || trimmed.ends_with("}}") {
        return Err(refused(
            "Variables can't be at the start or end of the template",
            "The body starts or ends with a variable. Add text before the first and after the last variable.",
        )
        .subcode(DANGLING_VARIABLE_SUBCODE));
    }
    let example = c.example.as_ref();
    let wanted = distinct(&vars);
    let complete = if format == "NAMED" {
        let given = example.and_then(|e| e.body_text_named_params.as_ref());
        wanted.iter().all(|v| {
            given.is_some_and(|g| {
                g.iter()
                    .any(|p| &&p.param_name == v && !p.example.is_empty())
            })
        })
    } else {
        let given = example
            .and_then(|e| e.body_text.as_ref())
            .and_then(|rows| rows.first());
        given.is_some_and(|row| row.len() >= wanted.len())
    };
    if complete {
        Ok(())
    } else {
        Err(missing_examples("body"))
    }
}

fn check_header(c: &Component, format: &str) -> Result<(), GraphError> {
    let kind = c.format.as_deref().unwrap_or_default();
    match kind {
        "TEXT" => {
            let Some(text) = c.text.as_deref().filter(|t| !t.is_empty()) else {
                return Err(refused(
                    "Header text is missing",
                    "A TEXT header needs text.",
                ));
            };
            if text.chars().count() > HEADER_TEXT_MAX {
                return Err(refused(
                    "Header text is too long",
                    &format!("The header text can have at most {HEADER_TEXT_MAX} characters."),
                ));
            }
            let vars = variables(text);
            if vars.is_empty() {
                return Ok(());
            }
            check_variable_names(&vars, format, "header")?;
            if distinct(&vars).len() > 1 {
                return Err(refused(
                    "Too many header variables",
                    "The header can have at most one variable.",
                ));
            }
            let example = c.example.as_ref();
            let complete = if format == "NAMED" {
                example
                    .and_then(|e| e.header_text_named_params.as_ref())
                    .is_some_and(|g| g.iter().any(|p| p.param_name == vars[0]))
            } else {
                example
                    .and_then(|e| e.header_text.as_ref())
                    .is_some_and(|h| !h.is_empty())
            };
            if complete {
                Ok(())
            } else {
                Err(missing_examples("header"))
            }
        }
        "IMAGE" | "VIDEO" | "DOCUMENT" => {
            let has_handle = c
                .example
                .as_ref()
                .and_then(|e| e.header_handle.as_ref())
                .is_some_and(|h| !h.is_empty());
            if has_handle {
                Ok(())
            } else {
                Err(refused(
                    "Missing sample media",
                    &format!(
                        "A {kind} header needs a sample media handle in example.header_handle."
                    ),
                ))
            }
        }
        "LOCATION" => Ok(()),
        other => Err(refused(
            "Invalid header",
            &format!(
                "Header format must be one of TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION - got \"{other}\"."
            ),
        )),
    }
}

fn check_footer(c: &Component) -> Result<(), GraphError> {
    let text = c.text.as_deref().unwrap_or_default();
    if text.chars().count() > FOOTER_MAX {
        return Err(refused(
            "Footer text is too long",
            &format!("The footer can have at most {FOOTER_MAX} characters."),
        ));
    }
    if !variables(text).is_empty() {
        return Err(refused(
            "Message footer format is incorrect",
            "The footer can't have variables.",
        ));
    }
    if let Some(minutes) = c.code_expiration_minutes
        && !(1..=90).contains(&minutes)
    {
        return Err(refused(
            "Invalid code expiration",
            "code_expiration_minutes must be between 1 and 90.",
        ));
    }
    Ok(())
}

fn check_buttons(c: &Component) -> Result<(), GraphError> {
    if c.buttons.len() > BUTTONS_MAX {
        return Err(refused(
            "Too many buttons",
            &format!("A template can have at most {BUTTONS_MAX} buttons."),
        ));
    }
    for b in &c.buttons {
        if b.text
            .as_deref()
            .is_some_and(|t| t.chars().count() > BUTTON_TEXT_MAX)
        {
            return Err(refused(
                "Button text is too long",
                &format!("Button text can have at most {BUTTON_TEXT_MAX} characters."),
            ));
        }
        match b.kind.as_str() {
            "URL" => {
                let Some(url) = b.url.as_deref().filter(|u| !u.is_empty()) else {
                    return Err(refused("URL is missing", "A URL button needs a url."));
                };
                let has_example = match &b.example {
                    Some(Value::Array(a)) => !a.is_empty(),
                    Some(Value::String(s)) => !s.is_empty(),
                    _ => false,
                };
                if !variables(url).is_empty() && !has_example {
                    return Err(missing_examples("URL button"));
                }
            }
            "PHONE_NUMBER" if b.phone_number.as_deref().is_none_or(str::is_empty) => {
                return Err(refused(
                    "Phone number is missing",
                    "A PHONE_NUMBER button needs a phone_number.",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The components of a template of `category` with `parameter_format`.
pub fn check_components(
    components: &[Component],
    category: &str,
    format: &str,
) -> Result<(), GraphError> {
    let mut seen: Vec<&str> = Vec::new();
    for c in components {
        if !matches!(c.kind.as_str(), "HEADER" | "BODY" | "FOOTER" | "BUTTONS") {
            // Carousels, limited-time offers and the like are not modelled: kept as given.
            continue;
        }
        if seen.contains(&c.kind.as_str()) {
            return Err(refused(
                "Invalid components",
                &format!("A template can have only one {} component.", c.kind),
            ));
        }
        seen.push(c.kind.as_str());
        match c.kind.as_str() {
            "HEADER" => check_header(c, format)?,
            "BODY" => check_body(c, format)?,
            "FOOTER" => check_footer(c)?,
            _ => check_buttons(c)?,
        }
    }
    let body = components.iter().find(|c| c.kind == "BODY");
    let has_text = body.is_some_and(|c| c.text.as_deref().is_some_and(|t| !t.trim().is_empty()));
    // Authentication templates have Meta's fixed text: their BODY carries no text.
    let needs_text = category != "AUTHENTICATION";
    if body.is_none() || (needs_text && !has_text) {
        return Err(refused(
            "Message body is missing",
            "A template needs a BODY component with text.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn components(v: Value) -> Vec<Component> {
        let params: Params = json!({ "components": v }).as_object().unwrap().clone();
        parse_components(&params).unwrap()
    }

    fn check(v: Value, category: &str, format: &str) -> Result<(), GraphError> {
        check_components(&components(v), category, format)
    }

    fn details(r: Result<(), GraphError>) -> String {
        let e = r.unwrap_err();
        assert_eq!(e.code, 100);
        e.details.clone().unwrap_or_default()
    }

    #[test]
    fn names() {
        assert!(check_name("order_update_2").is_ok());
        assert!(check_name("Order").is_err());
        assert!(check_name("order-update").is_err());
        assert!(check_name("").is_err());
        assert!(check_name(&"a".repeat(512)).is_ok());
        assert!(check_name(&"a".repeat(513)).is_err());
        assert_eq!(check_category("utility").unwrap(), "UTILITY");
        assert!(check_category("PROMO").is_err());
    }

    #[test]
    fn components_come_from_json_or_a_form_string() {
        let text = r#"[{"type":"body","text":"Hi there"}]"#;
        let params: Params = json!({ "components": text }).as_object().unwrap().clone();
        let c = parse_components(&params).unwrap();
        assert_eq!(c[0].kind, "BODY");
        let params: Params = json!({ "components": "{" }).as_object().unwrap().clone();
        assert!(parse_components(&params).is_err());
        let params: Params = json!({ "components": {"type": "BODY"} })
            .as_object()
            .unwrap()
            .clone();
        assert!(parse_components(&params).is_err());
    }

    #[test]
    fn body_is_required_except_the_text_of_authentication() {
        assert!(
            details(check(
                json!([{"type": "FOOTER", "text": "x"}]),
                "UTILITY",
                "POSITIONAL"
            ))
            .contains("BODY")
        );
        assert!(check(json!([{"type": "BODY"}]), "UTILITY", "POSITIONAL").is_err());
        let auth = json!([
            {"type": "BODY", "add_security_recommendation": true},
            {"type": "FOOTER", "code_expiration_minutes": 10},
            {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]}
        ]);
        assert!(check(auth, "AUTHENTICATION", "POSITIONAL").is_ok());
        assert!(
            check(
                json!([{"type": "FOOTER", "code_expiration_minutes": 10}]),
                "AUTHENTICATION",
                "POSITIONAL"
            )
            .is_err()
        );
        assert!(
            check(
                json!([{"type": "BODY"}, {"type": "FOOTER", "code_expiration_minutes": 91}]),
                "AUTHENTICATION",
                "POSITIONAL"
            )
            .is_err()
        );
    }

    #[test]
    fn lengths_and_buttons() {
        let body = |n: usize| json!([{"type": "BODY", "text": "a".repeat(n)}]);
        assert!(check(body(1024), "UTILITY", "POSITIONAL").is_ok());
        assert!(details(check(body(1025), "UTILITY", "POSITIONAL")).contains("1024"));
        let header = |n: usize| json!([{"type": "HEADER", "format": "TEXT", "text": "h".repeat(n)}, {"type": "BODY", "text": "b"}]);
        assert!(check(header(60), "UTILITY", "POSITIONAL").is_ok());
        assert!(details(check(header(61), "UTILITY", "POSITIONAL")).contains("60"));
        let footer = |n: usize| json!([{"type": "BODY", "text": "b"}, {"type": "FOOTER", "text": "f".repeat(n)}]);
        assert!(check(footer(60), "UTILITY", "POSITIONAL").is_ok());
        assert!(check(footer(61), "UTILITY", "POSITIONAL").is_err());
        let buttons = |n: usize| {
            let b: Vec<Value> = (0..n)
                .map(|i| json!({"type": "QUICK_REPLY", "text": format!("b{i}")}))
                .collect();
            json!([{"type": "BODY", "text": "b"}, {"type": "BUTTONS", "buttons": b}])
        };
        assert!(check(buttons(10), "MARKETING", "POSITIONAL").is_ok());
        assert!(details(check(buttons(11), "MARKETING", "POSITIONAL")).contains("10 buttons"));
        let url = |example: Value| json!([{"type": "BODY", "text": "b"}, {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Go", "url": "https://x.test/{{1}}", "example": example}]}]);
        assert!(check(url(json!(["https://x.test/1"])), "MARKETING", "POSITIONAL").is_ok());
        assert!(check(url(Value::Null), "MARKETING", "POSITIONAL").is_err());
    }

    #[test]
    fn variables_need_examples_and_text_around_them() {
        let ok = json!([{"type": "BODY", "text": "Hi {{1}}, your order {{2}} shipped.", "example": {"body_text": [["Ann", "42"]]}}]);
        assert!(check(ok, "UTILITY", "POSITIONAL").is_ok());
        let short = json!([{"type": "BODY", "text": "Hi {{1}}, your order {{2}} shipped.", "example": {"body_text": [["Ann"]]}}]);
        assert!(details(check(short, "UTILITY", "POSITIONAL")).contains("without examples"));
        let none = json!([{"type": "BODY", "text": "Hi {{1}}, hello."}]);
        assert!(check(none, "UTILITY", "POSITIONAL").is_err());
        let start = json!([{"type": "BODY", "text": "{{1}} is here.", "example": {"body_text": [["Ann"]]}}]);
        let e = check(start, "UTILITY", "POSITIONAL").unwrap_err();
        assert_eq!(e.subcode, Some(DANGLING_VARIABLE_SUBCODE));
        let end =
            json!([{"type": "BODY", "text": "Hello {{1}}  ", "example": {"body_text": [["Ann"]]}}]);
        assert!(check(end, "UTILITY", "POSITIONAL").is_err());
        let named = json!([{"type": "BODY", "text": "Hi {{first_name}}, welcome.", "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ann"}]}}]);
        assert!(check(named.clone(), "UTILITY", "NAMED").is_ok());
        assert!(details(check(named, "UTILITY", "POSITIONAL")).contains("POSITIONAL"));
        let named_missing = json!([{"type": "BODY", "text": "Hi {{first_name}}, welcome.", "example": {"body_text_named_params": [{"param_name": "last_name", "example": "B"}]}}]);
        assert!(check(named_missing, "UTILITY", "NAMED").is_err());
        let header = json!([{"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"}, {"type": "BODY", "text": "b"}]);
        assert!(check(header, "UTILITY", "POSITIONAL").is_err());
        let image = json!([{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "b"}]);
        assert!(check(image, "MARKETING", "POSITIONAL").is_err());
        let footer_var =
            json!([{"type": "BODY", "text": "b"}, {"type": "FOOTER", "text": "id {{1}}"}]);
        assert!(check(footer_var, "MARKETING", "POSITIONAL").is_err());
    }

    #[test]
    fn finds_variables() {
        assert_eq!(variables("a {{1}} b {{ name }} c {{x"), vec!["1", "name"]);
        assert!(variables("no vars").is_empty());
    }
}
