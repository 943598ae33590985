//! Generated code of the `cella.v1` gRPC API (see `proto/cella/v1/cella.proto`).
//!
//! Messages are plain structs; `v1::cell_service_client::CellServiceClient` calls a server
//! and `v1::cell_service_server` serves one. A plan request, encoded and read back:
//!
//! ```
//! use cella_proto::prost::Message;
//! use cella_proto::v1 as pb;
//!
//! let request = pb::PlanRequest {
//!     robot_id: "kuka".into(),
//!     goals: vec![pb::Goal {
//!         kind: Some(pb::goal::Kind::Joints(pb::JointValues {
//!             values: vec![0.3, -1.3, 1.6, 0.2, 0.9, 0.1], // rad
//!         })),
//!     }],
//!     motion: pb::MotionType::Ptp as i32,
//!     ..Default::default()
//! };
//! let bytes = request.encode_to_vec();
//! assert_eq!(pb::PlanRequest::decode(bytes.as_slice()).unwrap(), request);
//! ```
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
