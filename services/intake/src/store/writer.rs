//! Group commit: concurrent submissions are written in shared transactions.
//!
//! Each request puts its petition on a queue and waits. A few writer tasks
//! take whatever is queued (up to `max_batch`), write all of it — idempotency
//! claims, petitions, outbox rows — in **one** transaction, commit, and only
//! then answer every request of the batch. A 201 therefore still means "this
//! petition's commit is on disk", but one WAL flush serves many petitions.
//! A full queue is refused at once (503 + Retry-After) rather than queued
//! without bound.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use pasokh_domain::TrackingCode;
use pasokh_events::outbox::OutboxMessage;
use prometheus_client::metrics::histogram::Histogram;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use super::NewPetition;
use super::idempotency::{IdempotencyClaim, claim_keys, store_answers};
use crate::petitions::SubmittedRecorder;
use crate::{Error, Result};

pub(crate) struct Submission {
    pub petition: NewPetition,
    pub idempotency: Option<IdempotencyClaim>,
}

/// A submission as queued: with the trace context of the request that made it,
/// so its event continues the request's trace although a writer task publishes it.
type Queued = (Submission, BTreeMap<String, String>, Reply);

#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    pub id: Uuid,
    pub tracking_code: TrackingCode,
    pub submitted_at: DateTime<Utc>,
}

#[derive(Debug)]
pub(crate) enum Written {
    /// Stored; `response` is the 201 body (also kept with the idempotency key).
    Accepted { accepted: Accepted, response: serde_json::Value },
    /// Another request holds this `Idempotency-Key`: the caller replays its answer.
    KeyAlreadyUsed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriterSettings {
    /// Most petitions committed together
    pub max_batch: usize,
    /// Transactions in flight at once
    pub writers: usize,
    /// Submissions waiting for a writer before new ones are refused with 503
    pub queue_depth: usize,
}

impl Default for WriterSettings {
    fn default() -> Self {
        Self { max_batch: 64, writers: 2, queue_depth: 2048 }
    }
}

type Reply = oneshot::Sender<Result<Written>>;
type Queue = Arc<Mutex<mpsc::Receiver<Queued>>>;

#[derive(Clone)]
pub(crate) struct PetitionWriter {
    queue: mpsc::Sender<Queued>,
}

pub(crate) struct WriterTasks {
    queue: Queue,
    pool: PgPool,
    recorder: SubmittedRecorder,
    settings: WriterSettings,
    batch_sizes: Histogram,
}

impl PetitionWriter {
    pub(crate) fn new(
        pool: PgPool,
        recorder: SubmittedRecorder,
        settings: WriterSettings,
        batch_sizes: Histogram,
    ) -> (Self, WriterTasks) {
        let (sender, receiver) = mpsc::channel(settings.queue_depth.max(1));
        let tasks = WriterTasks { queue: Arc::new(Mutex::new(receiver)), pool, recorder, settings, batch_sizes };
        (Self { queue: sender }, tasks)
    }

    /// Queues the submission and waits until its batch is committed.
    #[tracing::instrument(name = "queue for group commit", skip_all)]
    pub(crate) async fn write(&self, submission: Submission) -> Result<Written> {
        let (reply, answer) = oneshot::channel();
        let trace = pasokh_events::cloudevents::current_trace_context();
        self.queue.try_send((submission, trace, reply)).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => Error::Overloaded,
            mpsc::error::TrySendError::Closed(_) => Error::Unavailable("intake is shutting down".into()),
        })?;
        answer.await.map_err(|_| Error::Unavailable("the petition writer stopped".into()))?
    }
}

impl WriterTasks {
    pub(crate) fn count(&self) -> usize {
        self.settings.writers.max(1)
    }

