//! `Idempotency-Key`s: a claim is written in the same transaction as the petition it protects,
//! the answer is kept with it, and a retry with the same key and body gets that answer back
//! (ADR 0006). A petition's key is looked up by [`crate::submission`] and claimed by the group
//! commit ([`claim_keys`]); other POSTs claim theirs in their own transaction ([`claim_one`]).
use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use crate::{Error, Result};

/// A claim on an `Idempotency-Key`, written with the petition it protects.
#[derive(Debug, Clone)]
pub(crate) struct IdempotencyClaim {
    pub scope: String,
    pub key: String,
    pub request_hash: Vec<u8>,
    pub ttl: Duration,
}

impl IdempotencyClaim {
    /// Keys are scoped by operation (`POST /v1/petitions`, …) and by the deployment's province.
    pub(crate) fn new(
        operation: &str,
        province: pasokh_domain::ProvinceCode,
        key: &str,
        request_hash: Vec<u8>,
        ttl: Duration,
    ) -> Self {
        Self { scope: format!("{operation}@{province}"), key: key.to_owned(), request_hash, ttl }
    }
}

/// Claims the batch's idempotency keys; returns the keys another request already holds.
pub(crate) async fn claim_keys(
    tx: &mut Transaction<'_, Postgres>,
    claims: &[&IdempotencyClaim],
) -> Result<HashSet<(String, String)>> {
    if claims.is_empty() {
        return Ok(HashSet::new());
    }
    // every writer takes keys in the same order, so two batches never wait on each other crosswise
    let mut claims = claims.to_vec();
    claims.sort_by(|a, b| (&a.scope, &a.key).cmp(&(&b.scope, &b.key)));
    let now = Utc::now();
    let expires: Vec<DateTime<Utc>> = claims
        .iter()
        .map(|c| now + chrono::Duration::from_std(c.ttl).unwrap_or_else(|_| chrono::Duration::days(1)))
        .collect();
    // an expired key is free again: the insert takes it over
    let claimed: Vec<(String, String)> = sqlx::query_as(
        "INSERT INTO idempotency_keys (scope, key, request_hash, expires_at) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::timestamptz[]) \
         ON CONFLICT (scope, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, response_status = NULL, \
         response_body = NULL, created_at = now(), expires_at = EXCLUDED.expires_at \
         WHERE idempotency_keys.expires_at <= now() RETURNING scope, key",
    )
    .bind(claims.iter().map(|c| c.scope.clone()).collect::<Vec<_>>())
    .bind(claims.iter().map(|c| c.key.clone()).collect::<Vec<_>>())
    .bind(claims.iter().map(|c| c.request_hash.clone()).collect::<Vec<_>>())
    .bind(expires)
    .fetch_all(&mut **tx)
    .await?;
    let claimed: HashSet<(String, String)> = claimed.into_iter().collect();
    Ok(claims.iter().map(|c| (c.scope.clone(), c.key.clone())).filter(|k| !claimed.contains(k)).collect())
}

pub(crate) async fn store_answers(
    tx: &mut Transaction<'_, Postgres>,
    answers: &[(String, String, serde_json::Value)],
) -> Result<()> {
    if answers.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE idempotency_keys k SET response_status = 201, response_body = v.body \
         FROM UNNEST($1::text[], $2::text[], $3::jsonb[]) AS v(scope, key, body) \
         WHERE k.scope = v.scope AND k.key = v.key",
    )
    .bind(answers.iter().map(|a| a.0.clone()).collect::<Vec<_>>())
    .bind(answers.iter().map(|a| a.1.clone()).collect::<Vec<_>>())
    .bind(answers.iter().map(|a| a.2.clone()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Claims one key in the caller's transaction; `false` when another request holds it.
#[tracing::instrument(skip_all)]
pub(crate) async fn claim_one(tx: &mut Transaction<'_, Postgres>, claim: &IdempotencyClaim) -> Result<bool> {
    Ok(claim_keys(tx, &[claim]).await?.is_empty())
}

/// Stores the answer of a claimed key in the caller's transaction.
#[tracing::instrument(skip_all)]
pub(crate) async fn store_one(
    tx: &mut Transaction<'_, Postgres>,
    claim: &IdempotencyClaim,
    status: u16,
    body: &serde_json::Value,
) -> Result<()> {
    sqlx::query("UPDATE idempotency_keys SET response_status = $3, response_body = $4 WHERE scope = $1 AND key = $2")
        .bind(&claim.scope)
        .bind(&claim.key)
        .bind(status as i16)
        .bind(body)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The answer a request with the same live key got before.
#[derive(Debug)]
pub(crate) struct PreviousAnswer {
    pub status: u16,
    pub body: serde_json::Value,
}

/// What the claimed key already answered: `None` when it is free (or not yet
/// answered), `IdempotencyKeyReused` when it went with a different request.
#[tracing::instrument(skip_all)]
pub(crate) async fn previous_answer(pool: &PgPool, claim: &IdempotencyClaim) -> Result<Option<PreviousAnswer>> {
    let row: Option<(Vec<u8>, Option<i16>, Option<serde_json::Value>)> = sqlx::query_as(
        "SELECT request_hash, response_status, response_body FROM idempotency_keys \
         WHERE scope = $1 AND key = $2 AND expires_at > now()",
    )
    .bind(&claim.scope)
    .bind(&claim.key)
    .fetch_optional(pool)
    .await?;
    let Some((request_hash, status, body)) = row else { return Ok(None) };
    if request_hash != claim.request_hash {
        return Err(Error::IdempotencyKeyReused);
    }
    Ok(status.zip(body).map(|(status, body)| PreviousAnswer { status: status as u16, body }))
}

/// Deletes expired keys; run periodically.
#[tracing::instrument(skip_all)]
pub(crate) async fn purge_expired_keys(pool: &PgPool) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= now()").execute(pool).await?.rows_affected())
}
