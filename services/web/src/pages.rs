//! One template per page (askama, checked at compile time) and the view models
//! they read: everything is formatted for people (Persian digits, Jalali dates)
//! before it reaches a template.
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::assets;
use crate::forms::Form;

/// What the layout needs on every page.
pub(crate) struct Chrome {
    pub(crate) css_url: &'static str,
    pub(crate) font_url: &'static str,
    pub(crate) desk_js_url: &'static str,
    pub(crate) citizen_js_url: &'static str,
    /// the staff console's masthead and script
    pub(crate) staff: bool,
    /// the console's sections this member of staff works in
    pub(crate) nav_desk: bool,
    pub(crate) nav_cases: bool,
    pub(crate) nav_reports: bool,
    pub(crate) signed_in_as: Option<String>,
    /// the session's CSRF token, for the sign-out form and the console's forms
    pub(crate) csrf: String,
}

impl Chrome {
    pub(crate) fn public() -> Self {
        Self {
            css_url: assets::url("site.css"),
            font_url: assets::url("vazirmatn-ui-nl-400.woff2"),
            desk_js_url: assets::url("desk.js"),
            citizen_js_url: assets::url("citizen.js"),
            staff: false,
            nav_desk: false,
            nav_cases: false,
            nav_reports: false,
            signed_in_as: None,
            csrf: String::new(),
        }
    }

    pub(crate) fn staff(session: Option<&crate::session::StaffSession>) -> Self {
        use pasokh_domain::{Action, reach};
        let may = |action| session.is_some_and(|s| reach(s.role, action, false).is_some());
        Self {
            staff: true,
            nav_desk: may(Action::FileAtDesk),
            nav_cases: may(Action::ReadCases),
            nav_reports: may(Action::ReadReports),
            signed_in_as: session.map(|s| s.display_name.clone()),
            csrf: session.map(|s| s.csrf_token.clone()).unwrap_or_default(),
            ..Self::public()
        }
    }
}

/// An option of a select, radio group or datalist.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) checked: bool,
}

impl Choice {
    pub(crate) fn new(value: impl Into<String>, label: impl Into<String>) -> Self {
        Self { value: value.into(), label: label.into(), checked: false }
    }
}

pub(crate) struct ChoiceGroup {
    pub(crate) organisation: String,
    pub(crate) options: Vec<Choice>,
}

/// Renders a page; a template that fails to render is a bug, answered with the error page.
pub(crate) fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => crate::Error::Render(error).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    message: &'a str,
}

pub(crate) fn error_page(status: StatusCode, message: &str) -> Html<String> {
    let page = ErrorPage { chrome: Chrome::public(), message };
    // the error page has no failure of its own to fall back on: a plain sentence then
    Html(page.render().unwrap_or_else(|_| format!("<p>{status}</p>")))
}

#[derive(Template)]
#[template(path = "public/home.html")]
pub(crate) struct Home {
    pub(crate) chrome: Chrome,
    pub(crate) organisations: Vec<String>,
}

#[derive(Template)]
#[template(path = "public/file.html")]
pub(crate) struct FilePetition {
    pub(crate) chrome: Chrome,
    pub(crate) csrf: String,
    pub(crate) form: Form,
    pub(crate) categories: Vec<ChoiceGroup>,
    pub(crate) kinds: Vec<Choice>,
    pub(crate) provinces: Vec<Choice>,
}

/// What a receipt shows, kept for the page after the redirect.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Receipt {
    pub(crate) tracking_code: String,
    pub(crate) tracking_code_fa: String,
    pub(crate) category: String,
    pub(crate) organisation: String,
    pub(crate) submitted: String,
    pub(crate) expected: String,
}

#[derive(Template)]
#[template(path = "public/receipt.html")]
pub(crate) struct ReceiptPage {
    pub(crate) chrome: Chrome,
    pub(crate) receipt: Receipt,
    pub(crate) qr_svg: String,
}

#[derive(Template)]
#[template(path = "public/track.html")]
pub(crate) struct Track {
    pub(crate) chrome: Chrome,
    pub(crate) csrf: String,
    pub(crate) form: Form,
}

/// A petition's status as the citizen reads it.
pub(crate) struct CitizenStatus {
    pub(crate) tracking_code: String,
    pub(crate) tracking_code_fa: String,
    pub(crate) label: String,
    pub(crate) category: String,
    pub(crate) organisation: String,
    pub(crate) submitted: String,
    pub(crate) due: Option<String>,
    pub(crate) first_response_due: Option<String>,
    /// the unit handling it, by its Persian name
    pub(crate) unit: Option<String>,
    pub(crate) timeline: Vec<TimelineStep>,
    /// false when routing could not be asked
    pub(crate) current: bool,
    pub(crate) may_reply: bool,
    pub(crate) may_rate: bool,
}

