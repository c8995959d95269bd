//! What the DynamoDB store writes: only the token's hash, TTL on pending invitations only.

use delegates::domain::InvitationToken;
use delegates::http::{Operation, handle};
use delegates_tests::aws::sent_messages;
use delegates_tests::invitation_token_in;
use serde_json::{Value, json};

use super::{Moto, add_event_for, event, request, unique_address};

#[tokio::test]
async fn items_hold_the_token_hash_only_and_ttl_while_pending() {
    let Some(moto) = Moto::connect().await else {
        return;
    };
    let app = moto.app(&moto.env()).await;
    let address = unique_address("items", "it-partner.example");
    let response = handle(
        &app,
        request(&add_event_for(&address)),
        &[Operation::AddDelegate],
    )
    .await;
    assert_eq!(response.status(), 201);
    let created: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    let id = created["id"].as_str().unwrap();

    let sent = sent_messages(&moto.endpoint).await;
    let message = sent
        .iter()
        .rev()
        .find(|m| m.to == [address.clone()])
        .unwrap();
    let token = invitation_token_in(&message.body).unwrap();
    let parsed = InvitationToken::parse(&token).unwrap();

    let items = moto.items().await;
    let dump = format!("{items:?}");
    assert!(!dump.contains(&token), "the raw token is stored");
    assert!(
        !dump.contains(token.rsplit('.').next().unwrap()),
        "the secret is stored"
    );
    let delegate = items
        .iter()
        .find(|i| i["SK"].as_s().unwrap() == &format!("DELEGATE#{id}"))
        .unwrap();
    assert_eq!(
        delegate["token_hash"].as_s().unwrap(),
        parsed.hash().as_str()
    );
    let expires: i64 = delegate["expires_at"].as_n().unwrap().parse().unwrap();
    let ttl: i64 = delegate["ttl"].as_n().unwrap().parse().unwrap();
    assert_eq!(
        ttl - expires,
        30 * 24 * 3600,
        "TTL is expiry plus the 30-day retention"
    );
    let claim = items
        .iter()
        .find(|i| i["SK"].as_s().unwrap().starts_with("EMAIL#"))
        .unwrap();
    assert_eq!(claim["delegate_id"].as_s().unwrap(), id);
    assert!(
        !claim.contains_key("ttl"),
        "a claim must outlive acceptance"
    );
    let marker = items
        .iter()
        .find(|i| i["SK"].as_s().unwrap() == "ACCOUNT")
        .unwrap();
    assert!(
        marker["reminder_shard"]
            .as_s()
            .unwrap()
            .starts_with("SHARD#")
    );

    let mut accept = event("accept-invite.json");
    accept["body"] = json!(json!({ "token": token }).to_string());
    let response = handle(&app, request(&accept), &[Operation::AcceptInvitation]).await;
    assert_eq!(response.status(), 200);
    let items = moto.items().await;
    let delegate = items
        .iter()
        .find(|i| i["SK"].as_s().unwrap() == &format!("DELEGATE#{id}"))
        .unwrap();
    assert_eq!(delegate["status"].as_s().unwrap(), "active");
    assert!(
        !delegate.contains_key("token_hash"),
        "the hash is gone once used"
    );
    assert!(
        !delegate.contains_key("ttl"),
        "an active delegate never expires"
    );
    assert!(delegate.contains_key("accepted_at"));
}
