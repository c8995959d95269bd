//! Start-up of the Lambda functions: configuration read once, AWS clients built once, and one
//! cheap call per client so the first user request does not pay for connection set-up.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sesv2::types::{Body, Content, EmailContent, Message};
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};

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
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|level| level.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let capped = level.min(LevelFilter::DEBUG);
    let filter = Targets::new()
        .with_default(level)
        .with_targets(SENSITIVE_AT_TRACE.iter().map(|target| (*target, capped)));
    let logs = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(level);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json {
        logs.json().finish().with(filter).init();
    } else {
        logs.finish().with(filter).init();
    }
}

/// Reads the configuration from `env` and builds the DynamoDB client, once; the SES client is
/// built on first use. The SDK takes region, credentials and endpoint from the standard AWS
/// variables (see [`sdk_config`]).
pub async fn aws_app(env: &Env<'_>) -> Result<AwsApp, StartupError> {
    let config = Config::from_env(env).map_err(startup)?;
    let table = env.required(vars::TABLE_NAME).map_err(startup)?;
    let configuration_set = env.optional(vars::SES_CONFIGURATION_SET);
    let auth = Authenticator::new(config.auth.clone()).map_err(startup)?;
    // Boxed (as are the calls of `warm_up` and `warm_up_mail`): the SDK's futures are large (this
    // one 12 KiB), and a future kept on the heap is not copied from stack frame to stack frame,
    // which saves a dozen page faults at start-up.
    let sdk = Box::pin(sdk_config(env)).await?;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        table,
        config.expired_invitation_retention,
    );
    let mailer = SesMailer::on_first_use(sdk, &config.sender, configuration_set);
    Ok(App {
        config,
        auth,
        store,
        mailer,
        clock: Arc::new(SystemClock),
    })
}

/// The SDK configuration of the functions: the standard AWS variables, [`sdk_timeouts`], and
/// the HTTPS client of [`https_client`]. Stalled-stream protection is off: it cancels a body
/// that stalls for 20 s, and every attempt here is cancelled after 2 s anyway, so it could never
/// fire, while its timers and body wrappers cost CPU on every call.
///
/// Lambda puts the region and the function role's credentials in the environment, so when they
/// are there they are used directly: the SDK's default chains would otherwise build an STS
/// client for web identity and an IMDS client at start-up, which Lambda never uses (a third of
/// the init time). Without them (a local run with a profile or SSO), the default chains apply.
pub async fn sdk_config(env: &Env<'_>) -> Result<aws_config::SdkConfig, StartupError> {
    let roots = TrustRoots::from_env(env)?;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client(roots)?)
        .timeout_config(sdk_timeouts())
        .stalled_stream_protection(
            aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled(),
        );
    if let Some(region) = env
        .optional("AWS_REGION")
        .or_else(|| env.optional("AWS_DEFAULT_REGION"))
    {
        loader = loader.region(aws_config::Region::new(region));
    }
    if env.optional("AWS_ACCESS_KEY_ID").is_some()
        && env.optional("AWS_SECRET_ACCESS_KEY").is_some()
    {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    Ok(loader.load().await)
}

/// Chooses the certificate authorities trusted for HTTPS calls to AWS: `amazon` (default) or
/// `system`.
pub const TLS_ROOTS_VARIABLE: &str = "DELEGATES_TLS_ROOTS";

/// The Amazon Trust Services root certificates (Amazon Root CA 1-4 and Starfield Services Root
/// CA - G2, from <https://www.amazontrust.com/repository/>), to which the AWS service endpoints'
/// certificates chain.
pub const AMAZON_TRUST_SERVICES_PEM: &str = include_str!("../certs/amazon-trust-services.pem");

