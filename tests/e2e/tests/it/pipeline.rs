//! The whole system as processes: two intakes (Tehran, Qom), routing,
//! notification, reporting, the SMS sink; real PostgreSQL and Kafka.
//! Petitions go in over HTTP; the test waits for routing, reporting and the
//! SMS sink to agree, then SIGKILLs routing mid-stream and checks that the
//! totals are still exact: nothing lost, nothing doubled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use pasokh_proto::routing::v1::case_service_client::CaseServiceClient;
use pasokh_proto::routing::v1::{CaseCommand, SetExpectedDateRequest};
use pasokh_testkit::bin_dir;
use pasokh_testkit::process::ServiceProcess as Service;
use pasokh_testkit::{SmsSink, Stack, Topics, eventually};
use rdkafka::message::Message as _;
use serde_json::{Value, json};
use tokio::process::Command;

/// An OTLP/gRPC trace collector inside the test: the services export their spans to it.
#[derive(Clone, Default)]
struct Collector {
    spans: std::sync::Arc<std::sync::Mutex<Vec<(String, opentelemetry_proto::tonic::trace::v1::Span)>>>,
}

#[tonic::async_trait]
impl opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest>,
    ) -> Result<
        tonic::Response<opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse>,
        tonic::Status,
    > {
        use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter())
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    AnyValue::StringValue(name) => Some(name.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                spans.extend(scope.spans.into_iter().map(|span| (service.clone(), span)));
            }
        }
        Ok(tonic::Response::new(Default::default()))
    }
}

impl Collector {
    async fn start() -> (Self, String) {
        let collector = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let service = opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer::new(
            collector.clone(),
        );
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        (collector, endpoint)
    }

    /// Whether a gRPC call `rpc` (`package.Service/Method`) by `caller` is part of the work that
    /// started in trace `trace_id`, and the callee served it in a span that is the call's child.
    /// The call is in that trace, or in a consumer batch's trace whose batch span links to it.
    fn grpc_hop(&self, trace_id: &[u8], caller: &str, rpc: &str) -> bool {
        use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
        let spans = self.spans.lock().unwrap();
        let reaches = |trace: &[u8]| {
            trace == trace_id
                || spans.iter().any(|(_, s)| s.trace_id == trace && s.links.iter().any(|l| l.trace_id == trace_id))
        };
        spans
            .iter()
            .filter(|(service, s)| service == caller && s.name == rpc && s.kind == SpanKind::Client as i32)
            .filter(|(_, call)| reaches(&call.trace_id))
            .any(|(_, call)| {
                spans.iter().any(|(callee, s)| {
                    callee != caller
                        && s.name == rpc
                        && s.kind == SpanKind::Server as i32
                        && s.trace_id == call.trace_id
                        && s.parent_span_id == call.span_id
                })
            })
    }

    /// (service, span name, span id, parent span id) of every span in the trace.
    fn trace(&self, trace_id: &[u8]) -> Vec<(String, String, Vec<u8>, Vec<u8>)> {
        let spans = self.spans.lock().unwrap();
        spans
            .iter()
            .filter(|(_, s)| s.trace_id == trace_id)
            .map(|(service, s)| (service.clone(), s.name.clone(), s.span_id.clone(), s.parent_span_id.clone()))
            .collect()
    }
}

/// The key of the e2e run's one Open311 partner; intake is given only its SHA-256.
const OPEN311_KEY: &str = "e2e-open311-partner-key";

fn common_env(stack: &Stack, topics: &Topics, otlp: &str, database: &str, group: &str) -> Vec<(String, String)> {
    pasokh_testkit::process::service_env(stack, topics, Some(otlp), database, group)
}

struct System {
    collector: Collector,
    stack: Stack,
    topics: Topics,
    sink: SmsSink,
    intakes: BTreeMap<&'static str, Service>,
    routing: Service,
    notification: Service,
    reporting: Service,
    routing_db: String,
}

