//! The local server: the same handler functions the Lambdas run, behind a plain HTTP/1.1 server
//! on 127.0.0.1, with the store in a JSON file and mail in an `.eml` outbox.

pub mod aws_setup;

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use delegates::auth::Authenticator;
use delegates::clock::{Clock, SystemClock};
use delegates::config::{Config, ConfigError, Env, vars};
use delegates::http::{self, ApiError, App, MAX_BODY_BYTES, Operation};
use delegates::mail::{Mailer, Outbox};
use delegates::store::{DelegateStore, MemoryStore};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The HS256 secret of local development tokens. Local only: never deploy it.
pub const LOCAL_JWT_SECRET: &str = "local-development-secret-not-for-production-use";

/// The values the local server uses for variables the environment does not set.
pub fn local_defaults() -> HashMap<String, String> {
    [
        (vars::PORTAL_URL, "http://localhost:5173"),
        (vars::MAIL_FROM_ADDRESS, "no-reply@delegates.localhost"),
        (vars::MAIL_FROM_NAME, "Delegate Access (local)"),
        (vars::JWT_ALGORITHM, "HS256"),
        (vars::JWT_SECRET, LOCAL_JWT_SECRET),
        (vars::JWT_ISSUER, "delegates-local"),
        (vars::JWT_AUDIENCE, "delegates-api"),
        (vars::NOTICE_VERSION, "2026-01"),
        (vars::TABLE_NAME, "delegates"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

/// The configuration from the environment, with [`local_defaults`] filling the gaps.
pub fn local_config() -> Result<Config, ConfigError> {
    let defaults = local_defaults();
    Config::from_env(&Env::process_with_defaults(&defaults))
}

/// Where the local server keeps its data.
#[derive(Debug, Clone)]
pub struct DataDir(PathBuf);

impl DataDir {
    /// A data folder at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self(path.into())
    }

    /// The JSON file of the store.
    pub fn store_file(&self) -> PathBuf {
        self.0.join("delegates.json")
    }

    /// The folder of sent mail.
    pub fn outbox(&self) -> PathBuf {
        self.0.join("outbox")
    }

    /// The folder itself.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

/// The local app: file store and outbox in `data`.
pub fn local_app(
    config: Config,
    data: &DataDir,
    clock: Arc<dyn Clock>,
) -> Result<App<MemoryStore, Outbox>, StartError> {
    let store = MemoryStore::open(data.store_file())?;
    let mailer = Outbox::new(data.outbox(), &config.sender)?;
    build_app(config, store, mailer, clock)
}

/// An app from its parts, with the authenticator built from the configuration.
pub fn build_app<S, M>(
    config: Config,
    store: S,
    mailer: M,
    clock: Arc<dyn Clock>,
) -> Result<App<S, M>, StartError> {
    let auth = Authenticator::new(config.auth.clone())?;
    Ok(App {
        config,
        auth,
        store,
        mailer,
        clock,
    })
}

/// The system clock, shared.
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Files or the socket.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A running server; dropping it does not stop it, [`Server::stop`] does.
pub struct Server {
    addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Server {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }

    /// Runs until the accept loop ends.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Binds `addr` (port 0 picks a free port) and serves every operation of `app`.
pub async fn start<S: DelegateStore, M: Mailer>(
    app: Arc<App<S, M>>,
    addr: SocketAddr,
) -> io::Result<Server> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (shutdown, mut stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => match accepted {
                    Ok(connection) => connection,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let app = Arc::clone(&app);
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let app = Arc::clone(&app);
                    async move { Ok::<_, Infallible>(serve_one(&app, request).await) }
                });
                if let Err(error) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%error, "connection ended with an error");
                }
            });
        }
    });
    Ok(Server {
        addr,
        shutdown,
        task,
    })
}

/// Turns one HTTP request into a `lambda_http` request, runs the shared handler and turns its
/// response back.
async fn serve_one<S: DelegateStore, M: Mailer>(
    app: &App<S, M>,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let response = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            let body = if bytes.is_empty() {
                lambda_http::Body::Empty
            } else {
                lambda_http::Body::Binary(bytes.to_vec())
            };
            let request = lambda_http::Request::from_parts(parts, body);
            http::handle(app, request, Operation::ALL).await
        }
        Err(error) if error.is::<LengthLimitError>() => ApiError::PayloadTooLarge.into_response(),
        Err(error) => {
            ApiError::MalformedJson(format!("the body could not be read: {error}")).into_response()
        }
    };
    let (parts, body) = response.into_parts();
    hyper::Response::from_parts(parts, Full::new(Bytes::copy_from_slice(body.as_ref())))
}
