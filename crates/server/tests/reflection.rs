//! Server reflection answers in both of its versions: `grpc.reflection.v1` and the
//! `grpc.reflection.v1alpha` that Google's Python reflection client, older grpcurl and Postman
//! speak. Each lists `cella.v1.CellService` and describes it from its symbol.
#![allow(clippy::unwrap_used)]

use cella_cell::{CellFile, DEMO_CELL};
use cella_control::ControlOptions;
use tonic::transport::Channel;

/// A server on the demo cell at 127.0.0.1:0, stopped when the sender is dropped.
async fn start() -> (Channel, tokio::sync::oneshot::Sender<()>) {
    let cell = CellFile::parse(DEMO_CELL).unwrap().build(None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let control = ControlOptions {
        realtime: false,
        ..ControlOptions::default()
    };
    tokio::spawn(cella_server::serve_on(listener, cell, control, async {
        let _ = stopped.await;
    }));
    let channel = Channel::from_shared(url).unwrap().connect().await.unwrap();
    (channel, stop)
}

/// The same test for both versions: their generated types have the same shape and names.
macro_rules! reflection_lists_and_describes_the_service {
    ($test:ident, $pb:path) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            use r::server_reflection_request::MessageRequest;
            use r::server_reflection_response::MessageResponse;
            use $pb as r;
            let (channel, _stop) = start().await;
            let mut client = r::server_reflection_client::ServerReflectionClient::new(channel);
            let request = |m| r::ServerReflectionRequest {
                host: String::new(),
                message_request: Some(m),
            };
            let requests = [
                request(MessageRequest::ListServices(String::new())),
                request(MessageRequest::FileContainingSymbol(
                    "cella.v1.CellService".into(),
                )),
            ];
            let mut answers = client
                .server_reflection_info(tokio_stream::iter(requests))
                .await
                .unwrap()
                .into_inner();

            let listed = answers.message().await.unwrap().unwrap();
            let Some(MessageResponse::ListServicesResponse(list)) = listed.message_response else {
                panic!("not a service list: {listed:?}");
            };
            let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
            assert!(names.contains(&"cella.v1.CellService"), "{names:?}");

            let described = answers.message().await.unwrap().unwrap();
            let Some(MessageResponse::FileDescriptorResponse(files)) = described.message_response
            else {
                panic!("not a file descriptor: {described:?}");
            };
            assert!(
                files
                    .file_descriptor_proto
                    .iter()
                    .any(|f| f.windows(b"CellService".len()).any(|w| w == b"CellService")),
                "the file of cella.v1.CellService does not declare it"
            );
        }
    };
}

reflection_lists_and_describes_the_service!(
    reflection_v1_lists_and_describes_the_cell_service,
    tonic_reflection::pb::v1
);
reflection_lists_and_describes_the_service!(
    reflection_v1alpha_lists_and_describes_the_cell_service,
    tonic_reflection::pb::v1alpha
);
