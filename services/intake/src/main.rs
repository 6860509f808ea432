use anyhow::Context;
use pasokh_intake::{App, Settings, migrate};
use pasokh_platform::cli::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    let settings: Settings = pasokh_platform::config::load("intake", cli.config_file.as_deref())
        .context("loading intake configuration")?;
    if cli.command == Command::PrintConfig {
        println!("{}", pasokh_platform::config::to_redacted_json(&settings));
        return Ok(());
    }
    let _telemetry = pasokh_platform::telemetry::init("pasokh-intake", &settings.telemetry)?;
    match cli.command {
        Command::Migrate => migrate(&settings).await.context("migrating the intake database")?,
        _ => {
            let token = pasokh_platform::shutdown::on_signal();
            let app = App::build(&settings).await.context("starting intake")?;
            tracing::info!(province = %settings.province, http = %app.http_addr(), grpc = %app.grpc_addr(), "intake ready");
            app.run(token).await.map_err(|e| anyhow::anyhow!(e)).context("intake stopped")?;
            tracing::info!("intake stopped cleanly");
        }
    }
    Ok(())
}
