//! Graph's `fields=` syntax (`a,b{c,d},edge.limit(5){e}`), projection and cursor paging.

use std::fmt;

use serde_json::{Map, Value, json};

use super::graph_error::GraphError;

/// One requested field with its modifiers (`.limit(5)`) and nested selection (`{...}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSel {
    pub name: String,
    pub modifiers: Vec<(String, String)>,
    pub children: Option<Vec<FieldSel>>,
}

impl FieldSel {
    pub fn modifier(&self, name: &str) -> Option<&str> {
        self.modifiers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for FieldSel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, arg) in &self.modifiers {
            write!(f, ".{name}({arg})")?;
        }
        if let Some(children) = &self.children {
            write!(f, "{{{}}}", join(children))?;
        }
        Ok(())
    }
}

pub fn join(fields: &[FieldSel]) -> String {
    fields
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse fields at position {at}: {reason}")]
pub struct FieldsError {
    pub at: usize,
    pub reason: &'static str,
}

impl From<FieldsError> for GraphError {
    fn from(e: FieldsError) -> Self {
        GraphError::new(100, &format!("Syntax error in fields parameter: {e}"))
    }
}

pub fn parse(input: &str) -> Result<Vec<FieldSel>, FieldsError> {
    let chars: Vec<char> = input.chars().collect();
    let mut parser = Parser { chars, pos: 0 };
    let fields = parser.list()?;
    parser.skip_ws();
    if parser.pos != parser.chars.len() {
        return Err(parser.error("unexpected character"));
    }
    Ok(fields)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn error(&self, reason: &'static str) -> FieldsError {
        FieldsError {
            at: self.pos,
            reason,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn list(&mut self) -> Result<Vec<FieldSel>, FieldsError> {
        let mut fields = vec![self.field()?];
        while self.eat(',') {
            fields.push(self.field()?);
        }
        Ok(fields)
    }

    fn name(&mut self) -> Result<String, FieldsError> {
        self.skip_ws();
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.error("expected a field name"));
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    fn field(&mut self) -> Result<FieldSel, FieldsError> {
        let name = self.name()?;
        let mut sel = FieldSel {
            name,
            modifiers: Vec::new(),
            children: None,
        };
        loop {
            if self.eat('.') {
                let modifier = self.name()?;
                if !self.eat('(') {
                    return Err(self.error("expected '(' after modifier"));
                }
                let start = self.pos;
                while self.peek().is_some_and(|c| c != ')') {
                    self.pos += 1;
                }
                let arg: String = self.chars[start..self.pos].iter().collect();
                if !self.eat(')') {
                    return Err(self.error("unclosed modifier"));
                }
                sel.modifiers.push((modifier, arg.trim().to_owned()));
            } else if sel.children.is_none() && self.eat('{') {
                sel.children = Some(self.list()?);
                if !self.eat('}') {
                    return Err(self.error("expected '}'"));
                }
            } else {
                return Ok(sel);
            }
        }
    }
}

/// Keeps only the selected keys of a plain (non-node) value, recursing into objects and arrays.
pub fn project(value: &Value, children: Option<&[FieldSel]>) -> Value {
    let Some(children) = children else {
        return value.clone();
    };
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for sel in children {
                if let Some(v) = map.get(&sel.name) {
                    out.insert(sel.name.clone(), project(v, sel.children.as_deref()));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| project(v, Some(children))).collect())
        }
        other => other.clone(),
    }
}

/// Selects fields of a node view. Graph always returns `id`; fields Meta knows but the node has
/// no value for are left out; fields Meta does not know are an error.
pub fn select_node(
    view: &Map<String, Value>,
    fields: &[FieldSel],
    known: &[&str],
    node_type: &str,
) -> Result<Map<String, Value>, GraphError> {
    let mut out = Map::new();
    if let Some(id) = view.get("id") {
        out.insert("id".to_owned(), id.clone());
    }
    for sel in fields {
        match view.get(&sel.name) {
            Some(v) => {
                out.insert(sel.name.clone(), project(v, sel.children.as_deref()));
            }
            None if known.contains(&sel.name.as_str()) => {}
            None => return Err(GraphError::nonexisting_field(&sel.name, node_type)),
        }
    }
    Ok(out)
}

/// Where a page sits in a list, and how to build the `next`/`previous` links.
pub struct PageRequest<'a> {
    pub limit: usize,
    pub after: Option<&'a str>,
    pub before: Option<&'a str>,
}

