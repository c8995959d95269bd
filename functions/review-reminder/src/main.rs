//! Lambda function: the scheduled review reminder. Started by EventBridge Scheduler with either
//! the EventBridge envelope or a fixed JSON input; emails each account's admins the list of
//! their delegates, at most once per period. It fails (so Lambda retries and, in the end, the
//! dead-letter queue sees it) when any account failed or the run ran out of time; a retry sends
//! only what is still owed.

use std::time::{Duration, SystemTime};

use delegates::config::Env;
use delegates::lambda::{WarmUp, aws_app, init_logging, warm_up, warm_up_mail};
use delegates::reminder::{ReminderSettings, run_for_event};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

/// Time kept back from Lambda's deadline to finish the accounts in flight and report: a tenth
/// of what is left, at most a minute.
const MAX_SAFETY_MARGIN: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let env = Env::process();
    let app = aws_app(&env).await?;
    let settings = ReminderSettings::from_env(&env)?;
    warm_up(&app, WarmUp::Query).await;
    warm_up_mail(&app).await;
    let (app, settings) = (&app, &settings);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now = app.clock.now();
        let remaining = event
            .context
            .deadline()
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        let left = remaining.saturating_sub(MAX_SAFETY_MARGIN.min(remaining / 10));
        let mut settings = settings.clone();
        settings.time_budget = settings.time_budget.min(left);
        let report = run_for_event(
            &app.store,
            &app.mailer,
            &app.config.portal_url,
            &settings,
            &event.payload,
            now,
        )
        .await?;
        tracing::info!(
            period = %report.period,
            accounts_seen = report.accounts_seen,
            reminders_sent = report.reminders_sent,
            already_reminded = report.already_reminded,
            without_delegates = report.without_delegates,
            failed = report.failures.len(),
            unfinished = report.unfinished,
            "review reminder run"
        );
        match report.retry_reason() {
            Some(reason) => Err(Error::from(reason)),
            None => Ok(serde_json::to_value(&report)?),
        }
    }))
    .await
}
