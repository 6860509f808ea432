//! Routing's gRPC: `CaseLookup` for Pasokh's own services, `CaseService` for
//! officers, provincial directors and HQ inspection — every call scoped by the
//! caller's token.
//!
//! Long by choice: every RPC of the two services, each a few lines from the request to the workflow
//! and back, all through the same caller check and scope; the substance is in `workflow`.
use std::sync::Arc;

use chrono::Utc;
use pasokh_domain::{Action, Reach, Role, reach};
use pasokh_domain::{CaseStatus, SlaState, tehran, tehran_date};
use pasokh_events::lifecycle::timestamp;
use pasokh_platform::auth::grpc::ClientGuard;
use pasokh_platform::auth::{Staff, TokenVerifier};
use pasokh_proto::routing::v1::case_lookup_server::CaseLookup;
use pasokh_proto::routing::v1::case_service_server::CaseService;
use pasokh_proto::routing::v1::{
    Case, CaseCommand, CaseDetail, CaseRef, CaseSummary, CitizenMessage, CitizenMessages, FoundCitizenMessage,
    GetCaseRequest, GetCitizenMessageRequest, GetCitizenMessagesRequest, HistoryEntry, ListQueueRequest,
    ListQueueResponse, MergeRequest, Promise, ReferRequest, RejectRequest, SetExpectedDateRequest,
};
use sqlx::PgPool;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::store::{self, CaseRecord, QueueQuery, ScopeFilter};
use crate::workflow::{Actor, Change, Workflow};
use crate::{Error, Result};

fn petition_id(field: &'static str, value: &str) -> Result<Uuid> {
    Uuid::parse_str(value.trim()).map_err(|_| Error::invalid(field, "petition_id_invalid", "must be a UUID"))
}

/// The most look-ups one batched call may ask for.
const MAX_LOOKUPS: usize = 1000;

pub(crate) struct CaseLookupGrpc {
    pub pool: PgPool,
    /// Pasokh's own services allowed to look cases up
    pub services: ClientGuard,
}

