//! The store contract against every store: in memory, in a file, and DynamoDB on moto.

use delegates::store::{DynamoStore, MemoryStore};
use delegates_tests::aws::{fresh_table, moto_endpoint, sdk_config};

async fn dynamo_store() -> Option<DynamoStore> {
    moto_endpoint()?;
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let table = fresh_table(&client).await;
    Some(DynamoStore::new(client, table, time::Duration::days(30)))
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $case() {
                delegates_tests::contract::$case(&super::MemoryStore::new()).await;
            })*
        }
        mod file {
            $(#[tokio::test]
            async fn $case() {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("delegates.json");
                let store = super::MemoryStore::open(&path).unwrap();
                delegates_tests::contract::$case(&store).await;
                // What was written reads back to the same state.
                let reopened = super::MemoryStore::open(&path).unwrap();
                for account in ["acme", "globex", "other"] {
                    let account = delegates_tests::contract::account(account);
                    use delegates::store::DelegateStore;
                    assert_eq!(
                        store.list(&account, 100, None).await.unwrap(),
                        reopened.list(&account, 100, None).await.unwrap()
                    );
                }
            })*
        }
        mod dynamo {
            $(#[tokio::test]
            async fn $case() {
                let Some(store) = super::dynamo_store().await else { return };
                delegates_tests::contract::$case(&store).await;
            })*
        }
    };
}

contract!(
    add_then_list_reads_back_every_field,
    email_uniqueness_is_case_insensitive_and_per_account,
    pagination_walks_every_delegate_newest_first,
    another_accounts_key_only_pages_the_callers_partition,
    accept_once_then_gone,
    expired_revoked_and_unknown_invitations_are_gone,
    remove_pending_active_and_missing,
    remove_is_scoped_to_the_account,
    an_expired_invitation_is_replaced_by_a_new_one,
    the_daily_invitation_limit_is_per_account_and_day,
);
