//! Lambda function: Adds a delegate and sends the invitation email (`POST /delegates`).
//!
//! `main` reads the configuration and builds the AWS clients once, warms the connections, and
//! hands every API Gateway event to the shared handler.

use std::convert::Infallible;

use delegates::config::Env;
use delegates::http::{Operation, handle};
use delegates::lambda::{WarmUp, aws_app, warm_up};
use lambda_http::{Error, Request, service_fn};

const OPERATIONS: &[Operation] = &[Operation::AddDelegate];

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = aws_app(&Env::process()).await?;
    warm_up(&app, WarmUp::GetItem, true).await;
    let app = &app;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(handle(app, request, OPERATIONS).await)
    }))
    .await
}
