//! The Lambda functions as deployed: for each `bootstrap.zip` that `make package` built, its size, its
//! init time and its peak memory over 100 invocations, beside the `lambda-hello` baseline built the
//! same way in the same run.
//!
//! - **Init**: the time from spawning `bootstrap` to its first `GET /2018-06-01/runtime/invocation/next`
//!   on a Lambda Runtime API server this bench runs on 127.0.0.1 (the request is timestamped when it
//!   arrives), over `BENCH_INIT_RUNS` cold starts (default 20): p50 and p90. It includes what each
//!   `main` does before it asks for an event: the configuration, the SDK clients, the cold-start reads
//!   (the fetcher's app secret and the table; the notifier's Slack secret and the table; the scorer's
//!   table), each a round trip to moto on loopback.
//! - **Memory**: `VmHWM` from `/proc/<pid>/status` (the peak resident set) after init and after
//!   `BENCH_INVOCATIONS` invocations (default 100) of one process, with real work: the fetcher fetches
//!   eight sandbox categories per invocation (refreshed every second, invocations a second apart), the
//!   trend-scorer gets the fetcher's snapshot inserts from the table's stream in batches, the notifier
//!   the scorer's event inserts (SNS on moto, Slack to a local receiver), then hourly digests.
//!
//! Needs `AWS_ENDPOINT_URL` (run through `scripts/with-moto.sh`) and the zips in `LAMBDA_DIR`
//! (default `target/lambda`); `make bench` does both. The process environment is Lambda's (reserved
//! variables, JSON logs, the memory size Terraform gives each function), not the bench's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // a bench: it prints, a panic is a failed run

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

const BASELINE: &str = "lambda-hello";
const CATEGORIES: &str = "MLB1055,MLB1002,MLB1652,MLB186456,MLA1055,MLA1002,MLM1055,MLM1002";

// ---- A Lambda Runtime API for one process ----

struct Invocation {
    id: String,
    body: Vec<u8>,
    done: oneshot::Sender<Outcome>,
}

struct Outcome {
    ok: bool,
    body: Bytes,
}

#[derive(Clone)]
struct Api {
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Invocation>>>,
    // std mutexes: held for a map operation, never across an await.
    pending: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    first_next: Arc<Mutex<Option<oneshot::Sender<Instant>>>>,
    init_error: Arc<Mutex<Option<oneshot::Sender<Bytes>>>>,
    timeout: Duration,
}

async fn next(State(api): State<Api>) -> Response {
    let arrived = Instant::now();
    if let Some(tx) = api.first_next.lock().unwrap().take() {
        let _ = tx.send(arrived);
    }
    let Some(inv) = api.queue.lock().await.recv().await else {
        return Response::builder().status(StatusCode::GONE).body(Body::empty()).unwrap();
    };
    api.pending.lock().unwrap().insert(inv.id.clone(), inv.done);
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + api.timeout;
    Response::builder()
        .header("lambda-runtime-aws-request-id", &inv.id)
        .header("lambda-runtime-deadline-ms", deadline.as_millis().to_string())
        .header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:000000000000:function:bench")
        .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0")
        .header("content-type", "application/json")
        .body(Body::from(inv.body))
        .unwrap()
}

fn finish(api: &Api, id: &str, ok: bool, body: Bytes) -> StatusCode {
    if let Some(tx) = api.pending.lock().unwrap().remove(id) {
        let _ = tx.send(Outcome { ok, body });
    }
    StatusCode::ACCEPTED
}

async fn response(State(api): State<Api>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    finish(&api, &id, true, body)
}

async fn error(State(api): State<Api>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    finish(&api, &id, false, body)
}

async fn init_error(State(api): State<Api>, body: Bytes) -> StatusCode {
    if let Some(tx) = api.init_error.lock().unwrap().take() {
        let _ = tx.send(body);
    }
    StatusCode::ACCEPTED
}

/// One function process with its own Runtime API.
struct Running {
    name: String,
    child: Child,
    spawned: Instant,
    invocations: mpsc::Sender<Invocation>,
    first_next: Option<oneshot::Receiver<Instant>>,
    init_error: Option<oneshot::Receiver<Bytes>>,
    server: tokio::task::JoinHandle<()>,
    log: PathBuf,
    timeout: Duration,
    seq: u64,
}

