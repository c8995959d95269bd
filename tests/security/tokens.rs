//! Group 1: tokens. Each case gets 401 or 403 as appropriate, never data.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use delegates::http::{Operation, handle};
use delegates::store::MemoryStore;
use delegates_tests::reminder_cases::NoMail;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use lambda_http::http::{HeaderValue, Method};
use serde_json::{Map, Value, json};

use super::{app, assert_problem, request};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/jwt");
const HS_SECRET: &str = "test-secret-that-is-long-enough-for-hs256";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn claims() -> Map<String, Value> {
    let Value::Object(map) = json!({
        "iss": "https://issuer.test", "aud": "delegates-api", "sub": "admin-1",
        "email": "admin@acme.test", "account_id": "acme", "role": "admin",
        "iat": now(), "exp": now() + 600,
    }) else {
        unreachable!()
    };
    map
}

fn with(changes: &[(&str, Option<Value>)]) -> Map<String, Value> {
    let mut map = claims();
    for (name, value) in changes {
        match value {
            Some(value) => map.insert((*name).to_owned(), value.clone()),
            None => map.remove(*name),
        };
    }
    map
}

fn rs256(claims: &Map<String, Value>, kid: Option<&str>, key: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(&fixture(key)).unwrap(),
    )
    .unwrap()
}

fn es256(claims: &Map<String, Value>, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid.map(str::to_owned);
    encode(
        &header,
        claims,
        &EncodingKey::from_ec_pem(&fixture("es256-private.pem")).unwrap(),
    )
    .unwrap()
}

fn hs256(claims: &Map<String, Value>, secret: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret).unwrap(),
    )
    .unwrap()
}

fn unsigned(header: &Value, claims: &Map<String, Value>) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string())
    )
}

fn tamper(token: &str, claims: &Map<String, Value>) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string());
    parts.join(".")
}

enum Auth {
    Bearer(String),
    Raw(String),
    Twice(String, String),
    None,
}

struct Case {
    name: &'static str,
    auth: Auth,
    status: u16,
}

fn case(name: &'static str, token: String, status: u16) -> Case {
    Case {
        name,
        auth: Auth::Bearer(token),
        status,
    }
}

async fn run(cases: Vec<Case>, algorithm_env: &[(&str, &str)]) -> usize {
    let app = app(MemoryStore::new(), NoMail, algorithm_env);
    let count = cases.len();
    for case in cases {
        let mut request = request(Method::GET, "/delegates", None, None);
        let headers = request.headers_mut();
        match &case.auth {
            Auth::Bearer(token) => {
                headers.insert(
                    "authorization",
                    HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
                );
            }
            Auth::Raw(value) => {
                headers.insert("authorization", HeaderValue::from_str(value).unwrap());
            }
            Auth::Twice(a, b) => {
                headers.append("authorization", HeaderValue::from_str(a).unwrap());
                headers.append("authorization", HeaderValue::from_str(b).unwrap());
            }
            Auth::None => {}
        }
        let response = handle(&app, request, &[Operation::ListDelegates]).await;
        if case.status == 200 {
            assert_eq!(response.status(), 200, "{}", case.name);
            continue;
        }
        assert_problem(&response, case.status, case.name);
        assert!(
            !String::from_utf8_lossy(response.body().as_ref()).contains("items"),
            "{}",
            case.name
        );
        if case.status == 401 {
            assert!(
                response.headers().get("www-authenticate").is_some(),
                "{}",
                case.name
            );
        }
    }
    count
}

fn jwks_env(algorithm: &'static str) -> Vec<(&'static str, String)> {
    vec![
        ("JWT_ALGORITHM", algorithm.to_owned()),
        ("JWT_JWKS", String::from_utf8(fixture("jwks.json")).unwrap()),
    ]
}

