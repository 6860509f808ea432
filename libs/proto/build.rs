//! Generates the protobuf and gRPC code from `proto/` with a vendored protoc,
//! so no system protobuf compiler is needed.
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let protos = [
        "pasokh/events/v1/petition_event.proto",
        "pasokh/events/v1/delivery_event.proto",
        "pasokh/events/v1/desk_activity.proto",
        "pasokh/intake/v1/intake.proto",
        "pasokh/routing/v1/case.proto",
        "pasokh/reporting/v1/reporting.proto",
    ]
    .map(|p| root.join(p));
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let descriptor = PathBuf::from(std::env::var("OUT_DIR")?).join("pasokh_descriptor.bin");
    // prost-build is told where protoc is through its config, not the PROTOC
    // variable: setting environment variables is `unsafe` in edition 2024
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure().file_descriptor_set_path(descriptor).compile_with_config(
        config,
        &protos,
        &[root],
    )?;
    for proto in &protos {
        println!("cargo:rerun-if-changed={}", proto.display());
    }
    Ok(())
}