impl Running {
    async fn start(f: &Function, env: &[(String, String)], log: PathBuf) -> Running {
        let (tx, rx) = mpsc::channel(1);
        let (first_tx, first_rx) = oneshot::channel();
        let (err_tx, err_rx) = oneshot::channel();
        let api = Api {
            queue: Arc::new(tokio::sync::Mutex::new(rx)),
            pending: Arc::default(),
            first_next: Arc::new(Mutex::new(Some(first_tx))),
            init_error: Arc::new(Mutex::new(Some(err_tx))),
            timeout: f.timeout,
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let mut cmd = Command::new(&f.bootstrap);
        cmd.env_clear()
            .envs(lambda_environment(&f.name, f.memory_mb, &addr.to_string()))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::from(fs::OpenOptions::new().create(true).append(true).open(&log).unwrap()))
            .stderr(Stdio::from(fs::OpenOptions::new().append(true).open(&log).unwrap()));
        let spawned = Instant::now();
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", f.bootstrap.display()));
        Running {
            name: f.name.clone(),
            child,
            spawned,
            invocations: tx,
            first_next: Some(first_rx),
            init_error: Some(err_rx),
            server,
            log,
            timeout: f.timeout,
            seq: 0,
        }
    }

    /// Waits for the first `GET next`: the init time.
    async fn ready(&mut self) -> Duration {
        let mut first = self.first_next.take().unwrap();
        let mut init_error = self.init_error.take().unwrap();
        let give_up = Instant::now() + Duration::from_secs(30);
        loop {
            tokio::select! {
                at = &mut first => return at.unwrap().duration_since(self.spawned),
                body = &mut init_error => self.fail(&format!("init error: {}", String::from_utf8_lossy(&body.unwrap_or_default()))),
                _ = tokio::time::sleep(Duration::from_millis(20)) => {
                    if let Some(status) = self.child.try_wait().unwrap() {
                        self.fail(&format!("exited during init ({status})"));
                    }
                    if Instant::now() > give_up {
                        self.fail("did not ask for an event within 30 s");
                    }
                }
            }
        }
    }

    /// One invocation: its outcome and how long it took, end to end through the Runtime API; `None`
    /// when it outlived the function's timeout (Lambda would end the process there).
    async fn invoke(&mut self, body: Vec<u8>) -> Option<(Outcome, Duration)> {
        self.seq += 1;
        let (done, rx) = oneshot::channel();
        let id = format!("bench-{:06}", self.seq);
        let started = Instant::now();
        self.invocations.send(Invocation { id, body, done }).await.unwrap();
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(outcome)) => Some((outcome, started.elapsed())),
            Ok(Err(_)) => self.fail("the runtime API dropped an invocation"),
            Err(_) => None,
        }
    }

    /// (VmHWM, VmRSS) in bytes.
    fn memory(&self) -> (u64, u64) {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map(|kb| kb * 1024)
                .unwrap()
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.server.abort();
    }

    fn fail(&mut self, what: &str) -> ! {
        let _ = self.child.kill();
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
        panic!("{}: {what}\n--- its log ({}) ---\n{}", self.name, self.log.display(), tail.join("\n"));
    }
}

