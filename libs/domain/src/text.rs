use crate::error::FieldError;

/// A petition's text after normalisation: Arabic yeh/kaf become Persian, stray
/// invisible characters go, whitespace collapses, and the length is bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PetitionText(String);

impl PetitionText {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 4000;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let text = normalize_text(input);
        let chars = text.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(FieldError::new(
                "text",
                "text_too_short",
                format!("text must have at least {} characters", Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(FieldError::new(
                "text",
                "text_too_long",
                format!("text must have at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How alike two petition texts are, 0 (nothing shared) to 1 (the same): the
/// Jaccard index of their character trigrams after normalisation, ignoring
/// punctuation, ZWNJ, spacing and the digits' script — robust to the small edits of a citizen
/// writing the same letter again.
pub fn text_similarity(a: &str, b: &str) -> f64 {
    fn trigrams(text: &str) -> std::collections::HashSet<[char; 3]> {
        let letters: Vec<char> = crate::normalize_digits(&normalize_text(text))
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .collect();
        letters.windows(3).map(|w| [w[0], w[1], w[2]]).collect()
    }
    let (left, right) = (trigrams(a), trigrams(b));
    if left.is_empty() || right.is_empty() {
        return if left == right && normalize_text(a) == normalize_text(b) { 1.0 } else { 0.0 };
    }
    let shared = left.intersection(&right).count();
    shared as f64 / (left.len() + right.len() - shared) as f64
}

/// Persian text normalisation shared by every free-text field.
///
/// ZWNJ (U+200C) is kept: it is part of Persian spelling (می‌خواهم), not noise.
pub fn normalize_text(input: &str) -> String {
    let mapped: String = input
        .chars()
        .filter_map(|c| match c {
            'ي' | 'ى' => Some('ی'),
            'ك' => Some('ک'),
            '\u{200b}' | '\u{200d}' | '\u{feff}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' => None,
            c if c.is_whitespace() => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    mapped.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arabic_letters_become_persian() {
        assert_eq!(PetitionText::parse("مستمري كارگر من").unwrap().as_str(), "مستمری کارگر من");
    }

    #[test]
    fn invisible_characters_and_extra_whitespace_are_removed_but_zwnj_kept() {
        let text = PetitionText::parse("  می\u{200c}خواهم\u{200b}  \n\t پیگیری\u{feff} کنم  ").unwrap();
        assert_eq!(text.as_str(), "می\u{200c}خواهم پیگیری کنم");
    }

    #[test]
    fn length_is_bounded_after_normalisation() {
        assert_eq!(PetitionText::parse("   کوتاه   ").unwrap_err().code, "text_too_short");
        assert_eq!(PetitionText::parse(&"ا".repeat(4001)).unwrap_err().code, "text_too_long");
        assert!(PetitionText::parse(&"ا".repeat(4000)).is_ok());
        assert!(PetitionText::parse(&"ا".repeat(10)).is_ok());
    }

    #[test]
    fn similarity_sees_a_rewritten_letter_and_not_a_different_one() {
        let first = "مستمری بازنشستگی من از مهر ماه واریز نشده است. لطفا پیگیری کنید.";
        let again = "مستمري بازنشستگي من از مهر ماه واريز نشده است، لطفاً پيگيري کنيد";
        let other = "کارفرما سه ماه است حقوق کارگران کارگاه را پرداخت نکرده و بیمه هم رد نکرده است";
        assert!(text_similarity(first, again) > 0.8, "{}", text_similarity(first, again));
        assert!(text_similarity(first, other) < 0.2, "{}", text_similarity(first, other));
        assert!((text_similarity(first, first) - 1.0).abs() < f64::EPSILON);
        assert_eq!(text_similarity("", first), 0.0);
    }
}
