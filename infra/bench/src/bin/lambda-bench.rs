//! Cold starts and warm requests of the Lambda functions, measured as Lambda runs them: each
//! release binary, packed in its zip and unpacked from it as `bootstrap`, under a Lambda Runtime
//! API on 127.0.0.1 (long-polled `/next`, real epoch deadline, `TCP_NODELAY`, one write per
//! answer), with DynamoDB and SES served by moto through a counting proxy. The floor is a
//! hello-world `lambda_runtime` binary of the same profile; the cold starts of the floor and the
//! functions are taken round-robin in an order shuffled each round, so drift, the place in the
//! round and the process before weigh on all alike.
//!
//! Run by `infra/scripts/bench.sh`, which starts moto; `AWS_ENDPOINT_URL` must point at it.
//! Arguments: `[COLD_STARTS] [WARM_INVOCATIONS]` (defaults 50 and 1000).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use delegates::config::{Config, Env, vars};
use delegates::http::{Operation, handle};
use delegates::store::DynamoStore;
use delegates_bench::{CountingProxy, cpu_time_ns, peak_rss_bytes};
use delegates_tests::aws::{
    create_table, fresh_table, sent_messages, template_path, verify_sender,
};
use delegates_tests::invitation_token_in;
use delegates_tests::reminder_cases::{NoMail, TestMailer};
use delegates_tests::runtime_api::{FunctionProcess, Outcome, RuntimeApi};
use serde_json::{Value, json};

const FUNCTIONS: [&str; 5] = [
    "list-delegates",
    "add-delegate",
    "remove-delegate",
    "accept-invite",
    "review-reminder",
];
const FLOOR: &str = "hello-lambda";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn event(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo().join("events").join(name)).unwrap())
        .unwrap()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let index = ((values.len() as f64 - 1.0) * p).round() as usize;
    values[index]
}

/// Builds the five functions and the floor with the release profile, in this run: the functions
/// in one cargo run of their own (as `cargo lambda build` builds them), so that no feature of
/// the bench, the tests or the local server is unified into them, and the floor in another.
fn build(target_dir: &Path) {
    let builds: [&[&str]; 2] = [&FUNCTIONS, &[FLOOR]];
    for packages in builds {
        let mut command = Command::new(env!("CARGO"));
        command.current_dir(repo()).args(["build", "--release"]);
        for package in packages {
            command.args(["-p", package, "--bin", package]);
        }
        command.env("CARGO_TARGET_DIR", target_dir);
        let status = command.status().expect("cargo build");
        assert!(status.success(), "the release build of {packages:?} failed");
    }
}

/// A function as Lambda holds it: the binary packed as `bootstrap` in a zip (deflate, as
/// cargo-lambda packs it) and unpacked from that zip into a directory of its own.
struct Deployed {
    bootstrap: PathBuf,
    zip_size: u64,
}

/// Packs `binary` and unpacks it into `dir`. The cold starts run the unpacked copy, as Lambda
/// does. Measured here, the file the linker has just written starts 0.1-0.2 ms slower than the
/// same bytes written by unzip or read back after the page cache is dropped (~0.03 ms for the
/// small floor), presumably from how its pages sit in the page cache; Lambda never runs that file.
fn deploy(binary: &Path, dir: &Path) -> Deployed {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let zip = dir.join("function.zip");
    let script = "import os, sys, zipfile\n\
        binary, archive, into = sys.argv[1:]\n\
        with zipfile.ZipFile(archive, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:\n    \
            z.write(binary, 'bootstrap')\n\
        with zipfile.ZipFile(archive) as z:\n    \
            z.extract('bootstrap', into)\n\
        os.chmod(os.path.join(into, 'bootstrap'), 0o755)\n";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(binary)
        .arg(&zip)
        .arg(dir)
        .status()
        .expect("python3");
    assert!(status.success(), "packing {} failed", binary.display());
    Deployed {
        bootstrap: dir.join("bootstrap"),
        zip_size: std::fs::metadata(&zip).unwrap().len(),
    }
}

struct Measured {
    name: String,
    init_ms: Vec<f64>,
    init_with_warm_up_ms: Vec<f64>,
    init_cpu_ms: Vec<f64>,
    warm_ms: Vec<f64>,
    warm_cpu_us: f64,
    peak_rss: u64,
    binary_size: u64,
    zip_size: u64,
    dynamodb_per_call: f64,
    connections_per_call: f64,
}