/// The reserved variables Lambda sets for a provided.al2023 function (JSON logs, as Terraform configures).
fn lambda_environment(name: &str, memory_mb: u32, runtime_api: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", format!("meli-radar-{name}")),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/meli-radar-{name}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/29/[$LATEST]bench".into()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("LAMBDA_TASK_ROOT", "/var/task".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("TZ", ":UTC".into()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

// ---- The functions and their surroundings ----

struct Function {
    name: String,
    zip: PathBuf,
    bootstrap: PathBuf,
    memory_mb: u32,
    timeout: Duration,
}

fn unpack(lambda_dir: &Path, work: &Path, name: &str, memory_mb: u32, timeout_s: u64) -> Option<Function> {
    let zip = lambda_dir.join(name).join("bootstrap.zip");
    if !zip.is_file() {
        return None;
    }
    let dir = work.join(name);
    fs::create_dir_all(&dir).unwrap();
    let out = Command::new("unzip").arg("-o").arg("-q").arg(&zip).arg("bootstrap").arg("-d").arg(&dir).status();
    assert!(out.is_ok_and(|s| s.success()), "cannot unzip {}", zip.display());
    Some(Function {
        name: name.to_string(),
        zip,
        bootstrap: dir.join("bootstrap"),
        memory_mb,
        timeout: Duration::from_secs(timeout_s),
    })
}

struct World {
    sdk: aws_config::SdkConfig,
    table: String,
    common: Vec<(String, String)>,
    env: HashMap<&'static str, Vec<(String, String)>>,
    slack_posts: Arc<Mutex<u64>>,
}

async fn slack_receiver(State(posts): State<Arc<Mutex<u64>>>, _body: Bytes) -> &'static str {
    *posts.lock().unwrap() += 1;
    "ok"
}

async fn world(settings: &Settings, sandbox: &meli_sandbox::SandboxHandle) -> World {
    let endpoint = settings.endpoint.as_str();
    let sdk = meli_aws::sdk::load().await; // with the SDK's HTTP client (the SDK crates build none themselves)
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let unique = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
    let table = format!("meli-bench-{unique}");
    meli_aws::dynamo::create_table(&ddb, &table).await.unwrap();

    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let cfg = sandbox.state().config();
    let app = json!({"client_id": cfg.client_id, "client_secret": cfg.client_secret, "grant": "client_credentials"});
    let app = sm.create_secret().name(format!("{table}/app")).secret_string(app.to_string()).send().await.unwrap();
    let token = sm.create_secret().name(format!("{table}/token")).send().await.unwrap();

    let slack_posts = Arc::new(Mutex::new(0));
    let receiver = Router::new().route("/slack", post(slack_receiver)).with_state(slack_posts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/slack", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, receiver).await;
    });
    let hooks = json!([{"url": hook, "name": "#bench"}]).to_string();
    let slack = sm.create_secret().name(format!("{table}/slack")).secret_string(hooks).send().await.unwrap();
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topic = sns.create_topic().name(format!("{table}-alerts")).send().await.unwrap();

    let var = |k: &str, v: &str| (k.to_string(), v.to_string());
    let mut common = vec![var("AWS_ENDPOINT_URL", endpoint), var("MELI_TABLE_NAME", &table)];
    common.extend(settings.aws.iter().cloned());
    let mut env = HashMap::new();
    env.insert(
        "fetcher",
        vec![
            var("MELI_CATEGORIES", CATEGORIES),
            var("MELI_APP_SECRET_ID", app.arn().unwrap()),
            var("MELI_TOKEN_SECRET_ID", token.arn().unwrap()),
            var("MELI_API_BASE_URL", &sandbox.base_url()),
            var("MELI_REFRESH_EVERY", "1s"),
            var("MELI_RATE_LIMIT_RPS", "1000"),
        ],
    );
    env.insert("trend-scorer", vec![]);
    env.insert(
        "notifier",
        vec![var("MELI_SNS_TOPIC_ARN", topic.topic_arn().unwrap()), var("MELI_SLACK_SECRET_ID", slack.arn().unwrap())],
    );
    env.insert(BASELINE, vec![]);
    World { sdk, table, common, env, slack_posts }
}

impl World {
    fn env_of(&self, name: &str) -> Vec<(String, String)> {
        self.common.iter().chain(self.env[name].iter()).cloned().collect()
    }

    /// Every record of the table's stream so far, in the shape Lambda delivers (`aws_lambda_events`).
    async fn stream(&self) -> Vec<Value> {
        let ddb = aws_sdk_dynamodb::Client::new(&self.sdk);
        let streams = aws_sdk_dynamodbstreams::Client::new(&self.sdk);
        let arn = meli_aws::dynamo::stream_arn(&ddb, &self.table).await.unwrap().unwrap();
        let desc = streams.describe_stream().stream_arn(&arn).send().await.unwrap();
        let mut out = Vec::new();
        for shard in desc.stream_description.unwrap().shards.unwrap_or_default() {
            let mut it = streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(shard.shard_id.unwrap())
                .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
                .send()
                .await
                .unwrap()
                .shard_iterator;
            while let Some(iterator) = it {
                let page = streams.get_records().shard_iterator(iterator).send().await.unwrap();
                let records = page.records.unwrap_or_default();
                if records.is_empty() {
                    break;
                }
                out.extend(records.iter().map(|r| lambda_record(r, &arn)));
                it = page.next_shard_iterator;
            }
        }
        out
    }
}

fn lambda_record(r: &aws_sdk_dynamodbstreams::types::Record, arn: &str) -> Value {
    let d = r.dynamodb.as_ref().unwrap();
    let image = |m: &Option<HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
        m.clone().map(|m| serde_json::to_value(serde_dynamo::Item::from(m)).unwrap())
    };
    let mut dynamodb = json!({
        "Keys": image(&d.keys).unwrap(),
        "SequenceNumber": d.sequence_number.clone().unwrap(),
        "SizeBytes": d.size_bytes.unwrap_or_default(),
        "StreamViewType": d.stream_view_type.as_ref().map(|v| v.as_str().to_string()),
    });
    if let Some(new) = image(&d.new_image) {
        dynamodb["NewImage"] = new;
    }
    if let Some(old) = image(&d.old_image) {
        dynamodb["OldImage"] = old;
    }
    json!({
        "eventID": r.event_id.clone().unwrap(),
        "eventName": r.event_name.as_ref().unwrap().as_str(),
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "awsRegion": "us-east-1",
        "eventSourceARN": arn,
        "dynamodb": dynamodb,
    })
}

