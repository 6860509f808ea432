//! GeoReport's two formats: JSON as is, XML with the specification's element names.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// `services.json` → (`services`, Json)
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Json,
    Xml,
}

pub(super) fn split_format(resource: &str) -> Option<(&str, Format)> {
    if let Some(name) = resource.strip_suffix(".json") {
        Some((name, Format::Json))
    } else {
        resource.strip_suffix(".xml").map(|name| (name, Format::Xml))
    }
}

/// The element name of an array's items in GeoReport XML.
pub(super) fn singular(name: &str) -> &str {
    match name {
        "services" => "service",
        "service_requests" => "request",
        "attributes" => "attribute",
        "values" => "value",
        "endpoints" => "endpoint",
        "formats" => "format",
        "errors" => "error",
        "keywords" => "keyword",
        _ => "item",
    }
}

/// Text as XML 1.0 character data: markup escaped, and characters XML 1.0 cannot carry at all
/// (controls other than tab and newlines, U+FFFE, U+FFFF; they can arrive in an echoed query
/// parameter) replaced by U+FFFD, so a partner's parser never meets a malformed document.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}' => {
                out.push(c)
            }
            _ => out.push('\u{fffd}'),
        }
    }
    out
}

pub(super) fn write_xml(name: &str, value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str(&format!("<{name}/>")),
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            for item in items {
                write_xml(singular(name), item, out);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Object(fields) => {
            out.push_str(&format!("<{name}>"));
            for (key, field) in fields {
                write_xml(key, field, out);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(text) => out.push_str(&format!("<{name}>{}</{name}>", escape(text))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

pub(super) fn render(format: Format, status: StatusCode, root: &str, body: &Value) -> Response {
    match format {
        Format::Json => (status, axum::Json(body)).into_response(),
        Format::Xml => {
            let mut xml = String::from(r#"<?xml version="1.0" encoding="utf-8"?>"#);
            write_xml(root, body, &mut xml);
            (status, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn xml_text_never_carries_a_character_xml_forbids() {
        let escaped = escape("status \u{1}\u{1f} <b>&\u{fffe}\u{ffff} تهران\t\n");
        assert_eq!(escaped, "status \u{fffd}\u{fffd} &lt;b&gt;&amp;\u{fffd}\u{fffd} تهران\t\n");
    }

    #[test]
    fn xml_follows_georeport_element_names_and_escapes_text() {
        let mut xml = String::new();
        write_xml("services", &json!([{"service_code": "a&b", "metadata": true, "keywords": null}]), &mut xml);
        assert_eq!(
            xml,
            "<services><service><service_code>a&amp;b</service_code><metadata>true</metadata><keywords/></service></services>"
        );
        let mut xml = String::new();
        write_xml("errors", &json!([{"code": 403, "description": "<no>"}]), &mut xml);
        assert_eq!(xml, "<errors><error><code>403</code><description>&lt;no&gt;</description></error></errors>");
    }
}
