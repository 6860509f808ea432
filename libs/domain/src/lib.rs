//! Pasokh's domain: every value that crosses the system's edge is parsed into
//! one of these types first, so the rest of the code never handles a raw
//! national id, mobile number or province string.

mod access;
mod attachment;
mod calendar;
mod catalog;
mod citizen_ref;
mod digits;
mod error;
mod idempotency;
mod jalali;
mod kind;
mod letter;
mod mobile;
mod national_id;
mod province;
mod status;
mod text;
mod tracking_code;

pub use access::{Action, HQ_ACTION, Reach, Role, reach};
pub use attachment::{Attachment, parse_county};
pub use calendar::{BusinessCalendar, Holiday, HolidayBasis, built_in_holidays, parse_holidays};
pub use catalog::{
    Category, CategoryCode, Organisation, OrganisationCode, Unit, UnitRole, categories, organisations, unit, units,
};
pub use citizen_ref::{CitizenRef, CitizenRefKey};
pub use digits::{normalize_digits, persian_digits};
pub use error::{FieldError, ValidationErrors};
pub use idempotency::IdempotencyKey;
pub use jalali::{JalaliDate, format_jalali, jalali_to_gregorian, parse_date, tehran, tehran_date};
pub use kind::{Channel, PetitionKind, parse_name};
pub use letter::Letter;
pub use mobile::Mobile;
pub use national_id::NationalId;
pub use province::{Province, ProvinceCode, provinces};
pub use status::{CaseAction, CaseStatus, InvalidTransition, SlaState, UnknownStatus};
pub use text::{PetitionText, normalize_text, text_similarity};
pub use tracking_code::TrackingCode;
