#[tokio::main]
async fn main() -> std::process::ExitCode {
    match pasokh_platform::service::main::<pasokh_web::App>().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pasokh-web: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