#[tonic::async_trait]
impl CaseLookup for CaseLookupGrpc {
    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn get_case(&self, request: Request<GetCaseRequest>) -> Result<Response<Case>, Status> {
        self.services.check(&request).await?;
        let id = petition_id("petition_id", &request.get_ref().petition_id)?;
        let case = store::case(&self.pool, id).await?.ok_or(Error::NotFound("case"))?;
        Ok(Response::new(Case {
            petition_id: case.petition_id.to_string(),
            tracking_code: case.tracking_code,
            province: case.province.to_string(),
            category: case.category,
            status: case.status.as_str().to_owned(),
            organisation: case.organisation,
            unit: case.unit,
            first_response_due: Some(timestamp(case.first_response_due)),
            resolution_due: Some(timestamp(case.resolution_due)),
            updated_at: Some(timestamp(case.updated_at)),
            responded_at: case.responded_at.map(timestamp),
        }))
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn get_citizen_message(
        &self,
        request: Request<GetCitizenMessageRequest>,
    ) -> Result<Response<CitizenMessage>, Status> {
        self.services.check(&request).await?;
        let id = petition_id("petition_id", &request.get_ref().petition_id)?;
        let event_id = petition_id("event_id", &request.get_ref().event_id)?;
        let text = store::citizen_message(&self.pool, id, event_id).await?.ok_or(Error::NotFound("message"))?;
        Ok(Response::new(CitizenMessage { text }))
    }

    #[tracing::instrument(skip_all, fields(items = request.get_ref().items.len()))]
    async fn get_citizen_messages(
        &self,
        request: Request<GetCitizenMessagesRequest>,
    ) -> Result<Response<CitizenMessages>, Status> {
        self.services.check(&request).await?;
        let items = &request.get_ref().items;
        if items.len() > MAX_LOOKUPS {
            return Err(Error::invalid("items", "too_many_items", "at most 1000 messages per call").into());
        }
        let mut wanted = Vec::with_capacity(items.len());
        for item in items {
            wanted.push((petition_id("petition_id", &item.petition_id)?, petition_id("event_id", &item.event_id)?));
        }
        let found = store::citizen_messages(&self.pool, &wanted).await?;
        let items = found
            .into_iter()
            .map(|(petition_id, event_id, text)| FoundCitizenMessage {
                petition_id: petition_id.to_string(),
                event_id: event_id.to_string(),
                text,
            })
            .collect();
        Ok(Response::new(CitizenMessages { items }))
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn get_citizen_timeline(
        &self,
        request: Request<GetCaseRequest>,
    ) -> Result<Response<pasokh_proto::routing::v1::CitizenTimeline>, Status> {
        self.services.check(&request).await?;
        let id = petition_id("petition_id", &request.get_ref().petition_id)?;
        let lines = store::citizen_timeline(&self.pool, id).await?;
        if lines.is_empty() {
            return Err(Error::NotFound("case").into());
        }
        let entries = lines
            .into_iter()
            .map(|line| pasokh_proto::routing::v1::CitizenTimelineEntry {
                at: Some(pasokh_events::lifecycle::timestamp(line.at)),
                status: line.to_status,
                action: line.action,
                message: line.message,
            })
            .collect();
        Ok(Response::new(pasokh_proto::routing::v1::CitizenTimeline { entries }))
    }
}

pub(crate) struct CaseServiceGrpc {
    pub pool: PgPool,
    pub verifier: Arc<TokenVerifier>,
    pub workflow: Workflow,
    pub relay_waker: Arc<Notify>,
}

/// The caller, from their token: who they are and which cases they may see.
struct Caller {
    actor: Actor,
    scope: ScopeFilter,
}

/// What the permission table lets `staff` do with `action`, as the cases it reaches.
fn caller_of(staff: Staff, action: Action) -> Result<Caller> {
    let Some(granted) = reach(staff.role, action, staff.may_act_nationally()) else {
        return Err(Error::Forbidden(match (staff.role, action) {
            (Role::Operator, _) => "desk operators do not handle cases",
            (Role::Inspector, _) => "HQ inspection reads cases; changing one needs the hq-action permission",
            (_, Action::ReopenCases) => "only a provincial director or HQ inspection reopens a case",
            _ => "this role may not do this",
        }));
    };
    let province = staff.province;
    let scope = match granted {
        Reach::National => ScopeFilter::default(),
        Reach::Province => ScopeFilter {
            province: Some(province.ok_or(Error::Forbidden("a supervisor's token must name a province"))?),
            organisation: None,
        },
        Reach::OrganisationInProvince => match (province, staff.organisation) {
            (Some(province), Some(organisation)) => {
                ScopeFilter { province: Some(province), organisation: Some(organisation) }
            }
            _ => return Err(Error::Forbidden("an officer's token must name a province and an organisation")),
        },
        Reach::Organisation => match staff.organisation {
            Some(organisation) => ScopeFilter { province: None, organisation: Some(organisation) },
            None => return Err(Error::Forbidden("a manager's token must name an organisation")),
        },
    };
    Ok(Caller { actor: Actor { name: staff.name, role: staff.role.as_str() }, scope })
}

impl CaseServiceGrpc {
    async fn caller<T>(&self, request: &Request<T>, action: Action) -> Result<Caller> {
        let header = request.metadata().get("authorization").and_then(|v| v.to_str().ok());
        caller_of(self.verifier.staff(header).await?, action)
    }

    /// Locks the case if the caller may see it, lets `decide` change it, records the change.
    async fn command<T: Versioned>(
        &self,
        request: Request<T>,
        decide: impl FnOnce(&Workflow, &mut CaseRecord, &Caller) -> Result<Change>,
    ) -> Result<Response<CaseDetail>, Status> {
        self.command_as(Action::WorkCases, request, decide).await
    }

    async fn command_as<T: Versioned>(
        &self,
        action: Action,
        request: Request<T>,
        decide: impl FnOnce(&Workflow, &mut CaseRecord, &Caller) -> Result<Change>,
    ) -> Result<Response<CaseDetail>, Status> {
        let caller = self.caller(&request, action).await?;
        let id = petition_id("petition_id", request.get_ref().petition_id())?;
        let mut tx = self.pool.begin().await.map_err(Error::from)?;
        let mut case =
            store::lock_case(&mut tx, id).await?.filter(|c| caller.scope.allows(c)).ok_or(Error::NotFound("case"))?;
        check_version(&case, request.get_ref().expected_version())?;
        let from = case.status;
        let change = decide(&self.workflow, &mut case, &caller)?;
        // any officer's action is the unit's first response
        crate::workflow::first_response(&mut case, Utc::now());
        self.workflow.record(&mut tx, &case, from, change, &caller.actor).await?;
        tx.commit().await.map_err(Error::from)?;
        self.relay_waker.notify_one();
        // answered even when the case just left the caller's scope (a transfer): they were allowed to act on it
        Ok(Response::new(self.detail(&ScopeFilter::default(), id).await?))
    }

    async fn detail(&self, scope: &ScopeFilter, id: Uuid) -> Result<CaseDetail> {
        let case = store::case(&self.pool, id).await?.filter(|c| scope.allows(c)).ok_or(Error::NotFound("case"))?;
        let history = store::history(&self.pool, id).await?;
        let duplicates = store::duplicates_of(&self.pool, id).await?;
        let others = store::other_petitions(&self.pool, &case).await?;
        let promises = store::promises_of(&self.pool, std::slice::from_ref(&case)).await?;
        let limits = &self.workflow.settings;
        Ok(CaseDetail {
            channel: case.channel.clone(),
            attachment_count: case.attachment_count.max(0) as u32,
            other_petitions: others.iter().map(|c| summary(c, None)).collect(),
            forwards_left: limits.max_forwards.saturating_sub(case.forwards.max(0) as u32),
            transfers_left: limits.max_transfers.saturating_sub(case.transfers.max(0) as u32),
            promises: promises
                .iter()
                .map(|p| Promise {
                    organisation: p.organisation.clone(),
                    official_title: p.official_title.clone(),
                    due: p.due.to_string(),
                    made_at: Some(timestamp(p.made_at)),
                })
                .collect(),
            organisation: case.organisation.clone(),
            text: case.text.clone(),
            kind: case.kind.clone(),
            submitted_at: Some(timestamp(case.submitted_at)),
            first_response_due: Some(timestamp(case.first_response_due)),
            expected_at: case.expected_at.map(timestamp),
            interim_reason: case.interim_reason.clone(),
            forwards: case.forwards as u32,
            transfers: case.transfers as u32,
            merged_into: case.merged_into.map(|m| m.to_string()).unwrap_or_default(),
            duplicates,
            rating: case.rating.unwrap_or(0) as u32,
            rule: case.rule.clone(),
            history: history
                .into_iter()
                .map(|h| HistoryEntry {
                    at: Some(timestamp(h.at)),
                    at_jalali: format!(
                        "{} {}",
                        pasokh_domain::format_jalali(tehran_date(h.at)),
                        h.at.with_timezone(&tehran()).format("%H:%M")
                    ),
                    from_status: h.from_status.unwrap_or_default(),
                    to_status: h.to_status,
                    action: h.action,
                    actor: h.actor,
                    note: h.note,
                })
                .collect(),
            summary: Some(summary(&case, promises.first())),
        })
    }
}

/// What a command needs of its request: the case it names and the version the officer saw.
trait Versioned {
    fn petition_id(&self) -> &str;
    fn expected_version(&self) -> u64;
}

macro_rules! versioned {
    ($($request:ty),*) => {$(
        impl Versioned for $request {
            fn petition_id(&self) -> &str {
                &self.petition_id
            }
            fn expected_version(&self) -> u64 {
                self.expected_version
            }
        }
    )*};
}
versioned!(CaseCommand, SetExpectedDateRequest, ReferRequest, MergeRequest, RejectRequest);

/// Refuses a command made on an older version of the case (0: the caller did not say).
fn check_version(case: &CaseRecord, expected: u64) -> Result<()> {
    let current = case.event_sequence.max(0) as u64;
    if expected != 0 && expected != current {
        return Err(Error::VersionConflict { expected, current });
    }
    Ok(())
}

fn summary(case: &CaseRecord, promise: Option<&store::PromiseRow>) -> CaseSummary {
    CaseSummary {
        version: case.event_sequence.max(0) as u64,
        submitted_at: Some(timestamp(case.submitted_at)),
        desk_event_id: case.desk_event_id.clone(),
        promise_due: promise.map(|p| p.due.to_string()).unwrap_or_default(),
        promise_organisation: promise.map(|p| p.organisation.clone()).unwrap_or_default(),
        organisation: case.organisation.clone(),
        petition_id: case.petition_id.to_string(),
        tracking_code: case.tracking_code.clone(),
        province: case.province.to_string(),
        category: case.category.clone(),
        status: case.status.as_str().to_owned(),
        status_fa: case.status.label_fa().to_owned(),
        unit: case.unit.clone(),
        priority: case.priority.clone(),
        sla_state: case.sla_state().as_str().to_owned(),
        escalation_level: case.escalation_level as u32,
        resolution_due: Some(timestamp(case.resolution_due)),
        resolution_due_jalali: pasokh_domain::format_jalali(tehran_date(case.resolution_due)),
    }
}

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

#[tonic::async_trait]
impl CaseService for CaseServiceGrpc {
    #[tracing::instrument(skip_all)]
    async fn list_queue(&self, request: Request<ListQueueRequest>) -> Result<Response<ListQueueResponse>, Status> {
        let caller = self.caller(&request, Action::ReadCases).await?;
        let query = request.get_ref();
        let statuses = if query.statuses.is_empty() {
            store::open_statuses().into_iter().map(str::to_owned).collect()
        } else {
            for status in &query.statuses {
                if CaseStatus::parse(status).is_none() {
                    return Err(
                        Error::invalid("statuses", "status_unknown", format!("`{status}` is not a status")).into()
                    );
                }
            }
            query.statuses.clone()
        };
        let sla_state = Some(query.sla_state.as_str()).filter(|s| !s.is_empty());
        if sla_state.is_some_and(|s| SlaState::parse(s).is_none()) {
            return Err(Error::invalid("sla_state", "sla_state_unknown", "on_track, warning or breached").into());
        }
        let page_size = match query.page_size {
            0 => DEFAULT_PAGE,
            n if n > MAX_PAGE => {
                return Err(Error::invalid("page_size", "page_size_too_large", format!("at most {MAX_PAGE}")).into());
            }
            n => n,
        };
        let offset: i64 = if query.page_token.is_empty() {
            0
        } else {
            query
                .page_token
                .parse::<u32>()
                .map(i64::from)
                .map_err(|_| Error::invalid("page_token", "page_token_invalid", "use next_page_token as given"))?
        };
        // one more than asked: whether a next page exists
        let filters = QueueQuery {
            scope: &caller.scope,
            statuses,
            sla_state,
            category: Some(query.category.as_str()).filter(|c| !c.is_empty()),
            min_escalation_level: query.min_escalation_level as i32,
            desk_event_id: Some(query.desk_event_id.as_str()).filter(|d| !d.is_empty()),
            with_promise: query.with_promise,
            limit: i64::from(page_size) + 1,
            offset,
        };
        let rows = store::queue(&self.pool, &filters).await?;
        let total = store::queue_total(&self.pool, &filters).await?;
        let more = rows.len() > page_size as usize;
        let rows = &rows[..rows.len().min(page_size as usize)];
        let promises = store::promises_of(&self.pool, rows).await?;
        let cases: Vec<CaseSummary> = rows
            .iter()
            .map(|case| {
                let promise = promises.iter().find(|p| p.tracking_code == case.tracking_code);
                summary(case, promise)
            })
            .collect();
        let next_page_token = if more { (offset + i64::from(page_size)).to_string() } else { String::new() };
        Ok(Response::new(ListQueueResponse { cases, next_page_token, total: total.max(0) as u64 }))
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn get_case_detail(&self, request: Request<CaseRef>) -> Result<Response<CaseDetail>, Status> {
        let caller = self.caller(&request, Action::ReadCases).await?;
        let id = petition_id("petition_id", &request.get_ref().petition_id)?;
        Ok(Response::new(self.detail(&caller.scope, id).await?))
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn acknowledge(&self, request: Request<CaseCommand>) -> Result<Response<CaseDetail>, Status> {
        self.command(request, |w, case, caller| w.acknowledge(case, &caller.actor, Utc::now())).await
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn start_work(&self, request: Request<CaseCommand>) -> Result<Response<CaseDetail>, Status> {
        self.command(request, |w, case, caller| w.start_work(case, &caller.actor, Utc::now())).await
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn request_info(&self, request: Request<CaseCommand>) -> Result<Response<CaseDetail>, Status> {
        let question = request.get_ref().message.clone();
        self.command(request, |w, case, caller| w.request_info(case, &question, &caller.actor, Utc::now())).await
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn respond(&self, request: Request<CaseCommand>) -> Result<Response<CaseDetail>, Status> {
        let answer = request.get_ref().message.clone();
        self.command(request, |w, case, caller| w.respond(case, &answer, &caller.actor, Utc::now())).await
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn set_expected_date(
        &self,
        request: Request<SetExpectedDateRequest>,
    ) -> Result<Response<CaseDetail>, Status> {
        let (date, reason) = (request.get_ref().expected_date.clone(), request.get_ref().interim_reason.clone());
        self.command(request, |w, case, _| w.set_expected_date(case, &date, &reason, Utc::now())).await
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn refer(&self, request: Request<ReferRequest>) -> Result<Response<CaseDetail>, Status> {
        let (to_unit, note) = (request.get_ref().to_unit.clone(), request.get_ref().message.clone());
        self.command(request, |w, case, caller| w.refer(case, &to_unit, &note, &caller.actor)).await
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn escalate(&self, request: Request<CaseCommand>) -> Result<Response<CaseDetail>, Status> {
        let note = request.get_ref().message.clone();
        self.command(request, |w, case, caller| w.escalate(case, "manual", &note, &caller.actor)).await
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn close(&self, request: Request<CaseCommand>) -> Result<Response<CaseDetail>, Status> {
        let note = request.get_ref().message.clone();
        self.command(request, |w, case, _| w.close(case, "closed", &note)).await
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn reopen(&self, request: Request<CaseCommand>) -> Result<Response<CaseDetail>, Status> {
        let note = request.get_ref().message.clone();
        self.command_as(Action::ReopenCases, request, |w, case, caller| {
            w.reopen(case, "supervisor", &note, &caller.actor, Utc::now())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn merge(&self, request: Request<MergeRequest>) -> Result<Response<CaseDetail>, Status> {
        let caller = self.caller(&request, Action::WorkCases).await?;
        let id = petition_id("petition_id", &request.get_ref().petition_id)?;
        let into_id = petition_id("into_petition_id", &request.get_ref().into_petition_id)?;
        let mut tx = self.pool.begin().await.map_err(Error::from)?;
        // both rows locked in one order, so two opposite merges cannot deadlock
        let (first, second) = if id < into_id { (id, into_id) } else { (into_id, id) };
        let first_case = store::lock_case(&mut tx, first).await?;
        let second_case = store::lock_case(&mut tx, second).await?;
        let (case, into) = if id < into_id { (first_case, second_case) } else { (second_case, first_case) };
        let mut case = case.filter(|c| caller.scope.allows(c)).ok_or(Error::NotFound("case"))?;
        let into = into.filter(|c| caller.scope.allows(c)).ok_or(Error::NotFound("case to merge into"))?;
        check_version(&case, request.get_ref().expected_version)?;
        let from = case.status;
        let change = self.workflow.merge(&mut case, &into, 0.0, false, &caller.actor)?;
        crate::workflow::first_response(&mut case, Utc::now());
        let event_id = self.workflow.record(&mut tx, &case, from, change, &caller.actor).await?;
        let note = format!("{} merged into this case by {}", case.tracking_code, caller.actor.name);
        let actor = &caller.actor.name;
        store::append_note(&mut tx, into.petition_id, event_id, into.status.as_str(), "duplicate joined", actor, &note)
            .await?;
        tx.commit().await.map_err(Error::from)?;
        self.relay_waker.notify_one();
        Ok(Response::new(self.detail(&caller.scope, id).await?))
    }

    #[tracing::instrument(skip_all, fields(petition_id = %request.get_ref().petition_id))]
    async fn reject(&self, request: Request<RejectRequest>) -> Result<Response<CaseDetail>, Status> {
        let (code, text) = (request.get_ref().reason_code.clone(), request.get_ref().message.clone());
        self.command(request, |w, case, caller| w.reject(case, &code, &text, &caller.actor)).await
    }
}
