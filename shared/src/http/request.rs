//! Reading requests: JSON bodies with per-field errors, list query parameters and cursors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::Request;
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::http::header;
use serde_json::{Map, Value};

use super::{ApiError, FieldError};
use crate::domain::{AccountId, DelegateId};
use crate::store::MAX_PAGE_SIZE;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The page size when `limit` is not given.
pub const DEFAULT_PAGE_SIZE: u16 = 50;

/// A JSON object body, read field by field so that every problem is reported at once.
pub struct JsonBody {
    object: Map<String, Value>,
    known: Vec<&'static str>,
    errors: Vec<FieldError>,
}

impl JsonBody {
    /// Checks size (413), media type (415) and syntax (400) and expects a JSON object.
    pub fn parse(request: &Request) -> Result<Self, ApiError> {
        let bytes: &[u8] = request.body().as_ref();
        if bytes.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            let reason = if e.is_eof() && bytes.iter().all(u8::is_ascii_whitespace) {
                "the body is empty".to_owned()
            } else {
                format!(
                    "{} at line {} column {}",
                    classify(&e),
                    e.line(),
                    e.column()
                )
            };
            ApiError::MalformedJson(reason)
        })?;
        match value {
            Value::Object(object) => Ok(Self {
                object,
                known: Vec::new(),
                errors: Vec::new(),
            }),
            _ => Err(ApiError::MalformedJson("expected a JSON object".into())),
        }
    }

    fn take(&mut self, field: &'static str, expected: &str) -> Option<Value> {
        self.known.push(field);
        match self.object.remove(field) {
            None | Some(Value::Null) => {
                self.errors.push(FieldError {
                    field: field.into(),
                    message: format!("is required ({expected})"),
                });
                None
            }
            value => value,
        }
    }

    /// A required string field.
    pub fn string(&mut self, field: &'static str) -> Option<String> {
        match self.take(field, "a string")? {
            Value::String(s) => Some(s),
            _ => {
                self.errors.push(FieldError {
                    field: field.into(),
                    message: "must be a string".into(),
                });
                None
            }
        }
    }

    /// A required boolean field.
    pub fn boolean(&mut self, field: &'static str) -> Option<bool> {
        match self.take(field, "true or false")? {
            Value::Bool(b) => Some(b),
            _ => {
                self.errors.push(FieldError {
                    field: field.into(),
                    message: "must be true or false".into(),
                });
                None
            }
        }
    }

    /// The problems found so far, with one for each field the operation does not know.
    pub fn into_errors(mut self) -> Vec<FieldError> {
        let mut unknown: Vec<String> = self.object.keys().cloned().collect();
        unknown.sort();
        self.errors
            .extend(unknown.into_iter().map(|field| FieldError {
                message: format!("is not a known field (expected {})", self.known.join(", ")),
                field,
            }));
        self.errors
    }
}

fn classify(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Eof => "unexpected end of input",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data | serde_json::error::Category::Io => "invalid data",
    }
}

/// `GET /delegates` query parameters.
pub struct ListQuery {
    /// Page size, 1 to 100.
    pub limit: u16,
    /// Opaque cursor from a previous page.
    pub cursor: Option<String>,
}

impl ListQuery {
    /// Parses `limit` and `cursor`; other parameters are ignored.
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let map: QueryMap = query.unwrap_or_default().parse().unwrap_or_default();
        let mut errors = Vec::new();
        let mut single = |name: &'static str| -> Option<String> {
            let values = map.all(name)?;
            if values.len() > 1 {
                errors.push(FieldError {
                    field: name.into(),
                    message: "must be given at most once".into(),
                });
                return None;
            }
            values.first().map(|v| (*v).to_owned())
        };
        let limit = single("limit");
        let cursor = single("cursor");
        let limit = match limit {
            None => Some(DEFAULT_PAGE_SIZE),
            Some(raw) => match raw.parse::<u16>() {
                Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Some(n),
                _ => {
                    errors.push(FieldError {
                        field: "limit".into(),
                        message: format!("must be a whole number from 1 to {MAX_PAGE_SIZE}"),
                    });
                    None
                }
            },
        };
        match limit {
            Some(limit) if errors.is_empty() => Ok(Self { limit, cursor }),
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

/// The opaque list cursor: the account it was issued to and the last delegate id of the page.
/// A cursor of another account, or one that does not decode, is refused before any read.
pub struct Cursor;

impl Cursor {
    /// Encodes where the next page of `account_id`'s list starts.
    pub fn encode(account_id: &AccountId, last: DelegateId) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1:{account_id}:{last}"))
    }

    /// Decodes a cursor for `account_id`.
    pub fn decode(raw: &str, account_id: &AccountId) -> Result<DelegateId, ApiError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim_end_matches('='))
            .map_err(|_| ApiError::InvalidCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| ApiError::InvalidCursor)?;
        let rest = text.strip_prefix("v1:").ok_or(ApiError::InvalidCursor)?;
        let (account, id) = rest.rsplit_once(':').ok_or(ApiError::InvalidCursor)?;
        if account != account_id.as_str() {
            return Err(ApiError::InvalidCursor);
        }
        DelegateId::parse(id).map_err(|_| ApiError::InvalidCursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_only_work_for_their_account() {
        let a = AccountId::parse("acme").unwrap();
        let b = AccountId::parse("globex").unwrap();
        let id = DelegateId::generate();
        let cursor = Cursor::encode(&a, id);
        assert_eq!(Cursor::decode(&cursor, &a).unwrap(), id);
        assert!(matches!(
            Cursor::decode(&cursor, &b),
            Err(ApiError::InvalidCursor)
        ));
        for forged in [
            "",
            "!!",
            "djE6YWNtZTp4",
            &URL_SAFE_NO_PAD.encode("v2:acme:x"),
        ] {
            assert!(matches!(
                Cursor::decode(forged, &a),
                Err(ApiError::InvalidCursor)
            ));
        }
    }

    #[test]
    fn list_query_defaults_and_bounds() {
        assert_eq!(ListQuery::parse(None).unwrap().limit, 50);
        assert_eq!(ListQuery::parse(Some("limit=100")).unwrap().limit, 100);
        for bad in [
            "limit=0",
            "limit=101",
            "limit=abc",
            "limit=-1",
            "limit=1&limit=2",
        ] {
            assert!(
                matches!(ListQuery::parse(Some(bad)), Err(ApiError::Validation(_))),
                "{bad}"
            );
        }
    }
}
