#[tokio::main]
async fn main() -> std::process::ExitCode {
    match pasokh_platform::service::main::<pasokh_routing::App>().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pasokh-routing: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
