//! Start-up of the Lambda functions: configuration read once, AWS clients built once, and one
//! cheap call per client so the first user request does not pay for connection set-up.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sesv2::types::{Body, Content, EmailContent, Message};

use crate::auth::Authenticator;
use crate::clock::SystemClock;
use crate::config::{Config, Env, vars};
use crate::http::App;
use crate::mail::SesMailer;
use crate::store::DynamoStore;

/// The app the HTTP functions run: DynamoDB and SES.
pub type AwsApp = App<DynamoStore, SesMailer>;

/// Why a function could not start. Its message names the variable or client at fault.
pub struct StartupError(String);

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartupError {}

fn startup<E: std::error::Error>(error: E) -> StartupError {
    StartupError(error.to_string())
}

/// Crates that log raw Lambda events, request bodies or signing details at TRACE level: JWTs,
/// invitation tokens and links would reach the logs. They are never logged below DEBUG.
const SENSITIVE_AT_TRACE: &[&str] = &[
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "aws_sigv4",
    "aws_runtime",
    "aws_config",
    "aws_sdk_dynamodb",
    "aws_sdk_sesv2",
    "hyper",
    "hyper_util",
    "rustls",
];

/// Sets up logging as Lambda's advanced logging controls ask: JSON when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`, the level from `AWS_LAMBDA_LOG_LEVEL` (or `RUST_LOG`, default
/// INFO), except that the crates in [`SENSITIVE_AT_TRACE`] never log below DEBUG.
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::filter::LevelFilter;

    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|level| level.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let capped = level.min(LevelFilter::DEBUG);
    let mut filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .parse_lossy("");
    for target in SENSITIVE_AT_TRACE {
        if let Ok(directive) = format!("{target}={capped}").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let logs = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
}

/// Reads the configuration from `env` and builds the DynamoDB and SES clients, once. The SDK
/// takes region, credentials and endpoint from the standard AWS variables.
pub async fn aws_app(env: &Env<'_>) -> Result<AwsApp, StartupError> {
    let config = Config::from_env(env).map_err(startup)?;
    let table = env.required(vars::TABLE_NAME).map_err(startup)?;
    let configuration_set = env.optional(vars::SES_CONFIGURATION_SET);
    let auth = Authenticator::new(config.auth.clone()).map_err(startup)?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(sdk_timeouts())
        .load()
        .await;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        table,
        config.expired_invitation_retention,
    );
    let mailer = SesMailer::new(
        aws_sdk_sesv2::Client::new(&sdk),
        &config.sender,
        configuration_set,
    );
    Ok(App {
        config,
        auth,
        store,
        mailer,
        clock: Arc::new(SystemClock),
    })
}

/// Bounds on every AWS call, so that a slow dependency turns into a clean 503 (and, for an add
/// whose email failed, leaves time to withdraw the invitation) instead of a Lambda timeout.
pub fn sdk_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(2))
        .operation_attempt_timeout(std::time::Duration::from_secs(2))
        .operation_timeout(std::time::Duration::from_secs(5))
        .build()
}

/// The one DynamoDB call a function makes at start-up: one its IAM policy allows, reading or
/// writing nothing real.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmUp {
    /// A Query on a partition no item lives in.
    Query,
    /// A GetItem of a key no item has.
    GetItem,
    /// An UpdateItem of a key no item has, under a condition that fails: nothing is written.
    ConditionalUpdate,
}

const WARM_UP_KEY: &str = "WARMUP";

/// Set to `off` to skip the warm-up calls (the benchmark measures init both ways).
pub const WARM_UP_VARIABLE: &str = "DELEGATES_WARM_UP";

/// Opens the DynamoDB connection (and the SES one when `mail` is set) before the first request.
/// Failures are logged and ignored: the request path reports real failures.
pub async fn warm_up(app: &AwsApp, dynamodb: WarmUp, mail: bool) {
    if std::env::var(WARM_UP_VARIABLE).is_ok_and(|v| v.eq_ignore_ascii_case("off")) {
        return;
    }
    let store = &app.store;
    let client = store.client();
    let key = HashMap::from([
        ("PK".to_owned(), AttributeValue::S(WARM_UP_KEY.into())),
        ("SK".to_owned(), AttributeValue::S(WARM_UP_KEY.into())),
    ]);
    let result = match dynamodb {
        WarmUp::Query => client
            .query()
            .table_name(store.table())
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(WARM_UP_KEY.into()))
            .limit(1)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        WarmUp::GetItem => client
            .get_item()
            .table_name(store.table())
            .set_key(Some(key))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        WarmUp::ConditionalUpdate => client
            .update_item()
            .table_name(store.table())
            .set_key(Some(key))
            .condition_expression("attribute_exists(PK)")
            .update_expression("SET warm = :warm")
            .expression_attribute_values(":warm", AttributeValue::Bool(true))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    };
    // The conditional update fails by design; any other failure is worth a line in the log.
    if let (Err(error), true) = (result, dynamodb != WarmUp::ConditionalUpdate) {
        tracing::warn!(%error, "DynamoDB warm-up call failed");
    }
    if mail {
        // SendEmail without recipients: SES refuses it without sending anything, and the
        // function's policy allows no other SES call.
        let content = Content::builder().data("warm-up").build();
        if let Ok(content) = content {
            let message = Message::builder()
                .subject(content.clone())
                .body(Body::builder().text(content).build())
                .build();
            let _ = app
                .mailer
                .client()
                .send_email()
                .from_email_address(app.config.sender.address.as_str())
                .content(EmailContent::builder().simple(message).build())
                .send()
                .await;
        }
    }
}