async fn cold_starts(
    binary: &Path,
    env: &HashMap<String, String>,
    count: usize,
    logs: &Path,
) -> (Vec<f64>, Vec<f64>) {
    let mut init = Vec::new();
    let mut cpu = Vec::new();
    for n in 0..count {
        let api = RuntimeApi::start().await;
        let started = Instant::now();
        let mut process =
            FunctionProcess::spawn_path(binary, &api, env, logs.join(format!("cold-{n}.log")));
        process
            .wait_until_ready(&api, Duration::from_secs(20))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", binary.display(), process.logs()));
        init.push(started.elapsed().as_secs_f64() * 1e3);
        cpu.push(cpu_time_ns(process.pid()) as f64 / 1e6);
    }
    (init, cpu)
}

/// Events for `count` warm invocations of `function`.
async fn warm_events(
    function: &str,
    count: usize,
    app: &delegates::http::App<DynamoStore, TestMailer<NoMail>>,
) -> Vec<Value> {
    match function {
        "list-delegates" => (0..count).map(|_| event("list-delegates.json")).collect(),
        "add-delegate" => (0..count)
            .map(|n| {
                let mut e = event("add-delegate.json");
                let body = json!({"name": "Bench Partner", "email": format!("bench-add-{n}@partner.example"), "notice_acknowledged": true, "notice_version": "2026-01"});
                e["body"] = json!(body.to_string());
                e
            })
            .collect(),
        "remove-delegate" | "accept-invite" => {
            let mut events = Vec::new();
            for n in 0..count {
                let mut add = event("add-delegate.json");
                let body = json!({"name": "Seeded", "email": format!("bench-{function}-{n}@partner.example"), "notice_acknowledged": true, "notice_version": "2026-01"});
                add["body"] = json!(body.to_string());
                let request = lambda_http::request::from_str(&add.to_string()).unwrap();
                let response = handle(app, request, &[Operation::AddDelegate]).await;
                let created: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
                if function == "remove-delegate" {
                    let id = created["id"].as_str().unwrap();
                    let mut e = event("remove-delegate.json");
                    e["rawPath"] = json!(format!("/delegates/{id}"));
                    e["requestContext"]["http"]["path"] = json!(format!("/delegates/{id}"));
                    e["pathParameters"]["id"] = json!(id);
                    events.push(e);
                } else {
                    let token = invitation_token_in(&app.mailer.messages().last().unwrap().text).unwrap();
                    let mut e = event("accept-invite.json");
                    e["body"] = json!(json!({ "token": token }).to_string());
                    events.push(e);
                }
            }
            events
        }
        _ => (0..count)
            .map(|n| json!({"version": "0", "id": format!("bench-{n}"), "detail-type": "Scheduled Event", "source": "aws.scheduler", "time": "2031-01-01T09:00:00Z", "detail": {}}))
            .collect(),
    }
}

/// Warm invocations between two resets of moto.
const WARM_BATCH: usize = 200;

/// Empties moto and verifies the sender again.
async fn reset_moto(moto: &str, ses: &aws_sdk_sesv2::Client) {
    reqwest::Client::new()
        .post(format!("{moto}/moto-api/reset"))
        .send()
        .await
        .expect("moto reset");
    verify_sender(ses, "no-reply@delegates.localhost").await;
}

