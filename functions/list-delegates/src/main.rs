//! Lambda function: Lists an account's delegates (`GET /delegates`) and serves the access notice (`GET /notice`).
//!
//! `main` reads the configuration and builds the AWS clients once, warms the connections, and
//! hands every API Gateway event to the shared handler.

use std::convert::Infallible;

use delegates::config::Env;
use delegates::http::{Function, Operation, handle_function};
use delegates::lambda::{WarmUp, aws_app, init_logging, warm_up};
use lambda_http::{Error, Request, service_fn};

/// The operations this function serves; only their code is compiled in.
struct List;

impl Function for List {
    const OPERATIONS: &'static [Operation] = &[Operation::ListDelegates, Operation::ReadNotice];
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let app = aws_app(&Env::process()).await?;
    warm_up(&app, WarmUp::Query).await;
    let app = &app;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(handle_function::<List, _, _>(app, request).await)
    }))
    .await
}
