//! TLS the way libpq's `sslmode` means it: `disable` never, `allow`/`prefer` when the server
//! offers it, `require` always but without checking the certificate, `verify-ca` checking it
//! against `sslrootcert` (or the system's roots), `verify-full` checking the host name too.
//! The driver knows only disable/prefer/require, so the URL it sees is rewritten and the
//! connector carries the verification.

use crate::backend::BackendError;
use native_tls::{Certificate, TlsConnector};
use postgres::tls::{MakeTlsConnect, TlsConnect};
use postgres::Socket;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// What the URL asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The URL for the driver and the connector for the mode the original URL asked for.
pub(super) fn configure(url: &str, target: &str) -> Result<(String, LazyTls), BackendError> {
    let fail = |message: String| BackendError::Connect { target: target.to_string(), message };
    // The parameters start where the driver's parse says, not at a `?` in the password.
    let parts = crate::backend::url::PostgresUrl::split(url);
    let (base, query) = match parts.and_then(|p| p.query_offset(url)) {
        Some(q) => (&url[..q - 1], &url[q..]),
        None => (url, ""),
    };
    let mut mode = Mode::Prefer;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", value)) => {
                mode = match value {
                    "disable" => Mode::Disable,
                    "allow" | "prefer" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => {
                        return Err(fail(format!(
                            "sslmode={other} is not a mode: expected disable, allow, prefer, require, verify-ca or verify-full"
                        )))
                    }
                }
            }
            Some(("sslrootcert", path)) => root_cert = Some(percent_decode(path)),
            _ => kept.push(pair),
        }
    }
    // libpq: a root certificate with `require` means verify-ca.
    if mode == Mode::Require && root_cert.is_some() {
        mode = Mode::VerifyCa;
    }
    kept.push(match mode {
        Mode::Disable => "sslmode=disable",
        Mode::Prefer => "sslmode=prefer",
        _ => "sslmode=require",
    });
    let driver_url = format!("{base}?{}", kept.join("&"));
    // The certificate is read now, so a bad path is reported before any connection is tried.
    let root = match &root_cert {
        Some(path) => {
            let pem =
                std::fs::read(path).map_err(|e| fail(format!("cannot read sslrootcert {path}: {e}")))?;
            Some(
                Certificate::from_pem(&pem)
                    .map_err(|e| fail(format!("sslrootcert {path} is not a PEM certificate: {e}")))?,
            )
        }
        None => None,
    };
    Ok((driver_url, LazyTls { settings: Arc::new(Settings { mode, root, built: Mutex::new(None) }) }))
}

/// The driver's TLS connector, built only when a server agrees to TLS: building one loads
/// the system's root certificates, about 40 ms, which the start-up check of an application
/// talking to a server without TLS (`sslmode=prefer`, the default) must not pay. Clones
/// share the connector once built (the run lock's connection reuses it).
#[derive(Clone)]
pub(super) struct LazyTls {
    settings: Arc<Settings>,
}

struct Settings {
    mode: Mode,
    root: Option<Certificate>,
    built: Mutex<Option<TlsConnector>>,
}

impl Settings {
    fn connector(&self) -> Result<TlsConnector, native_tls::Error> {
        let mut built = self.built.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(connector) = built.as_ref() {
            return Ok(connector.clone());
        }
        let mut builder = TlsConnector::builder();
        match self.mode {
            Mode::Disable | Mode::Prefer | Mode::Require => {
                // Encrypted, not authenticated: what libpq does for these modes.
                builder.danger_accept_invalid_certs(true).danger_accept_invalid_hostnames(true);
            }
            Mode::VerifyCa => {
                builder.danger_accept_invalid_hostnames(true);
            }
            Mode::VerifyFull => {}
        }
        if let Some(root) = &self.root {
            builder.add_root_certificate(root.clone());
        }
        let connector = builder.build()?;
        *built = Some(connector.clone());
        Ok(connector)
    }
}

#[cfg(all(test, feature = "testkit"))]
impl LazyTls {
    #[cfg(all(test, feature = "testkit"))]
    pub(super) fn is_built(&self) -> bool {
        self.settings.built.lock().is_ok_and(|built| built.is_some())
    }
}

impl MakeTlsConnect<Socket> for LazyTls {
    type Stream = postgres_native_tls::TlsStream<Socket>;
    type TlsConnect = LazyConnect;
    type Error = std::convert::Infallible;

    fn make_tls_connect(&mut self, domain: &str) -> Result<LazyConnect, Self::Error> {
        Ok(LazyConnect { settings: Arc::clone(&self.settings), domain: domain.to_string() })
    }
}

/// One connection's TLS handshake, for [`LazyTls`].
pub(super) struct LazyConnect {
    settings: Arc<Settings>,
    domain: String,
}

impl TlsConnect<Socket> for LazyConnect {
    type Stream = postgres_native_tls::TlsStream<Socket>;
    type Error = native_tls::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Stream, native_tls::Error>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        match self.settings.connector() {
            Ok(connector) => postgres_native_tls::TlsConnector::new(connector, &self.domain).connect(stream),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => match u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_sees_only_the_modes_it_knows() {
        let (url, _) = configure("postgres://u@h/db?sslmode=verify-full&application_name=x", "t").unwrap();
        assert_eq!(url, "postgres://u@h/db?application_name=x&sslmode=require");
        let (url, _) = configure("postgres://u@h/db", "t").unwrap();
        assert_eq!(url, "postgres://u@h/db?sslmode=prefer");
        let (url, _) = configure("postgres://u@h/db?sslmode=allow", "t").unwrap();
        assert!(url.ends_with("sslmode=prefer"));
        let err = configure("postgres://u@h/db?sslmode=sometimes", "t").err().expect("refused").to_string();
        assert!(err.contains("expected disable, allow, prefer, require, verify-ca or verify-full"), "{err}");
        let err = configure("postgres://u@h/db?sslmode=verify-ca&sslrootcert=%2Fnope.pem", "t")
            .err()
            .expect("refused");
        assert!(err.to_string().contains("cannot read sslrootcert /nope.pem"), "{err}");
    }

    #[test]
    fn a_question_mark_in_the_password_does_not_start_the_parameters() {
        let (url, _) = configure("postgres://u:pa?ss@h/db?sslmode=disable", "t").unwrap();
        assert_eq!(url, "postgres://u:pa?ss@h/db?sslmode=disable");
        let config: postgres::Config = url.parse().unwrap();
        assert_eq!((config.get_password(), config.get_dbname()), (Some(&b"pa?ss"[..]), Some("db")));
    }
}
