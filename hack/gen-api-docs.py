#!/usr/bin/env python3
"""Generates docs/api.md, the API reference, from crds/whatsapp-operator.io.yaml.

Every field of spec and status of every kind, with its type, whether it is required, its
default, its validation (enum, lengths, bounds, CEL rules with their messages) and its
description, exactly as the CRD schema says (which `whatsapp-operator crd` prints from the Rust
types, so the doc comments of src/crd/*.rs are the source of every description).

    python3 hack/gen-api-docs.py           # rewrite docs/api.md
    python3 hack/gen-api-docs.py --check   # exit 1 when docs/api.md is stale

Standard library only, so CI needs nothing but python3. The CRD file is read with the small
YAML reader below, which covers what the operator's CRD serialiser writes: block mappings and
sequences, `|`/`>` block scalars, plain, single- and double-quoted scalars, `{}` and `[]`.
Anything else is an error, never a silent misreading. When PyYAML happens to be installed,
the reader's result is also compared with PyYAML's and a difference is an error.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRDS = os.path.join(ROOT, "crds", "whatsapp-operator.io.yaml")
OUT = os.path.join(ROOT, "docs", "api.md")
REGENERATE = "python3 hack/gen-api-docs.py"


class ParseError(Exception):
    pass


# --- a small YAML reader ----------------------------------------------------------------------


class Lines:
    """The document's lines as (indent, text), blank lines kept for block scalars."""

    def __init__(self, text):
        self.raw = text.split("\n")
        self.i = 0

    def peek(self):
        """The next non-blank line as (number, indent, text), or None at the end."""
        j = self.i
        while j < len(self.raw):
            line = self.raw[j]
            if line.strip() and not line.lstrip().startswith("#"):
                if "\t" in line[: len(line) - len(line.lstrip())]:
                    raise ParseError(f"line {j + 1}: tab in indentation")
                return j, len(line) - len(line.lstrip(" ")), line.strip()
            j += 1
        return None


def split_documents(text):
    docs, current = [], []
    for line in text.split("\n"):
        if line.rstrip() == "---":
            if current:
                docs.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if any(l.strip() for l in current):
        docs.append("\n".join(current))
    return docs


def parse_document(text):
    lines = Lines(text)
    first = lines.peek()
    if first is None:
        return None
    value = parse_node(lines, first[1])
    rest = lines.peek()
    if rest is not None:
        raise ParseError(f"line {rest[0] + 1}: unexpected content {rest[2]!r}")
    return value


def parse_node(lines, indent):
    """A block mapping or sequence whose lines start at `indent`."""
    nxt = lines.peek()
    if nxt is None:
        return None
    if nxt[2] == "-" or nxt[2].startswith("- "):
        return parse_sequence(lines, indent)
    return parse_mapping(lines, indent)


def parse_sequence(lines, indent):
    items = []
    while True:
        nxt = lines.peek()
        if nxt is None or nxt[1] != indent or not (nxt[2] == "-" or nxt[2].startswith("- ")):
            if nxt is not None and nxt[1] > indent:
                raise ParseError(f"line {nxt[0] + 1}: bad indentation")
            return items
        number, _, text = nxt
        rest = text[1:].lstrip(" ")
        if not rest:
            lines.i = number + 1
            child = lines.peek()
            if child is None or child[1] <= indent:
                items.append(None)
            else:
                items.append(parse_node(lines, child[1]))
            continue
        # "- key: value" or "- scalar": the item's content starts after "- ".
        inner = indent + (len(text) - len(rest))
        lines.raw[number] = " " * inner + rest
        lines.i = number
        if key_value(rest) is not None or rest == "-" or rest.startswith("- "):
            items.append(parse_node(lines, inner))
        else:
            lines.i = number + 1
            items.append(scalar_value(lines, rest, indent, number))


def key_value(text):
    """(key, value text) when the line is "key: value" or "key:", else None."""
    if text.startswith(('"', "'")):
        quote = text[0]
        end = text.find(quote, 1)
        if end < 0 or not text[end + 1 :].startswith(":"):
            return None
        key, after = text[1:end], text[end + 1 :]
    else:
        m = re.match(r"^([^\s:#][^:#]*?):(?=\s|$)", text)
        if not m:
            return None
        key, after = m.group(1), text[len(m.group(1)) :]
    if not (after == ":" or after.startswith(": ")):
        return None
    return key, after[1:].strip()


