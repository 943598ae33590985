//! Generated code of the `cella.v1` gRPC API (see `proto/cella/v1/cella.proto`).
#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// The protobuf runtime of the generated code, re-exported: decoding or encoding a message
/// outside a gRPC call (a fuzz target, a file) needs its `Message` trait.
pub use prost;

/// The `cella.v1` package.
pub mod v1 {
    tonic::include_proto!("cella.v1");
}

/// Encoded file descriptor set of the API, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/cella_descriptor.bin"));
