//! Routing's reaction to the lifecycle topic: a `Submitted` petition becomes a
//! case (routed, merged into the citizen's open duplicate, or closed on the
//! spot); the citizen's reply and rating, published by intake, move the case on.
//!
//! A batch's texts come from intake in one call before the transaction opens
//! ([`BatchHandler::prepare`]); the transaction then only touches PostgreSQL.
//!
//! Long by choice: the lifecycle topic's handler is one batch — texts fetched in `prepare`, then
//! new cases, merges, replies and ratings in one transaction — and the order of those steps within
//! the batch is what keeps a citizen's events in order.
mod desk;
mod new_cases;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use pasokh_domain::{CaseAction, CaseStatus, SlaState, text_similarity};
use pasokh_events::batch::BatchHandler;
use pasokh_events::consumer::{HandlerError, Received};
use pasokh_events::lifecycle::{self, timestamp};
use pasokh_platform::auth::grpc::AuthorizedChannel;
use pasokh_proto::events::v1::petition_event::Body;
use pasokh_proto::events::v1::{Closed, InfoProvided, PetitionEvent, Rated, Routed, Submitted};
use pasokh_proto::intake::v1::intake_internal_client::IntakeInternalClient;
use pasokh_proto::intake::v1::{GetTextRequest, GetTextsRequest};
use sqlx::PgConnection;
use tokio::sync::Notify;
use tracing::Instrument;
use uuid::Uuid;

use crate::Error;
use crate::rules::RuleBook;
use crate::store::{self, CaseRecord, CitizenKey, HistoryLine};
use crate::workflow::{Actor, Change, Workflow, deadline, warning_at};
use new_cases::{NewCase, NewCases, OpenCases};

pub(crate) use desk::DeskPromises;

/// The most texts asked of intake in one call (its limit).
const TEXTS_PER_CALL: usize = 1000;

pub(crate) struct CaseEvents {
    pub workflow: Workflow,
    pub rules: RuleBook,
    pub intake: IntakeInternalClient<AuthorizedChannel>,
    pub relay_waker: Arc<Notify>,
}

/// The texts a batch needs, by petition and reply id (empty for the petition's own).
#[derive(Default)]
pub(crate) struct Texts(HashMap<(String, String), String>);

impl Texts {
    fn get(&self, petition_id: Uuid, reply_id: &str) -> Result<String, Error> {
        self.0
            .get(&(petition_id.to_string(), reply_id.to_owned()))
            .cloned()
            .ok_or_else(|| Error::Refused(format!("intake has no text for petition {petition_id} reply `{reply_id}`")))
    }
}

/// The text an event needs, if any.
fn text_wanted(event: &Received<PetitionEvent>) -> Option<GetTextRequest> {
    let petition_id = event.message.petition_id.clone();
    match &event.message.body {
        Some(Body::Submitted(_)) => Some(GetTextRequest { petition_id, reply_id: String::new() }),
        Some(Body::InfoProvided(reply)) => Some(GetTextRequest { petition_id, reply_id: reply.reply_id.clone() }),
        _ => None,
    }
}

impl BatchHandler for CaseEvents {
    type Message = PetitionEvent;
    type Prepared = Texts;

    #[tracing::instrument(skip_all, fields(events = events.len()))]
    async fn prepare(&self, events: &[&Received<PetitionEvent>]) -> Result<Texts, HandlerError> {
        let wanted: Vec<GetTextRequest> = events.iter().filter_map(|e| text_wanted(e)).collect();
        let mut texts = Texts::default();
        for chunk in wanted.chunks(TEXTS_PER_CALL) {
            let request = GetTextsRequest { items: chunk.to_vec() };
            let found = self
                .intake
                .clone()
                .get_texts(request)
                .await
                .map_err(|status| to_handler_error(Error::Intake(status)))?;
            for item in found.into_inner().items {
                texts.0.insert((item.petition_id, item.reply_id), item.text);
            }
        }
        Ok(texts)
    }

