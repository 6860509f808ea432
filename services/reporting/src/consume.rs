//! Folds lifecycle events into the facts and the rollups, a batch per transaction.
use std::collections::HashMap;
use std::sync::Arc;

use pasokh_domain::BusinessCalendar;
use pasokh_events::batch::BatchHandler;
use pasokh_events::consumer::{HandlerError, Received};
use pasokh_events::lifecycle::from_timestamp;
use pasokh_proto::events::v1::PetitionEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::facts::Fact;
use crate::rollup::Deltas;
use crate::store;

pub(crate) struct FoldLifecycle {
    pub calendar: Arc<BusinessCalendar>,
}

impl FoldLifecycle {
    /// Applies events (each new to the ledger) to the facts and rollups in the caller's transaction.
    pub(crate) async fn fold(
        &self,
        conn: &mut PgConnection,
        events: &[&Received<PetitionEvent>],
    ) -> Result<(), HandlerError> {
        let mut parsed = Vec::with_capacity(events.len());
        for event in events {
            let id = Uuid::parse_str(&event.message.petition_id).map_err(|_| {
                HandlerError::Permanent(format!("petition_id `{}` is not a UUID", event.message.petition_id))
            })?;
            if event.message.body.is_none() {
                return Err(HandlerError::Permanent("lifecycle event without a body".into()));
            }
            parsed.push((id, *event));
        }
        let mut ids: Vec<Uuid> = parsed.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        let before = store::facts_for_update(conn, &ids).await.map_err(transient)?;
        let mut after: HashMap<Uuid, Fact> = HashMap::with_capacity(ids.len());
        for (id, event) in parsed {
            let fact = after.entry(id).or_insert_with(|| before.get(&id).cloned().unwrap_or_else(|| Fact::new(id)));
            let at = from_timestamp(event.message.occurred_at.as_ref()).unwrap_or(event.cloud.time);
            fact.apply(&event.message, at);
        }
        let mut deltas = Deltas::default();
        let mut changed = Vec::with_capacity(after.len());
        for (id, fact) in &after {
            let old = before.get(id);
            if old == Some(fact) {
                continue;
            }
            if let Some(old) = old {
                deltas.add_fact(old, -1, &self.calendar);
            }
            deltas.add_fact(fact, 1, &self.calendar);
            changed.push(fact);
        }
        store::save_facts(conn, &changed).await.map_err(transient)?;
        deltas.apply(conn).await.map_err(transient)?;
        Ok(())
    }
}

fn transient(error: crate::Error) -> HandlerError {
    HandlerError::Transient(error.to_string())
}

impl BatchHandler for FoldLifecycle {
    type Message = PetitionEvent;
    type Prepared = ();

    #[tracing::instrument(skip_all, fields(events = events.len()))]
    async fn handle_batch(
        &self,
        conn: &mut PgConnection,
        events: &[&Received<PetitionEvent>],
        _: &(),
    ) -> Result<(), HandlerError> {
        self.fold(conn, events).await
    }
}
