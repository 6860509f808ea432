//! Tables as CSV downloads: UTF-8 with a BOM (spreadsheets then read Persian
//! right), and cells that would start a formula quoted as text.
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

fn cell(value: &str) -> String {
    // a cell a spreadsheet would run as a formula is kept as text
    let guarded =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    if guarded.contains([',', '"', '\n', '\r']) { format!("\"{}\"", guarded.replace('"', "\"\"")) } else { guarded }
}

/// The table as CSV text.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut text = String::from("\u{feff}");
    let line = |cells: Vec<String>| cells.join(",") + "\r\n";
    text.push_str(&line(headers.iter().map(|h| cell(h)).collect()));
    for row in rows {
        text.push_str(&line(row.iter().map(|c| cell(c)).collect()));
    }
    text
}

/// A download of `text` as `name`.csv.
pub(crate) fn download(name: &str, text: String) -> Response {
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.csv\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_bom_quotes_commas_and_defuses_formulas() {
        let text = table(&["نام", "عدد"], &[vec!["الف, ب".into(), "=1+1".into()]]);
        assert!(text.starts_with('\u{feff}'));
        assert_eq!(text.trim_start_matches('\u{feff}'), "نام,عدد\r\n\"الف, ب\",'=1+1\r\n");
    }
}