def parse_mapping(lines, indent):
    out = {}
    while True:
        nxt = lines.peek()
        if nxt is None or nxt[1] < indent:
            return out
        number, ind, text = nxt
        if ind > indent:
            raise ParseError(f"line {number + 1}: bad indentation")
        kv = key_value(text)
        if kv is None:
            if text == "-" or text.startswith("- "):
                return out
            raise ParseError(f"line {number + 1}: expected 'key: value', got {text!r}")
        key, value = kv
        if key in out:
            raise ParseError(f"line {number + 1}: duplicate key {key!r}")
        lines.i = number + 1
        if value == "":
            child = lines.peek()
            if child is not None and child[1] > indent:
                out[key] = parse_node(lines, child[1])
            elif child is not None and child[1] == indent and (
                child[2] == "-" or child[2].startswith("- ")
            ):
                out[key] = parse_sequence(lines, indent)
            else:
                out[key] = None
        else:
            out[key] = scalar_value(lines, value, indent, number)


def scalar_value(lines, value, indent, number):
    """The scalar starting with `value` on line `number`; continuation lines are consumed."""
    if value[0] in "|>":
        return block_scalar(lines, value, indent, number)
    if value[0] == '"':
        return double_quoted(lines, value, number)
    if value[0] == "'":
        return single_quoted(lines, value, number)
    if value in ("{}", "[]"):
        return {} if value == "{}" else []
    if value[0] in "[{&*!%@`":
        raise ParseError(f"line {number + 1}: unsupported YAML {value!r}")
    # A plain scalar may continue on more-indented lines.
    parts = [value]
    while True:
        nxt = lines.peek()
        if nxt is None or nxt[1] <= indent:
            break
        parts.append(nxt[2])
        lines.i = nxt[0] + 1
    return plain(" ".join(parts))