    #[tracing::instrument(skip_all, fields(events = events.len()))]
    async fn handle_batch(
        &self,
        conn: &mut PgConnection,
        events: &[&Received<PetitionEvent>],
        texts: &Texts,
    ) -> Result<(), HandlerError> {
        let citizens: Vec<String> = events
            .iter()
            .filter_map(|e| match &e.message.body {
                Some(Body::Submitted(s)) if !s.citizen_ref.is_empty() => {
                    Some(format!("{}|{}|{}", s.citizen_ref, s.category, e.message.province))
                }
                _ => None,
            })
            .collect();
        store::lock_citizens(conn, &citizens).await.map_err(to_handler_error)?;
        let keys: Vec<CitizenKey> = events
            .iter()
            .filter_map(|e| match &e.message.body {
                Some(Body::Submitted(s)) if !s.citizen_ref.is_empty() => Some(CitizenKey {
                    citizen_ref: s.citizen_ref.clone(),
                    category: s.category.clone(),
                    province: e.message.province.clone(),
                }),
                _ => None,
            })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut pending = NewCases::default();
        // None once an event wrote on its own: fetched again (after the pending cases) when needed
        let mut open: Option<OpenCases> = None;
        for event in events {
            if let Some(Body::Submitted(submitted)) = &event.message.body
                && submitted.repeat_of.is_empty()
            {
                let open_cases = match open.as_mut() {
                    Some(open_cases) => open_cases,
                    None => {
                        pending.flush(conn).await.map_err(to_handler_error)?;
                        open.insert(OpenCases::fetch(conn, &keys).await.map_err(to_handler_error)?)
                    }
                };
                let joined_none = self
                    .route_with_batch(event, submitted, texts, open_cases, &mut pending)
                    .map_err(to_handler_error)?;
                if joined_none {
                    continue;
                }
            }
            pending.flush(conn).await.map_err(to_handler_error)?;
            open = None;
            self.handle(conn, event, texts).instrument(event.span.clone()).await?;
        }
        pending.flush(conn).await.map_err(to_handler_error)
    }

    fn wants(&self, event: &Received<PetitionEvent>) -> bool {
        // intake's events; routing's own (routed, acknowledged, …) come back on the topic too
        !matches!(&event.message.body, Some(body) if !matches!(body, Body::Submitted(_) | Body::InfoProvided(_) | Body::Rated(_)))
    }

    fn after_commit(&self) {
        self.relay_waker.notify_one();
    }
}

fn to_handler_error(error: Error) -> HandlerError {
    match error {
        // intake down, overloaded, failing, or not (yet) the right peer: during a rollout an older
        // intake answers UNIMPLEMENTED and a mesh policy PERMISSION_DENIED or UNAUTHENTICATED, and
        // none of these says anything about the event; only what intake says of the request is final
        Error::Intake(ref status)
            if !matches!(
                status.code(),
                tonic::Code::InvalidArgument
                    | tonic::Code::NotFound
                    | tonic::Code::FailedPrecondition
                    | tonic::Code::OutOfRange
            ) =>
        {
            HandlerError::Transient(pasokh_platform::tasks::error_chain(&error))
        }
        Error::Intake(status) => {
            HandlerError::Permanent(format!("intake refused the text lookup: {:?} {}", status.code(), status.message()))
        }
        Error::Database(_) | Error::Events(_) => HandlerError::Transient(pasokh_platform::tasks::error_chain(&error)),
        other => HandlerError::Permanent(other.to_string()),
    }
}

