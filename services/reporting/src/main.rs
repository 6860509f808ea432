#[tokio::main]
async fn main() -> std::process::ExitCode {
    match pasokh_platform::service::main::<pasokh_reporting::App>().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pasokh-reporting: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
