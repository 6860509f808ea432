//! Self-hosted assets, embedded in the binary: no CDN or font service, which
//! become unreachable from Iran during shutdowns. Each is served under a URL
//! carrying its content hash, so it can be cached for a year, and compressed
//! once at start-up (brotli and gzip) rather than per request.
use std::io::Write;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Source {
    /// the file's name as templates ask for it
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    /// woff2 and the like are compressed already
    compress: bool,
}

const SOURCES: &[Source] = &[
    Source {
        name: "site.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/site.css"),
        compress: true,
    },
    Source {
        name: "desk.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/desk.js"),
        compress: true,
    },
    Source {
        name: "citizen.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/citizen.js"),
        compress: true,
    },
    Source {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/htmx.min.js"),
        compress: true,
    },
    Source {
        name: "vazirmatn-ui-nl-400.woff2",
        content_type: "font/woff2",
        bytes: include_bytes!("../assets/vendor/vazirmatn-ui-nl-400.woff2"),
        compress: false,
    },
    Source {
        name: "vazirmatn-ui-nl-700.woff2",
        content_type: "font/woff2",
        bytes: include_bytes!("../assets/vendor/vazirmatn-ui-nl-700.woff2"),
        compress: false,
    },
];

/// The service worker must keep a fixed URL (its scope is its path), so it is
/// served apart, uncached, from `/desk/sw.js`.
pub(crate) const SERVICE_WORKER: &str = include_str!("../assets/sw.js");

pub(crate) struct Asset {
    pub(crate) name: &'static str,
    /// `/assets/site.3f2a9c01.css`
    pub(crate) url: String,
    content_type: &'static str,
    identity: Vec<u8>,
    gzip: Option<Vec<u8>>,
    brotli: Option<Vec<u8>>,
}

fn hashed_url(name: &str, bytes: &[u8]) -> String {
    let hash = hex::encode(&Sha256::digest(bytes)[..5]);
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("/assets/{stem}.{hash}.{ext}"),
        None => format!("/assets/{name}.{hash}"),
    }
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

fn brotli(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams { quality: 11, ..Default::default() };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).ok()?;
    Some(out)
}

/// The stylesheet names its fonts `/assets/font-400`; they become the fonts' hashed URLs
/// before the stylesheet's own hash is taken, so a new font also renames the stylesheet.
fn link_fonts(bytes: &[u8], fonts: &[Asset]) -> Vec<u8> {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    for weight in ["400", "700"] {
        if let Some(font) = fonts.iter().find(|f| f.name == format!("vazirmatn-ui-nl-{weight}.woff2")) {
            text = text.replace(&format!("/assets/font-{weight}\""), &format!("{}\"", font.url));
        }
    }
    text.into_bytes()
}

fn asset(source: &Source, bytes: Vec<u8>) -> Asset {
    Asset {
        name: source.name,
        url: hashed_url(source.name, &bytes),
        content_type: source.content_type,
        gzip: source.compress.then(|| gzip(&bytes)).flatten(),
        brotli: source.compress.then(|| brotli(&bytes)).flatten(),
        identity: bytes,
    }
}

pub(crate) fn all() -> &'static [Asset] {
    static ASSETS: OnceLock<Vec<Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let (styles, others): (Vec<&Source>, Vec<&Source>) = SOURCES.iter().partition(|s| s.name.ends_with(".css"));
        let mut assets: Vec<Asset> = others.into_iter().map(|s| asset(s, s.bytes.to_vec())).collect();
        for style in styles {
            let linked = link_fonts(style.bytes, &assets);
            assets.push(asset(style, linked));
        }
        assets
    })
}

/// The hashed URL of an asset, for templates; an unknown name is a bug caught by the tests.
pub(crate) fn url(name: &str) -> &'static str {
    all().iter().find(|a| a.name == name).map_or("/assets/missing", |a| a.url.as_str())
}

fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',').any(|part| {
            let mut pieces = part.split(';');
            let name = pieces.next().unwrap_or_default().trim();
            let refused = pieces.any(|p| p.trim().replace(' ', "") == "q=0");
            name.eq_ignore_ascii_case(coding) && !refused
        })
    })
}

/// `GET /assets/{file}`: the asset whose hashed URL this is, in the best encoding the browser takes.
pub(crate) async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let wanted = format!("/assets/{file}");
    let Some(asset) = all().iter().find(|a| a.url == wanted) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let (body, encoding): (&[u8], Option<&'static str>) = match (&asset.brotli, &asset.gzip) {
        (Some(br), _) if accepts(&headers, "br") => (br, Some("br")),
        (_, Some(gz)) if accepts(&headers, "gzip") => (gz, Some("gzip")),
        _ => (&asset.identity, None),
    };
    let mut response = body.to_vec().into_response();
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(encoding) = encoding {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    response
}

/// `GET /desk/sw.js`: revalidated on every load so a new release reaches the desks.
pub(crate) async fn service_worker() -> Response {
    let mut response = SERVICE_WORKER.into_response();
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out.insert("service-worker-allowed", HeaderValue::from_static("/desk/"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_content_hash_and_text_is_compressed() {
        let css = all().iter().find(|a| a.name == "site.css").unwrap();
        assert!(css.url.starts_with("/assets/site.") && css.url.ends_with(".css"), "{}", css.url);
        assert_ne!(css.url, "/assets/site.css");
        let br = css.brotli.as_ref().unwrap();
        assert!(br.len() < css.identity.len() / 2, "brotli {} of {}", br.len(), css.identity.len());
        let font = all().iter().find(|a| a.name.ends_with("400.woff2")).unwrap();
        assert!(font.brotli.is_none() && font.gzip.is_none());
        let text = String::from_utf8_lossy(&css.identity);
        assert!(text.contains(&format!("url(\"{}\")", font.url)), "the stylesheet links the hashed font");
        assert!(!text.contains("/assets/font-400"));
    }

    #[test]
    fn every_asset_the_pages_name_is_served() {
        for name in ["site.css", "desk.js", "citizen.js", "vazirmatn-ui-nl-400.woff2", "vazirmatn-ui-nl-700.woff2"] {
            assert_ne!(url(name), "/assets/missing", "{name}");
        }
    }

    #[test]
    fn the_encoding_follows_accept_encoding_and_q_zero_refuses() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate, br;q=0"));
        assert!(accepts(&headers, "gzip"));
        assert!(!accepts(&headers, "br"));
    }
}
