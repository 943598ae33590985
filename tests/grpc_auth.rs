//! TLS, identities and roles end to end (issue 24): a CA, a server and client certificates are
//! made here with rcgen, the server runs in process (`serve_secured`) or as `cella serve`, and
//! clients call it with and without credentials.
#![allow(clippy::unwrap_used)]

mod common;

use cella_proto::v1 as pb;
use cella_proto::v1::cell_service_client::CellServiceClient;
use cella_server::auth::{Authenticator, METHOD_ROLES, Security, server_tls};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Request, Status};

const VIEWER: &str = "viewer-token-5f0c8e1a9b7d4c2e";
const OPERATOR: &str = "operator-token-3d9a6f1c0e8b7a25";
const ADMIN: &str = "admin-token-c47e2b9d1f0a6e83";

/// Viewer, operator and admin tokens; the client certificate `CN=plc-3,O=Plant` is an
/// operator.
const TOKENS: &str = r#"
[[token]]
token = "viewer-token-5f0c8e1a9b7d4c2e"
name = "hmi"
role = "viewer"

[[token]]
token = "operator-token-3d9a6f1c0e8b7a25"
name = "cell-pc"
role = "operator"

[[token]]
token = "admin-token-c47e2b9d1f0a6e83"
name = "integrator"
role = "admin"

[[certificate]]
subject = "CN=plc-3,O=Plant"
role = "operator"
name = "plc-3"
"#;

/// A certificate and its key, PEM.
struct Pem {
    cert: String,
    key: String,
}

/// The CA, the server's certificate (for localhost and 127.0.0.1), a client certificate the
/// tokens file knows and one it does not, all from the CA; and a client certificate from
/// another CA, with that CA.
struct Pki {
    ca: String,
    server: Pem,
    client: Pem,
    stranger: Pem,
    rogue_ca: String,
    rogue_client: Pem,
}

fn new_ca(name: &str) -> rcgen::CertifiedIssuer<'static, rcgen::KeyPair> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap()
}

fn leaf(
    issuer: &rcgen::Issuer<'_, rcgen::KeyPair>,
    names: &[&str],
    subject: &[(rcgen::DnType, &str)],
    usage: rcgen::ExtendedKeyUsagePurpose,
) -> Pem {
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    for (ty, value) in subject {
        params.distinguished_name.push(ty.clone(), *value);
    }
    params.extended_key_usages = vec![usage];
    let key = rcgen::KeyPair::generate().unwrap();
    Pem {
        cert: params.signed_by(&key, issuer).unwrap().pem(),
        key: key.serialize_pem(),
    }
}

fn pki() -> Pki {
    use rcgen::DnType::{CommonName, OrganizationName};
    use rcgen::ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
    let ca = new_ca("cella test CA");
    // the same name, another key: trust is in the key, not the name
    let rogue = new_ca("cella test CA");
    Pki {
        ca: ca.pem(),
        server: leaf(
            &ca,
            &["localhost", "127.0.0.1"],
            &[(CommonName, "cella")],
            ServerAuth,
        ),
        client: leaf(
            &ca,
            &[],
            &[(CommonName, "plc-3"), (OrganizationName, "Plant")],
            ClientAuth,
        ),
        stranger: leaf(
            &ca,
            &[],
            &[(CommonName, "intruder"), (OrganizationName, "Plant")],
            ClientAuth,
        ),
        rogue_ca: rogue.pem(),
        rogue_client: leaf(
            &rogue,
            &[],
            &[(CommonName, "plc-3"), (OrganizationName, "Plant")],
            ClientAuth,
        ),
    }
}