pub const DEFAULT_PAGE_SIZE: usize = 25;

fn encode_cursor(index: usize) -> String {
    hex::encode(format!("sim-cursor:{index}"))
}

fn decode_cursor(cursor: &str) -> Result<usize, GraphError> {
    let invalid =
        || GraphError::new(100, "Invalid cursor").details("The cursor is not valid for this edge.");
    let bytes = hex::decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix("sim-cursor:")
        .and_then(|n| n.parse().ok())
        .ok_or_else(invalid)
}

/// Cuts one page out of `items` and returns Graph's `{"data": [...], "paging": {...}}`.
/// `link` turns a `("after"|"before", cursor)` pair into an absolute URL.
pub fn page(
    items: Vec<Value>,
    req: &PageRequest<'_>,
    link: impl Fn(&str, &str) -> String,
) -> Result<Value, GraphError> {
    let len = items.len();
    let (start, end) = match (req.after, req.before) {
        (Some(after), _) => {
            let start = decode_cursor(after)?.saturating_add(1).min(len);
            (start, start.saturating_add(req.limit).min(len))
        }
        (None, Some(before)) => {
            let end = decode_cursor(before)?.min(len);
            (end.saturating_sub(req.limit), end)
        }
        (None, None) => (0, req.limit.min(len)),
    };
    let data: Vec<Value> = items.into_iter().skip(start).take(end - start).collect();
    if data.is_empty() {
        return Ok(json!({ "data": [] }));
    }
    let before_cursor = encode_cursor(start);
    let after_cursor = encode_cursor(end - 1);
    let mut paging = json!({ "cursors": { "before": before_cursor, "after": after_cursor } });
    if let Some(obj) = paging.as_object_mut() {
        if end < len {
            obj.insert("next".into(), json!(link("after", &after_cursor)));
        }
        if start > 0 {
            obj.insert("previous".into(), json!(link("before", &before_cursor)));
        }
    }
    Ok(json!({ "data": data, "paging": paging }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_and_modifiers() {
        let f = parse(
            "id,name,phone_numbers.limit(2){id,health_status{can_send_message}},x{y}.limit(3)",
        )
        .unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(f[2].name, "phone_numbers");
        assert_eq!(f[2].modifier("limit"), Some("2"));
        let kids = f[2].children.as_ref().unwrap();
        assert_eq!(
            kids[1].children.as_ref().unwrap()[0].name,
            "can_send_message"
        );
        assert_eq!(f[3].modifier("limit"), Some("3"));
        assert_eq!(
            join(&f),
            "id,name,phone_numbers.limit(2){id,health_status{can_send_message}},x.limit(3){y}"
        );
    }

    #[test]
    fn rejects_broken_syntax() {
        assert!(parse("id,{x}").is_err());
        assert!(parse("a{b").is_err());
        assert!(parse("a.limit(2").is_err());
    }

    #[test]
    fn pages_walk_the_whole_list() {
        let items: Vec<Value> = (0..7).map(|i| json!(i)).collect();
        let req = PageRequest {
            limit: 3,
            after: None,
            before: None,
        };
        let p1 = page(items.clone(), &req, |k, c| format!("{k}={c}")).unwrap();
        assert_eq!(p1["data"], json!([0, 1, 2]));
        let after = p1["paging"]["cursors"]["after"]
            .as_str()
            .unwrap()
            .to_owned();
        let p2 = page(
            items.clone(),
            &PageRequest {
                limit: 3,
                after: Some(&after),
                before: None,
            },
            |k, c| format!("{k}={c}"),
        )
        .unwrap();
        assert_eq!(p2["data"], json!([3, 4, 5]));
        assert!(p2["paging"]["previous"].is_string());
        let after = p2["paging"]["cursors"]["after"]
            .as_str()
            .unwrap()
            .to_owned();
        let p3 = page(
            items,
            &PageRequest {
                limit: 3,
                after: Some(&after),
                before: None,
            },
            |k, c| format!("{k}={c}"),
        )
        .unwrap();
        assert_eq!(p3["data"], json!([6]));
        assert!(p3["paging"].get("next").is_none());
    }
}
