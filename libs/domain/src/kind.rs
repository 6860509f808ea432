//! The closed sets of names the API and the stored rows spell (kinds, channels; statuses and
//! roles elsewhere): the names come from `strum`'s derives, and [`parse_name`] reads one as a
//! field's value, with an error that lists the choices.
use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

use crate::error::FieldError;

/// Reads one of `E`'s names as the value of `field` (surrounding spaces and letter case do not
/// matter); otherwise a `code` error naming every choice.
pub fn parse_name<E>(input: &str, field: &str, code: &'static str) -> Result<E, FieldError>
where
    E: VariantArray + Copy + std::str::FromStr + Into<&'static str>,
{
    input.trim().parse().map_err(|_| {
        let choices: Vec<&'static str> = E::VARIANTS.iter().map(|&v| v.into()).collect();
        FieldError::new(field, code, format!("{field} must be one of: {}", choices.join(", ")))
    })
}

/// The kinds of petition SAMAD distinguishes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, VariantArray, IntoStaticStr, EnumString, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
pub enum PetitionKind {
    Request,
    Complaint,
    Criticism,
    Suggestion,
    Idea,
    Question,
    Appreciation,
}

/// How a petition reached the ministry.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, VariantArray, IntoStaticStr, EnumString, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
pub enum Channel {
    Desk,
    Web,
    Phone,
    Letter,
    Open311,
    Partner,
}

/// `ALL`, `as_str`, `parse` and the column reader of a name set, from its derives.
macro_rules! named {
    ($name:ident, $field:literal, $code:literal) => {
        impl $name {
            pub const ALL: &'static [$name] = <$name as VariantArray>::VARIANTS;

            pub fn as_str(self) -> &'static str {
                self.into()
            }

            pub fn parse(input: &str) -> Result<Self, FieldError> {
                parse_name(input, $field, $code)
            }
        }

        /// Reads a stored value (a database column), with [`Self::parse`]'s rules.
        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
    };
}

named!(PetitionKind, "kind", "kind_unknown");
named!(Channel, "channel", "channel_unknown");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_and_channel_by_name() {
        for kind in PetitionKind::ALL {
            assert_eq!(PetitionKind::parse(kind.as_str()).unwrap(), *kind);
        }
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(&channel.as_str().to_uppercase()).unwrap(), *channel);
        }
    }

    #[test]
    fn unknown_values_name_the_field_and_the_choices() {
        let error = PetitionKind::parse("rant").unwrap_err();
        assert_eq!(error.code, "kind_unknown");
        assert!(error.message.contains("complaint"));
        assert_eq!(Channel::parse("fax").unwrap_err().code, "channel_unknown");
    }

    #[test]
    fn the_names_are_the_ones_stored_and_published() {
        let kinds: Vec<&str> = PetitionKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds, ["request", "complaint", "criticism", "suggestion", "idea", "question", "appreciation"]);
        let channels: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(channels, ["desk", "web", "phone", "letter", "open311", "partner"]);
        assert_eq!(Channel::Open311.to_string(), "open311", "Display is the name too");
        assert_eq!(PetitionKind::parse("  Complaint ").unwrap(), PetitionKind::Complaint);
    }

    #[test]
    fn json_spells_every_kind_and_channel_as_its_name() {
        for kind in PetitionKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for channel in Channel::ALL {
            assert_eq!(serde_json::to_value(channel).unwrap(), channel.as_str());
        }
    }
}