    /// One writer loop; it ends when every `PetitionWriter` is gone and the queue is empty,
    /// so requests still in flight during shutdown are written, not dropped.
    pub(crate) async fn run(self: Arc<Self>) -> Result<()> {
        let mut deferred = Vec::new();
        loop {
            let mut batch = std::mem::take(&mut deferred);
            if batch.is_empty() {
                let mut queue = self.queue.lock().await;
                match queue.recv().await {
                    Some(item) => batch.push(item),
                    None => return Ok(()),
                }
                self.fill(&mut queue, &mut batch);
            } else if let Ok(mut queue) = self.queue.try_lock() {
                // never wait for the queue while holding deferred work: the
                // writer holding the lock may be idle until a new request comes
                self.fill(&mut queue, &mut batch);
            }
            // the same key twice in one statement cannot be told apart: the second waits a batch
            let mut keys = HashSet::new();
            let (batch, later): (Vec<_>, Vec<_>) = batch.into_iter().partition(|(submission, _, _)| {
                submission.idempotency.as_ref().is_none_or(|c| keys.insert((c.scope.clone(), c.key.clone())))
            });
            deferred = later;
            self.batch_sizes.observe(batch.len() as f64);

            // a client that gave up (its request timed out or it hung up) was told nothing was
            // saved, or nothing at all: writing its petition now would file it behind its back
            let (batch, abandoned): (Vec<_>, Vec<_>) = batch.into_iter().partition(|(_, _, reply)| !reply.is_closed());
            if !abandoned.is_empty() {
                tracing::info!(abandoned = abandoned.len(), "submissions whose clients left are not written");
            }
            if batch.is_empty() {
                continue;
            }
            let (items, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|(s, t, r)| ((s, t), r)).unzip();
            let waiting = |index: usize| replies.get(index).is_some_and(|r| !r.is_closed());
            match self.commit(&items, &waiting).await {
                Ok(outcomes) => {
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        if let Some(outcome) = outcome {
                            let _ = reply.send(Ok(outcome));
                        }
                    }
                }
                Err(Error::OutcomeUnknown) => {
                    tracing::warn!(batch = replies.len(), "batch commit failed midway; its outcome is unknown");
                    for reply in replies {
                        let _ = reply.send(Err(Error::OutcomeUnknown));
                    }
                }
                Err(error) if replies.len() > 1 => {
                    // one member (a lock wait, a constraint) must not fail its unrelated neighbours:
                    // nothing of the batch was saved, so each goes again on its own
                    tracing::warn!(error = %pasokh_platform::tasks::error_chain(&error), batch = replies.len(), "batch not written; writing its members one by one");
                    for (item, reply) in items.iter().zip(replies) {
                        if reply.is_closed() {
                            continue;
                        }
                        let waiting = |_: usize| !reply.is_closed();
                        let outcome = match self.commit(std::slice::from_ref(item), &waiting).await {
                            Ok(mut outcomes) => match outcomes.pop().flatten() {
                                Some(outcome) => Ok(outcome),
                                None => continue, // its client left meanwhile
                            },
                            Err(error) => Err(unsaved(error)),
                        };
                        let _ = reply.send(outcome);
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %pasokh_platform::tasks::error_chain(&error), "submission not written");
                    if let Some(reply) = replies.into_iter().next() {
                        let _ = reply.send(Err(unsaved(error)));
                    }
                }
            }
        }
    }

    fn fill(&self, queue: &mut mpsc::Receiver<Queued>, batch: &mut Vec<Queued>) {
        while batch.len() < self.settings.max_batch.max(1) {
            match queue.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
    }

    /// Writes the batch's submissions whose clients are still `waiting` once the transaction is
    /// open (the database may have been unreachable meanwhile, and a client that gave up was
    /// told nothing was saved); `None` for those left out.
    #[tracing::instrument(skip_all, fields(submissions = items.len()))]
    async fn commit(
        &self,
        items: &[(Submission, BTreeMap<String, String>)],
        waiting: &(dyn Fn(usize) -> bool + Sync),
    ) -> Result<Vec<Option<Written>>> {
        link_requests(items);
        let batch: Vec<&Submission> = items.iter().map(|(s, _)| s).collect();
        let batch = batch.as_slice();
        let mut tx = self.pool.begin().await?;
        let live: Vec<bool> = (0..batch.len()).map(waiting).collect();
        let mut outcomes: Vec<Option<Written>> = batch.iter().map(|_| None).collect();
        let claims: Vec<&IdempotencyClaim> =
            batch.iter().zip(&live).filter(|(_, live)| **live).filter_map(|(s, _)| s.idempotency.as_ref()).collect();
        let taken = claim_keys(&mut tx, &claims).await?;
        for (index, submission) in batch.iter().enumerate() {
            if let Some(claim) = &submission.idempotency
                && taken.contains(&(claim.scope.clone(), claim.key.clone()))
            {
                outcomes[index] = Some(Written::KeyAlreadyUsed);
            }
        }
        let mut pending: Vec<usize> = (0..batch.len()).filter(|i| live[*i] && outcomes[*i].is_none()).collect();
        let mut accepted: HashMap<usize, Accepted> = HashMap::new();
        for _ in 0..5 {
            if pending.is_empty() {
                break;
            }
            let codes: Vec<TrackingCode> = pending
                .iter()
                .map(|i| TrackingCode::generate(batch[*i].petition.province, &mut rand::thread_rng()))
                .collect();
            let inserted =
                insert_petitions(&mut tx, &pending.iter().map(|i| &batch[*i].petition).collect::<Vec<_>>(), &codes)
                    .await?;
            let mut retry = Vec::new();
            for (position, index) in pending.iter().enumerate() {
                match inserted.get(&batch[*index].petition.id) {
                    Some(created_at) => {
                        accepted.insert(
                            *index,
                            Accepted {
                                id: batch[*index].petition.id,
                                tracking_code: codes[position].clone(),
                                submitted_at: *created_at,
                            },
                        );
                    }
                    // a tracking-code collision (1 in 10⁹): draw again
                    None => retry.push(*index),
                }
            }
            pending = retry;
        }
        if !pending.is_empty() {
            return Err(Error::Unavailable("could not draw free tracking codes".into()));
        }
        let mut events = Vec::with_capacity(accepted.len());
        let mut answers = Vec::new();
        let mut responses = HashMap::with_capacity(accepted.len());
        for (index, done) in &accepted {
            let petition = &batch[*index].petition;
            events.push(self.recorder.event(petition, done, &items[*index].1)?);
            let response = self.recorder.response(petition, done);
            if let Some(claim) = &batch[*index].idempotency {
                answers.push((claim.scope.clone(), claim.key.clone(), response.clone()));
            }
            responses.insert(*index, response);
        }
        insert_outbox(&mut tx, &events).await?;
        store_answers(&mut tx, &answers).await?;
        pasokh_platform::crash::point("intake.before_commit");
        // everything before this point failing means nothing was saved; a failure of the commit
        // itself (the connection lost while PostgreSQL may already have made it durable) does not
        tx.commit().await.map_err(|error| {
            tracing::warn!(%error, "commit failed");
            Error::OutcomeUnknown
        })?;
        pasokh_platform::crash::point("intake.after_commit");
        Ok(outcomes
            .into_iter()
            .enumerate()
            .map(|(index, outcome)| match outcome {
                Some(outcome) => Some(outcome),
                None => accepted.remove(&index).map(|accepted| Written::Accepted {
                    accepted,
                    response: responses.remove(&index).unwrap_or_default(),
                }),
            })
            .collect())
    }
}

