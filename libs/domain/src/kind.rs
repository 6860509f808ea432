use serde::{Deserialize, Serialize};

use crate::error::FieldError;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal, $code:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(input: &str) -> Result<Self, FieldError> {
                let wanted = input.trim().to_ascii_lowercase();
                Self::ALL.iter().copied().find(|v| v.as_str() == wanted).ok_or_else(|| {
                    FieldError::new(
                        $field,
                        $code,
                        format!("{} must be one of: {}", $field, Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")),
                    )
                })
            }
        }

        /// Reads a stored value (a database column), with [`Self::parse`]'s rules.
        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// The kinds of petition SAMAD distinguishes.
    PetitionKind, "kind", "kind_unknown", {
        Request => "request",
        Complaint => "complaint",
        Criticism => "criticism",
        Suggestion => "suggestion",
        Idea => "idea",
        Question => "question",
        Appreciation => "appreciation",
    }
);

string_enum!(
    /// How a petition reached the ministry.
    Channel, "channel", "channel_unknown", {
        Desk => "desk",
        Web => "web",
        Phone => "phone",
        Letter => "letter",
        Open311 => "open311",
        Partner => "partner",
    }
);

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
    fn json_spells_every_kind_and_channel_as_its_name() {
        for kind in PetitionKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for channel in Channel::ALL {
            assert_eq!(serde_json::to_value(channel).unwrap(), channel.as_str());
        }
    }
}
