use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

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
/// Every invisible format character goes (zero-width spaces and joiners, bidi embeddings,
/// overrides and isolates, the Arabic letter mark, word joiners, tag characters; the whole
/// Unicode category Cf) and so do variation selectors and control characters; then NFKC folds
/// Arabic presentation forms and compatibility characters (full-width digits, ligatures) into
/// the letters they stand for. So invisible padding cannot make a text long enough, an officer's
/// message cannot reorder an SMS, and duplicate detection and keyword rules see the letters.
/// ZWNJ (U+200C) is kept: it is part of Persian spelling (می‌خواهم), not noise.
pub fn normalize_text(input: &str) -> String {
    let visible: String = input
        .chars()
        .filter_map(|c| match c {
            '\u{200c}' => Some(c),
            c if c.is_whitespace() => Some(' '),
            c if c.is_control() => None,
            '\u{fe00}'..='\u{fe0f}' | '\u{e0100}'..='\u{e01ef}' => None,
            c if c.general_category() == GeneralCategory::Format => None,
            c => Some(c),
        })
        .collect();
    let mapped: String = visible
        .nfkc()
        .map(|c| match c {
            'ي' | 'ى' => 'ی',
            'ك' => 'ک',
            c if c.is_whitespace() => ' ',
            c => c,
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
    fn no_invisible_character_survives_and_the_result_is_nfkc_stable() {
        // bidi isolates, the Arabic letter mark, word joiners, the Mongolian vowel separator,
        // tag characters, variation selectors, and Arabic presentation forms
        let awkward = [
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{061c}',
            '\u{2060}',
            '\u{2064}',
            '\u{180e}',
            '\u{e0041}',
            '\u{fe0f}',
            '\u{200d}',
            '\u{00ad}',
            '\u{feff}',
            '\u{fefb}',
            '\u{fb8f}',
            '\u{ff11}',
            '\u{200c}',
            'ی',
            'ي',
            'ك',
            ' ',
            '\u{00a0}',
            'ا',
            'ب',
            '1',
            '\u{0301}',
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let text: String = (0..12)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    awkward[(seed >> 33) as usize % awkward.len()]
                })
                .collect();
            let normal = normalize_text(&text);
            assert!(
                normal.chars().all(|c| c == '\u{200c}' || c.general_category() != GeneralCategory::Format),
                "{text:?} → {normal:?}"
            );
            assert!(!normal.chars().any(|c| ('\u{fe00}'..='\u{fe0f}').contains(&c)), "{normal:?}");
            assert_eq!(normal.nfkc().collect::<String>(), normal, "NFKC-stable: {text:?}");
            assert_eq!(normalize_text(&normal), normal, "idempotent: {text:?}");
        }
        // presentation forms become the letters: "لا" and "ک" are what rules and duplicates see
        assert_eq!(normalize_text("\u{fefb}\u{fb8f}"), "لاک");
        // ten bidi isolates are no text at all
        assert_eq!(PetitionText::parse(&"\u{2066}".repeat(10)).unwrap_err().code, "text_too_short");
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