/// The records an event source mapping with Terraform's filter would deliver: INSERTs whose key
/// `key` starts with `prefix`.
fn inserts(records: &[Value], key: &str, prefix: &str) -> Vec<Value> {
    records
        .iter()
        .filter(|r| r["eventName"] == "INSERT")
        .filter(|r| r["dynamodb"]["Keys"][key]["S"].as_str().is_some_and(|s| s.starts_with(prefix)))
        .cloned()
        .collect()
}

/// `n` batches in stream order, as even as the records allow.
fn batches(records: Vec<Value>, n: usize) -> Vec<Vec<Value>> {
    let size = records.len().div_ceil(n.max(1)).max(1);
    records.chunks(size).map(<[Value]>::to_vec).collect()
}

// ---- Figures ----

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

#[derive(Default)]
struct Figures {
    zip: u64,
    init: Vec<Duration>,
    rss_init: u64,
    rss_peak: u64,
    invocations: usize,
    errors: usize,
    first_call: Duration,
    later_p50: Duration,
    note: String,
}

async fn init_times(f: &Function, env: &[(String, String)], runs: usize, logs: &Path) -> Vec<Duration> {
    let mut out = Vec::with_capacity(runs);
    for i in 0..runs {
        let mut p = Running::start(f, env, logs.join(format!("{}-init-{i}.log", f.name))).await;
        out.push(p.ready().await);
        p.stop();
    }
    out.sort();
    out
}

/// One process, `events` invocations (each event built when its turn comes), the memory peak.
async fn memory_run(
    f: &Function,
    env: &[(String, String)],
    logs: &Path,
    events: Vec<Vec<u8>>,
    pace: Option<Duration>,
    figures: &mut Figures,
) -> Vec<Value> {
    let mut p = Running::start(f, env, logs.join(format!("{}-run.log", f.name))).await;
    p.ready().await;
    figures.rss_init = p.memory().0;
    let mut times = Vec::new();
    let mut answers = Vec::new();
    let started = Instant::now();
    for (i, body) in events.into_iter().enumerate() {
        if let Some(pace) = pace {
            let at = started + pace * i as u32;
            tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        }
        let Some((outcome, took)) = p.invoke(body).await else {
            figures.errors += 1;
            println!(
                "  {}: invocation {} outlived its {} s timeout; the run stops there",
                f.name,
                i + 1,
                f.timeout.as_secs()
            );
            break;
        };
        if !outcome.ok {
            figures.errors += 1;
            if figures.errors == 1 {
                println!("  {} error: {}", f.name, String::from_utf8_lossy(&outcome.body));
            }
        }
        answers.push(serde_json::from_slice(&outcome.body).unwrap_or(Value::Null));
        times.push(took);
    }
    let (hwm, _) = p.memory();
    figures.rss_peak = hwm;
    figures.invocations = times.len();
    figures.first_call = times.first().copied().unwrap_or_default();
    let mut later: Vec<Duration> = times.iter().skip(1).copied().collect();
    later.sort();
    figures.later_p50 = percentile(&later, 0.5);
    p.stop();
    answers
}

