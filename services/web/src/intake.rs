//! The province's intake over its public HTTP API: the web never reads another
//! service's tables. Answers are JSON; refusals are problem+json whose stable
//! codes the pages turn into Persian sentences beside the fields.
use std::collections::BTreeMap;
use std::time::Duration;

use pasokh_domain::ProvinceCode;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::config::IntakeSettings;

#[derive(Clone)]
pub(crate) struct Intake {
    http: reqwest::Client,
    urls: BTreeMap<ProvinceCode, String>,
}

/// Why intake did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// intake answered with a problem: its `code` and per-field codes
    Problem { status: u16, code: String, fields: Vec<(String, String)> },
    /// intake could not be reached, or answered something that is not a problem document
    Unreachable(String),
    /// no intake is configured for this province
    NoIntake,
}

impl Refusal {
    pub(crate) fn code(&self) -> &str {
        match self {
            Refusal::Problem { code, .. } => code,
            Refusal::Unreachable(_) | Refusal::NoIntake => "unavailable",
        }
    }
}

#[derive(Deserialize)]
struct ProblemBody {
    code: String,
    #[serde(default)]
    errors: Vec<ProblemField>,
}

#[derive(Deserialize)]
struct ProblemField {
    field: String,
    code: String,
}

/// On whose behalf a call goes to intake.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Caller<'a> {
    /// a citizen at this address: intake's per-client limits count the citizen, not the web's pod
    Citizen(Option<std::net::IpAddr>),
    /// a member of staff, with their provider access token
    Staff(&'a str),
    /// the web itself, with its service account's token (a mobile's petitions, once the citizen proved the phone)
    Service(&'a str),
}

impl Intake {
    pub(crate) fn new(settings: &IntakeSettings) -> crate::Result<Self> {
        let mut urls = BTreeMap::new();
        for (province, url) in &settings.urls {
            let code = ProvinceCode::parse(province)
                .map_err(|_| crate::Error::Config(format!("intake.urls: {province} is not a province code")))?;
            urls.insert(code, url.trim_end_matches('/').to_owned());
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| crate::Error::Config(format!("HTTP client: {e}")))?;
        Ok(Self { http, urls })
    }

    pub(crate) fn provinces(&self) -> impl Iterator<Item = ProvinceCode> + '_ {
        self.urls.keys().copied()
    }

    pub(crate) fn serves(&self, province: ProvinceCode) -> bool {
        self.urls.contains_key(&province)
    }

    /// Any intake's readiness, for `/readyz`.
    pub(crate) async fn reachable(&self) -> Result<(), String> {
        let Some(url) = self.urls.values().next() else { return Err("no intake configured".into()) };
        match self.http.get(format!("{url}/healthz")).send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("intake answered {}", response.status())),
            Err(error) => Err(format!("intake unreachable: {error}")),
        }
    }

    /// Sends `body` to `path` of the province's intake and returns its JSON answer.
    pub(crate) async fn call(
        &self,
        method: Method,
        province: ProvinceCode,
        path: &str,
        caller: Caller<'_>,
        idempotency_key: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, Refusal> {
        let base = self.urls.get(&province).ok_or(Refusal::NoIntake)?;
        let mut request =
            self.http.request(method, format!("{base}{path}")).headers(pasokh_platform::telemetry::trace_headers());
        match caller {
            Caller::Staff(token) | Caller::Service(token) => request = request.bearer_auth(token),
            Caller::Citizen(Some(address)) => request = request.header("x-forwarded-for", address.to_string()),
            Caller::Citizen(None) => {}
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| Refusal::Unreachable(e.to_string()))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| Refusal::Unreachable(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| Refusal::Unreachable(format!("intake's answer: {e}")));
        }
        match serde_json::from_slice::<ProblemBody>(&bytes) {
            Ok(problem) => Err(Refusal::Problem {
                status: status.as_u16(),
                code: problem.code,
                fields: problem.errors.into_iter().map(|e| (e.field, e.code)).collect(),
            }),
            Err(_) => Err(Refusal::Unreachable(format!("intake answered {status}"))),
        }
    }
}