#[tokio::test]
async fn rs256_tokens() {
    let good = |c: &Map<String, Value>| rs256(c, Some("rsa-1"), "rs256-private.pem");
    let public_pem = fixture("rs256-public.pem");
    let valid = good(&claims());
    let cases = vec![
        case("valid RS256 (control)", valid.clone(), 200),
        case(
            "valid, aud array containing ours",
            good(&with(&[("aud", Some(json!(["other", "delegates-api"])))])),
            200,
        ),
        case(
            "valid, expired within the 30 s leeway",
            good(&with(&[("exp", Some(json!(now() - 10)))])),
            200,
        ),
        case(
            "valid, roles array",
            good(&with(&[
                ("role", None),
                ("roles", Some(json!(["user", "admin"]))),
            ])),
            200,
        ),
        case(
            "valid, cognito:groups",
            good(&with(&[
                ("role", None),
                ("cognito:groups", Some(json!(["admin"]))),
            ])),
            200,
        ),
        case(
            "alg none",
            unsigned(&json!({"alg": "none", "typ": "JWT"}), &claims()),
            401,
        ),
        case(
            "alg None with a kid",
            unsigned(&json!({"alg": "None", "kid": "rsa-1"}), &claims()),
            401,
        ),
        case(
            "HS256 signed with the RS256 public key",
            hs256(&claims(), &public_pem),
            401,
        ),
        case(
            "HS256 signed with the shared test secret",
            hs256(&claims(), HS_SECRET.as_bytes()),
            401,
        ),
        case(
            "signed with an unknown RSA key",
            rs256(&claims(), Some("rsa-1"), "rs256-other-private.pem"),
            401,
        ),
        case(
            "unknown kid",
            rs256(&claims(), Some("rsa-9"), "rs256-private.pem"),
            401,
        ),
        case(
            "no kid, the one RS256 key of the JWKS",
            rs256(&claims(), None, "rs256-private.pem"),
            200,
        ),
        case(
            "kid of the ES256 key on an RS256 token",
            rs256(&claims(), Some("ec-1"), "rs256-private.pem"),
            401,
        ),
        case(
            "ES256 token to an RS256 service",
            es256(&claims(), Some("ec-1")),
            401,
        ),
        case(
            "expired beyond the leeway",
            good(&with(&[("exp", Some(json!(now() - 60)))])),
            401,
        ),
        case(
            "nbf in the future",
            good(&with(&[("nbf", Some(json!(now() + 300)))])),
            401,
        ),
        case("no exp", good(&with(&[("exp", None)])), 401),
        case(
            "exp as a string",
            good(&with(&[("exp", Some(json!("9999999999")))])),
            401,
        ),
        case(
            "wrong iss",
            good(&with(&[("iss", Some(json!("https://evil.test")))])),
            401,
        ),
        case("no iss", good(&with(&[("iss", None)])), 401),
        case(
            "wrong aud",
            good(&with(&[("aud", Some(json!("another-api")))])),
            401,
        ),
        case(
            "aud array without ours",
            good(&with(&[("aud", Some(json!(["a", "b"])))])),
            401,
        ),
        case("no aud", good(&with(&[("aud", None)])), 401),
        case("no sub", good(&with(&[("sub", None)])), 401),
        case("empty sub", good(&with(&[("sub", Some(json!("")))])), 401),
        case(
            "no account claim",
            good(&with(&[("account_id", None)])),
            401,
        ),
        case(
            "account claim is a number",
            good(&with(&[("account_id", Some(json!(42)))])),
            401,
        ),
        case(
            "account claim with a key separator",
            good(&with(&[("account_id", Some(json!("acme#x")))])),
            401,
        ),
        case("no email", good(&with(&[("email", None)])), 401),
        case(
            "invalid email",
            good(&with(&[("email", Some(json!("not-an-email")))])),
            401,
        ),
        case("no role claim", good(&with(&[("role", None)])), 403),
        case(
            "role delegate",
            good(&with(&[("role", Some(json!("delegate")))])),
            403,
        ),
        case(
            "role Admin in another case",
            good(&with(&[("role", Some(json!("Admin")))])),
            403,
        ),
        case(
            "role as an object",
            good(&with(&[("role", Some(json!({"admin": true})))])),
            403,
        ),
        case(
            "roles without admin",
            good(&with(&[("role", None), ("roles", Some(json!(["user"])))])),
            403,
        ),
        case(
            "tampered payload, old signature",
            tamper(&valid, &with(&[("account_id", Some(json!("globex")))])),
            401,
        ),
        case(
            "tampered role, old signature",
            tamper(
                &valid,
                &with(&[("role", Some(json!("admin"))), ("sub", Some(json!("root")))]),
            ),
            401,
        ),
        case(
            "signature stripped",
            format!("{}.", valid.rsplit_once('.').unwrap().0),
            401,
        ),
        case(
            "malformed base64 in the header",
            format!("!!!.{}", valid.split_once('.').unwrap().1),
            401,
        ),
        case(
            "malformed base64 in the payload",
            {
                let p: Vec<&str> = valid.split('.').collect();
                format!("{}.%%%.{}", p[0], p[2])
            },
            401,
        ),
        case(
            "two segments",
            valid.rsplit_once('.').unwrap().0.to_owned(),
            401,
        ),
        case("four segments", format!("{valid}.x"), 401),
        case(
            "oversized token",
            format!("{}{}", valid, "A".repeat(9000)),
            401,
        ),
        case("not a JWT", "hello".into(), 401),
        Case {
            name: "no Authorization header",
            auth: Auth::None,
            status: 401,
        },
        Case {
            name: "Bearer missing",
            auth: Auth::Raw(valid.clone()),
            status: 401,
        },
        Case {
            name: "bearer in lower case",
            auth: Auth::Raw(format!("bearer {valid}")),
            status: 401,
        },
        Case {
            name: "BEARER in upper case",
            auth: Auth::Raw(format!("BEARER {valid}")),
            status: 401,
        },
        Case {
            name: "two spaces after Bearer",
            auth: Auth::Raw(format!("Bearer  {valid}")),
            status: 401,
        },
        Case {
            name: "Basic scheme",
            auth: Auth::Raw("Basic YWRtaW46YWRtaW4=".into()),
            status: 401,
        },
        Case {
            name: "two Authorization headers",
            auth: Auth::Twice(format!("Bearer {valid}"), format!("Bearer {valid}")),
            status: 401,
        },
    ];
    let env = jwks_env("RS256");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let tried = run(cases, &env).await;
    println!("tokens, RS256 service: {tried} cases");
    assert!(tried >= 40);
}