def plain(text):
    if " #" in text:
        text = text[: text.index(" #")].rstrip()
    if text in ("null", "~", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if re.fullmatch(r"[-+]?[0-9]+", text):
        return int(text)
    if re.fullmatch(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?", text):
        return float(text)
    return text


def block_scalar(lines, header, indent, number):
    m = re.fullmatch(r"([|>])([-+]?)", header)
    if not m:
        raise ParseError(f"line {number + 1}: unsupported block scalar header {header!r}")
    style, chomp = m.groups()
    body, block_indent = [], None
    j = lines.i
    while j < len(lines.raw):
        line = lines.raw[j]
        if not line.strip():
            body.append("")
            j += 1
            continue
        ind = len(line) - len(line.lstrip(" "))
        if ind <= indent:
            break
        if block_indent is None:
            block_indent = ind
        if ind < block_indent:
            raise ParseError(f"line {j + 1}: under-indented block scalar")
        body.append(line[block_indent:])
        j += 1
    lines.i = j
    while body and body[-1] == "":
        body.pop()
        if chomp == "+":
            raise ParseError(f"line {number + 1}: '+' chomping is not supported")
    if style == "|":
        text = "\n".join(body)
    else:
        text, pending = "", ""
        for line in body:
            if line == "":
                pending += "\n"
            elif line.startswith(" "):
                raise ParseError(f"line {number + 1}: more-indented folded lines unsupported")
            else:
                if text and not pending:
                    text += " "
                text += pending + line
                pending = ""
    return text if chomp == "-" else text + "\n"


ESCAPES = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0",
           "b": "\b", "f": "\f", " ": " ", "e": "\x1b", "a": "\a", "v": "\v"}


def double_quoted(lines, value, number):
    text, j = value[1:], number
    out, i = [], 0
    while True:
        if i >= len(text):
            # The string continues on the next line (folded to one space).
            j += 1
            if j >= len(lines.raw):
                raise ParseError(f"line {number + 1}: unterminated string")
            out.append(" ")
            text, i = lines.raw[j].strip(), 0
            continue
        c = text[i]
        if c == '"':
            rest = text[i + 1 :].strip()
            if rest and not rest.startswith("#"):
                raise ParseError(f"line {j + 1}: text after a quoted string")
            lines.i = j + 1
            return "".join(out)
        if c == "\\":
            e = text[i + 1 : i + 2]
            if e in ESCAPES:
                out.append(ESCAPES[e])
                i += 2
            elif e in ("x", "u", "U"):
                width = {"x": 2, "u": 4, "U": 8}[e]
                out.append(chr(int(text[i + 2 : i + 2 + width], 16)))
                i += 2 + width
            else:
                raise ParseError(f"line {j + 1}: unknown escape \\{e}")
            continue
        out.append(c)
        i += 1


def single_quoted(lines, value, number):
    text, j, out = value[1:], number, []
    while True:
        end = text.find("'")
        while end >= 0 and text[end : end + 2] == "''":
            out.append(text[:end] + "'")
            text = text[end + 2 :]
            end = text.find("'")
        if end >= 0:
            out.append(text[:end])
            lines.i = j + 1
            return "".join(out)
        out.append(text + " ")
        j += 1
        if j >= len(lines.raw):
            raise ParseError(f"line {number + 1}: unterminated string")
        text = lines.raw[j].strip()


def load_all(text):
    return [parse_document(doc) for doc in split_documents(text)]


def cross_check(text, docs):
    """Compares with PyYAML when it is installed; the generator never needs it."""
    try:
        import yaml  # noqa: PLC0415
    except ImportError:
        return
    expected = [d for d in yaml.safe_load_all(text) if d is not None]
    if expected != docs:
        raise ParseError("the built-in YAML reader and PyYAML disagree about " + CRDS)


# --- rendering --------------------------------------------------------------------------------


def cell(text):
    """Markdown table cell: one line, pipes escaped."""
    text = re.sub(r"\s*\n\s*\n\s*", "<br>", text.strip())
    text = re.sub(r"\s+", " ", text)
    return text.replace("|", "\\|")


def code(value):
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif value is None:
        value = "null"
    text = str(value)
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def type_of(schema):
    t = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        t = "integer or string"
    elif t == "array":
        t = "array of " + type_of(schema.get("items", {}))
    elif t == "object" and "additionalProperties" in schema and "properties" not in schema:
        t = "map of " + type_of(schema["additionalProperties"])
    elif t is None:
        t = "any"
    if schema.get("format"):
        t += f" ({schema['format']})"
    return t


BOUNDS = [
    ("minLength", "min length"),
    ("maxLength", "max length"),
    ("minimum", "minimum"),
    ("maximum", "maximum"),
    ("minItems", "min items"),
    ("maxItems", "max items"),
    ("minProperties", "min properties"),
    ("maxProperties", "max properties"),
]


def validation(schema):
    parts = []
    if "enum" in schema:
        parts.append("one of " + ", ".join(code(v) for v in schema["enum"]))
    for key, label in BOUNDS:
        if key in schema:
            parts.append(f"{label} {schema[key]}")
    if "pattern" in schema:
        parts.append("pattern " + code(schema["pattern"]))
    if schema.get("x-kubernetes-list-type"):
        keys = schema.get("x-kubernetes-list-map-keys")
        extra = f" (keys {', '.join(code(k) for k in keys)})" if keys else ""
        parts.append(f"list type {code(schema['x-kubernetes-list-type'])}{extra}")
    for rule in schema.get("x-kubernetes-validations", []):
        parts.append(rule_text(rule))
    return "; ".join(parts)


def rule_text(rule):
    message = rule.get("message")
    return f"{message} (rule {code(rule['rule'])})" if message else f"rule {code(rule['rule'])}"


def rows(schema, path, required):
    """(path, schema, required) of every field under an object schema, depth first."""
    props = schema.get("properties", {})
    req = set(schema.get("required", []))
    for name in sorted(props):
        child = props[name]
        child_path = f"{path}.{name}"
        yield child_path, child, name in req
        yield from rows(child, child_path, False)
        items = child.get("items")
        if child.get("type") == "array" and isinstance(items, dict):
            # Rules on each item (comparing its fields) get a row of their own.
            if items.get("x-kubernetes-validations"):
                yield child_path + "[]", items, False
            yield from rows(items, child_path + "[]", False)
        extra = child.get("additionalProperties")
        if isinstance(extra, dict) and extra.get("properties"):
            yield from rows(extra, child_path + "[*]", False)


def field_table(schema, top):
    out = [
        "| Field | Type | Required | Default | Validation | Description |",
        "|---|---|---|---|---|---|",
    ]
    for path, child, required in rows(schema, top, False):
        nullable = " (nullable)" if child.get("nullable") else ""
        default = code(child["default"]) if "default" in child else ""
        out.append(
            "| "
            + " | ".join(
                [
                    code(path),
                    cell(type_of(child) + nullable),
                    "yes" if required else "",
                    cell(default),
                    cell(validation(child)),
                    cell(child.get("description", "")),
                ]
            )
            + " |"
        )
    return out


def render_kind(crd):
    spec = crd["spec"]
    names = spec["names"]
    kind = names["kind"]
    out = [f"## {kind}", ""]
    for version in spec["versions"]:
        schema = version["schema"]["openAPIV3Schema"]
        out.append(
            f"`apiVersion: {spec['group']}/{version['name']}`, scope {spec['scope']}, "
            f"plural `{names['plural']}`"
            + (", short names " + ", ".join(code(s) for s in names.get("shortNames", []))
               if names.get("shortNames") else "")
            + (", categories " + ", ".join(code(c) for c in names.get("categories", []))
               if names.get("categories") else "")
            + "."
            + (" Served and stored." if version.get("served") and version.get("storage") else "")
        )
        out.append("")
        if schema.get("description"):
            out += [cell(schema["description"]).replace("\\|", "|"), ""]
        if version.get("subresources"):
            out += [
                "Subresources: " + ", ".join(code(s) for s in sorted(version["subresources"])) + ".",
                "",
            ]
        columns = version.get("additionalPrinterColumns", [])
        if columns:
            out += [
                "### Columns of `kubectl get`",
                "",
                "| Column | JSON path | Type | Description |",
                "|---|---|---|---|",
            ]
            for c in columns:
                out.append(
                    f"| {cell(c['name'])} | {cell(code(c['jsonPath']))} | {c['type']} | "
                    f"{cell(c.get('description', ''))} |"
                )
            out.append("")
        for part in ("spec", "status"):
            sub = schema.get("properties", {}).get(part)
            if sub is None:
                continue
            out += [f"### {kind} `.{part}`", ""]
            if sub.get("description"):
                out += [cell(sub["description"]).replace("\\|", "|"), ""]
            rules = sub.get("x-kubernetes-validations", [])
            if rules:
                out += [f"Rules across the fields of `.{part}`:", ""]
                out += ["- " + cell(rule_text(rule)).replace("\\|", "|") for rule in rules]
                out.append("")
            out += field_table(sub, part)
            out.append("")
    return out


def render(docs):
    crds = sorted(
        (d for d in docs if d and d.get("kind") == "CustomResourceDefinition"),
        key=lambda d: d["spec"]["names"]["kind"],
    )
    if not crds:
        raise ParseError("no CustomResourceDefinition in " + CRDS)
    out = [
        "# API reference",
        "",
        f"<!-- Generated by hack/gen-api-docs.py from crds/whatsapp-operator.io.yaml; do not edit."
        f" Regenerate with `{REGENERATE}`. -->",
        "",
        "Every field of the custom resources, from the CRD schema the operator installs. The "
        "descriptions are the doc comments of the Rust types in `src/crd/`; `kubectl explain "
        "whatsappchannel.spec --recursive` shows the same text in a cluster. Field paths use "
        "`[]` for the items of a list. Status is written by the operator only.",
        "",
    ]
    for crd in crds:
        kind = crd["spec"]["names"]["kind"]
        out.append(f"- [{kind}](#{kind.lower()})")
    out.append("")
    for crd in crds:
        out += render_kind(crd)
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv):
    check = "--check" in argv[1:]
    unknown = [a for a in argv[1:] if a != "--check"]
    if unknown:
        print(f"usage: {REGENERATE} [--check]", file=sys.stderr)
        return 2
    with open(CRDS, encoding="utf-8") as f:
        text = f.read()
    try:
        docs = [d for d in load_all(text) if d is not None]
        cross_check(text, docs)
        rendered = render(docs)
    except (ParseError, KeyError, TypeError) as e:
        print(f"gen-api-docs: cannot read {os.path.relpath(CRDS, ROOT)}: {e}", file=sys.stderr)
        return 1
    if check:
        try:
            with open(OUT, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != rendered:
            print(
                "docs/api.md is stale (it does not match crds/whatsapp-operator.io.yaml): "
                f"regenerate it with `{REGENERATE}` and commit the result",
                file=sys.stderr,
            )
            return 1
        return 0
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(rendered)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