impl System {
    async fn start() -> Self {
        let stack = Stack::from_env();
        let topics = stack.fresh_topics("e2e").await;
        let logs = std::env::temp_dir().join(format!("pasokh-e2e-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&logs).unwrap();
        eprintln!("e2e service logs: {}", logs.display());
        let sink = SmsSink::start().await;
        let (collector, otlp) = Collector::start().await;

        let intake_db = stack.fresh_database("e2e_intake").await;
        let routing_db = stack.fresh_database("e2e_routing").await;
        let notification_db = stack.fresh_database("e2e_notification").await;
        let reporting_db = stack.fresh_database("e2e_reporting").await;

        // routing and intake call each other's internal listeners (texts; case status): routing's is chosen first
        let mut routing_env = common_env(&stack, &topics, &otlp, &routing_db, "routing");
        let routing_internal = routing_env
            .iter()
            .find(|(k, _)| k == "PASOKH__LISTEN__INTERNAL_GRPC_PORT")
            .map(|(_, v)| v.clone())
            .unwrap();
        let routing_grpc = format!("http://127.0.0.1:{routing_internal}");
        let citizen_ref_key = format!("e2e-{}", uuid::Uuid::new_v4().simple());
        let open311_hash = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(OPEN311_KEY.as_bytes()))
        };
        let mut intakes = BTreeMap::new();
        for province in ["IR-23", "IR-25"] {
            let mut env = common_env(&stack, &topics, &otlp, &intake_db, "intake");
            env.push(("PASOKH__PROVINCE".into(), province.into()));
            env.push(("PASOKH__ROUTING_GRPC_URL".into(), routing_grpc.clone()));
            env.push(("PASOKH__CITIZEN_REF_KEY".into(), citizen_ref_key.clone()));
            env.push(("PASOKH__OPEN311__API_KEY_SHA256__E2E_PARTNER".into(), open311_hash.clone()));
            intakes.insert(province, Service::new(&format!("intake-{province}"), "pasokh-intake", env, &logs));
        }
        // both intakes share one database: either serves every petition's text
        let intake_grpc = format!("http://127.0.0.1:{}", intakes["IR-23"].internal_grpc_port());
        routing_env.push(("PASOKH__INTAKE_GRPC_URL".into(), intake_grpc.clone()));
        let routing = Service::new("routing", "pasokh-routing", routing_env, &logs);
        let mut env = common_env(&stack, &topics, &otlp, &notification_db, "notification");
        env.push(("PASOKH__INTAKE_GRPC_URL".into(), intake_grpc));
        env.push(("PASOKH__ROUTING_GRPC_URL".into(), routing_grpc));
        env.push(("PASOKH__SMS__GATEWAY_URL".into(), sink.send_url()));
        let notification = Service::new("notification", "pasokh-notification", env, &logs);
        // reporting's API is scoped by staff tokens; it calls no other service
        let reporting_env = common_env(&stack, &topics, &otlp, &reporting_db, "reporting");
        let reporting = Service::new("reporting", "pasokh-reporting", reporting_env, &logs);

        let mut system = Self { collector, stack, topics, sink, intakes, routing, notification, reporting, routing_db };
        system.intakes["IR-23"].migrate().await; // both intakes share one database
        for service in [&system.routing, &system.notification, &system.reporting] {
            service.migrate().await;
        }
        for service in system.intakes.values_mut() {
            service.start().await;
        }
        system.routing.start().await;
        system.notification.start().await;
        system.reporting.start().await;
        system
    }

    /// Reporting's national summary, as HQ inspection reads it.
    async fn summary(&self) -> Value {
        static INSPECTOR: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
        let token = INSPECTOR
            .get_or_init(|| async { pasokh_testkit::Provider::from_env().staff_token("inspector-hq").await })
            .await;
        let url = format!("http://127.0.0.1:{}/v1/summary", self.reporting.http_port);
        reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap()
    }

    /// Waits until reporting counts `expected` petitions, all routed, and the sink holds two SMS for each.
    async fn settle(&self, expected: u64) -> Vec<pasokh_testkit::Sms> {
        eventually(
            Duration::from_secs(120),
            &format!("{expected} routed petitions and {} sms", 2 * expected),
            || async {
                let summary = self.summary().await;
                let messages = self.sink.messages().await;
                (summary["total"] == expected
                    && summary["by_status"]["routed"] == expected
                    && messages.len() as u64 >= 2 * expected)
                    .then_some(messages)
            },
        )
        .await
    }
}

#[derive(Debug, Clone)]
struct Filed {
    tracking_code: String,
    mobile: String,
}