/// A server of the demo cell on 127.0.0.1:0, stopped when dropped.
struct Server {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn start(security: Security) -> Server {
    start_audited(security, None).await
}

/// [`start`], writing the audit trail to `audit` when given.
async fn start_audited(security: Security, audit: Option<&Path>) -> Server {
    let cell = cella_cell::CellFile::parse(cella_cell::DEMO_CELL)
        .unwrap()
        .build(None)
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let scheme = if security.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let url = format!("{scheme}://{}", listener.local_addr().unwrap());
    let service = cella_server::CellServer::new(
        cell,
        2,
        cella_control::ControlOptions {
            realtime: false,
            ..Default::default()
        },
    )
    .unwrap();
    let service = match audit {
        Some(path) => service.with_audit(cella_server::audit::AuditLog::open(path).unwrap()),
        None => service,
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        cella_server::serve_secured(listener, service, security, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Server {
        url,
        stop: Some(tx),
    }
}

/// TLS with the test PKI's server certificate, the tokens file, and mutual TLS if asked.
fn secured(pki: &Pki, mutual: bool) -> Security {
    let ca = mutual.then_some(pki.ca.as_bytes());
    Security {
        tls: Some(server_tls(pki.server.cert.as_bytes(), pki.server.key.as_bytes(), ca).unwrap()),
        authenticator: Some(Arc::new(Authenticator::from_toml(TOKENS).unwrap())),
        warnings: Vec::new(),
    }
}

/// A TLS channel to `url` trusting `ca`, presenting `identity` if given.
async fn channel(
    url: &str,
    ca: &str,
    identity: Option<&Pem>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
    if let Some(id) = identity {
        tls = tls.identity(Identity::from_pem(&id.cert, &id.key));
    }
    Endpoint::from_shared(url.to_owned())
        .unwrap()
        .tls_config(tls)?
        .connect()
        .await
}

/// Sends a bearer token with every call.
#[derive(Clone)]
struct Token(Option<&'static str>);

impl tonic::service::Interceptor for Token {
    fn call(&mut self, mut r: Request<()>) -> Result<Request<()>, Status> {
        if let Some(t) = self.0 {
            r.metadata_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        Ok(r)
    }
}

type Client = CellServiceClient<InterceptedService<Channel, Token>>;

fn client(channel: Channel, token: Option<&'static str>) -> Client {
    CellServiceClient::with_interceptor(channel, Token(token))
}

/// Calls `path` with an empty message: the status the server answers with.
async fn call_path(channel: Channel, path: &str) -> Result<(), Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    grpc.unary(Request::new(()), path.parse().unwrap(), codec)
        .await
        .map(|_| ())
}

/// A plan of the UR5e from where it is to a joint goal.
async fn plan(c: &mut Client) -> Result<pb::PlanResponse, Status> {
    c.plan(pb::PlanRequest {
        robot_id: "ur5e".into(),
        goals: vec![pb::Goal {
            kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                values: vec![0.8, -1.2, 1.4, -1.8, -1.57, 0.3],
            })),
        }],
        velocity_scale: 1.0,
        motion: pb::MotionType::Free as i32,
        ..Default::default()
    })
    .await
    .map(tonic::Response::into_inner)
}

async fn execute(c: &mut Client, plan: &pb::PlanResponse) -> Result<pb::ExecuteResponse, Status> {
    c.execute(pb::ExecuteRequest {
        robot_id: "ur5e".into(),
        trajectory: plan.trajectory.clone(),
        world_version: plan.world_version,
        ..Default::default()
    })
    .await
    .map(tonic::Response::into_inner)
}

async fn stop(c: &mut Client) -> Result<(), Status> {
    c.stop(pb::StopRequest {
        robot_id: "ur5e".into(),
        immediate: false,
        reason: "grpc_auth test".into(),
    })
    .await
    .map(|_| ())
}

fn jog() -> pb::JogRequest {
    pb::JogRequest {
        robot_id: "ur5e".into(),
        joint_velocities: vec![0.1, 0.0, 0.0, 0.0, 0.0, 0.0],
        twist: Vec::new(),
        deadman: 0.1,
    }
}

fn assert_denied<T: std::fmt::Debug>(r: Result<T, Status>, role: &str) {
    let e = r.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(
        e.message().contains(&format!("needs the {role} role")),
        "{}",
        e.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_credentials_reaches_only_health_and_reflection() {
    let pki = pki();
    let server = start(secured(&pki, false)).await;
    let ch = channel(&server.url, &pki.ca, None).await.unwrap();
    // every RPC of the API (the unit tests check METHOD_ROLES lists them all), and one that
    // does not exist
    let paths = METHOD_ROLES
        .iter()
        .map(|(m, _)| format!("/cella.v1.CellService/{m}"))
        .chain(["/cella.v1.CellService/NoSuchMethod".to_owned()]);
    for path in paths {
        let e = call_path(ch.clone(), &path).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{path}: {e:?}");
        assert!(e.message().contains("no credentials"), "{path}: {e:?}");
    }
    // an unknown token is no better, and the answer does not repeat it
    let mut wrong = client(ch.clone(), Some("not-a-token-of-the-file-0123"));
    let e = wrong
        .get_cell_info(pb::GetCellInfoRequest {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    assert_eq!(e.message(), "unknown token");

    let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    let serving = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "cella.v1.CellService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        serving.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    use tonic_reflection::pb::v1 as reflection;
    let mut r = reflection::server_reflection_client::ServerReflectionClient::new(ch);
    let list = reflection::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            reflection::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut answers = r
        .server_reflection_info(tokio_stream::iter([list]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    let Some(reflection::server_reflection_response::MessageResponse::ListServicesResponse(l)) =
        answer.message_response
    else {
        panic!("{answer:?}");
    };
    assert!(
        l.service.iter().any(|s| s.name == "cella.v1.CellService"),
        "{l:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_plans_but_cannot_move_a_robot_and_an_operator_can() {
    let pki = pki();
    let server = start(secured(&pki, false)).await;
    let ch = channel(&server.url, &pki.ca, None).await.unwrap();
    let mut viewer = client(ch.clone(), Some(VIEWER));
    let info = viewer
        .get_cell_info(pb::GetCellInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    let p = plan(&mut viewer).await.unwrap();
    assert!(p.trajectory.as_ref().is_some_and(|t| !t.points.is_empty()));

    assert_denied(execute(&mut viewer, &p).await, "operator");
    assert_denied(viewer.jog(jog()).await, "operator");
    assert_denied(
        viewer
            .pause(pb::RobotRequest {
                robot_id: "ur5e".into(),
            })
            .await,
        "operator",
    );
    assert_denied(
        viewer
            .remove_object(pb::RemoveObjectRequest {
                name: "table".into(),
            })
            .await,
        "operator",
    );
    let e = execute(&mut viewer, &p).await.unwrap_err();
    assert_eq!(
        e.message(),
        "Execute needs the operator role: 'hmi' is viewer"
    );
    // a stop is never refused to an authenticated caller
    stop(&mut viewer).await.unwrap();

    let mut operator = client(ch.clone(), Some(OPERATOR));
    let started = execute(&mut operator, &p).await.unwrap();
    assert!(started.execution_id > 0 && started.duration > 0.0);
    // the viewer stops the operator's motion
    stop(&mut viewer).await.unwrap();
    assert_denied(
        operator
            .reset(pb::RobotRequest {
                robot_id: "ur5e".into(),
            })
            .await,
        "admin",
    );
    let mut admin = client(ch, Some(ADMIN));
    admin
        .reset(pb::RobotRequest {
            robot_id: "ur5e".into(),
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_trust_the_servers_ca_is_refused() {
    let pki = pki();
    let server = start(secured(&pki, false)).await;
    // the handshake fails: the server's certificate does not chain to what the client trusts
    let refused = match channel(&server.url, &pki.rogue_ca, None).await {
        Err(_) => true,
        // (should the handshake be lazy, the first call fails)
        Ok(ch) => client(ch, Some(VIEWER))
            .get_cell_info(pb::GetCellInfoRequest {})
            .await
            .is_err(),
    };
    assert!(refused);
    // and a plaintext client gets nothing from a TLS server
    let plain = server.url.replace("https://", "http://");
    let plain = match Endpoint::from_shared(plain).unwrap().connect().await {
        Ok(ch) => client(ch, Some(VIEWER))
            .get_cell_info(pb::GetCellInfoRequest {})
            .await
            .is_err(),
        Err(_) => true,
    };
    assert!(plain);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_mutual_tls_a_certificate_identifies_its_client_and_none_is_refused() {
    let pki = pki();
    let server = start(secured(&pki, true)).await;
    // a known certificate: an operator, without a token
    let ch = channel(&server.url, &pki.ca, Some(&pki.client))
        .await
        .unwrap();
    let mut plc = client(ch.clone(), None);
    let p = plan(&mut plc).await.unwrap();
    execute(&mut plc, &p).await.unwrap();
    stop(&mut plc).await.unwrap();
    assert_denied(
        plc.reset(pb::RobotRequest {
            robot_id: "ur5e".into(),
        })
        .await,
        "admin",
    );
    // a token, when sent, decides over the certificate
    let mut as_viewer = client(ch, Some(VIEWER));
    assert_denied(as_viewer.jog(jog()).await, "operator");

    // a certificate of the CA the tokens file does not name: authenticated by TLS, no role
    let ch = channel(&server.url, &pki.ca, Some(&pki.stranger))
        .await
        .unwrap();
    let e = client(ch, None)
        .get_cell_info(pb::GetCellInfoRequest {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    assert!(e.message().contains("CN=intruder"), "{}", e.message());

    // no certificate, even with a good token, or one from another CA: refused by TLS
    for identity in [None, Some(&pki.rogue_client)] {
        let refused = match channel(&server.url, &pki.ca, identity).await {
            Err(_) => true,
            Ok(ch) => {
                let e = client(ch, Some(ADMIN))
                    .get_cell_info(pb::GetCellInfoRequest {})
                    .await
                    .unwrap_err();
                // never an answer of the service (nor of the authentication layer): the
                // connection is closed under the call
                assert!(
                    matches!(
                        e.code(),
                        Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled
                    ),
                    "{e:?}"
                );
                true
            }
        };
        assert!(refused);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tokens_every_caller_is_the_local_administrator() {
    let server = start(Security::default()).await;
    let ch = Endpoint::from_shared(server.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut c = client(ch, None);
    c.reset(pb::RobotRequest {
        robot_id: "ur5e".into(),
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_are_audited_without_credentials_and_bursts_are_counted() {
    let d = dir("refusals");
    let file = d.join("audit.jsonl");
    let server = start_audited(
        Security {
            tls: None,
            authenticator: Some(Arc::new(Authenticator::from_toml(TOKENS).unwrap())),
            warnings: Vec::new(),
        },
        Some(&file),
    )
    .await;
    let ch = Endpoint::from_shared(server.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    // a viewer reads (not audited) and tries to move a robot (refused, audited with its name)
    let mut viewer = client(ch.clone(), Some(VIEWER));
    viewer
        .get_cell_info(pb::GetCellInfoRequest {})
        .await
        .unwrap();
    assert_denied(viewer.jog(jog()).await, "operator");
    // an unknown token, and a burst of calls without credentials
    let mut stranger = client(ch.clone(), Some("guessed-token-0000"));
    let e = stranger.jog(jog()).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    let mut anonymous = client(ch, None);
    let burst = 3 * cella_server::audit::MAX_REFUSALS_PER_SECOND as usize;
    for _ in 0..burst {
        let e = anonymous
            .get_cell_info(pb::GetCellInfoRequest {})
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated);
    }
    // after the window, a refusal is written again and carries the count of those left out
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let e = anonymous
        .stop(pb::StopRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);

    // refusals are written off the network threads: wait until every one is accounted for
    let refusals = 2 + burst + 1;
    let accounted = |text: &str| -> u64 {
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|l| 1 + l["suppressed"].as_u64().unwrap_or(0))
            .sum()
    };
    let bound = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let text = loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if accounted(&text) >= refusals as u64 || std::time::Instant::now() > bound {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    for token in [VIEWER, OPERATOR, ADMIN, "guessed-token-0000"] {
        assert!(!text.contains(token), "a credential was written");
    }
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().all(|l| l["phase"] == "refused"), "{text}");
    let denied = lines
        .iter()
        .find(|l| l["code"] == "PERMISSION_DENIED")
        .unwrap();
    assert_eq!(denied["who"], "hmi");
    assert_eq!(denied["role"], "viewer");
    assert_eq!(denied["rpc"], "Jog");
    assert_eq!(denied["code"], "PERMISSION_DENIED");
    assert!(denied["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
    let unknown = lines
        .iter()
        .find(|l| l["message"] == "unknown token")
        .unwrap();
    assert_eq!(
        (unknown["who"].as_str(), unknown["code"].as_str()),
        (Some(""), Some("UNAUTHENTICATED"))
    );
    assert_eq!(unknown["message"], "unknown token");
    // every refusal is either a line or counted in a later line's `suppressed`
    let suppressed: u64 = lines.iter().filter_map(|l| l["suppressed"].as_u64()).sum();
    assert_eq!(lines.len() as u64 + suppressed, refusals as u64, "{text}");
    assert!(
        suppressed > 0,
        "a burst of {burst} in well under a second was all written"
    );
    // the Stop after the window: written, with the count of the burst's left-out refusals
    let stop = lines.iter().find(|l| l["rpc"] == "Stop").unwrap();
    assert!(stop["suppressed"].as_u64().is_some(), "{stop}");

    // `cella audit` shows them as refused
    let (code, out, _) = cella(&["audit", file.to_str().unwrap(), "--rpc", "Jog"], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("hmi (viewer)") && out.contains("refused, PERMISSION_DENIED"),
        "{out}"
    );
    assert!(
        out.contains("(unidentified)") && out.contains("unknown token"),
        "{out}"
    );
}

// ---- the `cella` binary ----

/// A directory of this test's files under the target directory.
fn dir(test: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("grpc_auth-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes `text` to `dir/name`, returning the path as a string.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

/// A `cella serve` process, killed when dropped.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cella serve ARGS` and reads the URL it says it listens on.
fn serve(args: &[&str]) -> (Serving, String) {
    let mut child = Serving(
        Command::new(env!("CARGO_BIN_EXE_cella"))
            .arg("serve")
            .args(args)
            .env_remove("CELLA_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut said = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut said)
        .unwrap();
    let url = said
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("`cella serve` said '{said}'"))
        .to_owned();
    (child, url)
}

/// Runs `cella ARGS` (CELLA_TOKEN set to `env_token` if given): exit code, stdout, stderr.
fn cella(args: &[&str], env_token: Option<&str>) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cella"));
    c.args(args).env_remove("CELLA_TOKEN");
    if let Some(t) = env_token {
        c.env("CELLA_TOKEN", t);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_refuses_a_non_loopback_address_without_tls_and_authentication() {
    let d = dir("exposure");
    let tokens = write(&d, "tokens.toml", TOKENS);
    for (args, says) in [
        (
            vec![],
            "needs TLS (--tls-cert and --tls-key) and authentication (--tokens)",
        ),
        (
            vec!["--tokens", tokens.as_str()],
            "needs TLS (--tls-cert and --tls-key);",
        ),
    ] {
        let mut all = vec!["serve", "--addr", "0.0.0.0:0"];
        all.extend(args);
        let (code, _, err) = cella(&all, None);
        assert_eq!(code, 2, "{all:?}: {err}");
        assert!(err.contains("not a loopback address"), "{err}");
        assert!(err.contains(says) && err.contains("--insecure"), "{err}");
    }
    // explicitly insecure: it starts, and says so at start and to its clients
    let (_server, url) = serve(&["--addr", "0.0.0.0:0", "--insecure"]);
    let port = url.rsplit(':').next().unwrap();
    assert!(url.starts_with("http://0.0.0.0:"), "{url}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let info = rt.block_on(async {
        let mut c = CellServiceClient::connect(format!("http://127.0.0.1:{port}"))
            .await
            .unwrap();
        common::cell_info(&mut c).await
    });
    assert_eq!(info.warnings.len(), 2, "{:?}", info.warnings);
    assert!(info.warnings.iter().all(|w| w.starts_with("insecure:")));
    assert!(
        info.warnings[0].contains("without TLS"),
        "{:?}",
        info.warnings
    );
    assert!(info.warnings[1].contains("without authentication"));
    // bad files are bad input too, found before serving
    let (code, _, err) = cella(
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--tokens",
            &write(&d, "bad.toml", "[[token]]\n"),
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--tokens") && err.contains("missing field"),
        "{err}"
    );
    let (code, _, err) = cella(
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--tls-cert",
            &tokens,
            "--tls-key",
            &tokens,
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no PEM 'CERTIFICATE' block"), "{err}");
    let (code, _, err) = cella(&["serve", "--client-ca", &tokens], None);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn the_cli_reaches_a_tls_server_with_its_ca_token_and_certificate() {
    let pki = pki();
    let d = dir("cli");
    let ca = write(&d, "ca.pem", &pki.ca);
    let rogue_ca = write(&d, "rogue-ca.pem", &pki.rogue_ca);
    let cert = write(&d, "server.pem", &pki.server.cert);
    let key = write(&d, "server.key", &pki.server.key);
    let client_cert = write(&d, "client.pem", &pki.client.cert);
    let client_key = write(&d, "client.key", &pki.client.key);
    let tokens = write(&d, "tokens.toml", TOKENS);
    // TLS and tokens: a non-loopback address needs no --insecure
    let (_server, url) = serve(&[
        "--addr",
        "0.0.0.0:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--tokens",
        &tokens,
    ]);
    assert!(url.starts_with("https://0.0.0.0:"), "{url}");
    let url = url.replace("0.0.0.0", "127.0.0.1");
    let fk = |extra: &[&str], env: Option<&str>| {
        let mut args = vec![
            "fk",
            "--server",
            &url,
            "--robot",
            "ur5e",
            "--joints",
            "0,-1.57,1.57,0,1.57,0",
            "--json",
        ];
        args.extend(extra);
        cella(&args, env)
    };
    let (code, out, err) = fk(&["--ca", &ca, "--token", VIEWER], None);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["position"].as_array().unwrap().len(), 3, "{v}");
    // the token from the environment
    let (code, _, err) = fk(&["--ca", &ca], Some(VIEWER));
    assert_eq!(code, 0, "{err}");
    // no token: refused by the server, which is bad input (2), the reason said
    let (code, _, err) = fk(&["--ca", &ca], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("Unauthenticated"), "{err}");
    // a CA that did not sign the server's certificate: no connection (3)
    let (code, _, err) = fk(&["--ca", &rogue_ca, "--token", VIEWER], None);
    assert_eq!(code, 3, "{err}");
    // https without --ca, or TLS flags on http://, are bad usage
    let (code, _, err) = fk(&["--token", VIEWER], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("needs --ca"), "{err}");
    let http = url.replace("https://", "http://");
    let (code, _, err) = cella(
        &[
            "fk",
            "--server",
            &http,
            "--ca",
            &ca,
            "--robot",
            "ur5e",
            "--joints",
            "0,0,0,0,0,0",
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("need an https:// URL"), "{err}");
    // a viewer plans through the CLI, but `cella exec` needs an operator
    let (code, out, err) = cella(
        &[
            "plan", "--server", &url, "--ca", &ca, "--robot", "ur5e", "--named", "home", "--json",
        ],
        Some(VIEWER),
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["solved"], true, "{v}");
    let (code, _, err) = cella(
        &[
            "exec", "--server", &url, "--ca", &ca, "--robot", "ur5e", "--named", "home", "--json",
        ],
        Some(VIEWER),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("PermissionDenied") && err.contains("operator"),
        "{err}"
    );

    // mutual TLS: the client certificate is the credential
    let (_mtls, url) = serve(&[
        "--addr",
        "127.0.0.1:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--tokens",
        &tokens,
        "--client-ca",
        &ca,
    ]);
    let args = |extra: &[&'static str]| {
        let mut a: Vec<String> = [
            "exec",
            "--server",
            &url,
            "--ca",
            &ca,
            "--robot",
            "ur5e",
            "--goal",
            "0.8,-1.2,1.4,-1.8,-1.57,0.3",
            "--json",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a
    };
    let with_cert = {
        let mut a = args(&[]);
        a.extend([
            "--cert".to_owned(),
            client_cert.clone(),
            "--key".to_owned(),
            client_key.clone(),
        ]);
        a
    };
    let with_cert: Vec<&str> = with_cert.iter().map(String::as_str).collect();
    let (code, out, err) = cella(&with_cert, None);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["outcome"], "completed", "{v}");
    let without = args(&[]);
    let without: Vec<&str> = without.iter().map(String::as_str).collect();
    let (code, _, err) = cella(&without, Some(OPERATOR));
    assert_eq!(code, 3, "{err}");
}

/// Starts `cella serve ARGS` with `--http`, reading the live view's URL and the gRPC one.
fn serve_live(args: &[&str]) -> (Serving, String, String) {
    let mut child = Serving(
        Command::new(env!("CARGO_BIN_EXE_cella"))
            .arg("serve")
            .args(args)
            .env_remove("CELLA_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut out = std::io::BufReader::new(child.0.stdout.take().unwrap());
    let (mut live, mut grpc) = (String::new(), String::new());
    while grpc.is_empty() {
        let mut said = String::new();
        assert!(out.read_line(&mut said).unwrap() > 0, "`cella serve` ended");
        if let Some(url) = said.trim().strip_prefix("live view on ") {
            live = url.to_owned();
        } else if let Some(url) = said.trim().strip_prefix("listening on ") {
            grpc = url.to_owned();
        }
    }
    (child, live, grpc)
}

/// `GET path` over TLS to `addr`, trusting `ca` for the name `localhost`, with extra header
/// lines; returns the status code, the header block and the body.
async fn https_get(addr: &str, ca: &str, path: &str, headers: &str) -> (u16, String, String) {
    use rustls::pki_types::pem::PemObject;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    // a server that closes without close_notify is an error here; what was read counts
    let _ = tls.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in '{head}'"));
    (code, head.to_owned(), body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_view_is_served_over_tls_and_asks_for_a_token() {
    let pki = pki();
    let d = dir("live");
    let cert = write(&d, "server.pem", &pki.server.cert);
    let key = write(&d, "server.key", &pki.server.key);
    let tokens = write(&d, "tokens.toml", TOKENS);
    // with TLS and tokens a non-loopback live view needs no --insecure
    let (_server, live, _) = serve_live(&[
        "--addr",
        "127.0.0.1:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--tokens",
        &tokens,
        "--http",
        "0.0.0.0:0",
    ]);
    assert!(live.starts_with("https://0.0.0.0:"), "{live}");
    let addr = live.replace("https://0.0.0.0", "127.0.0.1");

    // no token, an unknown one: 401, nothing of the cell in the answer
    for extra in ["", "Authorization: Bearer guessed-token-0000\r\n"] {
        let (code, head, body) = https_get(&addr, &pki.ca, "/state", extra).await;
        assert_eq!(code, 401, "{head}");
        assert!(head.contains("www-authenticate") || head.contains("WWW-Authenticate"));
        assert!(!body.contains("ur5e"), "{body}");
    }
    // a viewer's token in the header: the state of both robots
    let bearer = format!("Authorization: Bearer {VIEWER}\r\n");
    let (code, _, body) = https_get(&addr, &pki.ca, "/state", &bearer).await;
    assert_eq!(code, 200);
    let state: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(state["robots"].as_array().unwrap().len(), 2);
    // a browser: the token once in the address becomes a cookie, and the page loads with it
    let (code, head, _) = https_get(&addr, &pki.ca, &format!("/?token={VIEWER}"), "").await;
    assert_eq!(code, 303, "{head}");
    let set_cookie = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(": ")?;
            k.eq_ignore_ascii_case("set-cookie").then(|| v.to_owned())
        })
        .unwrap_or_else(|| panic!("no cookie in {head}"));
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = format!("Cookie: {}\r\n", set_cookie.split(';').next().unwrap());
    let (code, _, page) = https_get(&addr, &pki.ca, "/", &cookie).await;
    assert_eq!(code, 200);
    assert!(page.contains("cella-data"), "the viewer page");
    let (code, _, _) = https_get(&addr, &pki.ca, "/world", &cookie).await;
    assert_eq!(code, 200);

    // plain HTTP to the TLS port gets no answer of the view
    let mut plain = tokio::net::TcpStream::connect(&addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    plain
        .write_all(b"GET /state HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer).await;
    assert!(
        !String::from_utf8_lossy(&answer).contains("robots"),
        "plaintext answered"
    );
}

#[test]
fn a_non_loopback_live_view_needs_tls_and_tokens_or_insecure() {
    let pki = pki();
    let d = dir("live-exposed");
    let cert = write(&d, "server.pem", &pki.server.cert);
    let key = write(&d, "server.key", &pki.server.key);
    let tokens = write(&d, "tokens.toml", TOKENS);
    for (args, says) in [
        (
            vec![],
            "TLS (--tls-cert and --tls-key) and authentication (--tokens)",
        ),
        (
            vec!["--tokens", tokens.as_str()],
            "TLS (--tls-cert and --tls-key)",
        ),
        (
            vec!["--tls-cert", cert.as_str(), "--tls-key", key.as_str()],
            "authentication (--tokens)",
        ),
    ] {
        let mut all = vec!["serve", "--addr", "127.0.0.1:0", "--http", "0.0.0.0:0"];
        all.extend(args);
        let (code, _, err) = cella(&all, None);
        assert_eq!(code, 2, "{all:?}: {err}");
        assert!(err.contains("--http") && err.contains(says), "{err}");
    }
}

#[test]
fn a_sighup_reloads_the_tokens_file_revoking_at_once() {
    let d = dir("reload");
    let tokens = d.join("tokens.toml");
    std::fs::write(&tokens, TOKENS).unwrap();
    let log = d.join("serve.log");
    let mut child = Serving(
        Command::new(env!("CARGO_BIN_EXE_cella"))
            .args(["serve", "--addr", "127.0.0.1:0", "--tokens"])
            .arg(&tokens)
            .env_remove("CELLA_TOKEN")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let mut said = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut said)
        .unwrap();
    let url = said
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let hup = || {
        let ok = Command::new("kill")
            .args(["-HUP", &child.0.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    let wait_for = |what: &str, mut done: Box<dyn FnMut() -> bool + '_>| {
        let bound = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !done() {
            assert!(std::time::Instant::now() < bound, "{what}: not within 30 s");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let info = |token: &'static str| -> Result<(), Code> {
        rt.block_on(async {
            let ch = Endpoint::from_shared(url.clone())
                .unwrap()
                .connect()
                .await
                .unwrap();
            client(ch, Some(token))
                .get_cell_info(pb::GetCellInfoRequest {})
                .await
                .map(|_| ())
                .map_err(|e| e.code())
        })
    };
    const NEW: &str = "new-viewer-token-7f3a9c2e5b1d";
    assert_eq!(info(VIEWER), Ok(()));
    assert_eq!(info(NEW), Err(Code::Unauthenticated));

    // the viewer's token revoked, a new one added
    std::fs::write(
        &tokens,
        TOKENS
            .replace(VIEWER, NEW)
            .replace("name = \"hmi\"", "name = \"hmi-2\""),
    )
    .unwrap();
    hup();
    wait_for(
        "the revoked token refused",
        Box::new(|| info(VIEWER) == Err(Code::Unauthenticated)),
    );
    assert_eq!(info(NEW), Ok(()));
    assert_eq!(info(OPERATOR), Ok(()));

    // a file with an error changes nothing: the server says so and keeps the callers
    std::fs::write(&tokens, "[[token]]\nthis is not toml\n").unwrap();
    hup();
    wait_for(
        "the broken tokens file refused",
        Box::new(|| {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("tokens file refused")
        }),
    );
    assert_eq!(info(NEW), Ok(()));
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "SIGHUP ended the server"
    );
    // no token is ever written to the log
    let text = std::fs::read_to_string(&log).unwrap();
    for t in [VIEWER, NEW, OPERATOR, ADMIN] {
        assert!(!text.contains(t), "a token in the log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_view_connection_that_sends_nothing_is_closed() {
    use tokio::io::AsyncReadExt;
    let (_server, live, _) = serve_live(&["--addr", "127.0.0.1:0", "--http", "127.0.0.1:0"]);
    let addr = live.strip_prefix("http://").unwrap().to_owned();
    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // the server closes it (after 10 s without a request head); the bound only keeps a
    // broken server from hanging the test
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(std::time::Duration::from_secs(60), silent.read(&mut buf))
        .await
        .expect("the silent connection was kept open");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

/// Waits up to 30 s for the next message of a stream (`Err` for a status that ended it,
/// `Ok(None)` for its plain end).
async fn next_within<T>(stream: &mut tonic::Streaming<T>, what: &str) -> Result<Option<T>, Status> {
    tokio::time::timeout(std::time::Duration::from_secs(30), stream.message())
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within 30 s"))
}

/// A stream opened with a token that a reload of the callers revokes ends with
/// `UNAUTHENTICATED`, naming the reload; a stream of a token that stays goes on; a new
/// request with the revoked token is refused. Before, open streams outlived their token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_stream_ends_when_its_token_is_revoked() {
    let authenticator = Arc::new(Authenticator::from_toml(TOKENS).unwrap());
    let server = start(Security {
        tls: None,
        authenticator: Some(authenticator.clone()),
        warnings: Vec::new(),
    })
    .await;
    let channel = Endpoint::from_shared(server.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let request = || pb::StreamStateRequest {
        robot_ids: Vec::new(),
        rate_hz: 50.0,
    };
    let mut viewer = client(channel.clone(), Some(VIEWER))
        .stream_state(request())
        .await
        .unwrap()
        .into_inner();
    let mut operator = client(channel.clone(), Some(OPERATOR))
        .stream_state(request())
        .await
        .unwrap()
        .into_inner();
    assert!(next_within(&mut viewer, "viewer").await.unwrap().is_some());
    assert!(
        next_within(&mut operator, "operator")
            .await
            .unwrap()
            .is_some()
    );

    // the viewer's token revoked (the file without its table)
    let without_viewer = TOKENS.replacen(
        "[[token]]\ntoken = \"viewer-token-5f0c8e1a9b7d4c2e\"\nname = \"hmi\"\nrole = \"viewer\"\n",
        "",
        1,
    );
    assert_ne!(without_viewer, TOKENS);
    authenticator.reload_toml(&without_viewer).unwrap();
    let mut after = 0;
    let ended = loop {
        match next_within(&mut viewer, "the revoked stream").await {
            // sent before the reload was seen (50 per second: 250 are 5 s)
            Ok(Some(_)) if after < 250 => after += 1,
            Ok(Some(_)) => panic!("the stream outlived its revoked token by {after} messages"),
            other => break other,
        }
    };
    let status = ended.expect_err("the revoked stream ended without a status");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("reloaded") && status.message().contains("unknown token"),
        "{status:?}"
    );
    // the operator's stream goes on
    for _ in 0..5 {
        assert!(
            next_within(&mut operator, "operator after the reload")
                .await
                .unwrap()
                .is_some()
        );
    }
    let again = client(channel, Some(VIEWER)).stream_state(request()).await;
    assert_eq!(again.unwrap_err().code(), Code::Unauthenticated);
}

/// The live view's `/events` feed of a token that a `SIGHUP` reload of the tokens file revokes
/// ends; the feed of a token that stays goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_view_feed_ends_when_its_token_is_revoked() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let d = dir("live-revoke");
    let tokens = d.join("tokens.toml");
    std::fs::write(&tokens, TOKENS).unwrap();
    let tokens_arg = tokens.to_str().unwrap().to_owned();
    let (child, live, _) = serve_live(&[
        "--addr",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--tokens",
        &tokens_arg,
    ]);
    let addr = live
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let open = |token: &'static str| {
        let addr = addr.clone();
        async move {
            let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let request = format!(
                "GET /events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\r\n"
            );
            tcp.write_all(request.as_bytes()).await.unwrap();
            tcp
        }
    };
    // reads until `needle` has come (true) or the connection closed (false), up to 30 s
    async fn read_until(tcp: &mut tokio::net::TcpStream, seen: &mut String, needle: &str) -> bool {
        read_until_count(tcp, seen, needle, 1).await
    }
    async fn read_until_count(
        tcp: &mut tokio::net::TcpStream,
        seen: &mut String,
        needle: &str,
        count: usize,
    ) -> bool {
        let bound = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut buf = [0u8; 4096];
        while seen.matches(needle).count() < count {
            let Ok(read) = tokio::time::timeout_at(bound, tcp.read(&mut buf)).await else {
                panic!("the feed neither sent '{needle:?}' nor ended within 30 s: {seen}");
            };
            let n = read.unwrap_or(0);
            if n == 0 {
                return false;
            }
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        true
    }
    let (mut viewer, mut operator) = (open(VIEWER).await, open(OPERATOR).await);
    let (mut seen_viewer, mut seen_operator) = (String::new(), String::new());
    assert!(read_until(&mut viewer, &mut seen_viewer, "data: ").await);
    assert!(seen_viewer.starts_with("HTTP/1.1 200"), "{seen_viewer}");
    assert!(read_until(&mut operator, &mut seen_operator, "data: ").await);

    std::fs::write(
        &tokens,
        TOKENS.replace(VIEWER, "another-viewer-token-0d1e2f3a4b"),
    )
    .unwrap();
    let ok = Command::new("kill")
        .args(["-HUP", &child.0.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    // the viewer's feed ends: the chunked body's last chunk, then (HTTP/1.1 keeps the
    // connection) nothing more
    assert!(
        read_until(&mut viewer, &mut seen_viewer, "\r\n0\r\n\r\n").await,
        "the revoked feed was closed without ending its body"
    );
    // the operator's goes on: new events after the viewer's ended
    seen_operator.clear();
    assert!(read_until_count(&mut operator, &mut seen_operator, "data: ", 3).await);
    drop(child);
}
