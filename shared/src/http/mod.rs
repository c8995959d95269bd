//! The HTTP API: one handler per operation, shared by the Lambda functions (through API Gateway
//! HTTP API events) and the local server (which turns each HTTP request into the same
//! `lambda_http` request).

mod problem;
mod request;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::auth::{Admin, Authenticator};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{
    AccountId, Delegate, DelegateId, DelegateName, DelegateStatus, Email, InvitationToken, Inviter,
    NoticeAcknowledgement, StoredStatus,
};
use crate::mail::{Mailer, invitation_email};
use crate::store::{DelegateStore, NewInvitation, StoreError};

pub use problem::{ApiError, FieldError, PROBLEM_JSON};
pub use request::MAX_BODY_BYTES;
use request::{Cursor, JsonBody, ListQuery};

/// Everything a handler needs, built once at start-up.
pub struct App<S, M> {
    /// Configuration.
    pub config: Config,
    /// JWT verification with keys parsed once.
    pub auth: Authenticator,
    /// Delegate storage.
    pub store: S,
    /// Outgoing mail.
    pub mailer: M,
    /// The time source.
    pub clock: Arc<dyn Clock>,
}

/// The operations of the API; each Lambda function serves some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `GET /notice`
    ReadNotice,
    /// `GET /delegates`
    ListDelegates,
    /// `POST /delegates`
    AddDelegate,
    /// `DELETE /delegates/{id}`
    RemoveDelegate,
    /// `POST /invitations/accept`
    AcceptInvitation,
}

impl Operation {
    /// All operations (the local server serves them all).
    pub const ALL: &'static [Operation] = &[
        Self::ReadNotice,
        Self::ListDelegates,
        Self::AddDelegate,
        Self::RemoveDelegate,
        Self::AcceptInvitation,
    ];
}

/// Every route of the API: method, path template (OpenAPI style) and operation.
pub const ROUTES: &[(&str, &str, Operation)] = &[
    ("GET", "/notice", Operation::ReadNotice),
    ("GET", "/delegates", Operation::ListDelegates),
    ("POST", "/delegates", Operation::AddDelegate),
    ("DELETE", "/delegates/{id}", Operation::RemoveDelegate),
    ("POST", "/invitations/accept", Operation::AcceptInvitation),
];

/// A matched route.
enum Route<'a> {
    Notice,
    Delegates,
    Delegate(&'a str),
    AcceptInvitation,
}

impl<'a> Route<'a> {
    fn parse(path: &'a str) -> Option<Self> {
        match path {
            "/notice" => Some(Self::Notice),
            "/delegates" => Some(Self::Delegates),
            "/invitations/accept" => Some(Self::AcceptInvitation),
            _ => path
                .strip_prefix("/delegates/")
                .filter(|id| !id.is_empty() && !id.contains('/'))
                .map(Self::Delegate),
        }
    }

    fn allowed(&self) -> &'static str {
        match self {
            Self::Notice => "GET, OPTIONS",
            Self::Delegates => "GET, POST, OPTIONS",
            Self::Delegate(_) => "DELETE, OPTIONS",
            Self::AcceptInvitation => "POST, OPTIONS",
        }
    }

    fn operation(&self, method: &Method) -> Option<Operation> {
        match (self, method) {
            (Self::Notice, &Method::GET) => Some(Operation::ReadNotice),
            (Self::Delegates, &Method::GET) => Some(Operation::ListDelegates),
            (Self::Delegates, &Method::POST) => Some(Operation::AddDelegate),
            (Self::Delegate(_), &Method::DELETE) => Some(Operation::RemoveDelegate),
            (Self::AcceptInvitation, &Method::POST) => Some(Operation::AcceptInvitation),
            _ => None,
        }
    }
}

/// Handles one request for the operations in `served`; anything else is 404 or 405. Never fails:
/// every error becomes a problem+json response. The local server and the tests use it; a Lambda
/// function uses [`handle_function`].
pub async fn handle<S: DelegateStore, M: Mailer>(
    app: &App<S, M>,
    request: Request,
    served: &[Operation],
) -> Response<Body> {
    respond::<EveryOperation, S, M>(app, request, served).await
}

