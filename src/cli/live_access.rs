//! Who may open the live view of `cella serve --http`, and over what.
//!
//! - **TLS.** With `--tls-cert` and `--tls-key` the view is served over HTTPS (HTTP/1.1) with
//!   the same certificate as the gRPC service; a plaintext connection to it fails its
//!   handshake. Browsers present no client certificate: `--client-ca` is for gRPC clients.
//! - **Tokens.** With `--tokens` every request needs a token of the file (any role: the view is
//!   read-only): `Authorization: Bearer TOKEN`, or the cookie [`COOKIE`]. A browser opens
//!   `/?token=TOKEN` once: the answer sets the cookie (`HttpOnly`, `SameSite=Strict`, `Secure`
//!   over TLS) and sends it on to `/`, so the token leaves the address bar and the page's own
//!   requests (`/events`, `/world`) carry it. A missing or unknown token is `401`; tokens are
//!   compared in constant time ([`Authenticator::identify_token`]) and never logged.
//!
//! Without `--tokens` anyone who reaches the address may watch, which is why a non-loopback
//! address needs TLS and tokens, or `--insecure` (see [`super::live::start`]).

use cella_server::auth::{Authenticator, bearer_token};
use hyper::header::{AUTHORIZATION, COOKIE as COOKIE_HEADER, HeaderMap};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// The cookie that carries a browser's token.
pub const COOKIE: &str = "cella_token";

/// How the live view is secured (the default: plain HTTP, open to whoever reaches it).
#[derive(Clone, Default)]
pub struct LiveAccess {
    /// TLS of every connection.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// The tokens a request must present one of.
    pub authenticator: Option<Arc<Authenticator>>,
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// Answer it.
    Admitted,
    /// `/?token=TOKEN` with a known token: set the cookie to this value (already encoded for
    /// a cookie) and send the browser on to `/`.
    SetCookie(String),
    /// Refuse it (`401`), saying why.
    Refused(&'static str),
}

impl LiveAccess {
    /// TLS from a PEM certificate chain and its PEM private key (HTTP/1.1 by ALPN, rustls'
    /// default protocol versions and provider, as tonic's), or what is wrong with them.
    pub fn tls_from_pem(cert: &[u8], key: &[u8]) -> Result<tokio_rustls::TlsAcceptor, String> {
        let chain = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("certificate: {e}"))?;
        if chain.is_empty() {
            return Err("certificate: no PEM certificate in the file".into());
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("key: {e}"))?;
        // the process's crypto provider, as tonic's TLS takes it: ring, the one this build has
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| e.to_string())?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }

    /// Whether a request to `path` with `query` and `headers` is let in.
    pub fn admit(&self, path: &str, query: Option<&str>, headers: &HeaderMap) -> Admission {
        let Some(authenticator) = &self.authenticator else {
            return Admission::Admitted;
        };
        let known = |token: &[u8]| authenticator.identify_token(token).is_some();
        if let Some(header) = headers.get(AUTHORIZATION) {
            return match bearer_token(header.as_bytes()) {
                Some(token) if known(token) => Admission::Admitted,
                Some(_) => Admission::Refused("unknown token"),
                None => Admission::Refused("the authorization header is not 'Bearer TOKEN'"),
            };
        }
        if path == "/"
            && let Some(token) = query.and_then(|q| query_value(q, "token"))
        {
            return if known(&token) {
                Admission::SetCookie(percent_encode(&token))
            } else {
                Admission::Refused("unknown token")
            };
        }
        match cookie_token(headers) {
            Some(token) if known(&token) => Admission::Admitted,
            Some(_) => Admission::Refused("unknown token"),
            None => Admission::Refused(
                "the live view needs a token of --tokens: open /?token=TOKEN once (it is kept \
                 in a cookie), or send 'Authorization: Bearer TOKEN'",
            ),
        }
    }

    /// The `Set-Cookie` value for an encoded token.
    pub fn cookie(&self, encoded: &str) -> String {
        let secure = if self.tls.is_some() { "; Secure" } else { "" };
        format!("{COOKIE}={encoded}; Path=/; HttpOnly; SameSite=Strict{secure}")
    }
}

/// The token in the request's cookies, decoded.
fn cookie_token(headers: &HeaderMap) -> Option<Vec<u8>> {
    headers
        .get_all(COOKIE_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| percent_decode(value))
        })
}

/// The decoded value of `name` in a query string (`a=1&token=...`).
fn query_value(query: &str, name: &str) -> Option<Vec<u8>> {
    query.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        (n == name).then(|| percent_decode(&v.replace('+', " ")))
    })
}

/// `%XX` escapes decoded (others kept as they are).
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Every byte but `A-Z a-z 0-9 - . _ ~` as `%XX`: safe in a cookie value and a URL.
fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKENS: &str = r#"
        [[token]]
        token = "viewer;token=odd&chars%41+x"
        name = "hmi"
        role = "viewer"
    "#;

    fn access() -> LiveAccess {
        LiveAccess {
            tls: None,
            authenticator: Some(Arc::new(
                Authenticator::from_toml(TOKENS).unwrap_or_else(|e| panic!("{e}")),
            )),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap_or_else(|e| panic!("{e}")));
        }
        h
    }

    #[test]
    fn without_tokens_everyone_is_admitted() {
        let open = LiveAccess::default();
        assert_eq!(
            open.admit("/state", None, &HeaderMap::new()),
            Admission::Admitted
        );
    }

    #[test]
    fn a_token_is_taken_from_the_header_the_cookie_or_once_from_the_address() {
        let a = access();
        let token = "viewer;token=odd&chars%41+x";
        let bearer = format!("Bearer {token}");
        assert_eq!(
            a.admit("/state", None, &headers(&[("authorization", &bearer)])),
            Admission::Admitted
        );
        // the browser's way in: the token in the address becomes a cookie
        let query = format!("token={}", percent_encode(token.as_bytes()));
        let Admission::SetCookie(encoded) = a.admit("/", Some(&query), &HeaderMap::new()) else {
            panic!("no cookie set");
        };
        let set = a.cookie(&encoded);
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        let value = set.split(';').next().unwrap_or_default().to_owned();
        assert_eq!(
            a.admit(
                "/events",
                None,
                &headers(&[("cookie", &format!("theme=dark; {value}"))])
            ),
            Admission::Admitted
        );
        // only on the page itself, and only a known token
        assert!(matches!(
            a.admit("/state", Some(&query), &HeaderMap::new()),
            Admission::Refused(_)
        ));
        assert_eq!(
            a.admit("/", Some("token=guess-0123456789"), &HeaderMap::new()),
            Admission::Refused("unknown token")
        );
    }

    #[test]
    fn missing_unknown_and_malformed_credentials_are_refused() {
        let a = access();
        for h in [
            HeaderMap::new(),
            headers(&[("authorization", "Bearer guess-0123456789")]),
            headers(&[("authorization", "Basic dXNlcjpwYXNz")]),
            headers(&[("cookie", "cella_token=guess-0123456789")]),
        ] {
            assert!(
                matches!(a.admit("/", None, &h), Admission::Refused(_)),
                "{h:?}"
            );
        }
    }

    #[test]
    fn percent_encoding_round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(percent_decode(&percent_encode(&all)), all);
    }

    #[test]
    fn bad_tls_files_are_errors_naming_the_part() {
        let e = LiveAccess::tls_from_pem(b"not pem", b"not pem")
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("certificate"), "{e}");
    }
}
