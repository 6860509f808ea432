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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persian_and_arabic_indic_digits_become_ascii() {
        assert_eq!(normalize_digits("۰۱۲۳۴۵۶۷۸۹"), "0123456789");
        assert_eq!(normalize_digits("٠١٢٣٤٥٦٧٨٩"), "0123456789");
        assert_eq!(normalize_digits("a۱b"), "a1b");
    }
}
