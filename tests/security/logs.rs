//! Group 8: the whole story with every log line captured (the local server at trace level, in a
//! process of its own): no token, JWT, secret or invite link appears in the logs.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use delegates_tests::runtime_api::binary_dir;
use delegates_tests::{new_delegate, read_outbox};
use serde_json::{Value, json};

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let binary = binary_dir().join("delegates-local");
    assert!(binary.exists(), "build delegates-local first");
    let mut server = Command::new(&binary)
        .args(["--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data.path())
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let admin = String::from_utf8(
        Command::new(&binary)
            .args(["token", "--account", "acme", "--email", "admin@acme.test"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();

    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if client.get(format!("{base}/notice")).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the server did not start");

    let created: Value = client
        .post(format!("{base}/delegates"))
        .bearer_auth(&admin)
        .json(&new_delegate("Logged", "logged@example.com"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let email = read_outbox(&data.path().join("outbox")).pop().unwrap();
    let token = email.invitation_token().unwrap();
    let link = format!("/delegation/accept?token={token}");
    for _ in 0..2 {
        client
            .post(format!("{base}/invitations/accept"))
            .json(&json!({ "token": token }))
            .send()
            .await
            .unwrap();
    }
    client
        .get(format!("{base}/delegates"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    client
        .get(format!("{base}/delegates"))
        .bearer_auth(format!("{admin}x"))
        .send()
        .await
        .unwrap();
    client
        .get(format!("{base}/delegates"))
        .header("authorization", format!("bearer {admin}"))
        .send()
        .await
        .unwrap();
    client
        .post(format!("{base}/invitations/accept"))
        .json(&json!({ "token": format!("{token}x") }))
        .send()
        .await
        .unwrap();
    client
        .delete(format!(
            "{base}/delegates/{}",
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();

    server.kill().unwrap();
    server.wait().unwrap();
    let mut logs = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(logs.lines().count() > 10, "the logs were captured: {logs}");
    let secret = token.rsplit('.').next().unwrap();
    let admin_signature = admin.rsplit('.').next().unwrap();
    for (what, needle) in [
        ("invitation token", token.as_str()),
        ("invitation secret", secret),
        ("invite link", link.as_str()),
        ("admin JWT", admin.as_str()),
        ("admin JWT signature", admin_signature),
        ("JWT secret", delegates_local::LOCAL_JWT_SECRET),
    ] {
        assert!(!logs.contains(needle), "the {what} appears in the logs");
    }
    println!("logs: {} lines checked for 6 secrets", logs.lines().count());
}
