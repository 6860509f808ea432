//! The reports, built from rollups for a caller's scope: the same documents
//! over HTTP JSON, as CSV and (for the web's dashboards) as pages.
//!
//! Long by choice: one builder per report document (indicators, overview, ranking, trend, backlog,
//! desk events), each a short fold over the same rollup rows and the same scope; the documents'
//! types are the API's and belong together.
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use pasokh_domain::{
    Action, BusinessCalendar, OrganisationCode, ProvinceCode, Reach, categories, format_jalali, organisations, reach,
    tehran_date,
};
use pasokh_platform::auth::Staff;
use serde::Serialize;
use sqlx::PgPool;

use crate::desk::{self, DeskEventInfo, MeetingCounts, Promise};
use crate::indicators::{IndexDefinition, Indicators, Totals};
use crate::period::{Bucket, Period};
use crate::query::{self, GroupBy, Scope};
use crate::{Error, Result};

/// What reports need: the store, the calendar of working days, the index definition.
#[derive(Clone)]
pub(crate) struct Reports {
    pub pool: PgPool,
    pub calendar: Arc<BusinessCalendar>,
    pub index: Arc<IndexDefinition>,
}

/// The cases a member of staff may count, narrowed to a province or organisation they asked for.
pub(crate) fn scope_of(staff: &Staff, province: Option<&str>, organisation: Option<&str>) -> Result<Scope> {
    let granted = reach(staff.role, Action::ReadReports, staff.may_act_nationally())
        .ok_or(Error::Forbidden("this role does not read reports"))?;
    let own_province = staff.province.map(|p| p.to_string());
    let own_organisation = staff.organisation.map(|o| o.to_string());
    let allowed = match granted {
        Reach::National => Scope::default(),
        Reach::Province => Scope {
            province: Some(own_province.ok_or(Error::Forbidden("a supervisor's token must name a province"))?),
            organisation: None,
        },
        Reach::OrganisationInProvince => match (own_province, own_organisation) {
            (Some(p), Some(o)) => Scope { province: Some(p), organisation: Some(o) },
            _ => return Err(Error::Forbidden("an officer's token must name a province and an organisation")),
        },
        Reach::Organisation => Scope {
            province: None,
            organisation: Some(
                own_organisation.ok_or(Error::Forbidden("a manager's token must name an organisation"))?,
            ),
        },
    };
    let province = match province.map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(raw) => Some(ProvinceCode::parse(raw)?.to_string()),
    };
    let organisation = match organisation.map(str::trim).filter(|o| !o.is_empty()) {
        None => None,
        Some(raw) => Some(OrganisationCode::parse(raw)?.to_string()),
    };
    let narrow = |allowed: Option<String>, asked: Option<String>, refusal: &'static str| match (allowed, asked) {
        (Some(a), Some(b)) if a != b => Err(Error::Forbidden(refusal)),
        (Some(a), _) => Ok(Some(a)),
        (None, asked) => Ok(asked),
    };
    Ok(Scope {
        province: narrow(allowed.province, province, "this token reads the reports of another province")?,
        organisation: narrow(
            allowed.organisation,
            organisation,
            "this token reads the reports of another organisation",
        )?,
    })
}

#[derive(Debug, Serialize)]
pub(crate) struct ScopeDocument {
    pub province: Option<String>,
    pub province_fa: Option<String>,
    pub organisation: Option<String>,
    pub organisation_fa: Option<String>,
}

/// A desk event's id as the rollups key it: a UUID, written canonically.
pub(crate) fn desk_event_id(field: &'static str, raw: &str) -> Result<String> {
    uuid::Uuid::parse_str(raw.trim())
        .map(|id| id.to_string())
        .map_err(|_| pasokh_domain::FieldError::new(field, "desk_event_invalid", "a desk event id is a UUID").into())
}

pub(crate) fn province_fa(code: &str) -> String {
    ProvinceCode::parse(code).map_or_else(|_| code.to_owned(), |p| p.province().name_fa.clone())
}

