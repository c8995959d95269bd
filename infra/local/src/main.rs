//! `delegates-local`: the Delegate Access API on this machine, and a development token issuer.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use delegates::auth::{TokenClaims, issue_hs256_token};
use delegates::config::{Env, vars};
use delegates::lambda::aws_app;
use delegates::reminder::{ReminderSettings, run_for_event};
use delegates_local::aws_setup::{create_table, verify_sender};
use delegates_local::{DataDir, local_app, local_config, local_defaults, start, system_clock};

/// The Delegate Access API on one machine, with no AWS account.
#[derive(Parser)]
#[command(name = "delegates-local", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve(ServeArgs),
    /// Print a JWT signed with the local development secret.
    Token(TokenArgs),
    /// Run the review reminder once against the local store; the emails go to the outbox.
    Remind(RemindArgs),
    /// Create the DynamoDB table (from template.yaml) and the SES sender identity on the
    /// endpoint in AWS_ENDPOINT_URL (e.g. moto), for `serve --aws`.
    AwsSetup(AwsSetupArgs),
}

/// The data folder, shared by `serve` and `remind`.
#[derive(clap::Args)]
struct DataArgs {
    /// Folder for the store file and the mail outbox.
    #[arg(
        long = "data-dir",
        env = "DELEGATES_LOCAL_DATA",
        default_value = "./.delegates-local"
    )]
    path: PathBuf,
}

#[derive(clap::Args)]
struct RemindArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The period to remind for (e.g. 2026-12); defaults to the current one.
    #[arg(long)]
    period: Option<String>,
}

#[derive(clap::Args)]
struct AwsSetupArgs {
    /// The SAM template whose table definition is used.
    #[arg(long, default_value = "template.yaml")]
    template: PathBuf,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "DELEGATES_LOCAL_ADDR", default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    #[command(flatten)]
    data: DataArgs,
    /// Use DynamoDB (table DELEGATES_TABLE) and SES through the AWS SDK instead of the file store
    /// and the outbox; the endpoint comes from AWS_ENDPOINT_URL (moto) or the AWS defaults.
    #[arg(long)]
    aws: bool,
}

#[derive(clap::Args)]
struct TokenArgs {
    /// Account id claim.
    #[arg(long)]
    account: String,
    /// Email claim.
    #[arg(long)]
    email: String,
    /// Role claim.
    #[arg(long, value_enum, default_value_t = Role::Admin)]
    role: Role,
    /// Subject claim (defaults to the email).
    #[arg(long)]
    sub: Option<String>,
    /// Lifetime in hours.
    #[arg(long, default_value_t = 12)]
    hours: u32,
}

#[derive(Clone, Copy, ValueEnum)]
enum Role {
    Admin,
    Delegate,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Token(args)) => print_token(&args),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::AwsSetup(args)) => aws_setup(&args),
        Some(Command::Remind(args)) => remind(&args),
        None => serve(cli.serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("delegates-local: {message}");
            ExitCode::FAILURE
        }
    }
}

fn print_token(args: &TokenArgs) -> Result<(), String> {
    let config = local_config().map_err(|e| e.to_string())?;
    let role = match args.role {
        Role::Admin => config.auth.admin_role.clone(),
        Role::Delegate => "delegate".to_owned(),
    };
    let claims = TokenClaims {
        sub: args.sub.as_deref().unwrap_or(&args.email),
        email: &args.email,
        account_id: &args.account,
        role: &role,
    };
    let lifetime = time::Duration::hours(i64::from(args.hours));
    let token = issue_hs256_token(&config.auth, &claims, lifetime).map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(())
}

fn init_logs() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn aws_setup(args: &AwsSetupArgs) -> Result<(), String> {
    init_logs();
    runtime()?.block_on(async {
        let config = local_config().map_err(|e| e.to_string())?;
        let defaults = local_defaults();
        let table = Env::process_with_defaults(&defaults)
            .required(vars::TABLE_NAME)
            .map_err(|e| e.to_string())?;
        let sdk = aws_config::load_from_env().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        create_table(&dynamodb, &table, &args.template)
            .await
            .map_err(|e| e.to_string())?;
        println!("created table {table}");
        let ses = aws_sdk_sesv2::Client::new(&sdk);
        verify_sender(&ses, config.sender.address.as_str()).await;
        println!("created SES identity {}", config.sender.address);
        Ok(())
    })
}

fn remind(args: &RemindArgs) -> Result<(), String> {
    init_logs();
    runtime()?.block_on(async {
        let config = local_config().map_err(|e| e.to_string())?;
        let defaults = local_defaults();
        let settings = ReminderSettings::from_env(&Env::process_with_defaults(&defaults))
            .map_err(|e| e.to_string())?;
        let data = DataDir::new(&args.data.path);
        let app = local_app(config, &data, system_clock()).map_err(|e| e.to_string())?;
        let now = app.clock.now();
        let event = match &args.period {
            Some(period) => serde_json::json!({ "period": period }),
            None => serde_json::json!({}),
        };
        let report = run_for_event(
            &app.store,
            &app.mailer,
            &app.config.portal_url,
            &settings,
            &event,
            now,
        )
        .await?;
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
        println!("outbox: {}", data.outbox().display());
        match report.retry_reason() {
            Some(reason) => Err(reason),
            None => Ok(()),
        }
    })
}

fn serve(args: ServeArgs) -> Result<(), String> {
    init_logs();
    runtime()?.block_on(async move {
        let config = local_config().map_err(|e| e.to_string())?;
        let data = DataDir::new(&args.data.path);
        let claims = TokenClaims {
            sub: "demo-admin",
            email: "admin@demo.localhost",
            account_id: "demo",
            role: &config.auth.admin_role,
        };
        let demo_token = issue_hs256_token(&config.auth, &claims, time::Duration::hours(12))
            .map_err(|e| e.to_string())?;
        let listen_error = |e: std::io::Error| format!("cannot listen on {}: {e}", args.addr);
        let server = if args.aws {
            let defaults = local_defaults();
            let app = aws_app(&Env::process_with_defaults(&defaults))
                .await
                .map_err(|e| e.to_string())?;
            let table = app.store.table().to_owned();
            let server = start(Arc::new(app), args.addr)
                .await
                .map_err(listen_error)?;
            println!("Delegate Access API listening on {}", server.url());
            println!("  store:  DynamoDB table {table}");
            println!("  mail:   SES");
            server
        } else {
            let app = local_app(config, &data, system_clock()).map_err(|e| e.to_string())?;
            let server = start(Arc::new(app), args.addr)
                .await
                .map_err(listen_error)?;
            println!("Delegate Access API listening on {}", server.url());
            println!("  store:  {}", data.store_file().display());
            println!("  outbox: {}", data.outbox().display());
            server
        };
        println!("Admin token for account 'demo' (12 hours):");
        println!("  export TOKEN={demo_token}");
        println!("Stop with Ctrl-C.");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate() => {}
        }
        server.stop().await;
        Ok(())
    })
}

#[cfg(unix)]
async fn terminate() {
    if let Ok(mut signal) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        signal.recv().await;
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending::<()>().await;
}
