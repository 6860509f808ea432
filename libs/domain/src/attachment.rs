use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// Metadata of a file a citizen attached (the file itself is stored elsewhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    #[serde(rename = "type")]
    pub media_type: String,
    pub size: u64,
    /// `sha256:` followed by 64 lowercase hex digits
    pub checksum: String,
}

impl Attachment {
    pub const MAX_COUNT: usize = 10;
    pub const MAX_SIZE: u64 = 20 * 1024 * 1024;
    pub const MEDIA_TYPES: &'static [&'static str] =
        &["application/pdf", "image/jpeg", "image/png", "image/heic", "image/webp", "audio/mpeg", "audio/ogg"];

    /// Checks one attachment; errors name the field under `attachments[i]`.
    pub fn parse(index: usize, name: &str, media_type: &str, size: u64, checksum: &str) -> Result<Self, FieldError> {
        let field = |part: &str| format!("attachments[{index}].{part}");
        let name = crate::text::normalize_text(name);
        if name.is_empty() || name.chars().count() > 255 || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(FieldError::new(
                field("name"),
                "attachment_name_invalid",
                "attachment name must be 1–255 characters without slashes",
            ));
        }
        let media_type = media_type.trim().to_ascii_lowercase();
        if !Self::MEDIA_TYPES.contains(&media_type.as_str()) {
            return Err(FieldError::new(
                field("type"),
                "attachment_type_unsupported",
                format!("attachment type must be one of: {}", Self::MEDIA_TYPES.join(", ")),
            ));
        }
        if size == 0 || size > Self::MAX_SIZE {
            return Err(FieldError::new(
                field("size"),
                "attachment_size_invalid",
                format!("attachment size must be between 1 byte and {} MiB", Self::MAX_SIZE / 1024 / 1024),
            ));
        }
        let checksum = checksum.trim().to_ascii_lowercase();
        let valid_checksum = checksum
            .strip_prefix("sha256:")
            .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
        if !valid_checksum {
            return Err(FieldError::new(
                field("checksum"),
                "attachment_checksum_invalid",
                "attachment checksum must be sha256: followed by 64 hex digits",
            ));
        }
        Ok(Self { name, media_type, size, checksum })
    }
}

/// An optional county (شهرستان) name: normalised like any Persian text, 2–100 characters.
pub fn parse_county(input: &str) -> Result<String, FieldError> {
    let county = crate::text::normalize_text(input);
    let chars = county.chars().count();
    if !(2..=100).contains(&chars) || county.chars().any(|c| c.is_ascii_digit()) {
        return Err(FieldError::new("county", "county_invalid", "county must be a name of 2–100 letters"));
    }
    Ok(county)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn a_valid_attachment_is_normalised() {
        let a = Attachment::parse(
            0,
            " نامه  بيمه.pdf ",
            "Application/PDF",
            1024,
            &SUM.to_uppercase().replace("SHA256", "sha256"),
        )
        .unwrap();
        assert_eq!(a.name, "نامه بیمه.pdf");
        assert_eq!(a.media_type, "application/pdf");
        assert_eq!(a.checksum, SUM);
    }

    #[test]
    fn each_rule_has_its_code_and_field() {
        let cases = [
            (
                Attachment::parse(2, "../etc/passwd", "application/pdf", 1, SUM),
                "attachments[2].name",
                "attachment_name_invalid",
            ),
            (Attachment::parse(0, "", "application/pdf", 1, SUM), "attachments[0].name", "attachment_name_invalid"),
            (
                Attachment::parse(0, "a.exe", "application/x-msdownload", 1, SUM),
                "attachments[0].type",
                "attachment_type_unsupported",
            ),
            (
                Attachment::parse(0, "a.pdf", "application/pdf", 0, SUM),
                "attachments[0].size",
                "attachment_size_invalid",
            ),
            (
                Attachment::parse(0, "a.pdf", "application/pdf", 21 * 1024 * 1024, SUM),
                "attachments[0].size",
                "attachment_size_invalid",
            ),
            (
                Attachment::parse(0, "a.pdf", "application/pdf", 1, "md5:abc"),
                "attachments[0].checksum",
                "attachment_checksum_invalid",
            ),
            (
                Attachment::parse(0, "a.pdf", "application/pdf", 1, "sha256:xyz"),
                "attachments[0].checksum",
                "attachment_checksum_invalid",
            ),
        ];
        for (result, field, code) in cases {
            let error = result.unwrap_err();
            assert_eq!((error.field.as_str(), error.code), (field, code));
        }
    }

    #[test]
    fn counties_are_names() {
        assert_eq!(parse_county(" شهر ري ").unwrap(), "شهر ری");
        assert_eq!(parse_county("x").unwrap_err().code, "county_invalid");
        assert_eq!(parse_county("12345").unwrap_err().code, "county_invalid");
    }
}
