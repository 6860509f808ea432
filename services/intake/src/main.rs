#[tokio::main]
async fn main() -> std::process::ExitCode {
    match pasokh_platform::service::main::<pasokh_intake::App>().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pasokh-intake: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