fn print_header(runs: usize, invocations: usize) {
    println!(
        "Lambda functions (make package: cargo lambda build --release, x86_64, zig; init = spawn → first GET .../invocation/next on a local Runtime API, {runs} cold starts; RSS = VmHWM, {invocations} invocations of one process)"
    );
    println!(
        "  {:<13} {:>8} {:>6}   {:>9} {:>9} {:>7}   {:>9} {:>9} {:>6}   {:>7} {:>10} {:>10}",
        "function",
        "zip",
        "goal",
        "init p50",
        "init p90",
        "goal",
        "RSS init",
        "RSS peak",
        "goal",
        "errors",
        "1st call",
        "later p50"
    );
}

fn print_row(name: &str, f: &Figures) {
    let (zip_goal, rss_goal) = match name {
        "fetcher" => ("≤ 6", "≤ 48"),
        BASELINE => ("", ""),
        _ => ("≤ 6", "≤ 32"),
    };
    let init_goal = if name == BASELINE { "" } else { "≤ 40" };
    println!(
        "  {:<13} {:>5.2} MB {:>6}   {:>6.1} ms {:>6.1} ms {:>7}   {:>6.1} MB {:>6.1} MB {:>6}   {:>3}/{:<3} {:>7.1} ms {:>7.1} ms{}",
        name,
        mb(f.zip),
        zip_goal,
        ms(percentile(&f.init, 0.5)),
        ms(percentile(&f.init, 0.9)),
        init_goal,
        mb(f.rss_init),
        mb(f.rss_peak),
        rss_goal,
        f.errors,
        f.invocations,
        ms(f.first_call),
        ms(f.later_p50),
        if f.note.is_empty() { String::new() } else { format!("   {}", f.note) },
    );
}

/// What the bench reads from its environment (the one place it does).
struct Settings {
    endpoint: String,
    lambda_dir: PathBuf,
    runs: usize,
    invocations: usize,
    /// The moto credentials and region, passed on to the functions.
    aws: Vec<(String, String)>,
}

impl Settings {
    #[allow(clippy::disallowed_methods)] // the bench's configuration, read once
    fn from_env(root: &Path) -> Result<Settings, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let number = |k: &str, default: usize| var(k).and_then(|v| v.parse().ok()).unwrap_or(default);
        let endpoint = var("AWS_ENDPOINT_URL")
            .ok_or("AWS_ENDPOINT_URL is not set; run the bench through scripts/with-moto.sh (make bench does)")?;
        let aws = [("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_REGION", "us-east-1")]
            .into_iter()
            .map(|(k, default)| (k.to_string(), var(k).unwrap_or_else(|| default.to_string())))
            .collect();
        Ok(Settings {
            endpoint,
            lambda_dir: var("LAMBDA_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target/lambda")),
            runs: number("BENCH_INIT_RUNS", 20),
            invocations: number("BENCH_INVOCATIONS", 100),
            aws,
        })
    }
}