fn expected_status(function: &str) -> u16 {
    match function {
        "add-delegate" => 201,
        "remove-delegate" => 204,
        _ => 200,
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let cold = args.first().copied().unwrap_or(50);
    let warm = args.get(1).copied().unwrap_or(1000);
    let moto =
        std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL: run infra/scripts/bench.sh");
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("target"));

    println!("building the functions and the hello-world floor (release profile)...");
    build(&target_dir);
    let release = target_dir.join("release");
    let deployed: HashMap<&str, Deployed> = std::iter::once(FLOOR)
        .chain(FUNCTIONS)
        .map(|name| {
            let dir = target_dir.join("lambda-bench").join(name);
            (name, deploy(&release.join(name), &dir))
        })
        .collect();

    let proxy = CountingProxy::start(moto.clone()).await;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    verify_sender(&ses, "no-reply@delegates.localhost").await;
    let mut env = delegates_local::local_defaults();
    env.insert(vars::INVITATIONS_PER_DAY.into(), "10000".into());
    let mut process_env = env.clone();
    for name in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        process_env.insert(
            name.into(),
            std::env::var(name).unwrap_or_else(|_| "test".into()),
        );
    }
    process_env.insert("AWS_ENDPOINT_URL".into(), proxy.url.clone());
    process_env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
    let logs = std::env::temp_dir().join(format!("lambda-bench-{}", std::process::id()));
    std::fs::create_dir_all(&logs).unwrap();

    // Init without the warm-up calls (what the floor does too), measured round-robin: one cold
    // start of the floor and of each function per round, in an order shuffled each round (a
    // fixed seed, so runs repeat), so that a drift in the machine's state (caches, frequency,
    // moto's memory), the place in the round and the process before weigh on all alike.
    let mut no_warm_up = process_env.clone();
    no_warm_up.insert(delegates::lambda::WARM_UP_VARIABLE.into(), "off".into());
    let mut inits: HashMap<&str, (Vec<f64>, Vec<f64>)> = HashMap::new();
    let mut order: Vec<&str> = std::iter::once(FLOOR).chain(FUNCTIONS).collect();
    let mut rng = fastrand::Rng::with_seed(7);
    println!("measuring {cold} cold starts of each, round-robin...");
    for _ in 0..cold {
        rng.shuffle(&mut order);
        for &name in &order {
            let (init_ms, init_cpu_ms) =
                cold_starts(&deployed[name].bootstrap, &no_warm_up, 1, &logs).await;
            let entry = inits.entry(name).or_default();
            entry.0.extend(init_ms);
            entry.1.extend(init_cpu_ms);
        }
    }

    let mut results = Vec::new();
    for name in std::iter::once(FLOOR).chain(FUNCTIONS) {
        let binary = &deployed[name].bootstrap;
        println!("measuring {name}...");
        // moto copies all of its tables for every transaction, so it slows down as they grow:
        // start each function on an empty moto with a table of its own.
        reset_moto(&moto, &ses).await;
        let table = fresh_table(&dynamodb).await;
        env.insert(vars::TABLE_NAME.into(), table.clone());
        process_env.insert(vars::TABLE_NAME.into(), table.clone());
        let config = Config::from_env(&Env::from_map(&env)).unwrap();
        let store = DynamoStore::new(
            dynamodb.clone(),
            &table,
            config.expired_invitation_retention,
        );
        let seeding = delegates_local::build_app(
            config,
            store,
            TestMailer::new(NoMail),
            Arc::new(delegates::clock::SystemClock),
        )
        .unwrap();
        // Init with the warm-up calls too (as deployed: the connections to DynamoDB and SES are
        // opened before the first request), which needs the function's table.
        let (init_ms, init_cpu_ms) = inits.remove(name).expect("cold starts taken above");
        let init_with_warm_up_ms = if name == FLOOR {
            init_ms.clone()
        } else {
            cold_starts(binary, &process_env, cold, &logs).await.0
        };
        let api = RuntimeApi::start().await;
        let mut process = FunctionProcess::spawn_path(
            binary,
            &api,
            &process_env,
            logs.join(format!("{name}-warm.log")),
        );
        process
            .wait_until_ready(&api, Duration::from_secs(20))
            .await
            .unwrap();
        // Warm invocations in batches: before each batch after the first, moto is emptied and
        // the table made again (same name), because moto copies every table on each
        // transaction and a table of a thousand invitations makes its answers exceed the SDK
        // timeouts. Only the invocations are timed and counted, not the seeding.
        let mut warm_ms = Vec::with_capacity(warm);
        let (mut cpu, mut requests, mut connections, mut done) = (0, 0, 0, 0);
        while done < warm {
            let batch = WARM_BATCH.min(warm - done);
            if done > 0 && name != FLOOR {
                reset_moto(&moto, &ses).await;
                create_table(&dynamodb, &table, &template_path())
                    .await
                    .unwrap();
            }
            let events: Vec<Value> = if name == FLOOR {
                (0..batch).map(|_| event("list-delegates.json")).collect()
            } else {
                warm_events(name, batch, &seeding).await
            };
            let requests_before = proxy.dynamodb_requests();
            let connections_before = proxy.connections();
            let cpu_before = cpu_time_ns(process.pid());
            for event in &events {
                let started = Instant::now();
                let outcome = api.invoke(event, Duration::from_secs(30)).await;
                warm_ms.push(started.elapsed().as_secs_f64() * 1e3);
                match outcome {
                    Outcome::Response(answer)
                        if name == FLOOR
                            || name == "review-reminder"
                            || answer["statusCode"] == expected_status(name) => {}
                    other => panic!("{name}: unexpected answer {other:?}\n{}", process.logs()),
                }
            }
            cpu += cpu_time_ns(process.pid()) - cpu_before;
            requests += proxy.dynamodb_requests() - requests_before;
            connections += proxy.connections() - connections_before;
            done += batch;
        }
        results.push(Measured {
            name: name.to_owned(),
            init_ms,
            init_with_warm_up_ms,
            init_cpu_ms,
            warm_ms,
            warm_cpu_us: cpu as f64 / 1e3 / warm as f64,
            peak_rss: peak_rss_bytes(process.pid()),
            binary_size: std::fs::metadata(binary).unwrap().len(),
            zip_size: deployed[name].zip_size,
            dynamodb_per_call: requests as f64 / warm as f64,
            connections_per_call: connections as f64 / warm as f64,
        });
    }
    let _ = sent_messages(&moto).await;

    let floor_init = median(&mut results[0].init_ms.clone());
    println!();
    println!(
        "Lambda functions under a local Runtime API; DynamoDB and SES: moto on 127.0.0.1 behind a counting proxy"
    );
    println!("{cold} cold starts and {warm} warm invocations each; medians unless stated");
    println!();
    println!(
        "| function | init ms | init / floor | init CPU ms | init ms with warm-up | warm p50 ms | warm p99 ms | CPU per call µs | peak RSS MiB | binary MiB | zip MiB | DynamoDB req/call | AWS conn/call |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut json_rows = Vec::new();
    for r in &mut results {
        let init = median(&mut r.init_ms);
        let init_cpu = median(&mut r.init_cpu_ms);
        let init_warm_up = median(&mut r.init_with_warm_up_ms);
        let p50 = percentile(&mut r.warm_ms, 0.5);
        let p99 = percentile(&mut r.warm_ms, 0.99);
        println!(
            "| {} | {init:.1} | {:.2}x | {init_cpu:.1} | {init_warm_up:.1} | {p50:.2} | {p99:.2} | {:.0} | {:.1} | {:.2} | {:.2} | {} | {:.3} |",
            r.name,
            init / floor_init,
            r.warm_cpu_us,
            r.peak_rss as f64 / 1048576.0,
            r.binary_size as f64 / 1048576.0,
            r.zip_size as f64 / 1048576.0,
            if r.name == FLOOR {
                "-".to_owned()
            } else {
                format!("{:.2}", r.dynamodb_per_call)
            },
            r.connections_per_call,
        );
        json_rows.push(json!({
            "function": r.name,
            "init_ms_median": init,
            "init_ratio_to_floor": init / floor_init,
            "init_cpu_ms_median": init_cpu,
            "init_with_warm_up_ms_median": init_warm_up,
            "warm_ms_p50": p50,
            "warm_ms_p99": p99,
            "cpu_per_invocation_us": r.warm_cpu_us,
            "peak_rss_bytes": r.peak_rss,
            "binary_bytes": r.binary_size,
            "zip_bytes": r.zip_size,
            "dynamodb_requests_per_call": r.dynamodb_per_call,
            "aws_connections_opened_per_call": r.connections_per_call,
        }));
    }
    let report = json!({
        "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "os": std::env::consts::OS, "arch": std::env::consts::ARCH },
        "aws_endpoint": "moto (127.0.0.1) behind a counting proxy",
        "cold_starts": cold,
        "warm_invocations": warm,
        "functions": json_rows,
        "aws_requests_by_operation": proxy.counts(),
    });
    let out = target_dir.join("lambda-bench.json");
    std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!();
    println!("written to {}", out.display());
}