/// The operations one Lambda function serves, fixed at compile time so that the function's
/// binary holds the code of those operations only: the list function carries no invitation
/// email and no SES `SendEmail` code, which keeps its binary small and its cold start short.
pub trait Function {
    /// The operations served; any other route answers 404.
    const OPERATIONS: &'static [Operation];
}

/// All the operations, as the local server serves them.
pub struct EveryOperation;

impl Function for EveryOperation {
    const OPERATIONS: &'static [Operation] = Operation::ALL;
}

/// As [`handle`], for the operations of the Lambda function `F`.
pub async fn handle_function<F: Function, S: DelegateStore, M: Mailer>(
    app: &App<S, M>,
    request: Request,
) -> Response<Body> {
    respond::<F, S, M>(app, request, F::OPERATIONS).await
}

/// Whether `operation` is one of `operations`, at compile time.
const fn includes(operations: &[Operation], operation: Operation) -> bool {
    let mut index = 0;
    while index < operations.len() {
        if operations[index] as u8 == operation as u8 {
            return true;
        }
        index += 1;
    }
    false
}

async fn respond<F: Function, S: DelegateStore, M: Mailer>(
    app: &App<S, M>,
    request: Request,
    served: &[Operation],
) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let origin = request.headers().get(header::ORIGIN).cloned();
    let mut response = match Route::parse(&path) {
        None => ApiError::NotFound("No such resource.").into_response(),
        Some(route) if method == Method::OPTIONS => preflight(route.allowed()),
        Some(route) => match route.operation(&method) {
            Some(operation) if served.contains(&operation) => {
                let result = dispatch::<F, S, M>(app, operation, &route, &request).await;
                result.unwrap_or_else(|error| {
                    log_error(&method, &path, &error);
                    error.into_response()
                })
            }
            Some(_) => ApiError::NotFound("No such resource.").into_response(),
            None => ApiError::MethodNotAllowed(route.allowed()).into_response(),
        },
    };
    apply_cors(&app.config, origin, &mut response);
    tracing::info!(%method, %path, status = response.status().as_u16(), "request");
    response
}

/// The work of one operation, boxed: `dispatch` then holds a single await point, and the code of
/// an operation its function does not serve is not referenced at all, so it is not linked.
type Work<'a> = Pin<Box<dyn Future<Output = Result<Response<Body>, ApiError>> + Send + 'a>>;

/// Runs `operation`. An operation that `F` does not serve is compiled out and answers 404.
async fn dispatch<F: Function, S: DelegateStore, M: Mailer>(
    app: &App<S, M>,
    operation: Operation,
    route: &Route<'_>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    // Which operations `F` serves, evaluated at compile time: the arm of an operation it does not
    // serve is dead code, and with it the operation's whole future.
    let [accept, notice, list, add, remove] = const {
        [
            includes(F::OPERATIONS, Operation::AcceptInvitation),
            includes(F::OPERATIONS, Operation::ReadNotice),
            includes(F::OPERATIONS, Operation::ListDelegates),
            includes(F::OPERATIONS, Operation::AddDelegate),
            includes(F::OPERATIONS, Operation::RemoveDelegate),
        ]
    };
    let not_served = || Err(ApiError::NotFound("No such resource."));
    if operation == Operation::AcceptInvitation {
        if !accept {
            return not_served();
        }
        let work: Work<'_> = Box::pin(accept_invitation(app, request));
        return work.await;
    }
    let admin = app.auth.authenticate(request.headers())?;
    let work: Work<'_> = match (operation, route) {
        (Operation::ReadNotice, _) if notice => return Ok(read_notice(app)),
        (Operation::ListDelegates, _) if list => Box::pin(list_delegates(app, &admin, request)),
        (Operation::AddDelegate, _) if add => Box::pin(add_delegate(app, &admin, request)),
        (Operation::RemoveDelegate, Route::Delegate(id)) if remove => {
            Box::pin(remove_delegate(app, &admin, id))
        }
        _ => return not_served(),
    };
    work.await
}

fn log_error(method: &Method, path: &str, error: &ApiError) {
    if error.status().is_server_error() {
        tracing::error!(%method, %path, error = %error, "request failed");
    } else {
        tracing::info!(%method, %path, problem = error.slug(), "request refused");
    }
}