impl CaseEvents {
    /// Adds a submitted petition that joins no open case to the batch's pending cases; `false`
    /// when it is a duplicate, to be merged on its own.
    fn route_with_batch(
        &self,
        event: &Received<PetitionEvent>,
        submitted: &Submitted,
        texts: &Texts,
        open: &mut OpenCases,
        pending: &mut NewCases,
    ) -> Result<bool, Error> {
        // the Routed event carries the trace context of the span it is built in: the petition's own
        let _in_span = event.span.enter();
        let petition_id = Uuid::parse_str(&event.message.petition_id)
            .map_err(|_| Error::Refused(format!("petition_id `{}` is not a UUID", event.message.petition_id)))?;
        let mut case = self.new_case(petition_id, event, submitted, texts)?;
        let may_join = !(submitted.resolved_on_spot || submitted.citizen_ref.is_empty());
        if may_join && open.has_duplicate(&case, self.workflow.settings.duplicate_similarity) {
            return Ok(false);
        }
        if pending.holds(petition_id) {
            tracing::info!(%petition_id, "case already exists, not routing again");
            return Ok(true);
        }
        let change = Self::first_change(&mut case, submitted)?;
        // the case goes in as the change leaves it, at version 1
        case.event_sequence = 1;
        let first = self.workflow.recorded(&case, CaseStatus::Submitted, change, &Actor::system(), 1)?;
        open.opened(&case);
        pending.push(NewCase {
            submitted_event: event.cloud.id,
            submitted_note: format!("{} via {}", submitted.kind, submitted.channel),
            first,
            span: event.span.clone(),
            case,
        });
        Ok(true)
    }

    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &Received<PetitionEvent>,
        texts: &Texts,
    ) -> Result<(), HandlerError> {
        let petition_id = Uuid::parse_str(&event.message.petition_id).map_err(|_| {
            HandlerError::Permanent(format!("petition_id `{}` is not a UUID", event.message.petition_id))
        })?;
        let outcome = match &event.message.body {
            Some(Body::Submitted(submitted)) => self.route(conn, petition_id, event, submitted, texts).await,
            Some(Body::InfoProvided(reply)) => {
                self.citizen_replied(conn, petition_id, event.cloud.id, reply, texts).await
            }
            Some(Body::Rated(rating)) => self.citizen_rated(conn, petition_id, event.cloud.id, rating).await,
            _ => return Ok(()), // routing's own events, or not its concern
        };
        outcome.map_err(to_handler_error)
    }

    /// The case a submitted petition becomes, before its first change.
    fn new_case(
        &self,
        petition_id: Uuid,
        event: &Received<PetitionEvent>,
        submitted: &Submitted,
        texts: &Texts,
    ) -> Result<CaseRecord, Error> {
        let message = &event.message;
        let province = pasokh_domain::ProvinceCode::parse(&message.province)
            .map_err(|_| Error::Refused(format!("unknown province `{}`", message.province)))?;
        let text = texts.get(petition_id, "")?;
        let submitted_at = lifecycle::from_timestamp(message.occurred_at.as_ref()).unwrap_or_else(Utc::now);
        let decision = self.rules.current().decide(&submitted.category, province, &text);
        let calendar = &self.workflow.calendar;
        let ratio = self.workflow.warning_ratio;
        let first_response_due = deadline(calendar, submitted_at, decision.first_response_days);
        let resolution_due = deadline(calendar, submitted_at, decision.resolution_days);
        Ok(CaseRecord {
            petition_id,
            tracking_code: message.tracking_code.clone(),
            province,
            category: submitted.category.clone(),
            citizen_ref: submitted.citizen_ref.clone(),
            status: CaseStatus::Submitted,
            organisation: decision.organisation.clone(),
            unit: decision.unit.clone(),
            rule: if submitted.resolved_on_spot { "desk:resolved-on-spot".into() } else { decision.rule.clone() },
            priority: decision.priority.as_str().into(),
            kind: submitted.kind.clone(),
            text,
            submitted_at,
            first_response_days: decision.first_response_days as i32,
            resolution_days: decision.resolution_days as i32,
            first_response_due,
            resolution_due,
            first_response_warn: Some(warning_at(submitted_at, first_response_due, ratio)),
            resolution_warn: Some(warning_at(submitted_at, resolution_due, ratio)),
            first_responded_at: None,
            responded_at: None,
            info_requested_at: None,
            first_response_alert: SlaState::OnTrack,
            resolution_alert: SlaState::OnTrack,
            breaches: 0,
            escalation_level: 0,
            forwards: 0,
            transfers: 0,
            expected_at: None,
            interim_reason: String::new(),
            merged_into: None,
            rating: None,
            updated_at: Utc::now(),
            channel: submitted.channel.clone(),
            desk_event_id: submitted.desk_event_id.clone(),
            attachment_count: i32::try_from(submitted.attachment_count).unwrap_or(i32::MAX),
            event_sequence: 0,
        })
    }

    /// The first change of a case that joins no other: routed, or closed at the desk.
    fn first_change(case: &mut CaseRecord, submitted: &Submitted) -> Result<Change, Error> {
        if submitted.resolved_on_spot {
            case.status = CaseStatus::Submitted.apply(CaseAction::CloseOnSpot)?;
            Ok(Change {
                action: CaseAction::CloseOnSpot.as_str(),
                body: Body::Closed(Closed {
                    reason: "resolved_on_spot".into(),
                    category: case.category.clone(),
                    organisation: case.organisation.clone(),
                    unit: case.unit.clone(),
                }),
                note: format!("answered at desk event {}", submitted.desk_event_id),
                message: String::new(),
            })
        } else {
            case.status = CaseStatus::Submitted.apply(CaseAction::Route)?;
            Ok(Change {
                action: CaseAction::Route.as_str(),
                body: Body::Routed(Routed {
                    category: case.category.clone(),
                    organisation: case.organisation.clone(),
                    unit: case.unit.clone(),
                    rule: case.rule.clone(),
                    first_response_due: Some(timestamp(case.first_response_due)),
                    resolution_due: Some(timestamp(case.resolution_due)),
                    priority: case.priority.clone(),
                }),
                note: format!("rule {} → {}", case.rule, case.unit),
                message: String::new(),
            })
        }
    }

    /// Routes one petition on its own, writing as it goes: the path of a confirmed repeat and of
    /// a duplicate, whose original it notes.
    async fn route(
        &self,
        conn: &mut PgConnection,
        petition_id: Uuid,
        event: &Received<PetitionEvent>,
        submitted: &Submitted,
        texts: &Texts,
    ) -> Result<(), Error> {
        let mut case = self.new_case(petition_id, event, submitted, texts)?;
        // a repeat the desk confirmed with the citizen joins that case whatever its wording;
        // otherwise an open case of the citizen's in the category with similar text is a duplicate
        let confirmed_repeat = match submitted.repeat_of.as_str() {
            "" => None,
            code => {
                store::open_case_of_citizen(conn, &case.citizen_ref, code, &case.province.to_string(), case.petition_id)
                    .await?
            }
        };
        let duplicate_of = if submitted.resolved_on_spot || submitted.citizen_ref.is_empty() {
            None
        } else if let Some(original) = confirmed_repeat {
            Some((original, 1.0))
        } else {
            self.open_duplicate(conn, &case).await?
        };
        let change = if let Some((original, similarity)) = &duplicate_of {
            let automatic = submitted.repeat_of != original.tracking_code;
            self.workflow.merge(&mut case, original, *similarity, automatic, &Actor::system())?
        } else {
            Self::first_change(&mut case, submitted)?
        };
        // the case goes in as the change leaves it, at version 1: one INSERT instead of an
        // INSERT and an UPDATE per petition
        case.event_sequence = 1;
        if !store::insert_case(conn, &case).await? {
            tracing::info!(%petition_id, "case already exists, not routing again");
            return Ok(());
        }
        store::append_history(
            conn,
            &HistoryLine {
                petition_id,
                event_id: event.cloud.id,
                from_status: None,
                to_status: CaseStatus::Submitted.as_str(),
                action: "submitted",
                actor: "citizen",
                note: &format!("{} via {}", submitted.kind, submitted.channel),
                message: "",
            },
        )
        .await?;
        let event_id = self.workflow.record_new(conn, &case, change, &Actor::system()).await?;
        if let Some((original, similarity)) = duplicate_of {
            let status = original.status.as_str();
            let note = format!("{} joined this case (text similarity {similarity:.2})", case.tracking_code);
            store::append_note(conn, original.petition_id, event_id, status, "duplicate joined", "system", &note)
                .await?;
        }
        Ok(())
    }

    /// The citizen's open case in the same category whose text is most like this one, above the threshold.
    async fn open_duplicate(
        &self,
        conn: &mut PgConnection,
        case: &CaseRecord,
    ) -> Result<Option<(CaseRecord, f64)>, Error> {
        let candidates =
            store::open_cases_of(conn, &case.citizen_ref, &case.category, &case.province.to_string(), case.petition_id)
                .await?;
        let threshold = self.workflow.settings.duplicate_similarity;
        Ok(candidates
            .into_iter()
            .map(|c| {
                let similarity = text_similarity(&c.text, &case.text);
                (c, similarity)
            })
            .filter(|(_, similarity)| *similarity >= threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1)))
    }

    async fn citizen_replied(
        &self,
        conn: &mut PgConnection,
        petition_id: Uuid,
        event_id: Uuid,
        reply: &InfoProvided,
        texts: &Texts,
    ) -> Result<(), Error> {
        let text = texts.get(petition_id, &reply.reply_id)?;
        let mut case = store::lock_case(conn, petition_id).await?.ok_or(Error::NotFound("case"))?;
        let from = case.status;
        if from == CaseStatus::InfoRequested {
            let change = self.workflow.provide_info(&mut case, &text, Utc::now())?;
            self.workflow.record(conn, &case, from, change, &Actor::citizen()).await?;
        } else {
            // not asked for (any more): the officer still sees it in the history
            let note = format!("citizen's reply (not requested): {text}");
            store::append_note(conn, petition_id, event_id, from.as_str(), "citizen replied", "citizen", &note).await?;
        }
        Ok(())
    }

    async fn citizen_rated(
        &self,
        conn: &mut PgConnection,
        petition_id: Uuid,
        event_id: Uuid,
        rating: &Rated,
    ) -> Result<(), Error> {
        let mut case = store::lock_case(conn, petition_id).await?.ok_or(Error::NotFound("case"))?;
        let from = case.status;
        match self.workflow.rate(&mut case, rating.score, Utc::now())? {
            Some(change) => {
                self.workflow.record(conn, &case, from, change, &Actor::citizen()).await?;
            }
            None => {
                store::save_case(conn, &case).await?;
                let note = format!("rated {}/5", rating.score);
                store::append_note(conn, petition_id, event_id, from.as_str(), "rated", "citizen", &note).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use pasokh_domain::BusinessCalendar;

    use super::*;
    use pasokh_domain::tehran;

    #[test]
    fn deadlines_end_at_midnight_tehran_and_skip_fridays() {
        let calendar = BusinessCalendar::new(false, &[]);
        // Wednesday 2026-11-25 10:00 Tehran; 2 working days → Saturday 2026-11-28 23:59:59 Tehran
        let submitted = tehran().with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap().with_timezone(&Utc);
        let due = deadline(&calendar, submitted, 2).with_timezone(&tehran());
        assert_eq!(due.to_rfc3339(), "2026-11-28T23:59:59+03:30");
        // late evening UTC is already the next day in Tehran
        let late = Utc.with_ymd_and_hms(2026, 11, 25, 21, 0, 0).unwrap();
        assert_eq!(deadline(&calendar, late, 1).with_timezone(&tehran()).to_rfc3339(), "2026-11-28T23:59:59+03:30");
    }
}
