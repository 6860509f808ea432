/// Maps Persian (۰–۹) and Arabic-Indic (٠–٩) digits to ASCII; other characters pass through.
pub fn normalize_digits(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '۰'..='۹' => char::from(b'0' + (c as u32 - '۰' as u32) as u8),
            '٠'..='٩' => char::from(b'0' + (c as u32 - '٠' as u32) as u8),
            other => other,
        })
        .collect()
}

/// ASCII digits as Persian ones (۰–۹), for what people read; other characters pass through.
pub fn persian_digits(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32('۰' as u32 + (c as u32 - '0' as u32)).unwrap_or(c),
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_digits_become_persian_and_back() {
        assert_eq!(persian_digits("کد 230012345678"), "کد ۲۳۰۰۱۲۳۴۵۶۷۸");
        assert_eq!(normalize_digits(&persian_digits("09121234567")), "09121234567");
    }

    #[test]
    fn persian_and_arabic_indic_digits_become_ascii() {
        assert_eq!(normalize_digits("۰۱۲۳۴۵۶۷۸۹"), "0123456789");
        assert_eq!(normalize_digits("٠١٢٣٤٥٦٧٨٩"), "0123456789");
        assert_eq!(normalize_digits("a۱b"), "a1b");
    }
}