/// A delegate as the API shows it.
#[derive(Debug, Serialize)]
struct DelegateView<'a> {
    id: DelegateId,
    name: &'a DelegateName,
    email: &'a Email,
    status: DelegateStatus,
    invited_by: &'a Inviter,
    #[serde(with = "time::serde::rfc3339")]
    invited_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    invitation_expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    accepted_at: Option<OffsetDateTime>,
    notice: &'a NoticeAcknowledgement,
}

impl<'a> DelegateView<'a> {
    fn new(delegate: &'a Delegate, now: OffsetDateTime) -> Self {
        Self {
            id: delegate.id,
            name: &delegate.name,
            email: &delegate.email,
            status: delegate.status_at(now),
            invited_by: &delegate.invited_by,
            invited_at: delegate.invited_at,
            invitation_expires_at: delegate.invitation_expires_at,
            accepted_at: delegate.accepted_at,
            notice: &delegate.notice,
        }
    }
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let body = serde_json::to_string(body).expect("API views serialize");
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body))
        .expect("static response parts are valid")
}

fn read_notice<S, M>(app: &App<S, M>) -> Response<Body> {
    json_response(
        StatusCode::OK,
        &json!({ "version": app.config.notice.version, "text": app.config.notice.text }),
    )
}

async fn list_delegates<S: DelegateStore, M: Mailer>(
    app: &App<S, M>,
    admin: &Admin,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let query = ListQuery::parse(request.uri().query())?;
    let after = query
        .cursor
        .as_deref()
        .map(|cursor| Cursor::decode(cursor, &admin.account_id))
        .transpose()?;
    let page = app
        .store
        .list(&admin.account_id, query.limit, after)
        .await?;
    let now = app.clock.now();
    let items: Vec<DelegateView<'_>> = page
        .items
        .iter()
        .map(|d| DelegateView::new(d, now))
        .collect();
    let next_cursor = page
        .last_key
        .map(|last| Cursor::encode(&admin.account_id, last));
    Ok(json_response(
        StatusCode::OK,
        &json!({ "items": items, "next_cursor": next_cursor }),
    ))
}

