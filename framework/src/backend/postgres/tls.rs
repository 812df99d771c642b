//! TLS the way libpq's `sslmode` means it: `disable` never, `allow`/`prefer` when the server
//! offers it, `require` always but without checking the certificate, `verify-ca` checking it
//! against `sslrootcert` (or the system's roots), `verify-full` checking the host name too.
//! The driver knows only disable/prefer/require, so the URL it sees is rewritten and the
//! connector carries the verification.

use crate::backend::BackendError;
use native_tls::{Certificate, TlsConnector};
use postgres_native_tls::MakeTlsConnector;

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
pub(super) fn configure(url: &str, target: &str) -> Result<(String, MakeTlsConnector), BackendError> {
    let fail = |message: String| BackendError::Connect { target: target.to_string(), message };
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
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
    let driver_mode = match mode {
        Mode::Disable => "disable",
        Mode::Prefer => "prefer",
        _ => "require",
    };
    kept.push(match driver_mode {
        "disable" => "sslmode=disable",
        "prefer" => "sslmode=prefer",
        _ => "sslmode=require",
    });
    let driver_url = format!("{base}?{}", kept.join("&"));

    let mut builder = TlsConnector::builder();
    match mode {
        Mode::Disable | Mode::Prefer | Mode::Require => {
            // Encrypted, not authenticated: what libpq does for these modes.
            builder.danger_accept_invalid_certs(true).danger_accept_invalid_hostnames(true);
        }
        Mode::VerifyCa => {
            builder.danger_accept_invalid_hostnames(true);
        }
        Mode::VerifyFull => {}
    }
    if let Some(path) = &root_cert {
        let pem = std::fs::read(path).map_err(|e| fail(format!("cannot read sslrootcert {path}: {e}")))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| fail(format!("sslrootcert {path} is not a PEM certificate: {e}")))?;
        builder.add_root_certificate(cert);
    }
    let connector = builder.build().map_err(|e| fail(format!("cannot set up TLS: {e}")))?;
    Ok((driver_url, MakeTlsConnector::new(connector)))
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
}
