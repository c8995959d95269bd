//! Delegate Access: an account's administrators grant limited access to outside delegate users.
//!
//! This crate holds everything the Lambda functions, the local server and the tests share: the
//! domain types, configuration, JWT admin authorization, storage and mail behind narrow traits
//! (with AWS and local adapters), and the HTTP handlers themselves.

pub mod auth;
pub mod clock;
pub mod config;
pub mod domain;
pub mod http;
pub mod lambda;
pub mod mail;
pub mod reminder;
pub mod store;