async fn add_delegate<S: DelegateStore, M: Mailer>(
    app: &App<S, M>,
    admin: &Admin,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let mut body = JsonBody::parse(request)?;
    let name = body.string("name");
    let email = body.string("email");
    let acknowledged = body.boolean("notice_acknowledged");
    let notice_version = body.string("notice_version");
    let mut errors = body.into_errors();
    let name = name.and_then(|raw| {
        DelegateName::parse(&raw)
            .map_err(|e| errors.push(e.into()))
            .ok()
    });
    let email = email.and_then(|raw| Email::parse(&raw).map_err(|e| errors.push(e.into())).ok());
    if acknowledged == Some(false) {
        errors.push(FieldError {
            field: "notice_acknowledged".into(),
            message: "the access notice must be acknowledged (true)".into(),
        });
    }
    let (Some(name), Some(email), Some(true), Some(notice_version), true) =
        (name, email, acknowledged, notice_version, errors.is_empty())
    else {
        return Err(ApiError::Validation(errors));
    };
    if notice_version != app.config.notice.version {
        return Err(ApiError::NoticeOutdated {
            current_version: app.config.notice.version.clone(),
        });
    }

    let now = app.clock.now();
    let id = DelegateId::generate();
    let token = InvitationToken::generate(&admin.account_id, id);
    let delegate = Delegate {
        id,
        account_id: admin.account_id.clone(),
        name,
        email,
        status: StoredStatus::Pending,
        invited_by: Inviter {
            sub: admin.sub.clone(),
            email: admin.email.clone(),
        },
        invited_at: now,
        invitation_expires_at: now + app.config.invitation_lifetime,
        accepted_at: None,
        notice: NoticeAcknowledgement {
            version: notice_version,
            acknowledged_at: now,
            acknowledged_by: admin.sub.clone(),
        },
    };
    app.store
        .add(&NewInvitation {
            delegate: delegate.clone(),
            token_hash: token.hash(),
            daily_limit: app.config.invitations_per_day,
        })
        .await?;
    let message = invitation_email(&delegate, &app.config.accept_link(token.expose()));
    if let Err(mail_error) = app.mailer.send(&message).await {
        withdraw(app, &delegate.account_id, id).await;
        return Err(mail_error.into());
    }
    tracing::info!(account = %admin.account_id, delegate = %id, "delegate invited");
    let mut response = json_response(StatusCode::CREATED, &DelegateView::new(&delegate, now));
    if let Ok(location) = HeaderValue::from_str(&format!("/delegates/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Takes back an invitation whose email could not be sent, so that the admin can simply retry.
/// Tried three times (the SDK retries each attempt too): a record left behind would block the
/// retry with 409 until an admin removes it.
async fn withdraw<S: DelegateStore, M: Mailer>(
    app: &App<S, M>,
    account_id: &AccountId,
    id: DelegateId,
) {
    const BACKOFF_MS: [u64; 3] = [0, 50, 250];
    for (attempt, wait) in BACKOFF_MS.into_iter().enumerate() {
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        match app.store.remove(account_id, id).await {
            Ok(_) | Err(StoreError::NotFound) => return,
            Err(error) if attempt + 1 == BACKOFF_MS.len() => {
                // The token never left this process, so the record cannot be used; it stays
                // listed as pending until an admin removes it or its TTL cleans it up.
                tracing::error!(account = %account_id, delegate = %id, %error, "could not withdraw an unsent invitation");
            }
            Err(error) => {
                tracing::warn!(account = %account_id, delegate = %id, %error, "withdrawing an unsent invitation failed; retrying");
            }
        }
    }
}

async fn remove_delegate<S: DelegateStore, M: Mailer>(
    app: &App<S, M>,
    admin: &Admin,
    raw_id: &str,
) -> Result<Response<Body>, ApiError> {
    let not_found = ApiError::NotFound("No delegate with this id in your account.");
    let id = DelegateId::parse(raw_id).map_err(|_| not_found)?;
    app.store.remove(&admin.account_id, id).await?;
    tracing::info!(account = %admin.account_id, delegate = %id, "delegate removed");
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::Empty)
        .expect("static response parts are valid"))
}

async fn accept_invitation<S: DelegateStore, M: Mailer>(
    app: &App<S, M>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let mut body = JsonBody::parse(request)?;
    let raw = body.string("token");
    let errors = body.into_errors();
    let (Some(raw), true) = (raw, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let token = InvitationToken::parse(&raw)?;
    let delegate = app.store.accept(&token, app.clock.now()).await?;
    tracing::info!(account = %delegate.account_id, delegate = %delegate.id, "invitation accepted");
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "id": delegate.id,
            "name": delegate.name,
            "email": delegate.email,
            "account_id": delegate.account_id,
            "status": DelegateStatus::Active,
            "accepted_at": delegate.accepted_at.and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok()),
        }),
    ))
}

fn preflight(allowed: &'static str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::ALLOW, allowed)
        .header(header::ACCESS_CONTROL_ALLOW_METHODS, allowed)
        .header(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "authorization, content-type",
        )
        .header(header::ACCESS_CONTROL_MAX_AGE, "600")
        .body(Body::Empty)
        .expect("static response parts are valid")
}

/// Adds CORS headers when the request comes from the configured portal origin.
fn apply_cors(config: &Config, origin: Option<HeaderValue>, response: &mut Response<Body>) {
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = origin.filter(|o| o.as_bytes() == config.portal_origin.as_bytes()) else {
        headers.remove(header::ACCESS_CONTROL_ALLOW_METHODS);
        headers.remove(header::ACCESS_CONTROL_ALLOW_HEADERS);
        headers.remove(header::ACCESS_CONTROL_MAX_AGE);
        return;
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Location, Retry-After, WWW-Authenticate"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_table_is_what_the_router_serves() {
        for (method, template, operation) in ROUTES {
            let path = template.replace("{id}", "01a23d09-b85c-71c6-b586-80dc249f5a3c");
            let route = Route::parse(&path).expect(template);
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert_eq!(
                route.operation(&method),
                Some(*operation),
                "{method} {template}"
            );
            assert!(route.allowed().contains(method.as_str()));
        }
        for operation in Operation::ALL {
            assert_eq!(ROUTES.iter().filter(|(_, _, o)| o == operation).count(), 1);
        }
    }
}
