use std::fmt;

use rand::Rng;

use crate::digits::normalize_digits;
use crate::error::FieldError;
use crate::province::ProvinceCode;

/// A petition's public tracking code: 2-digit province number, 9 random digits, 1 Verhoeff check digit.
///
/// Verhoeff rather than Luhn: it catches every single-digit error *and* every
/// adjacent transposition (Luhn misses 09↔90), the two mistakes people make
/// reading a code off an SMS and typing it on a phone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct TrackingCode(String);

const LEN: usize = 12;

const D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
const INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

fn verhoeff_check_digit(payload: &[u8]) -> u8 {
    let c = payload.iter().rev().enumerate().fold(0u8, |c, (i, d)| D[c as usize][P[(i + 1) % 8][*d as usize] as usize]);
    INV[c as usize]
}

fn verhoeff_valid(digits: &[u8]) -> bool {
    digits.iter().rev().enumerate().fold(0u8, |c, (i, d)| D[c as usize][P[i % 8][*d as usize] as usize]) == 0
}

impl TrackingCode {
    pub fn generate(province: ProvinceCode, rng: &mut impl Rng) -> Self {
        let mut digits = Vec::with_capacity(LEN);
        digits.push(province.number() / 10);
        digits.push(province.number() % 10);
        digits.extend((0..LEN - 3).map(|_| rng.gen_range(0..10u8)));
        digits.push(verhoeff_check_digit(&digits));
        Self(digits.iter().map(|d| char::from(b'0' + d)).collect())
    }

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let compact: String = normalize_digits(input).chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let format_error =
            || FieldError::new("tracking_code", "tracking_code_format", "tracking code must be 12 digits");
        if compact.len() != LEN || !compact.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format_error());
        }
        let digits: Vec<u8> = compact.bytes().map(|b| b - b'0').collect();
        if !verhoeff_valid(&digits) {
            return Err(FieldError::new(
                "tracking_code",
                "tracking_code_checksum",
                "tracking code has a mistyped digit",
            ));
        }
        if ProvinceCode::from_number(digits[0] * 10 + digits[1]).is_none() {
            return Err(format_error());
        }
        Ok(Self(compact))
    }

    pub fn province(&self) -> ProvinceCode {
        let digits = self.0.as_bytes();
        ProvinceCode::from_number((digits[0] - b'0') * 10 + (digits[1] - b'0'))
            .unwrap_or_else(|| unreachable!("a TrackingCode only holds a known province prefix"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Reads a stored code (a database column), with [`TrackingCode::parse`]'s rules.
impl TryFrom<String> for TrackingCode {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn tehran() -> ProvinceCode {
        ProvinceCode::parse("IR-23").unwrap()
    }

    #[test]
    fn generated_codes_parse_and_carry_their_province() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..1000 {
            let code = TrackingCode::generate(tehran(), &mut rng);
            assert!(code.as_str().starts_with("23"));
            assert_eq!(TrackingCode::parse(code.as_str()).unwrap(), code);
            assert_eq!(code.province(), tehran());
        }
    }

    #[test]
    fn every_single_digit_error_is_detected() {
        let mut rng = StdRng::seed_from_u64(11);
        let code = TrackingCode::generate(tehran(), &mut rng);
        for position in 0..LEN {
            for replacement in b'0'..=b'9' {
                let mut bytes = code.as_str().as_bytes().to_vec();
                if bytes[position] == replacement {
                    continue;
                }
                bytes[position] = replacement;
                let typo = String::from_utf8(bytes).unwrap();
                assert!(TrackingCode::parse(&typo).is_err(), "{typo} was not caught");
            }
        }
    }

    #[test]
    fn every_adjacent_transposition_is_detected() {
        let mut rng = StdRng::seed_from_u64(13);
        for _ in 0..200 {
            let code = TrackingCode::generate(tehran(), &mut rng);
            for i in 0..LEN - 1 {
                let mut bytes = code.as_str().as_bytes().to_vec();
                if bytes[i] == bytes[i + 1] {
                    continue;
                }
                bytes.swap(i, i + 1);
                let typo = String::from_utf8(bytes).unwrap();
                assert!(TrackingCode::parse(&typo).is_err(), "{typo} was not caught");
            }
        }
    }

    #[test]
    fn persian_digits_and_separators_are_accepted() {
        let mut rng = StdRng::seed_from_u64(3);
        let code = TrackingCode::generate(tehran(), &mut rng);
        let persian: String =
            code.as_str().chars().map(|c| char::from_u32(c as u32 - '0' as u32 + '۰' as u32).unwrap()).collect();
        let spaced = format!("{}-{}", &persian[..12], &persian[12..]);
        assert_eq!(TrackingCode::parse(&spaced).unwrap(), code);
    }

    #[test]
    fn wrong_length_is_a_format_error() {
        assert_eq!(TrackingCode::parse("123").unwrap_err().code, "tracking_code_format");
        assert_eq!(TrackingCode::parse("23abc").unwrap_err().code, "tracking_code_format");
    }
}
