//! A batch's plain new cases (routed or closed at the desk, joining no other case), written
//! together: one INSERT of the cases, one of their history lines and one of their events,
//! instead of five statements per petition. At a few hundred petitions a second those
//! round trips were routing's whole budget (docs/benchmarks.md, "Pipeline").
//!
//! Duplicates are found in memory against the batch's citizens' open cases, fetched (and
//! locked) in one query, plus the cases the batch itself opened. Anything else (a merge, a
//! confirmed repeat, a reply, a rating) writes what is pending first and then runs on its own,
//! as before, so every statement sees the cases earlier events made.
use std::collections::{HashMap, HashSet};

use pasokh_domain::text_similarity;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::Error;
use crate::store::{self, CaseRecord, CitizenKey, HistoryLine};
use crate::workflow::Recorded;

/// How many of a citizen's open cases a petition is compared with (the oldest), as before.
const CANDIDATES: usize = 20;

/// The open cases of the batch's citizens, as the batch has left them so far.
pub(super) struct OpenCases(HashMap<CitizenKey, Vec<CaseRecord>>);

impl OpenCases {
    pub(super) async fn fetch(conn: &mut PgConnection, keys: &[CitizenKey]) -> Result<Self, Error> {
        let mut open: HashMap<CitizenKey, Vec<CaseRecord>> = HashMap::new();
        if !keys.is_empty() {
            for case in store::open_cases_of_all(conn, keys).await? {
                open.entry(CitizenKey::of(&case)).or_default().push(case);
            }
        }
        Ok(Self(open))
    }

    /// Whether one of the citizen's oldest open cases reads like this one (at `threshold` or more).
    pub(super) fn has_duplicate(&self, case: &CaseRecord, threshold: f64) -> bool {
        let Some(cases) = self.0.get(&CitizenKey::of(case)) else {
            return false;
        };
        let mut candidates: Vec<&CaseRecord> = cases.iter().filter(|c| c.petition_id != case.petition_id).collect();
        candidates.sort_by_key(|c| c.submitted_at);
        candidates.iter().take(CANDIDATES).any(|c| text_similarity(&c.text, &case.text) >= threshold)
    }

    pub(super) fn opened(&mut self, case: &CaseRecord) {
        if case.status.is_open() {
            self.0.entry(CitizenKey::of(case)).or_default().push(case.clone());
        }
    }
}

/// One new case waiting to be written, with the line saying it was submitted and its first change.
pub(super) struct NewCase {
    pub case: CaseRecord,
    pub submitted_event: Uuid,
    pub submitted_note: String,
    pub first: Recorded,
    pub span: tracing::Span,
}

#[derive(Default)]
pub(super) struct NewCases(Vec<NewCase>);

impl NewCases {
    pub(super) fn holds(&self, petition_id: Uuid) -> bool {
        self.0.iter().any(|new| new.case.petition_id == petition_id)
    }

    pub(super) fn push(&mut self, new: NewCase) {
        self.0.push(new);
    }

    /// Writes the pending cases; a case that already existed (its event came again under another
    /// id) gets no second history or event.
    pub(super) async fn flush(&mut self, conn: &mut PgConnection) -> Result<(), Error> {
        if self.0.is_empty() {
            return Ok(());
        }
        let cases: Vec<&CaseRecord> = self.0.iter().map(|new| &new.case).collect();
        let inserted: HashSet<Uuid> = store::insert_cases(&mut *conn, &cases).await?;
        let written: Vec<&NewCase> = self.0.iter().filter(|new| inserted.contains(&new.case.petition_id)).collect();
        let mut lines = Vec::with_capacity(written.len() * 2);
        for new in &written {
            lines.push(HistoryLine {
                petition_id: new.case.petition_id,
                event_id: new.submitted_event,
                from_status: None,
                to_status: pasokh_domain::CaseStatus::Submitted.as_str(),
                action: "submitted",
                actor: "citizen",
                note: &new.submitted_note,
                message: "",
            });
            lines.push(new.first.history_line(&new.case));
        }
        store::append_history_all(&mut *conn, &lines).await?;
        let events: Vec<_> = written.iter().map(|new| new.first.outbox.clone()).collect();
        pasokh_events::outbox::enqueue_all(&mut *conn, &events).await?;
        for new in &self.0 {
            let _in_span = new.span.enter();
            if inserted.contains(&new.case.petition_id) {
                new.first.log(&new.case);
            } else {
                tracing::info!(petition_id = %new.case.petition_id, "case already exists, not routing again");
            }
        }
        self.0.clear();
        Ok(())
    }
}