#[tokio::test]
async fn es256_tokens() {
    let cases = vec![
        case("valid ES256 (control)", es256(&claims(), Some("ec-1")), 200),
        case(
            "valid ES256 without kid (one ES256 key)",
            es256(&claims(), None),
            200,
        ),
        case(
            "RS256 token to an ES256 service",
            rs256(&claims(), Some("rsa-1"), "rs256-private.pem"),
            401,
        ),
        case(
            "HS256 with the EC public key as secret",
            hs256(&claims(), &fixture("es256-public.pem")),
            401,
        ),
        case(
            "ES256 expired",
            es256(&with(&[("exp", Some(json!(now() - 120)))]), Some("ec-1")),
            401,
        ),
        case(
            "ES256 alg none",
            unsigned(&json!({"alg": "none", "kid": "ec-1"}), &claims()),
            401,
        ),
    ];
    let env = jwks_env("ES256");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let tried = run(cases, &env).await;
    println!("tokens, ES256 service: {tried} cases");
}

#[tokio::test]
async fn hs256_tokens() {
    let secret = HS_SECRET.as_bytes();
    let cases = vec![
        case("valid HS256 (control)", hs256(&claims(), secret), 200),
        case(
            "HS256 with another secret",
            hs256(&claims(), b"another-secret-that-is-long-enough!!"),
            401,
        ),
        case(
            "RS256 token to an HS256 service",
            rs256(&claims(), Some("rsa-1"), "rs256-private.pem"),
            401,
        ),
        case(
            "HS256 alg none",
            unsigned(&json!({"alg": "none"}), &claims()),
            401,
        ),
        case(
            "HS256 wrong audience",
            hs256(&with(&[("aud", Some(json!("x")))]), secret),
            401,
        ),
        case(
            "HS256 delegate role",
            hs256(&with(&[("role", Some(json!("delegate")))]), secret),
            403,
        ),
    ];
    let tried = run(cases, &[]).await;
    println!("tokens, HS256 service: {tried} cases");
}
