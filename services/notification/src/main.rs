#[tokio::main]
async fn main() -> std::process::ExitCode {
    match pasokh_platform::service::main::<pasokh_notification::App>().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pasokh-notification: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
