//! Charts drawn on the server as SVG: readable without script, printable,
//! and each beside a table of the same numbers for screen readers and CSV.
use std::fmt::Write;

/// Escapes text for SVG (XML) content and attributes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A bar chart of `points` (label, value), oldest on the right as Persian reads time.
/// `id` names the chart's title element for `aria-labelledby`.
pub(crate) fn bar_chart(id: &str, title: &str, points: &[(String, f64)], unit: &str) -> String {
    const WIDTH: f64 = 720.0;
    const HEIGHT: f64 = 240.0;
    const TOP: f64 = 24.0;
    const BOTTOM: f64 = 48.0;
    let max = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max).max(1.0);
    let slot = if points.is_empty() { WIDTH } else { WIDTH / points.len() as f64 };
    let bar = (slot * 0.7).max(1.0);
    let plot = HEIGHT - TOP - BOTTOM;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}" xmlns="http://www.w3.org/2000/svg"><title id="{id}">{}</title>"#,
        escape(title)
    );
    let _ = write!(svg, r#"<line x1="0" y1="{0}" x2="{WIDTH}" y2="{0}" class="axis"/>"#, HEIGHT - BOTTOM);
    // label every bar when they fit, else about twelve of them
    let every = points.len().div_ceil(12).max(1);
    for (i, (label, value)) in points.iter().enumerate() {
        let height = plot * value / max;
        let x = WIDTH - (i as f64 + 1.0) * slot + (slot - bar) / 2.0;
        let y = HEIGHT - BOTTOM - height;
        let shown = crate::fa::digits(&format_value(*value));
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{height:.1}" class="bar"><title>{}: {} {}</title></rect>"#,
            escape(label),
            shown,
            escape(unit)
        );
        if i % every == 0 {
            let centre = x + bar / 2.0;
            let _ = write!(
                svg,
                r#"<text x="{centre:.1}" y="{:.1}" text-anchor="middle" class="value">{shown}</text><text x="{centre:.1}" y="{:.1}" text-anchor="middle" class="label">{}</text>"#,
                (y - 4.0).max(12.0),
                HEIGHT - BOTTOM + 18.0,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn format_value(value: f64) -> String {
    if value.fract().abs() < 1e-9 { format!("{value:.0}") } else { format!("{value:.1}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_labelled_svg_with_one_bar_per_point_and_escaped_text() {
        let points = vec![("۱ آذر".to_owned(), 4.0), ("<۲>".to_owned(), 2.0)];
        let svg = bar_chart("t1", "حجم", &points, "درخواست");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains(r#"aria-labelledby="t1""#));
        assert!(svg.contains("&lt;۲&gt;") && !svg.contains("<۲>"));
        assert!(svg.contains(">۴<"), "values in Persian digits");
    }
}
