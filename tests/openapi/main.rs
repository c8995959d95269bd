//! `infra/openapi.yaml` against the implementation: the same routes and methods, the same
//! problem types, security on every admin route, and the request bodies' fields as the handlers
//! read them. (Schemathesis checks the responses against it in the test command.)

use std::collections::BTreeSet;

use delegates::http::{ApiError, ROUTES};
use serde_yaml_ng::Value as Yaml;

fn spec() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/openapi.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_spec_has_exactly_the_routes_the_api_serves() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for (method, _) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if ["get", "post", "put", "delete", "patch", "head", "options"].contains(&method) {
                documented.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path, _)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(documented, served);
}

#[test]
fn every_problem_type_is_documented_and_no_other() {
    let spec = spec();
    let documented: BTreeSet<String> = spec["components"]["schemas"]["ProblemType"]["enum"]
        .as_sequence()
        .expect("ProblemType enum")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let used: BTreeSet<String> = ApiError::SLUGS
        .iter()
        .map(|slug| format!("urn:delegate-access:problem:{slug}"))
        .collect();
    assert_eq!(documented, used);
}

#[test]
fn admin_routes_require_the_bearer_scheme_and_accept_does_not() {
    let spec = spec();
    let global = &spec["security"];
    for (method, path, _) in ROUTES {
        let operation = &spec["paths"][*path][method.to_lowercase().as_str()];
        let security = if operation["security"].is_null() {
            global
        } else {
            &operation["security"]
        };
        let open = security.as_sequence().is_some_and(|s| {
            s.is_empty()
                || s.iter()
                    .all(|r| r.as_mapping().is_some_and(|m| m.is_empty()))
        });
        assert_eq!(open, *path == "/invitations/accept", "{method} {path}");
        if *path != "/invitations/accept" {
            assert!(
                !operation["responses"]["401"].is_null(),
                "{method} {path} documents 401"
            );
            assert!(
                !operation["responses"]["403"].is_null(),
                "{method} {path} documents 403"
            );
        }
    }
}

fn body_schema<'a>(spec: &'a Yaml, path: &str) -> &'a Yaml {
    let schema =
        &spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"];
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            &spec["components"]["schemas"][name]
        }
        None => schema,
    }
}

#[test]
fn request_bodies_are_the_fields_the_handlers_read() {
    let spec = spec();
    for (path, fields) in [
        (
            "/delegates",
            vec!["email", "name", "notice_acknowledged", "notice_version"],
        ),
        ("/invitations/accept", vec!["token"]),
    ] {
        let schema = body_schema(&spec, path);
        let mut required: Vec<&str> = schema["required"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        required.sort();
        assert_eq!(required, fields, "{path}");
        assert_eq!(
            schema["additionalProperties"].as_bool(),
            Some(false),
            "{path}: unknown fields are refused"
        );
        let mut properties: Vec<&str> = schema["properties"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap())
            .collect();
        properties.sort();
        assert_eq!(properties, fields, "{path}");
    }
}