/// The certificate authorities the functions trust for their HTTPS calls to AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrustRoots {
    /// The Amazon Trust Services roots built into the binary: nothing to read or parse from disk
    /// at start-up, and no other authority can vouch for an AWS endpoint.
    #[default]
    AmazonTrustServices,
    /// The operating system's store (every file of `/etc/ssl/certs`, read and parsed at
    /// start-up: about 4 ms), for an endpoint signed by another authority such as a
    /// TLS-inspecting proxy.
    System,
}

impl TrustRoots {
    /// Reads [`TLS_ROOTS_VARIABLE`].
    pub fn from_env(env: &Env<'_>) -> Result<Self, StartupError> {
        match env.optional(TLS_ROOTS_VARIABLE) {
            None => Ok(Self::default()),
            Some(value) if value.eq_ignore_ascii_case("amazon") => Ok(Self::AmazonTrustServices),
            Some(value) if value.eq_ignore_ascii_case("system") => Ok(Self::System),
            Some(value) => Err(StartupError(format!(
                "environment variable {TLS_ROOTS_VARIABLE} is invalid: {value:?} is neither \
                 \"amazon\" nor \"system\""
            ))),
        }
    }
}

/// The HTTPS client of the SDK clients (hyper, rustls on aws-lc-rs) trusting `roots`.
pub fn https_client(
    roots: TrustRoots,
) -> Result<aws_sdk_dynamodb::config::SharedHttpClient, StartupError> {
    let trust_store = match roots {
        TrustRoots::AmazonTrustServices => {
            TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_PEM.as_bytes())
        }
        TrustRoots::System => TrustStore::empty().with_native_roots(true),
    };
    let context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .map_err(startup)?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
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

/// A warm-up call's result, with its output dropped and its error as text for the log.
fn outcome<T, E: fmt::Display>(result: Result<T, E>) -> Result<(), String> {
    result.map(|_| ()).map_err(|error| error.to_string())
}

fn warm_up_is_off() -> bool {
    std::env::var(WARM_UP_VARIABLE).is_ok_and(|v| v.eq_ignore_ascii_case("off"))
}

/// Opens the DynamoDB connection before the first request. A failure is logged and ignored: the
/// request path reports real failures.
pub async fn warm_up(app: &AwsApp, dynamodb: WarmUp) {
    if warm_up_is_off() {
        return;
    }
    let store = &app.store;
    let client = store.client();
    let key = HashMap::from([
        ("PK".to_owned(), AttributeValue::S(WARM_UP_KEY.into())),
        ("SK".to_owned(), AttributeValue::S(WARM_UP_KEY.into())),
    ]);
    let result = Box::pin(async {
        match dynamodb {
            WarmUp::Query => outcome(
                client
                    .query()
                    .table_name(store.table())
                    .key_condition_expression("PK = :pk")
                    .expression_attribute_values(":pk", AttributeValue::S(WARM_UP_KEY.into()))
                    .limit(1)
                    .send()
                    .await,
            ),
            WarmUp::GetItem => outcome(
                client
                    .get_item()
                    .table_name(store.table())
                    .set_key(Some(key))
                    .send()
                    .await,
            ),
            WarmUp::ConditionalUpdate => outcome(
                client
                    .update_item()
                    .table_name(store.table())
                    .set_key(Some(key))
                    .condition_expression("attribute_exists(PK)")
                    .update_expression("SET warm = :warm")
                    .expression_attribute_values(":warm", AttributeValue::Bool(true))
                    .send()
                    .await,
            ),
        }
    })
    .await;
    // The conditional update fails by design; any other failure is worth a line in the log.
    if let (Err(error), true) = (result, dynamodb != WarmUp::ConditionalUpdate) {
        tracing::warn!(%error, "DynamoDB warm-up call failed");
    }
}