/// What a client is told when its petition was not written (the store failing, not the request).
fn unsaved(error: Error) -> Error {
    match error {
        Error::OutcomeUnknown => Error::OutcomeUnknown,
        Error::Database(_) => {
            Error::Unavailable("the petition store is unavailable; nothing was saved, please retry".into())
        }
        other => Error::Unavailable(other.to_string()),
    }
}

/// Inserts petitions; returns id → created_at for those whose tracking code was free.
async fn insert_petitions(
    tx: &mut Transaction<'_, Postgres>,
    petitions: &[&NewPetition],
    codes: &[TrackingCode],
) -> Result<HashMap<Uuid, DateTime<Utc>>> {
    let inserted: Vec<(Uuid, DateTime<Utc>)> = sqlx::query_as(
        "INSERT INTO petitions (id, province, tracking_code, national_id, mobile, citizen_ref, category, kind, channel, \
         body, desk_event_id, county, attachments, letter, resolved_on_spot, on_spot_answer, filed_by) \
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
         $8::text[], $9::text[], $10::text[], $11::uuid[], $12::text[], $13::jsonb[], $14::jsonb[], $15::bool[], $16::text[], \
         $17::text[]) \
         ON CONFLICT (province, tracking_code) DO NOTHING RETURNING id, created_at",
    )
    .bind(petitions.iter().map(|p| p.id).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| p.province.to_string()).collect::<Vec<_>>())
    .bind(codes.iter().map(|c| c.as_str().to_owned()).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| p.national_id.as_str().to_owned()).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| p.mobile.as_str().to_owned()).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| p.citizen_ref.as_str().to_owned()).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| p.category.as_str().to_owned()).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| p.kind.as_str().to_owned()).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| p.channel.as_str().to_owned()).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| p.text.as_str().to_owned()).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| p.desk_event_id).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| p.county.clone()).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| Json(p.attachments.clone())).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| p.letter.clone().map(Json)).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| p.on_spot_answer.is_some()).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| p.on_spot_answer.clone()).collect::<Vec<_>>())
    .bind(petitions.iter().map(|p| p.filed_by.clone()).collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await?;
    Ok(inserted.into_iter().collect())
}

/// The batch's events, in the outbox's one batched INSERT (`libs/events`); a database error stays
/// one, so an outage still answers 503.
async fn insert_outbox(tx: &mut Transaction<'_, Postgres>, events: &[OutboxMessage]) -> Result<()> {
    pasokh_events::outbox::enqueue_all(tx, events).await.map_err(|error| match error {
        pasokh_events::Error::Database(error) => Error::Database(error),
        other => other.into(),
    })
}

/// A group commit serves many requests: its span links to each one's trace, so every request's
/// trace leads to the transaction that stored it.
fn link_requests(items: &[(Submission, BTreeMap<String, String>)]) {
    let span = tracing::Span::current();
    for (_, trace) in items {
        pasokh_platform::telemetry::add_link(&span, &pasokh_events::cloudevents::creation_context(trace));
    }
}
