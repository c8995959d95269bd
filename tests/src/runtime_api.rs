//! A Lambda Runtime API on 127.0.0.1, so the real function binaries run exactly as Lambda runs
//! them: `/next` is long-polled, each event carries a request id and a real epoch deadline, and
//! each answer is written in one go on a `TCP_NODELAY` socket.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

/// What a function answered to one event.
#[derive(Debug)]
pub enum Outcome {
    /// `POST /invocation/{id}/response`.
    Response(Value),
    /// `POST /invocation/{id}/error`.
    Error(Value),
}

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<(String, Bytes)>>,
    queued: Notify,
    answers: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    polls: AtomicU64,
    polled: Notify,
    init_error: Mutex<Option<String>>,
}

/// The Runtime API endpoint one function process talks to.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    next_id: AtomicU64,
}

impl RuntimeApi {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let server_state = Arc::clone(&shared);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let shared = Arc::clone(&server_state);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let shared = Arc::clone(&shared);
                        async move { Ok::<_, Infallible>(route(&shared, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            shared,
            next_id: AtomicU64::new(1),
        }
    }

    /// The `AWS_LAMBDA_RUNTIME_API` value.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// How many times the function has asked for its next event.
    pub fn polls(&self) -> u64 {
        self.shared.polls.load(Ordering::SeqCst)
    }

    /// Waits until the function asks for an event (its init is done), or it reported an init
    /// error, or `timeout` passes.
    pub async fn wait_until_ready(&self, timeout: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(error) = self.shared.init_error.lock().unwrap().clone() {
                return Err(format!("init error: {error}"));
            }
            if self.polls() > 0 {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, self.shared.polled.notified())
                .await
                .is_err()
            {
                return Err("the function never asked for an event".into());
            }
        }
    }

    /// Sends one event and waits for the function's answer.
    pub async fn invoke(&self, event: &Value, timeout: Duration) -> Outcome {
        let id = format!("req-{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let (answer, answered) = oneshot::channel();
        self.shared
            .answers
            .lock()
            .unwrap()
            .insert(id.clone(), answer);
        self.shared
            .queue
            .lock()
            .unwrap()
            .push_back((id, Bytes::from(event.to_string())));
        self.shared.queued.notify_waiters();
        self.shared.queued.notify_one();
        tokio::time::timeout(timeout, answered)
            .await
            .expect("the function answered in time")
            .expect("the answer channel stayed open")
    }

    /// Sends an API Gateway event and returns the `lambda_http` response object.
    pub async fn invoke_http(&self, event: &Value) -> HttpAnswer {
        match self.invoke(event, Duration::from_secs(30)).await {
            Outcome::Response(value) => HttpAnswer(value),
            Outcome::Error(error) => panic!("the function failed: {error}"),
        }
    }
}

/// An API Gateway (payload 2.0) response from a function.
#[derive(Debug, Clone)]
pub struct HttpAnswer(pub Value);

impl HttpAnswer {
    /// `statusCode`.
    pub fn status(&self) -> u16 {
        self.0["statusCode"].as_u64().unwrap_or_default() as u16
    }

    /// A response header.
    pub fn header(&self, name: &str) -> Option<String> {
        self.0["headers"][name].as_str().map(str::to_owned)
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Value {
        let body = self.0["body"].as_str().unwrap_or_default();
        serde_json::from_str(body).unwrap_or(Value::Null)
    }
}

async fn route(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    if method == Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        shared.polls.fetch_add(1, Ordering::SeqCst);
        shared.polled.notify_waiters();
        let (id, event) = loop {
            let notified = shared.queued.notified();
            if let Some(next) = shared.queue.lock().unwrap().pop_front() {
                break next;
            }
            notified.await;
        };
        let deadline =
            SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
        return Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", id)
            .header(
                "lambda-runtime-deadline-ms",
                deadline.as_millis().to_string(),
            )
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:eu-west-1:123456789012:function:local-test",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000",
            )
            .body(Full::new(event))
            .unwrap();
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if method == Method::POST && path == "/2018-06-01/runtime/init/error" {
        *shared.init_error.lock().unwrap() = Some(parsed.to_string());
        shared.polled.notify_waiters();
        return accepted();
    }
    let invocation = path.strip_prefix("/2018-06-01/runtime/invocation/");
    if let Some((id, kind)) = invocation.and_then(|rest| rest.split_once('/')) {
        let outcome = match kind {
            "response" => Outcome::Response(parsed),
            _ => Outcome::Error(parsed),
        };
        if let Some(answer) = shared.answers.lock().unwrap().remove(id) {
            let _ = answer.send(outcome);
        }
        return accepted();
    }
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn accepted() -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::ACCEPTED)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{\"status\":\"OK\"}")))
        .unwrap()
}

/// The folder cargo puts this build's binaries in (`target/debug` for tests).
pub fn binary_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target folder")
        .to_path_buf()
}

/// A function binary running against a [`RuntimeApi`]; killed when dropped.
pub struct FunctionProcess {
    child: Child,
    /// The file its stdout and stderr go to.
    pub log: PathBuf,
}

impl FunctionProcess {
    /// Starts `binary` (from [`binary_dir`]) with the Lambda variables and `env`.
    pub fn spawn(
        binary: &str,
        api: &RuntimeApi,
        env: &HashMap<String, String>,
        log: PathBuf,
    ) -> Self {
        Self::spawn_path(&binary_dir().join(binary), api, env, log)
    }

    /// Starts the binary at `path` with the Lambda variables and `env`.
    pub fn spawn_path(
        path: &std::path::Path,
        api: &RuntimeApi,
        env: &HashMap<String, String>,
        log: PathBuf,
    ) -> Self {
        let binary = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("function");
        assert!(
            path.exists(),
            "{} is missing: build the functions first (cargo build --workspace --bins)",
            path.display()
        );
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(path)
            .envs(env)
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", binary)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
        Self { child, log }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_some()
    }

    /// Waits until the function asks `api` for its first event; fails early if it exits or
    /// reports an init error.
    pub async fn wait_until_ready(
        &mut self,
        api: &RuntimeApi,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            match api.wait_until_ready(Duration::from_millis(20)).await {
                Ok(()) => return Ok(()),
                Err(error) if error.starts_with("init error") => return Err(error),
                Err(_) if self.exited() => return Err("the function exited during init".into()),
                Err(_) => {}
            }
        }
        Err("the function never asked for an event".into())
    }

    /// Everything it logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
