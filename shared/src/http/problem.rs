//! RFC 9457 problem details and the API's error enum with its HTTP mapping.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::auth::AuthError;
use crate::domain::ValidationError;
use crate::mail::MailError;
use crate::store::StoreError;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";
/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field (JSON property or query parameter).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl From<ValidationError> for FieldError {
    fn from(error: ValidationError) -> Self {
        Self {
            field: error.field.to_owned(),
            message: error.message,
        }
    }
}

/// Everything an API call can fail with, each with one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: fields failed validation.
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// 400: the body is not well-formed JSON, or not an object.
    #[error("the body is not well-formed JSON: {0}")]
    MalformedJson(String),
    /// 400: the list cursor is not one this account was given.
    #[error("the cursor is not valid for this account")]
    InvalidCursor,
    /// 401: no valid bearer token.
    #[error("authentication required")]
    Unauthenticated,
    /// 403: a valid token without the admin role.
    #[error("administrator role required")]
    Forbidden,
    /// 404: no such route or delegate.
    #[error("{0}")]
    NotFound(&'static str),
    /// 405: the route exists with other methods.
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    /// 409: the account already has a delegate with this email.
    #[error("email already taken")]
    EmailTaken,
    /// 409: the admin acknowledged another version of the access notice.
    #[error("the access notice has changed")]
    NoticeOutdated {
        /// The version the portal must show now.
        current_version: String,
    },
    /// 410: the invitation is unknown, used, revoked or expired.
    #[error("the invitation is no longer valid")]
    InvitationGone,
    /// 413: the body is over the limit.
    #[error("the body is too large")]
    PayloadTooLarge,
    /// 415: the body is not JSON.
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    /// 429: the account sent its invitations for today.
    #[error("daily invitation limit reached")]
    TooManyInvitations {
        /// The daily allowance.
        limit: u32,
        /// Seconds until it resets.
        retry_after_seconds: u64,
    },
    /// 502: the mail service refused the invitation.
    #[error("the invitation email was rejected: {0}")]
    MailRejected(String),
    /// 503: a backing service failed; nothing was changed.
    #[error("a backing service is unavailable: {0}")]
    Unavailable(String),
}