/// Builds the SES client and opens its connection before the first request, for the functions
/// that send mail (a separate call, so that the others carry no SES `SendEmail` code). It sends
/// a SendEmail without recipients: SES refuses it without sending anything, and the function's
/// policy allows no other SES call.
pub async fn warm_up_mail(app: &AwsApp) {
    if warm_up_is_off() {
        return;
    }
    let Ok(content) = Content::builder().data("warm-up").build() else {
        return;
    };
    let message = Message::builder()
        .subject(content.clone())
        .body(Body::builder().text(content).build())
        .build();
    let send = app
        .mailer
        .client()
        .send_email()
        .from_email_address(app.config.sender.address.as_str())
        .content(EmailContent::builder().simple(message).build())
        .send();
    let _ = Box::pin(send).await;
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_lc_rs::digest::{SHA256, digest};
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    /// SHA-256 fingerprints of the Amazon Trust Services roots, as published on
    /// <https://www.amazontrust.com/repository/>.
    const PUBLISHED_FINGERPRINTS: [&str; 5] = [
        "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
        "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
        "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
        "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
        "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5",
    ];

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn the_bundled_roots_are_exactly_the_published_amazon_trust_services_roots() {
        let fingerprints: Vec<String> = AMAZON_TRUST_SERVICES_PEM
            .split("-----BEGIN CERTIFICATE-----")
            .skip(1)
            .map(|block| {
                let body = block.split("-----END CERTIFICATE-----").next().unwrap();
                let base64: String = body.split_whitespace().collect();
                let der = STANDARD.decode(base64).expect("base64 certificate");
                hex(digest(&SHA256, &der).as_ref())
            })
            .collect();
        assert_eq!(fingerprints, PUBLISHED_FINGERPRINTS);
    }

    fn roots_from(value: Option<&str>) -> Result<TrustRoots, StartupError> {
        let map: HashMap<String, String> = value
            .map(|v| HashMap::from([(TLS_ROOTS_VARIABLE.to_owned(), v.to_owned())]))
            .unwrap_or_default();
        TrustRoots::from_env(&Env::from_map(&map))
    }

    #[test]
    fn trust_roots_default_to_amazon_and_accept_system() {
        assert_eq!(roots_from(None).unwrap(), TrustRoots::AmazonTrustServices);
        assert_eq!(
            roots_from(Some("Amazon")).unwrap(),
            TrustRoots::AmazonTrustServices
        );
        assert_eq!(roots_from(Some("system")).unwrap(), TrustRoots::System);
        let error = roots_from(Some("mozilla")).unwrap_err().to_string();
        assert!(
            error.contains(TLS_ROOTS_VARIABLE) && error.contains("mozilla"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn the_sdk_bounds_every_attempt_and_leaves_stalled_stream_protection_off() {
        let map = HashMap::from([
            ("AWS_REGION".to_owned(), "eu-west-1".to_owned()),
            ("AWS_ACCESS_KEY_ID".to_owned(), "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), "test".to_owned()),
        ]);
        let sdk = sdk_config(&Env::from_map(&map)).await.unwrap();
        let attempt = sdk.timeout_config().unwrap().operation_attempt_timeout();
        assert_eq!(attempt, Some(std::time::Duration::from_secs(2)));
        let stalled = sdk.stalled_stream_protection().unwrap();
        assert!(!stalled.is_enabled());
        assert!(attempt.unwrap() < stalled.grace_period());
    }

    /// A request through each client builds its TLS configuration (parsing the roots, which
    /// panics on a bad certificate) and then fails cleanly on a closed port.
    #[tokio::test]
    async fn both_https_clients_load_their_roots_and_report_connection_failures() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        for roots in [TrustRoots::AmazonTrustServices, TrustRoots::System] {
            let config = aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .region(aws_sdk_dynamodb::config::Region::new("eu-west-1"))
                .credentials_provider(aws_sdk_dynamodb::config::Credentials::for_tests())
                .endpoint_url(&endpoint)
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
                .http_client(https_client(roots).unwrap())
                .build();
            let error = aws_sdk_dynamodb::Client::from_conf(config)
                .list_tables()
                .send()
                .await
                .unwrap_err();
            assert!(
                matches!(error, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)),
                "{roots:?}: {error:?}"
            );
        }
    }
}