pub(crate) fn organisation_fa(code: &str) -> String {
    if code.is_empty() {
        return "هنوز ارجاع نشده".to_owned();
    }
    organisations().iter().find(|o| o.code == code).map_or_else(|| code.to_owned(), |o| o.name_fa.clone())
}

pub(crate) fn category_fa(code: &str) -> String {
    categories().iter().find(|c| c.code.as_str() == code).map_or_else(|| code.to_owned(), |c| c.name_fa.clone())
}

impl From<&Scope> for ScopeDocument {
    fn from(scope: &Scope) -> Self {
        Self {
            province: scope.province.clone(),
            province_fa: scope.province.as_deref().map(province_fa),
            organisation: scope.organisation.clone(),
            organisation_fa: scope.organisation.as_deref().map(organisation_fa),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct PeriodDocument {
    #[serde(flatten)]
    pub period: Period,
    pub from_jalali: String,
    pub to_jalali: String,
    pub label_fa: String,
}

impl From<&Period> for PeriodDocument {
    fn from(period: &Period) -> Self {
        Self {
            period: *period,
            from_jalali: format_jalali(period.from),
            to_jalali: format_jalali(period.to),
            label_fa: period.label_fa(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct IndicatorsDocument {
    pub scope: ScopeDocument,
    pub period: PeriodDocument,
    pub indicators: Indicators,
    /// meetings with officials held at desks in the period, and how their promises stand
    pub meetings: MeetingCounts,
    pub responsiveness_index: Option<f64>,
    pub index_version: String,
    pub totals: Totals,
}

#[derive(Debug, Serialize)]
pub(crate) struct RankingEntry {
    pub code: String,
    pub name_fa: String,
    pub volume: i64,
    pub responsiveness_index: Option<f64>,
    /// 1 = best in its peer group
    pub rank: Option<usize>,
    pub indicators: Indicators,
}

#[derive(Debug, Serialize)]
pub(crate) struct PeerGroupDocument {
    pub name: String,
    pub name_fa: String,
    pub min_volume: i64,
    pub entries: Vec<RankingEntry>,
}

#[derive(Debug, Serialize)]
pub(crate) struct RankingDocument {
    pub scope: ScopeDocument,
    pub period: PeriodDocument,
    /// province | organisation
    pub of: &'static str,
    pub index_version: String,
    pub groups: Vec<PeerGroupDocument>,
    /// too few petitions in the period to be ranked
    pub unranked: Vec<RankingEntry>,
}

#[derive(Debug, Serialize)]
pub(crate) struct TrendPoint {
    pub start: NaiveDate,
    pub start_jalali: String,
    pub indicators: Indicators,
}

#[derive(Debug, Serialize)]
pub(crate) struct TrendDocument {
    pub scope: ScopeDocument,
    pub period: PeriodDocument,
    pub bucket: Bucket,
    pub points: Vec<TrendPoint>,
}

#[derive(Debug, Serialize)]
pub(crate) struct AgeBucket {
    pub label_fa: &'static str,
    pub min_working_days: u32,
    pub max_working_days: Option<u32>,
    pub cases: i64,
}

#[derive(Debug, Serialize)]
pub(crate) struct BacklogDocument {
    pub scope: ScopeDocument,
    pub as_of: NaiveDate,
    pub as_of_jalali: String,
    pub open: i64,
    pub median_age_working_days: Option<u32>,
    pub p90_age_working_days: Option<u32>,
    pub oldest_submitted_on: Option<NaiveDate>,
    pub ages: Vec<AgeBucket>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CategoryCount {
    pub category: String,
    pub category_fa: String,
    pub submitted: i64,
    pub resolved_on_spot: i64,
    pub open: i64,
    pub resolved: i64,
}

#[derive(Debug, Serialize)]
pub(crate) struct OrganisationCount {
    pub organisation: String,
    pub organisation_fa: String,
    pub submitted: i64,
    pub categories: Vec<CategoryCount>,
}

#[derive(Debug, Serialize)]
pub(crate) struct FollowUp {
    pub open: i64,
    pub responded: i64,
    pub closed: i64,
    pub rejected: i64,
    pub merged: i64,
}

#[derive(Debug, Serialize)]
pub(crate) struct DeskEventDocument {
    pub desk_event_id: String,
    /// the desk as it was opened (absent when its opening is not known to reporting)
    pub event: Option<DeskEventInfo>,
    pub scope: ScopeDocument,
    /// petitions registered at the desk (one per citizen served and topic)
    pub people_served: i64,
    pub resolved_on_spot: i64,
    pub by_organisation: Vec<OrganisationCount>,
    pub follow_up: FollowUp,
    pub indicators: Indicators,
    pub meetings: MeetingCounts,
    pub promises: Vec<Promise>,
}

#[derive(Debug, Serialize)]
pub(crate) struct DeskEventLine {
    pub desk_event_id: String,
    /// as the desk was opened; empty when reporting has not seen its opening
    pub title: String,
    pub province: String,
    pub province_fa: String,
    pub people_served: i64,
    pub resolved_on_spot: i64,
    pub open: i64,
}

#[derive(Debug, Serialize)]
pub(crate) struct DeskEventsDocument {
    pub scope: ScopeDocument,
    pub period: PeriodDocument,
    pub events: Vec<DeskEventLine>,
    pub provinces: usize,
    pub totals: Indicators,
    pub meetings: MeetingCounts,
}

#[derive(Debug, Serialize)]
pub(crate) struct OpenDeskEventsDocument {
    pub scope: ScopeDocument,
    /// when this was read (RFC 3339), and in Tehran's Jalali day and clock
    pub as_of: chrono::DateTime<Utc>,
    pub as_of_jalali: String,
    pub events: Vec<desk::OpenDeskEvent>,
    pub provinces: usize,
    pub people_served: i64,
    pub resolved_on_spot: i64,
    pub meetings: i64,
}

#[derive(Debug, Serialize)]
pub(crate) struct OverviewDocument {
    pub indicators: IndicatorsDocument,
    pub backlog: BacklogDocument,
    /// provinces when the scope is national, organisations otherwise
    pub lines: Vec<RankingEntry>,
}

const AGE_BUCKETS: [(&str, u32, Option<u32>); 5] = [
    ("تا ۵ روز کاری", 0, Some(5)),
    ("۶ تا ۱۰ روز کاری", 6, Some(10)),
    ("۱۱ تا ۲۰ روز کاری", 11, Some(20)),
    ("۲۱ تا ۴۰ روز کاری", 21, Some(40)),
    ("بیش از ۴۰ روز کاری", 41, None),
];

impl Reports {
    pub(crate) async fn indicators(&self, scope: &Scope, period: &Period) -> Result<IndicatorsDocument> {
        let (totals, meetings) = tokio::try_join!(
            query::totals(&self.pool, scope, period),
            desk::meeting_counts(&self.pool, scope, period)
        )?;
        let indicators = Indicators::of(&totals);
        Ok(IndicatorsDocument {
            meetings,
            scope: scope.into(),
            period: period.into(),
            responsiveness_index: self.index.score(&indicators),
            index_version: self.index.version.clone(),
            indicators,
            totals,
        })
    }

    /// One province's or organisation's line: its indicators and index, not ranked yet.
    fn entry(&self, of: GroupBy, code: String, totals: &Totals) -> RankingEntry {
        let indicators = Indicators::of(totals);
        RankingEntry {
            name_fa: match of {
                GroupBy::Province => province_fa(&code),
                GroupBy::Organisation => organisation_fa(&code),
            },
            code,
            volume: indicators.volume,
            responsiveness_index: self.index.score(&indicators),
            rank: None,
            indicators,
        }
    }

    /// Indicators, backlog and a line per province (national scope) or organisation (narrower).
    pub(crate) async fn overview(&self, scope: &Scope, period: &Period) -> Result<OverviewDocument> {
        let of = if scope.province.is_some() { GroupBy::Organisation } else { GroupBy::Province };
        let (indicators, backlog, by) = tokio::try_join!(
            self.indicators(scope, period),
            self.backlog(scope),
            query::totals_by(&self.pool, scope, period, of),
        )?;
        let lines = by.into_iter().map(|(code, totals)| self.entry(of, code, &totals)).collect();
        Ok(OverviewDocument { indicators, backlog, lines })
    }

    pub(crate) async fn ranking(&self, scope: &Scope, period: &Period, of: GroupBy) -> Result<RankingDocument> {
        let by = query::totals_by(&self.pool, scope, period, of).await?;
        let mut groups: Vec<PeerGroupDocument> = self
            .index
            .peer_groups
            .iter()
            .map(|g| PeerGroupDocument {
                name: g.name.clone(),
                name_fa: g.name_fa.clone(),
                min_volume: g.min_volume,
                entries: Vec::new(),
            })
            .collect();
        let mut unranked = Vec::new();
        for (code, totals) in by {
            // petitions not routed yet belong to no organisation: not ranked
            if code.is_empty() {
                continue;
            }
            let entry = self.entry(of, code, &totals);
            match self.index.peer_group(entry.volume).and_then(|g| groups.iter_mut().find(|d| d.name == g.name)) {
                Some(group) if entry.responsiveness_index.is_some() => group.entries.push(entry),
                _ => unranked.push(entry),
            }
        }
        for group in &mut groups {
            group.entries.sort_by(|a, b| {
                b.responsiveness_index
                    .partial_cmp(&a.responsiveness_index)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| b.volume.cmp(&a.volume))
                    .then_with(|| a.code.cmp(&b.code))
            });
            for (i, entry) in group.entries.iter_mut().enumerate() {
                entry.rank = Some(i + 1);
            }
        }
        unranked.sort_by(|a, b| b.volume.cmp(&a.volume).then_with(|| a.code.cmp(&b.code)));
        Ok(RankingDocument {
            scope: scope.into(),
            period: period.into(),
            of: of.as_str(),
            index_version: self.index.version.clone(),
            groups,
            unranked,
        })
    }

    pub(crate) async fn trend(&self, scope: &Scope, period: &Period, bucket: Bucket) -> Result<TrendDocument> {
        let points = query::trend(&self.pool, scope, period, bucket)
            .await?
            .into_iter()
            .map(|(start, totals)| TrendPoint {
                start,
                start_jalali: format_jalali(start),
                indicators: Indicators::of(&totals),
            })
            .collect();
        Ok(TrendDocument { scope: scope.into(), period: period.into(), bucket, points })
    }

    pub(crate) async fn backlog(&self, scope: &Scope) -> Result<BacklogDocument> {
        let today = tehran_date(Utc::now());
        let by_day = query::open_by_day(&self.pool, scope).await?;
        let mut ages: Vec<(u32, i64)> =
            by_day.iter().map(|(day, open)| (self.calendar.working_days_between(*day, today), *open)).collect();
        ages.sort_unstable();
        let open: i64 = ages.iter().map(|(_, n)| n).sum();
        let age_at = |q: f64| -> Option<u32> {
            if open == 0 {
                return None;
            }
            let target = (q * open as f64).ceil().max(1.0) as i64;
            let mut seen = 0;
            ages.iter()
                .find(|(_, n)| {
                    seen += n;
                    seen >= target
                })
                .map(|(age, _)| *age)
        };
        let buckets = AGE_BUCKETS
            .iter()
            .map(|(label, min, max)| AgeBucket {
                label_fa: label,
                min_working_days: *min,
                max_working_days: *max,
                cases: ages.iter().filter(|(a, _)| a >= min && max.is_none_or(|m| *a <= m)).map(|(_, n)| n).sum(),
            })
            .collect();
        Ok(BacklogDocument {
            scope: scope.into(),
            as_of: today,
            as_of_jalali: format_jalali(today),
            open,
            median_age_working_days: age_at(0.5),
            p90_age_working_days: age_at(0.9),
            oldest_submitted_on: by_day.first().map(|(d, _)| *d),
            ages: buckets,
        })
    }

    pub(crate) async fn desk_event(&self, scope: &Scope, event_id: &str) -> Result<DeskEventDocument> {
        let (rows, (event, meetings, promises)) = tokio::try_join!(
            query::desk_event(&self.pool, scope, event_id),
            desk::event_meetings(&self.pool, scope, event_id)
        )?;
        if rows.is_empty() && event.is_none() && meetings.held == 0 {
            return Err(Error::NotFound("desk event"));
        }
        let mut all = Totals::default();
        let mut by_org: BTreeMap<String, OrganisationCount> = BTreeMap::new();
        for (organisation, category, totals) in rows {
            all.merge(&totals);
            let entry = by_org.entry(organisation.clone()).or_insert_with(|| OrganisationCount {
                organisation_fa: organisation_fa(&organisation),
                organisation,
                submitted: 0,
                categories: Vec::new(),
            });
            entry.submitted += totals.submitted;
            entry.categories.push(CategoryCount {
                category_fa: category_fa(&category),
                category,
                submitted: totals.submitted,
                resolved_on_spot: totals.resolved_on_spot,
                open: totals.open,
                resolved: totals.resolved,
            });
        }
        Ok(DeskEventDocument {
            desk_event_id: event_id.to_owned(),
            event,
            meetings,
            promises,
            scope: scope.into(),
            people_served: all.submitted,
            resolved_on_spot: all.resolved_on_spot,
            by_organisation: by_org.into_values().collect(),
            follow_up: FollowUp {
                open: all.open,
                responded: all.responded,
                closed: all.closed,
                rejected: all.rejected,
                merged: all.merged,
            },
            indicators: Indicators::of(&all),
        })
    }

    /// Every desk event open now, with its counts so far.
    pub(crate) async fn open_desk_events(&self, scope: &Scope) -> Result<OpenDeskEventsDocument> {
        let events = desk::open_events(&self.pool, scope).await?;
        let as_of = Utc::now();
        let local = as_of.with_timezone(&pasokh_domain::tehran());
        Ok(OpenDeskEventsDocument {
            scope: scope.into(),
            as_of,
            as_of_jalali: format!("{} {}", format_jalali(tehran_date(as_of)), local.format("%H:%M:%S")),
            provinces: events.iter().map(|e| e.province.as_str()).collect::<std::collections::BTreeSet<_>>().len(),
            people_served: events.iter().map(|e| e.people_served).sum(),
            resolved_on_spot: events.iter().map(|e| e.resolved_on_spot).sum(),
            meetings: events.iter().map(|e| e.meetings).sum(),
            events,
        })
    }

    pub(crate) async fn desk_events(&self, scope: &Scope, period: &Period) -> Result<DeskEventsDocument> {
        let (rows, meetings) = tokio::try_join!(
            query::desk_events(&self.pool, scope, period),
            desk::meeting_counts(&self.pool, scope, period)
        )?;
        let ids: Vec<String> = rows.iter().map(|(id, _, _)| id.clone()).collect();
        let titles = desk::titles(&self.pool, &ids).await?;
        let mut all = Totals::default();
        let mut provinces = std::collections::BTreeSet::new();
        let events = rows
            .into_iter()
            .map(|(desk_event_id, province, totals)| {
                all.merge(&totals);
                provinces.insert(province.clone());
                DeskEventLine {
                    title: titles.get(&desk_event_id).cloned().unwrap_or_default(),
                    desk_event_id,
                    province_fa: province_fa(&province),
                    province,
                    people_served: totals.submitted,
                    resolved_on_spot: totals.resolved_on_spot,
                    open: totals.open,
                }
            })
            .collect();
        Ok(DeskEventsDocument {
            scope: scope.into(),
            period: period.into(),
            events,
            provinces: provinces.len(),
            totals: Indicators::of(&all),
            meetings,
        })
    }
}
