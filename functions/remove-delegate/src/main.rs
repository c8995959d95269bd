//! Lambda function: Removes a delegate, pending or active (`DELETE /delegates/{id}`).
//!
//! `main` reads the configuration and builds the AWS clients once, warms the connections, and
//! hands every API Gateway event to the shared handler.

use std::convert::Infallible;

use delegates::config::Env;
use delegates::http::{Function, Operation, handle_function};
use delegates::lambda::{WarmUp, aws_app, init_logging, warm_up};
use lambda_http::{Error, Request, service_fn};

/// The operations this function serves; only their code is compiled in.
struct Remove;

impl Function for Remove {
    const OPERATIONS: &'static [Operation] = &[Operation::RemoveDelegate];
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let app = aws_app(&Env::process()).await?;
    warm_up(&app, WarmUp::GetItem).await;
    let app = &app;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(handle_function::<Remove, _, _>(app, request).await)
    }))
    .await
}
