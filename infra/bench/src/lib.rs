//! Shared pieces of the benchmarks: process measurements from `/proc` and a counting proxy in
//! front of the AWS endpoint.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// CPU time a process has used, in nanoseconds, summed over its threads (`/proc/PID/task/*/schedstat`).
pub fn cpu_time_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|task| task.ok())
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| {
            stat.split_whitespace()
                .next()
                .and_then(|ns| ns.parse::<u64>().ok())
        })
        .sum()
}

/// Peak resident set size of a process in bytes (`VmHWM`).
pub fn peak_rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// A proxy on 127.0.0.1 that forwards every request to the AWS endpoint (moto) and counts them
/// by operation (DynamoDB by `X-Amz-Target`, SES v2 by method and path) and the connections
/// clients open to it. Like DynamoDB and SES, it keeps connections open: moto's
/// `Connection: close` is a hop-by-hop header and stops at the proxy.
#[derive(Clone)]
pub struct CountingProxy {
    /// The proxy's URL, to use as `AWS_ENDPOINT_URL`.
    pub url: String,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    connections: Arc<AtomicU64>,
}

/// Headers that describe one connection, not the message (RFC 9110, section 7.6.1), and the
/// framing headers the proxy sets itself.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

impl CountingProxy {
    /// Starts a proxy in front of `upstream`.
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let connections = Arc::new(AtomicU64::new(0));
        let client = reqwest::Client::new();
        let state = (counts.clone(), client, Arc::new(upstream));
        let accepted = connections.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::Relaxed);
                let _ = stream.set_nodelay(true);
                let (counts, client, upstream) = state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let (counts, client, upstream) =
                            (counts.clone(), client.clone(), upstream.clone());
                        async move {
                            Ok::<_, Infallible>(forward(&counts, &client, &upstream, request).await)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url,
            counts,
            connections,
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Requests so far, by operation.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap().clone()
    }

    /// DynamoDB requests so far.
    pub fn dynamodb_requests(&self) -> u64 {
        self.counts()
            .iter()
            .filter(|(op, _)| op.starts_with("DynamoDB"))
            .map(|(_, n)| n)
            .sum()
    }
}

async fn forward(
    counts: &Mutex<BTreeMap<String, u64>>,
    client: &reqwest::Client,
    upstream: &str,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{} {}", parts.method, parts.uri.path()));
    *counts.lock().unwrap().entry(operation).or_default() += 1;
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let url = format!(
        "{upstream}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).unwrap();
    let mut outgoing = client.request(method, url).body(body);
    for (name, value) in &parts.headers {
        if name != "host" && !HOP_BY_HOP.contains(&name.as_str()) {
            outgoing = outgoing.header(name.as_str(), value.as_bytes());
        }
    }
    match outgoing.send().await {
        Ok(answer) => {
            let mut response = Response::builder().status(answer.status().as_u16());
            for (name, value) in answer.headers() {
                if !HOP_BY_HOP.contains(&name.as_str()) {
                    response = response.header(name.as_str(), value.as_bytes());
                }
            }
            let bytes = answer.bytes().await.unwrap_or_default();
            response.body(Full::new(bytes)).unwrap()
        }
        Err(error) => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Full::new(Bytes::from(error.to_string())))
            .unwrap(),
    }
}