/// Files petition `n` at the intake listening on `port`.
async fn file(port: u16, province: &'static str, n: usize) -> Filed {
    let mobile = format!("0912{:07}", n);
    let categories = ["pension-payment", "unpaid-wages", "disability-support", "bank-loan", "other"];
    let url = format!("http://127.0.0.1:{port}/v1/petitions");
    let response = reqwest::Client::new()
        .post(url)
        .json(&json!({
            "national_id": pasokh_testkit::national_id(n as u32),
            "mobile": mobile,
            "province": province,
            "category": categories[n % categories.len()],
            "kind": "request",
            "channel": "web",
            "text": format!("درخواست شماره {n} برای پیگیری پرونده"),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "petition {n}");
    let body: Value = response.json().await.unwrap();
    Filed { tracking_code: body["tracking_code"].as_str().unwrap().to_owned(), mobile }
}

fn assert_two_sms_each(filed: &[Filed], messages: &[pasokh_testkit::Sms]) {
    assert_eq!(messages.len(), 2 * filed.len(), "exactly one 'submitted' and one 'routed' SMS per petition");
    let mut ids: Vec<&str> = messages.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), messages.len(), "no message sent twice");
    let mut per_code: HashMap<&str, Vec<&pasokh_testkit::Sms>> = HashMap::new();
    for petition in filed {
        per_code.insert(petition.tracking_code.as_str(), Vec::new());
    }
    for message in messages {
        let code = per_code.keys().copied().find(|code| message.text.contains(code));
        let code = code.unwrap_or_else(|| panic!("an SMS for no filed petition: {}", message.text));
        per_code.get_mut(code).unwrap().push(message);
    }
    for petition in filed {
        let sent = &per_code[petition.tracking_code.as_str()];
        assert_eq!(sent.len(), 2, "petition {} got {} SMS", petition.tracking_code, sent.len());
        assert!(sent.iter().all(|m| m.to == petition.mobile), "SMS went to the petition's own mobile");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn petitions_flow_end_to_end_and_survive_a_routing_crash_exactly() {
    const FIRST: usize = 30;
    const SECOND: usize = 30;
    let mut system = System::start().await;

    // phase 1: N petitions across two provinces, filed concurrently
    let mut batch = tokio::task::JoinSet::new();
    for n in 0..FIRST {
        let province = if n.is_multiple_of(2) { "IR-23" } else { "IR-25" };
        batch.spawn(file(system.intakes[province].http_port, province, n));
    }
    let mut filed = batch.join_all().await;
    let messages = system.settle(FIRST as u64).await;
    assert_two_sms_each(&filed, &messages);
    let summary = system.summary().await;
    let provinces: Vec<&str> =
        summary["rows"].as_array().unwrap().iter().map(|r| r["province"].as_str().unwrap()).collect();
    assert!(provinces.contains(&"IR-23") && provinces.contains(&"IR-25"));

    // one trace per petition: intake's HTTP request → Submitted → routing's consumer → Routed
    let records = system.stack.read_topic(&system.topics.lifecycle, 2 * FIRST, Duration::from_secs(30)).await;
    let mut traces: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    for record in &records {
        let headers = pasokh_events::cloudevents::header_map_of(record.headers());
        let trace_id = headers["traceparent"].split('-').nth(1).unwrap().to_owned();
        let kind = headers["ce_type"].rsplit('.').nth(1).unwrap().to_owned();
        traces.entry(pasokh_testkit::record_key(record)).or_default().insert(kind, trace_id);
    }
    assert_eq!(traces.len(), FIRST);
    for (petition, trace) in &traces {
        assert_eq!(
            trace.get("submitted"),
            trace.get("routed"),
            "petition {petition}: one trace from intake to routing"
        );
    }

    // the citizen's status lookup goes intake → routing's internal listener over gRPC, with intake's token
    // JoinSet answers in completion order: pick a Tehran petition for Tehran's intake
    let first = filed.iter().find(|f| f.tracking_code.starts_with("23")).expect("a Tehran petition").clone();
    let status: Value = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/v1/petitions/{}/status",
            system.intakes["IR-23"].http_port, first.tracking_code
        ))
        .json(&json!({ "mobile": first.mobile }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "routed", "{status}");
    assert_eq!(status["status_is_current"], true);

    // phase 2: keep filing while routing is SIGKILLed and restarted
    for n in FIRST..FIRST + SECOND {
        if n == FIRST + SECOND / 3 {
            system.routing.crash().await;
        }
        if n == FIRST + 2 * SECOND / 3 {
            system.routing.start().await;
        }
        let province = if n.is_multiple_of(2) { "IR-23" } else { "IR-25" };
        filed.push(file(system.intakes[province].http_port, province, n).await);
        // a steady trickle, so routing dies with events in flight rather than between bursts
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let total = (FIRST + SECOND) as u64;
    system.settle(total).await;
    // give any would-be duplicate time to show up before counting
    tokio::time::sleep(Duration::from_secs(3)).await;
    let summary = system.summary().await;
    assert_eq!(summary["total"], total, "{summary}");
    assert_eq!(summary["by_status"]["routed"], total);
    assert_two_sms_each(&filed, &system.sink.messages().await);

    let routing_db = sqlx::PgPool::connect(&system.routing_db).await.unwrap();
    let cases: i64 = sqlx::query_scalar("SELECT count(*) FROM cases").fetch_one(&routing_db).await.unwrap();
    assert_eq!(cases, total as i64, "one case per petition");
    let mut routed_codes: Vec<String> =
        sqlx::query_scalar("SELECT tracking_code FROM cases").fetch_all(&routing_db).await.unwrap();
    let mut filed_codes: Vec<String> = filed.iter().map(|f| f.tracking_code.clone()).collect();
    routed_codes.sort();
    filed_codes.sort();
    assert_eq!(routed_codes, filed_codes);

    // the service desk: a supervisor's token from pasokhctl, a Friday-prayer event, a walk-in
    // resolved on the spot; routing closes the case at once and reporting counts it as closed
    let supervisor = sign_in("supervisor-tehran").await;
    let operator = sign_in("operator-tehran").await;
    let tehran = format!("http://127.0.0.1:{}", system.intakes["IR-23"].http_port);
    let now = event_window();
    let event: Value = reqwest::Client::new()
        .post(format!("{tehran}/v1/desk-events"))
        .bearer_auth(&supervisor)
        .json(&json!({"title": "نماز جمعه تهران", "venue": "مصلی", "starts_at": now.0, "ends_at": now.1, "organisations": ["sso"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{tehran}/v1/desk-events/{}/petitions", event["id"].as_str().expect("event created")))
        .bearer_auth(&operator)
        .json(&json!({
            "national_id": "0499370899", "mobile": "09121112233", "category": "pension-payment",
            "text": "پرسش درباره زمان واریز مستمری", "resolved_on_spot": {"answer": "تاریخ واریز اعلام شد"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let closed: Value = eventually(Duration::from_secs(60), "the desk case counted as closed", || async {
        let summary = system.summary().await;
        (summary["by_status"]["closed"] == 1).then_some(summary)
    })
    .await;
    assert_eq!(closed["total"], total + 1);

    // an Open311 partner files with its key in a header and sees the live status: intake asks routing
    let filed_by_partner: Value = reqwest::Client::new()
        .post(format!("{tehran}/open311/v2/requests.json"))
        .header("X-Api-Key", OPEN311_KEY)
        .form(&[
            ("service_code", "unpaid-wages"),
            ("description", "دستمزد سه ماه گذشته پرداخت نشده است"),
            ("phone", "09127778899"),
            ("attribute[national_id]", &pasokh_testkit::national_id(4242)),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let partner_code = filed_by_partner[0]["service_request_id"].as_str().expect("open311 request filed").to_owned();
    let open311 = eventually(Duration::from_secs(60), "the partner's request routed", || async {
        let found: Value = reqwest::Client::new()
            .get(format!("{tehran}/open311/v2/requests/{partner_code}.json"))
            .header("X-Api-Key", OPEN311_KEY)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (found[0]["status_notes"] == pasokh_domain::CaseStatus::Routed.label_fa()).then_some(found)
    })
    .await;
    assert_eq!(open311[0]["status"], "open", "{open311}");

    // an SSO officer in Tehran, with a pasokhctl token, asks a citizen a question over routing's
    // gRPC; the citizen gets it by SMS, answers at intake, and gets the officer's answer by SMS
    let (petition_id, tracking_code): (uuid::Uuid, String) = sqlx::query_as(
        "SELECT petition_id, tracking_code FROM cases WHERE unit = 'sso/IR-23' AND status = 'routed' LIMIT 1",
    )
    .fetch_one(&routing_db)
    .await
    .unwrap();
    let citizen = filed.iter().find(|f| f.tracking_code == tracking_code).unwrap().mobile.clone();
    let officer = sign_in("officer-sso-tehran").await;
    let mut cases =
        CaseServiceClient::connect(format!("http://127.0.0.1:{}", system.routing.grpc_port())).await.unwrap();
    let command = |message: &str| {
        let mut request = tonic::Request::new(CaseCommand {
            petition_id: petition_id.to_string(),
            message: message.into(),
            expected_version: 0,
        });
        request.metadata_mut().insert("authorization", format!("Bearer {officer}").parse().unwrap());
        request
    };
    cases.acknowledge(command("")).await.unwrap();
    // the question goes out on a trace the test starts itself: it reaches routing with this
    // traceparent, and notification's look-up of the officer's words continues that trace
    let asked = "00-5e1f0c0de0000000000000000000a5c3-00000000000000a1-01";
    let mut question = command("شماره پرونده بازنشستگی خود را بنویسید");
    question.metadata_mut().insert("traceparent", asked.parse().unwrap());
    cases.request_info(question).await.unwrap();
    let sms_to_citizen = async |words: &str| {
        eventually(Duration::from_secs(60), "the officer's words by SMS", || async {
            let messages = system.sink.messages().await;
            messages.into_iter().find(|m| m.to == citizen && m.text.contains(words))
        })
        .await
    };
    let question = sms_to_citizen("شماره پرونده بازنشستگی").await;
    assert!(question.text.contains(&tracking_code), "{}", question.text);
    let reply = reqwest::Client::new()
        .post(format!("{tehran}/v1/petitions/{tracking_code}/replies"))
        .json(&json!({"mobile": citizen, "text": "شماره پرونده ۱۲۳۴۵ است"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    eventually(Duration::from_secs(60), "the reply to reach the case", || async {
        let status: String = sqlx::query_scalar("SELECT status FROM cases WHERE petition_id = $1")
            .bind(petition_id)
            .fetch_one(&routing_db)
            .await
            .unwrap();
        (status == "in_progress").then_some(())
    })
    .await;
    // more time than the target allows: the interim reason reaches the citizen too
    let mut expect = tonic::Request::new(SetExpectedDateRequest {
        petition_id: petition_id.to_string(),
        expected_date: (chrono::Utc::now() + chrono::Duration::days(90)).date_naive().to_string(),
        interim_reason: "استعلام سوابق از شعبه قبلی تا سه ماه زمان می‌برد".into(),
        expected_version: 0,
    });
    expect.metadata_mut().insert("authorization", format!("Bearer {officer}").parse().unwrap());
    cases.set_expected_date(expect).await.unwrap();
    sms_to_citizen("استعلام سوابق از شعبه قبلی").await;
    cases.respond(command("مستمری شما در فهرست پرداخت این هفته است")).await.unwrap();
    let answer = sms_to_citizen("فهرست پرداخت این هفته").await;
    assert!(answer.text.contains("امتیاز"), "the citizen is asked to rate: {}", answer.text);

    // a citizen sends the same letter again while the first is open: it joins the open case,
    // and the SMS tells them the original tracking code
    let original = file(system.intakes["IR-23"].http_port, "IR-23", 1000).await;
    eventually(Duration::from_secs(60), "the original to be routed", || async {
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM cases WHERE tracking_code = $1")
            .bind(&original.tracking_code)
            .fetch_optional(&routing_db)
            .await
            .unwrap();
        (status.as_deref() == Some("routed")).then_some(())
    })
    .await;
    let repeated = file(system.intakes["IR-23"].http_port, "IR-23", 1000).await;
    let merged = eventually(Duration::from_secs(60), "the merge SMS", || async {
        let messages = system.sink.messages().await;
        messages.into_iter().find(|m| {
            m.to == repeated.mobile
                && m.text.contains(&original.tracking_code)
                && m.text.contains(&repeated.tracking_code)
        })
    })
    .await;
    assert!(merged.text.contains("تکرار"), "{}", merged.text);

    // a citizen's status look-up once more, now that this routing has run long enough to export
    let looked_up = reqwest::Client::new()
        .post(format!("{tehran}/v1/petitions/{}/status", first.tracking_code))
        .json(&json!({ "mobile": first.mobile }))
        .send()
        .await
        .unwrap();
    assert_eq!(looked_up.status(), 200);

    // graceful shutdown: every service drains and exits 0 on SIGTERM
    for service in system.intakes.values_mut() {
        assert!(service.terminate().await.success(), "{} exit status", service.name);
    }
    for service in [&mut system.routing, &mut system.notification, &mut system.reporting] {
        assert!(service.terminate().await.success(), "{} exit status", service.name);
    }

    // the services flushed their spans on the way out: each petition's trace
    // runs from intake's HTTP request through Kafka into the consumers
    let requests: Vec<_> = system
        .collector
        .spans
        .lock()
        .unwrap()
        .iter()
        .filter(|(service, span)| service == "pasokh-intake" && span.name == "POST /v1/petitions")
        .map(|(_, span)| span.clone())
        .collect();
    // the petitions of both phases, and the original and repeated letter
    assert_eq!(requests.len(), filed.len() + 2, "intake exported one request span per petition over OTLP");
    let process = format!("process {}", system.topics.lifecycle);
    // the consumer's span hangs below the request's: the handler's and the writer's spans lie between
    let descends_from = |request: &opentelemetry_proto::tonic::trace::v1::Span, consumer: &str| {
        let trace = system.collector.trace(&request.trace_id);
        let parent_of: HashMap<&[u8], &[u8]> =
            trace.iter().map(|(_, _, id, parent)| (id.as_slice(), parent.as_slice())).collect();
        trace.iter().filter(|(service, name, _, _)| service == consumer && *name == process).any(|(_, _, _, parent)| {
            let mut at = parent.as_slice();
            for _ in 0..trace.len() {
                if at == request.span_id.as_slice() {
                    return true;
                }
                let Some(up) = parent_of.get(at) else { return false };
                at = up;
            }
            false
        })
    };
    for request in &requests {
        assert!(descends_from(request, "pasokh-notification"), "notification continues intake's trace");
        assert!(descends_from(request, "pasokh-reporting"), "reporting continues intake's trace");
    }
    // the routing process killed with SIGKILL never exported its spans; the restarted one did
    assert!(
        requests.iter().any(|request| descends_from(request, "pasokh-routing")),
        "routing continues intake's trace"
    );

    // gRPC hops continue the trace: every petition routing exported is one trace through routing's
    // look-up of its text at intake; the status look-up runs intake → routing; the test's own
    // officer command runs routing → Kafka → notification → routing
    let exported: Vec<_> = requests.iter().filter(|request| descends_from(request, "pasokh-routing")).collect();
    for request in &exported {
        assert!(
            system.collector.grpc_hop(&request.trace_id, "pasokh-routing", "pasokh.intake.v1.IntakeInternal/GetTexts"),
            "routing's GetTexts call to intake is in the petition's trace, and intake served it as its child"
        );
    }
    let status_lookups: Vec<_> = system
        .collector
        .spans
        .lock()
        .unwrap()
        .iter()
        .filter(|(service, span)| {
            service == "pasokh-intake" && span.name == "POST /v1/petitions/{tracking_code}/status"
        })
        .map(|(_, span)| span.trace_id.clone())
        .collect();
    assert!(
        status_lookups.iter().any(|trace| system.collector.grpc_hop(
            trace,
            "pasokh-intake",
            "pasokh.routing.v1.CaseLookup/GetCase"
        )),
        "a citizen's status look-up is one trace from intake's request through routing's GetCase"
    );
    let asked_trace = hex::decode(asked.split('-').nth(1).unwrap()).unwrap();
    let asked_spans = system.collector.trace(&asked_trace);
    assert!(
        asked_spans.iter().any(|(service, name, _, parent)| service == "pasokh-routing"
            && name == "pasokh.routing.v1.CaseService/RequestInfo"
            && *parent == hex::decode("00000000000000a1").unwrap()),
        "routing's server span continues the caller's traceparent: {asked_spans:?}"
    );
    assert!(
        system.collector.grpc_hop(
            &asked_trace,
            "pasokh-notification",
            "pasokh.routing.v1.CaseLookup/GetCitizenMessages"
        ),
        "notification's look-up of the officer's words is in the trace the officer's command started"
    );
}

/// Signs a demo member of staff in at the identity provider with the built `pasokhctl login`;
/// returns the provider's access token.
async fn sign_in(user: &str) -> String {
    let provider = pasokh_testkit::Provider::from_env();
    let output = Command::new(bin_dir().join("pasokhctl"))
        .args(["login", "--user", user, "--issuer", &provider.issuer])
        .env("PASOKH_PASSWORD", pasokh_testkit::DEMO_PASSWORD)
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "pasokhctl login {user}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// An event window around now, in RFC 3339.
fn event_window() -> (String, String) {
    let now = chrono::Utc::now();
    ((now - chrono::Duration::hours(1)).to_rfc3339(), (now + chrono::Duration::hours(3)).to_rfc3339())
}
