//! Code generated from `proto/`: event messages and the gRPC services.
#![allow(unreachable_pub, clippy::all, rust_2018_idioms)]

pub mod events {
    pub mod v1 {
        tonic::include_proto!("pasokh.events.v1");
    }
}

pub mod intake {
    pub mod v1 {
        tonic::include_proto!("pasokh.intake.v1");
    }
}

pub mod routing {
    pub mod v1 {
        tonic::include_proto!("pasokh.routing.v1");
    }
}

pub mod reporting {
    pub mod v1 {
        tonic::include_proto!("pasokh.reporting.v1");
    }
}

/// Encoded `FileDescriptorSet` of every Pasokh proto, for gRPC reflection and schema checks.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("pasokh_descriptor");