/// A step of the petition's history, as the citizen reads it.
pub(crate) struct TimelineStep {
    pub(crate) when: String,
    pub(crate) title: String,
    /// the unit's own words (a question, a response), if it wrote any
    pub(crate) message: String,
}

#[derive(Template)]
#[template(path = "public/status.html")]
pub(crate) struct StatusPage {
    pub(crate) chrome: Chrome,
    pub(crate) csrf: String,
    pub(crate) status: CitizenStatus,
    /// the mobile, posted back with a reply or rating (never in a URL)
    pub(crate) mobile: String,
    pub(crate) form: Form,
    pub(crate) scores: Vec<Choice>,
    pub(crate) done: Option<&'static str>,
}

/// A desk event as the console lists it.
#[derive(Debug, Clone)]
pub(crate) struct DeskEvent {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) venue: String,
    pub(crate) starts: String,
    pub(crate) ends: String,
    pub(crate) organisations: Vec<String>,
}

#[derive(Template)]
#[template(path = "desk/events.html")]
pub(crate) struct DeskEvents {
    pub(crate) chrome: Chrome,
    pub(crate) province: String,
    pub(crate) events: Vec<DeskEvent>,
    pub(crate) may_manage: bool,
    pub(crate) form: Form,
    pub(crate) organisations: Vec<Choice>,
    pub(crate) done: Option<&'static str>,
}

/// A walk-in's earlier petition, offered so a repeat joins the open case.
#[derive(Debug, Clone)]
pub(crate) struct EarlierPetition {
    pub(crate) tracking_code: String,
    pub(crate) tracking_code_fa: String,
    pub(crate) category: String,
    pub(crate) status: String,
    pub(crate) submitted: String,
    pub(crate) open: bool,
}

/// The desk event's live counter.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Counts {
    pub(crate) registered: String,
    pub(crate) resolved_on_spot: String,
    pub(crate) meetings: String,
    pub(crate) promises: String,
}

#[derive(Template)]
#[template(path = "desk/walk_in.html")]
pub(crate) struct WalkIn {
    pub(crate) chrome: Chrome,
    pub(crate) event: DeskEvent,
    pub(crate) form: Form,
    pub(crate) categories: Vec<Choice>,
    /// the event's organisations, for a referral to an official at the desk
    pub(crate) organisations: Vec<Choice>,
    /// looked up once the national id is known: none before
    pub(crate) earlier: Option<Vec<EarlierPetition>>,
    pub(crate) counts: Counts,
}

#[derive(Template)]
#[template(path = "desk/fragment_petitions.html")]
pub(crate) struct PetitionsFragment {
    pub(crate) form: Form,
    pub(crate) earlier: Option<Vec<EarlierPetition>>,
}

#[derive(Template)]
#[template(path = "desk/fragment_counter.html")]
pub(crate) struct CounterFragment {
    pub(crate) counts: Counts,
}

/// The slip printed for a walk-in.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Slip {
    pub(crate) tracking_code: String,
    pub(crate) tracking_code_fa: String,
    pub(crate) event_id: String,
    pub(crate) event_title: String,
    pub(crate) submitted: String,
    pub(crate) mobile_fa: String,
    pub(crate) resolved: bool,
    /// the open petition this visit was added to
    pub(crate) repeat_of_fa: Option<String>,
    /// the official at the desk the citizen was sent to
    pub(crate) referred_to: Option<String>,
}

#[derive(Template)]
#[template(path = "desk/slip.html")]
pub(crate) struct SlipPage {
    pub(crate) chrome: Chrome,
    pub(crate) slip: Slip,
    pub(crate) qr_svg: String,
}

#[derive(Template)]
#[template(path = "desk/meeting.html")]
pub(crate) struct Meeting {
    pub(crate) chrome: Chrome,
    pub(crate) event: DeskEvent,
    pub(crate) form: Form,
    pub(crate) organisations: Vec<Choice>,
    pub(crate) done: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "public/mine_ask.html")]
pub(crate) struct MineAsk {
    pub(crate) chrome: Chrome,
    pub(crate) csrf: String,
    pub(crate) form: Form,
}

#[derive(Template)]
#[template(path = "public/mine_verify.html")]
pub(crate) struct MineVerify {
    pub(crate) chrome: Chrome,
    pub(crate) csrf: String,
    pub(crate) id: String,
    pub(crate) form: Form,
}

/// One of a mobile's petitions, as "my petitions" lists it.
pub(crate) struct MinePetition {
    pub(crate) tracking_code_fa: String,
    pub(crate) category: String,
    pub(crate) organisation: String,
    pub(crate) status: String,
    pub(crate) submitted: String,
    pub(crate) due: Option<String>,
}

#[derive(Template)]
#[template(path = "public/mine_list.html")]
pub(crate) struct MineList {
    pub(crate) chrome: Chrome,
    pub(crate) mobile_fa: String,
    pub(crate) petitions: Vec<MinePetition>,
    /// false when a province's intake could not answer
    pub(crate) complete: bool,
}