impl ApiError {
    /// Every problem type slug the API uses.
    pub const SLUGS: &'static [&'static str] = &[
        "validation-failed",
        "malformed-json",
        "invalid-cursor",
        "unauthenticated",
        "forbidden",
        "not-found",
        "method-not-allowed",
        "email-taken",
        "notice-outdated",
        "invitation-gone",
        "payload-too-large",
        "unsupported-media-type",
        "too-many-invitations",
        "mail-rejected",
        "service-unavailable",
    ];

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::MalformedJson(_) | Self::InvalidCursor => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::EmailTaken | Self::NoticeOutdated { .. } => StatusCode::CONFLICT,
            Self::InvitationGone => StatusCode::GONE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyInvitations { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::MailRejected(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The problem type slug (`urn:delegate-access:problem:<slug>`).
    pub fn slug(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation-failed",
            Self::MalformedJson(_) => "malformed-json",
            Self::InvalidCursor => "invalid-cursor",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::MethodNotAllowed(_) => "method-not-allowed",
            Self::EmailTaken => "email-taken",
            Self::NoticeOutdated { .. } => "notice-outdated",
            Self::InvitationGone => "invitation-gone",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::TooManyInvitations { .. } => "too-many-invitations",
            Self::MailRejected(_) => "mail-rejected",
            Self::Unavailable(_) => "service-unavailable",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::Validation(_) => "Invalid request",
            Self::MalformedJson(_) => "Malformed JSON",
            Self::InvalidCursor => "Invalid cursor",
            Self::Unauthenticated => "Authentication required",
            Self::Forbidden => "Administrator role required",
            Self::NotFound(_) => "Not found",
            Self::MethodNotAllowed(_) => "Method not allowed",
            Self::EmailTaken => "Email address already invited",
            Self::NoticeOutdated { .. } => "Access notice has changed",
            Self::InvitationGone => "Invitation no longer valid",
            Self::PayloadTooLarge => "Request body too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::TooManyInvitations { .. } => "Daily invitation limit reached",
            Self::MailRejected(_) => "Invitation email rejected",
            Self::Unavailable(_) => "Service temporarily unavailable",
        }
    }

    /// A sentence for people. Internal details of 5xx errors stay in the log.
    fn detail(&self) -> String {
        match self {
            Self::Validation(_) => "One or more fields are invalid; see errors.".into(),
            Self::MalformedJson(reason) => format!("The body is not a valid JSON request: {reason}."),
            Self::InvalidCursor => "The cursor was not issued for this account's list; start again without it.".into(),
            Self::Unauthenticated => "Send a valid administrator token as 'Authorization: Bearer <token>'.".into(),
            Self::Forbidden => "Only the account's administrators may manage delegates.".into(),
            Self::NotFound(what) => (*what).to_owned(),
            Self::MethodNotAllowed(allowed) => format!("This resource allows {allowed}."),
            Self::EmailTaken => "This account already has a pending or active delegate with this email address.".into(),
            Self::NoticeOutdated { current_version } => format!("The access notice is now version {current_version}; show it to the administrator and acknowledge that version."),
            Self::InvitationGone => "This invitation link is unknown, was already used, was revoked or has expired. Ask the administrator for a new invitation.".into(),
            Self::PayloadTooLarge => "The request body may be at most 16 KiB.".into(),
            Self::UnsupportedMediaType => "Send the body as application/json.".into(),
            Self::TooManyInvitations { limit, .. } => format!("An account may send {limit} invitations per day (UTC); try again after Retry-After seconds."),
            Self::MailRejected(_) => "The mail service refused the invitation email; no delegate was added. Check the address, or try again later.".into(),
            Self::Unavailable(_) => "A backing service is unavailable; nothing was changed. Try again shortly.".into(),
        }
    }

    /// The problem+json response.
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        let mut body = serde_json::json!({
            "type": format!("urn:delegate-access:problem:{}", self.slug()),
            "title": self.title(),
            "status": status.as_u16(),
            "detail": self.detail(),
        });
        match &self {
            Self::Validation(errors) => body["errors"] = serde_json::json!(errors),
            Self::NoticeOutdated { current_version } => {
                body["current_version"] = serde_json::json!(current_version)
            }
            _ => {}
        }
        let mut response = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, PROBLEM_JSON)
            .body(Body::Text(body.to_string()))
            .expect("static response parts are valid");
        let headers = response.headers_mut();
        match &self {
            Self::Unauthenticated => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::Forbidden => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"insufficient_scope\""),
                );
            }
            Self::MethodNotAllowed(allowed) => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allowed));
            }
            Self::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            }
            Self::TooManyInvitations {
                retry_after_seconds,
                ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            }
            _ => {}
        }
        response
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        Self::Validation(vec![error.into()])
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Unauthenticated(_) => Self::Unauthenticated,
            AuthError::Forbidden => Self::Forbidden,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::EmailTaken => Self::EmailTaken,
            StoreError::NotFound => Self::NotFound("No delegate with this id in your account."),
            StoreError::InvitationGone => Self::InvitationGone,
            StoreError::DailyLimitReached {
                limit,
                retry_after_seconds,
            } => Self::TooManyInvitations {
                limit,
                retry_after_seconds,
            },
            StoreError::Unavailable(reason) => Self::Unavailable(reason),
        }
    }
}

impl From<MailError> for ApiError {
    fn from(error: MailError) -> Self {
        match error {
            MailError::Rejected(reason) => Self::MailRejected(reason),
            MailError::Unavailable(reason) => Self::Unavailable(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_listed_slug_a_status_and_a_problem_body() {
        let all = [
            ApiError::Validation(vec![]),
            ApiError::MalformedJson("x".into()),
            ApiError::InvalidCursor,
            ApiError::Unauthenticated,
            ApiError::Forbidden,
            ApiError::NotFound("x"),
            ApiError::MethodNotAllowed("GET"),
            ApiError::EmailTaken,
            ApiError::NoticeOutdated {
                current_version: "v".into(),
            },
            ApiError::InvitationGone,
            ApiError::PayloadTooLarge,
            ApiError::UnsupportedMediaType,
            ApiError::TooManyInvitations {
                limit: 1,
                retry_after_seconds: 1,
            },
            ApiError::MailRejected("x".into()),
            ApiError::Unavailable("internal detail".into()),
        ];
        assert_eq!(all.len(), ApiError::SLUGS.len());
        for error in all {
            let slug = error.slug();
            assert!(ApiError::SLUGS.contains(&slug), "{slug}");
            let status = error.status();
            let response = error.into_response();
            assert_eq!(response.status(), status);
            assert_eq!(
                response.headers()[lambda_http::http::header::CONTENT_TYPE],
                PROBLEM_JSON
            );
            let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
            assert_eq!(body["type"], format!("urn:delegate-access:problem:{slug}"));
            assert_eq!(body["status"], status.as_u16());
            assert!(
                !body.to_string().contains("internal detail"),
                "5xx internals never leave"
            );
        }
    }
}