#[tokio::main]
async fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let settings = Settings::from_env(&root).unwrap_or_else(|e| {
        eprintln!("lambda bench: {e}");
        std::process::exit(2);
    });
    let (lambda_dir, runs, invocations) = (settings.lambda_dir.clone(), settings.runs, settings.invocations);
    let work = std::env::temp_dir().join(format!("meli-lambda-bench-{}", std::process::id()));
    let logs = work.join("logs");
    fs::create_dir_all(&logs).unwrap();

    // Memory sizes and timeouts as Terraform sets them (infra/variables.tf).
    let specs = [("fetcher", 256, 600), ("trend-scorer", 128, 60), ("notifier", 128, 60), (BASELINE, 128, 60)];
    let mut functions = Vec::new();
    for (name, memory, timeout) in specs {
        match unpack(&lambda_dir, &work, name, memory, timeout) {
            Some(f) => functions.push(f),
            None if name == BASELINE => println!("  ({name} was not built: no baseline row)"),
            None => {
                eprintln!("lambda bench: {}/{name}/bootstrap.zip is missing; run make package", lambda_dir.display());
                std::process::exit(2);
            }
        }
    }

    let sandbox = meli_sandbox::spawn(meli_sandbox::SandboxConfig {
        speed: 3600.0,
        scenario: meli_sandbox::config::Scenario::Volatile,
        ..meli_sandbox::SandboxConfig::default()
    })
    .await
    .unwrap();
    let world = world(&settings, &sandbox).await;

    let mut rows: Vec<(String, Figures)> = Vec::new();
    for f in &functions {
        let mut fig = Figures { zip: fs::metadata(&f.zip).unwrap().len(), ..Figures::default() };
        fig.init = init_times(f, &world.env_of(&f.name), runs, &logs).await;
        rows.push((f.name.clone(), fig));
    }
    print_header(runs, invocations);
    let row = |rows: &mut Vec<(String, Figures)>, name: &str| rows.iter().position(|(n, _)| n == name).unwrap();
    let by_name = |name: &str| functions.iter().find(|f| f.name == name).unwrap();

    // The fetcher: a scheduled event a second apart, every category due each time.
    let scheduled = fs::read(root.join("events/fetcher/scheduled.json")).unwrap();
    let i = row(&mut rows, "fetcher");
    let answers = memory_run(
        by_name("fetcher"),
        &world.env_of("fetcher"),
        &logs,
        vec![scheduled; invocations],
        Some(Duration::from_millis(1050)),
        &mut rows[i].1,
    )
    .await;
    let sum = |k: &str| answers.iter().filter_map(|a| a[k].as_u64()).sum::<u64>();
    rows[i].1.note = format!(
        "{} snapshots, {} API calls, {} failed categories",
        sum("snapshots_written"),
        sum("api_calls"),
        sum("failed")
    );
    print_row("fetcher", &rows[i].1);

    // The trend-scorer: the fetcher's snapshot inserts from the stream, in batches.
    let records = world.stream().await;
    let snaps = inserts(&records, "sk", "SNAP#");
    let n_snaps = snaps.len();
    let events: Vec<Vec<u8>> =
        batches(snaps, invocations).into_iter().map(|b| json!({"Records": b}).to_string().into_bytes()).collect();
    let i = row(&mut rows, "trend-scorer");
    let answers =
        memory_run(by_name("trend-scorer"), &world.env_of("trend-scorer"), &logs, events, None, &mut rows[i].1).await;
    let retried = answers.iter().filter(|a| a["batchItemFailures"].as_array().is_some_and(|f| !f.is_empty())).count();
    rows[i].1.note = format!("{n_snaps} snapshot records, {retried} batches with item failures");
    print_row("trend-scorer", &rows[i].1);

    // The notifier: the scorer's event inserts, then hourly digests up to the invocation count.
    let records = world.stream().await;
    let evts = inserts(&records, "pk", "EVT#");
    let n_evts = evts.len();
    let mut events: Vec<Vec<u8>> = batches(evts, invocations)
        .into_iter()
        .filter(|b| !b.is_empty())
        .map(|b| json!({"Records": b}).to_string().into_bytes())
        .collect();
    let stream_batches = events.len();
    let digest = fs::read(root.join("events/notifier/digest.json")).unwrap();
    events.resize(invocations.max(stream_batches), digest);
    let i = row(&mut rows, "notifier");
    memory_run(by_name("notifier"), &world.env_of("notifier"), &logs, events, None, &mut rows[i].1).await;
    rows[i].1.note = format!(
        "{n_evts} event records in {stream_batches} batches + {} digests, {} Slack posts",
        invocations.saturating_sub(stream_batches),
        *world.slack_posts.lock().unwrap()
    );
    print_row("notifier", &rows[i].1);

    if let Some(f) = functions.iter().find(|f| f.name == BASELINE) {
        let i = row(&mut rows, BASELINE);
        let echo = b"{\"hello\": \"world\"}".to_vec();
        memory_run(f, &world.env_of(BASELINE), &logs, vec![echo; invocations], None, &mut rows[i].1).await;
        rows[i].1.note = "baseline: lambda_runtime alone, same build".into();
        print_row(BASELINE, &rows[i].1);
    }
    println!(
        "  reference (issue #6, published Lambda cold starts): Rust hello world ~14 ms, Rust with the AWS SDK ~112 ms, Python ~80 ms"
    );
    sandbox.shutdown().await;
    let errors: usize = rows.iter().map(|(_, f)| f.errors).sum();
    if errors == 0 {
        let _ = fs::remove_dir_all(&work);
    } else {
        println!("  {errors} invocations failed; logs in {}", logs.display());
        std::process::exit(1);
    }
}
