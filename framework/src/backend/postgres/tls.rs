//! TLS the way libpq's `sslmode` means it: `disable` never, `allow`/`prefer` when the server
//! offers it, `require` always but without checking the certificate, `verify-ca` checking it
//! against `sslrootcert` (only its certificates, as in libpq) or the system's roots,
//! `verify-full` checking the host name too; `sslrootcert=system` and client certificates
//! (`sslcert`, `sslkey`) as libpq reads them. The driver knows only disable/prefer/require,
//! so the URL it sees is rewritten and the connector carries the verification and the client
//! certificate. Over a Unix socket there is no TLS at all, as in libpq.
//!
//! The TLS is rustls with the ring provider: pure Rust, linked into the binary, so a
//! program that never opens a TLS connection pays nothing for it at start-up (OpenSSL's
//! shared libraries cost most of a short run in the dynamic loader).

mod x509;

use crate::backend::BackendError;
use postgres::config::{Host, SslMode};
use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};
use postgres::Socket;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::TlsConnector;

/// What the URL asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }
}

/// The URL for the driver and the connector for the mode the original URL asked for.
///
/// Besides `sslmode`, the TLS parameters are read as libpq reads them: `sslrootcert` (a file
/// of trusted roots, or `system`: the system's roots, which makes the default mode
/// `verify-full` and a weaker one an error), `sslcert` and `sslkey` (a client certificate and
/// its key, for `cert` authentication), `sslsni`, `sslcompression` (ignored, as libpq 14+
/// does) and `gssencmode` (strata has no GSSAPI encryption: `disable` and `prefer` connect
/// without it, `require` is refused). With `sslmode=disable` no TLS file is read.
pub(super) fn configure(url: &str, target: &str) -> Result<(String, LazyTls), BackendError> {
    let fail = |message: String| BackendError::Connect { target: target.to_string(), message };
    // The parameters start where the driver's parse says, not at a `?` in the password.
    let parts = crate::backend::url::PostgresUrl::split(url);
    let (base, query) = match parts.and_then(|p| p.query_offset(url)) {
        Some(q) => (&url[..q - 1], &url[q..]),
        None => (url, ""),
    };
    let mut mode = None;
    let (mut root_cert, mut client_cert, mut client_key, mut key_password) = (None, None, None, false);
    let mut sni = true;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", value)) => {
                mode = Some(match value {
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
                })
            }
            Some(("sslrootcert", path)) => root_cert = Some(percent_decode(path)),
            Some(("sslcert", path)) => client_cert = Some(percent_decode(path)),
            Some(("sslkey", path)) => client_key = Some(percent_decode(path)),
            // A secret: only whether it is there matters here (see [`ClientIdentity::read`]).
            Some(("sslpassword", _)) => key_password = true,
            // libpq ≥ 14 ignores it (no TLS library compresses any more); so does strata.
            Some(("sslcompression", "0" | "1")) => {}
            Some(("sslsni", value)) => {
                sni = match value {
                    "1" => true,
                    "0" => false,
                    other => return Err(fail(format!("sslsni={other} is not 0 or 1"))),
                }
            }
            Some(("gssencmode", value)) => match value {
                "disable" | "prefer" => {}
                "require" => {
                    return Err(fail(
                        "gssencmode=require: strata has no GSSAPI encryption; use TLS (sslmode=verify-full) \
                         or gssencmode=disable"
                            .into(),
                    ))
                }
                other => {
                    return Err(fail(format!(
                        "gssencmode={other} is not a mode: expected disable, prefer or require"
                    )))
                }
            },
            _ => kept.push(pair),
        }
    }
    // libpq 16: `sslrootcert=system` trusts the system's roots and means verify-full; a weaker
    // mode with it is refused, not silently weakened.
    let system = root_cert.as_deref() == Some("system");
    if system {
        root_cert = None;
        match mode {
            None | Some(Mode::VerifyFull) => mode = Some(Mode::VerifyFull),
            Some(weaker) => {
                return Err(fail(format!(
                    "sslrootcert=system needs sslmode=verify-full, not sslmode={}: leave sslmode out or set \
                     it to verify-full",
                    weaker.name()
                )))
            }
        }
    }
    let mut mode = mode.unwrap_or(Mode::Prefer);
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
    // The files are read now, so a bad path is reported before any connection is tried; with
    // `disable` there is no TLS to read them for (libpq ignores them too).
    let (root, client) = if mode == Mode::Disable {
        (None, None)
    } else {
        let root = root_cert.map(Roots::read).transpose().map_err(fail)?;
        let client = match (client_cert, client_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(ClientIdentity::read(cert, key, key_password).map_err(fail)?),
            (Some(_), None) => {
                return Err(fail("sslcert needs sslkey: the client certificate's private key file".into()))
            }
            (None, Some(_)) => {
                return Err(fail("sslkey needs sslcert: the client certificate the key belongs to".into()))
            }
        };
        (root, client)
    };
    let settings = Settings { mode, root, client, sni, built: Mutex::new(None) };
    Ok((driver_url, LazyTls { settings: Arc::new(settings) }))
}

/// libpq never negotiates TLS over a Unix socket, whatever `sslmode` says (the server would
/// refuse, and a local socket needs none); the driver would still ask, a round trip for
/// `prefer` and a failure for `require`. With only socket hosts, it is told not to. (A list
/// mixing socket and TCP hosts keeps the mode: the driver has one for all.)
pub(super) fn skip_for_unix_sockets(config: &mut postgres::Config) {
    let hosts = config.get_hosts();
    let only_sockets = !hosts.is_empty() && hosts.iter().all(|host| !matches!(host, Host::Tcp(_)));
    if only_sockets && config.get_hostaddrs().is_empty() {
        config.ssl_mode(SslMode::Disable);
    }
}

/// The certificates of `sslrootcert`: with them, only they are trusted, as in libpq.
struct Roots {
    path: String,
    certificates: Vec<CertificateDer<'static>>,
    store: Arc<RootCertStore>,
}

impl Roots {
    fn read(path: String) -> Result<Roots, String> {
        let pem = std::fs::read(&path).map_err(|e| format!("cannot read sslrootcert {path}: {e}"))?;
        let not_pem = |e: &dyn std::fmt::Display| format!("sslrootcert {path} is not a PEM certificate: {e}");
        let certificates =
            CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>().map_err(|e| not_pem(&e))?;
        if certificates.is_empty() {
            return Err(not_pem(&"it holds no BEGIN CERTIFICATE section"));
        }
        let mut store = RootCertStore::empty();
        for certificate in &certificates {
            store.add(certificate.clone()).map_err(|e| not_pem(&e))?;
        }
        Ok(Roots { path, certificates, store: Arc::new(store) })
    }
}

/// A client certificate and its key (`sslcert`, `sslkey`), sent when the server asks for one
/// (`cert` authentication, `clientcert=verify-full`).
struct ClientIdentity {
    cert_path: String,
    key_path: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl ClientIdentity {
    /// The certificate and its signing key for rustls, after libpq's check that the key is
    /// the certificate's (OpenSSL's `SSL_CTX_check_private_key`). Done here rather than by
    /// rustls's own check, which parses the certificate with webpki and so refuses an X.509
    /// v1 certificate, what PostgreSQL's manual's `openssl x509 -req` recipe makes.
    fn resolver(&self, provider: &rustls::crypto::CryptoProvider) -> Result<Arc<SingleCertAndKey>, TlsError> {
        let setup = |why: String| TlsError::Setup(format!("cannot use sslcert {}: {why}", self.cert_path));
        let key = provider
            .key_provider
            .load_private_key(self.key.clone_key())
            .map_err(|e| setup(format!("sslkey {}: {e}", self.key_path)))?;
        let certificate = self
            .chain
            .first()
            .and_then(|der| x509::Certificate::parse(der.as_ref()))
            .ok_or_else(|| setup("its first certificate cannot be read".into()))?;
        let key_info = key.public_key();
        let matches = key_info.as_ref().and_then(|spki| x509::sequence_contents(spki.as_ref()));
        if matches.is_some_and(|contents| contents != certificate.public_key) {
            return Err(setup(format!("sslkey {} is not the key of this certificate", self.key_path)));
        }
        Ok(Arc::new(SingleCertAndKey::from(CertifiedKey::new(self.chain.clone(), key))))
    }

    fn read(cert: String, key: String, has_password: bool) -> Result<ClientIdentity, String> {
        let pem = std::fs::read(&cert).map_err(|e| format!("cannot read sslcert {cert}: {e}"))?;
        let chain = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("sslcert {cert} is not a PEM certificate: {e}"))?;
        if chain.is_empty() {
            return Err(format!(
                "sslcert {cert} is not a PEM certificate: it holds no BEGIN CERTIFICATE section"
            ));
        }
        check_key_permissions(&key)?;
        let pem = std::fs::read(&key).map_err(|e| format!("cannot read sslkey {key}: {e}"))?;
        // PKCS#8's `BEGIN ENCRYPTED PRIVATE KEY` or OpenSSL's legacy `Proc-Type: 4,ENCRYPTED`
        // header: read from the lines, never from the base64, where the letters may occur.
        let encrypted = String::from_utf8_lossy(&pem).lines().any(|line| {
            let line = line.trim();
            line.starts_with("-----BEGIN ENCRYPTED ") || line.starts_with("Proc-Type: 4,ENCRYPTED")
        });
        if encrypted {
            let given = if has_password { " (sslpassword is not used)" } else { "" };
            return Err(format!(
                "sslkey {key} is encrypted{given}: strata reads only unencrypted keys; write one with \
                 `openssl pkey -in {key} -out KEY` and keep it readable by its owner only (chmod 600)"
            ));
        }
        let key_der = PrivateKeyDer::from_pem_slice(&pem)
            .map_err(|e| format!("sslkey {key} is not a PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"))?;
        Ok(ClientIdentity { cert_path: cert, key_path: key, chain, key: key_der })
    }
}

/// libpq's rule for a key file: no access for group or others, except a root-owned file
/// readable by its group (a key shared through a system group).
#[cfg(unix)]
fn check_key_permissions(path: &str) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read sslkey {path}: {e}"))?;
    let mode = meta.mode() & 0o777;
    // The bits libpq refuses: any for group and others, or, owned by root, all but group read.
    let refused = if meta.uid() == 0 { 0o037 } else { 0o077 };
    if mode & refused != 0 {
        return Err(format!(
            "sslkey {path} is open to its group or others (mode {mode:o}): a private key must be \
             private to its owner (chmod 600 {path}), as libpq requires"
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_key_permissions(_path: &str) -> Result<(), String> {
    Ok(())
}

/// The driver's TLS connector, built only when a server agrees to TLS: building one loads
/// the system's root certificates, which the start-up check of an application talking to a
/// server without TLS (`sslmode=prefer`, the default) must not pay. Clones share the
/// connector once built (the run lock's connection reuses it).
#[derive(Clone)]
pub(super) struct LazyTls {
    settings: Arc<Settings>,
}

struct Settings {
    mode: Mode,
    root: Option<Roots>,
    client: Option<ClientIdentity>,
    /// Whether the host name is sent (`sslsni`, on by default as in libpq).
    sni: bool,
    built: Mutex<Option<TlsConnector>>,
}

impl Settings {
    fn connector(&self) -> Result<TlsConnector, TlsError> {
        let mut built = self.built.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(connector) = built.as_ref() {
            return Ok(connector.clone());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let resolver_provider = Arc::clone(&provider);
        let verifier: Arc<dyn ServerCertVerifier> = match self.mode {
            // Encrypted, not authenticated: what libpq does for these modes.
            Mode::Disable | Mode::Prefer | Mode::Require => Arc::new(Verifier { trust: None, algorithms }),
            Mode::VerifyCa | Mode::VerifyFull => {
                let (roots, pinned) = match &self.root {
                    Some(root) => (Arc::clone(&root.store), root.certificates.clone()),
                    None => system_roots()?,
                };
                let trust = Trust { roots, pinned, check_host: self.mode == Mode::VerifyFull };
                Arc::new(Verifier { trust: Some(trust), algorithms })
            }
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Setup(format!("cannot set up TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match &self.client {
            Some(client) => config.with_client_cert_resolver(client.resolver(&resolver_provider)?),
            None => config.with_no_client_auth(),
        };
        config.enable_sni = self.sni;
        // As libpq 17 does: PostgreSQL 17 requires it for direct TLS (`sslnegotiation=direct`).
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        let connector = TlsConnector::from(Arc::new(config));
        *built = Some(connector.clone());
        Ok(connector)
    }

    /// Where the trusted roots come from, for messages.
    fn roots(&self) -> String {
        match &self.root {
            Some(root) => format!("sslrootcert {}", root.path),
            None => "the system's root certificates".to_string(),
        }
    }
}

/// The system's roots (honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`, as OpenSSL does), and
/// their certificates; an unreadable one among many is skipped, none at all is an error.
fn system_roots() -> Result<(Arc<RootCertStore>, Vec<CertificateDer<'static>>), TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    let mut certificates = Vec::with_capacity(found.certs.len());
    for certificate in found.certs {
        if store.add(certificate.clone()).is_ok() {
            certificates.push(certificate);
        }
    }
    if store.is_empty() {
        let why = found.errors.first().map(|e| format!(" ({e})")).unwrap_or_default();
        return Err(TlsError::Setup(format!(
            "no root certificates found on this system{why}: install the system's CA certificates \
             or name the server's root with sslrootcert=PATH"
        )));
    }
    Ok((Arc::new(store), certificates))
}

/// The server's certificate as libpq checks it. Without `trust` (`require`, `prefer`): any
/// certificate, but the handshake must still be signed by its key, so the session is
/// encrypted to whoever holds it. With it, `verify-ca` (the chain to a trusted root) or
/// `verify-full` (the host name too), with libpq's (OpenSSL's) leniencies that webpki does not
/// have: a self-signed server certificate among the roots (given as `sslrootcert`, say) is
/// trusted as itself even when it says it is a CA (as `openssl req -x509` makes it, the recipe
/// of PostgreSQL's manual), and a certificate without a DNS subjectAltName is checked against
/// its subject's common name.
#[derive(Debug)]
struct Verifier {
    trust: Option<Trust>,
    algorithms: WebPkiSupportedAlgorithms,
}

/// What `verify-ca` and `verify-full` trust.
#[derive(Debug)]
struct Trust {
    roots: Arc<RootCertStore>,
    /// The roots' certificates.
    pinned: Vec<CertificateDer<'static>>,
    check_host: bool,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(trust) = &self.trust else { return Ok(ServerCertVerified::assertion()) };
        let certificate = ParsedCertificate::try_from(end_entity)?;
        if trust.pinned.iter().any(|pinned| pinned == end_entity) {
            check_validity(end_entity, now)?;
        } else if let Err(error) = rustls::client::verify_server_cert_signed_by_trust_anchor(
            &certificate,
            &trust.roots,
            intermediates,
            now,
            self.algorithms.all,
        ) {
            // webpki says "unknown issuer" or "CA used as end entity"; the reason is simpler.
            let self_signed = x509::Certificate::parse(end_entity).is_some_and(|c| c.self_issued());
            return Err(match error {
                rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer | CertificateError::Other(_),
                ) if self_signed => CertificateError::Other(rustls::OtherError(Arc::new(SelfSigned))).into(),
                error => error,
            });
        }
        if trust.check_host {
            check_host(&certificate, end_entity, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A self-signed certificate that is not among the roots.
#[derive(Debug)]
struct SelfSigned;

impl std::fmt::Display for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("self-signed")
    }
}

impl std::error::Error for SelfSigned {}

/// The validity period of a certificate trusted as itself.
fn check_validity(der: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let certificate = x509::Certificate::parse(der).ok_or(CertificateError::BadEncoding)?;
    let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let at =
        |secs: i64| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs.max(0).unsigned_abs()));
    if now_secs < certificate.not_before {
        return Err(CertificateError::NotValidYetContext {
            time: now,
            not_before: at(certificate.not_before),
        }
        .into());
    }
    if now_secs > certificate.not_after {
        return Err(
            CertificateError::ExpiredContext { time: now, not_after: at(certificate.not_after) }.into()
        );
    }
    Ok(())
}

/// The host name against the subjectAltNames, or, when there is none of the host's kind,
/// against the subject's common names (libpq's rule; a `*.` wildcard matches one label).
fn check_host(
    certificate: &ParsedCertificate<'_>,
    der: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
) -> Result<(), rustls::Error> {
    let refused = match rustls::client::verify_server_name(certificate, server_name) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let names = x509::Certificate::parse(der).map(|c| c.names()).unwrap_or_default();
    let matched = match server_name {
        ServerName::DnsName(host) if !names.has_dns_san => {
            names.common_names.iter().any(|name| name_matches(name, host.as_ref()))
        }
        ServerName::IpAddress(ip) if !names.has_ip_san => {
            let ip = std::net::IpAddr::from(*ip);
            names.common_names.iter().any(|name| name.parse() == Ok(ip))
        }
        _ => false,
    };
    if matched {
        Ok(())
    } else {
        Err(refused)
    }
}

/// libpq's match of a certificate name against a host name: equal ignoring ASCII case, or
/// `*.rest` matching one label followed by `.rest`.
fn name_matches(name: &str, host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    match name.strip_prefix("*.") {
        Some(rest) => host
            .split_once('.')
            .is_some_and(|(label, tail)| !label.is_empty() && tail.eq_ignore_ascii_case(rest)),
        None => name.eq_ignore_ascii_case(host),
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
    type Stream = TlsStream;
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
    type Stream = TlsStream;
    type Error = TlsError;
    type Future = Pin<Box<dyn Future<Output = Result<TlsStream, TlsError>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let LazyConnect { settings, domain } = self;
            let connector = settings.connector()?;
            let name = match ServerName::try_from(domain.as_str()) {
                Ok(name) => name.to_owned(),
                Err(_) if settings.mode == Mode::VerifyFull => return Err(TlsError::HostName(domain)),
                // Nothing to check the name against: sent without SNI, as for an address.
                Err(_) => ServerName::IpAddress(std::net::Ipv4Addr::UNSPECIFIED.into()),
            };
            match connector.connect(name, stream).await {
                Ok(stream) => Ok(TlsStream(stream)),
                Err(error) => Err(TlsError::handshake(&settings, domain, error)),
            }
        })
    }
}

/// Why a TLS connection could not be made. Never holds a secret: the host, the mode and the
/// paths of `sslrootcert`, `sslcert` and `sslkey` at most.
#[derive(Debug)]
pub(super) enum TlsError {
    /// The client side could not be set up (no root certificates, a key that is not the
    /// client certificate's).
    Setup(String),
    /// `verify-full` with a host that is neither a DNS name nor an address.
    HostName(String),
    /// The server's certificate was refused.
    Certificate { host: String, mode: &'static str, roots: String, error: CertificateError },
    /// The handshake failed otherwise (the server's alert, a protocol error, I/O).
    Handshake { host: String, error: io::Error },
}

impl TlsError {
    fn handshake(settings: &Settings, host: String, error: io::Error) -> TlsError {
        let certificate =
            error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()).and_then(|e| match e {
                rustls::Error::InvalidCertificate(certificate) => Some(certificate.clone()),
                _ => None,
            });
        match certificate {
            Some(error) => {
                TlsError::Certificate { host, mode: settings.mode.name(), roots: settings.roots(), error }
            }
            None => TlsError::Handshake { host, error },
        }
    }
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsError::Setup(message) => f.write_str(message),
            TlsError::HostName(host) => {
                write!(
                    f,
                    "sslmode=verify-full: {host} is not a host name a certificate can be checked against"
                )
            }
            TlsError::Certificate { host, mode, roots, error } => {
                write!(f, "the server's certificate is not trusted (sslmode={mode}): ")?;
                describe_certificate_error(f, error, host, roots)
            }
            TlsError::Handshake { host, error } => write!(f, "the TLS handshake with {host} failed: {error}"),
        }
    }
}

fn describe_certificate_error(
    f: &mut std::fmt::Formatter<'_>,
    error: &CertificateError,
    host: &str,
    roots: &str,
) -> std::fmt::Result {
    let date = |time: &UnixTime| {
        i64::try_from(time.as_secs())
            .ok()
            .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
            .map_or_else(
                || format!("{} (Unix time)", time.as_secs()),
                |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            )
    };
    match error {
        CertificateError::UnknownIssuer => {
            write!(f, "it is not signed by a certificate authority in {roots}")
        }
        CertificateError::NotValidForName => write!(f, "it is not issued for the host name {host}"),
        CertificateError::NotValidForNameContext { presented, .. } => {
            write!(f, "it is not issued for the host name {host}")?;
            // webpki shows a name as `DnsName("db.example.com")`.
            let names: Vec<&str> = presented
                .iter()
                .map(|name| {
                    name.split_once('(').map_or(name.as_str(), |(_, rest)| rest.trim_end_matches(')'))
                })
                .map(|name| name.trim_matches('"'))
                .collect();
            match names.as_slice() {
                [] => write!(f, " (it names no host in its subjectAltName)"),
                names => write!(f, " (it is for {})", names.join(", ")),
            }
        }
        CertificateError::Expired => write!(f, "it has expired"),
        CertificateError::ExpiredContext { not_after, .. } => write!(f, "it expired on {}", date(not_after)),
        CertificateError::NotValidYet => write!(f, "it is not valid yet"),
        CertificateError::NotValidYetContext { not_before, .. } => {
            write!(f, "it is not valid before {}", date(not_before))
        }
        CertificateError::BadSignature => write!(f, "its signature does not verify"),
        CertificateError::BadEncoding => write!(f, "it is not a well-formed certificate"),
        CertificateError::Revoked => write!(f, "it has been revoked"),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            write!(f, "it is not meant for a server (its extended key usage)")
        }
        CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            write!(f, "it is signed with an algorithm this client does not support")
        }
        CertificateError::Other(other) if other.0.downcast_ref::<SelfSigned>().is_some() => {
            write!(f, "it is self-signed, and not in {roots}")
        }
        CertificateError::Other(other) => write!(f, "it is refused ({})", other.0),
        other => write!(f, "{other}"),
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::Handshake { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A TLS connection to the server, with the channel binding SCRAM-SHA-256-PLUS asks for.
pub(super) struct TlsStream(tokio_rustls::client::TlsStream<Socket>);

impl postgres::tls::TlsStream for TlsStream {
    /// `tls-server-end-point` (RFC 5929): the hash of the server's certificate.
    fn channel_binding(&self) -> ChannelBinding {
        let (_, session) = self.0.get_ref();
        let Some(certificate) = session.peer_certificates().and_then(|c| c.first()) else {
            return ChannelBinding::none();
        };
        match x509::Certificate::parse(certificate).and_then(|c| c.signature_hash()) {
            Some(hash) => ChannelBinding::tls_server_end_point(hash.digest(certificate)),
            None => ChannelBinding::none(),
        }
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
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
    use std::time::Duration;

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
    fn sslrootcert_system_means_verify_full_and_refuses_a_weaker_mode() {
        let mode = |url: &str| configure(url, "t").map(|(_, tls)| tls.settings.mode);
        assert_eq!(mode("postgres://u@h/db?sslrootcert=system").unwrap(), Mode::VerifyFull);
        assert_eq!(
            mode("postgres://u@h/db?sslrootcert=system&sslmode=verify-full").unwrap(),
            Mode::VerifyFull
        );
        let (url, tls) = configure("postgres://u@h/db?sslmode=verify-full&sslrootcert=system", "t").unwrap();
        assert_eq!(url, "postgres://u@h/db?sslmode=require");
        assert!(tls.settings.root.is_none(), "the system's roots, not a file named system");
        for weaker in ["disable", "allow", "prefer", "require", "verify-ca"] {
            let err = mode(&format!("postgres://u@h/db?sslmode={weaker}&sslrootcert=system")).unwrap_err();
            let err = err.to_string();
            assert!(
                err.contains("sslrootcert=system needs sslmode=verify-full, not sslmode="),
                "{weaker}: {err}"
            );
        }
    }

    #[test]
    fn sslmode_disable_reads_no_tls_file() {
        let url = "postgres://u@h/db?sslmode=disable&sslrootcert=%2Fnope.pem&sslcert=%2Fnope.crt&sslkey=%2Fnope.key";
        let (url, tls) = configure(url, "t").expect("libpq ignores the files without TLS");
        assert_eq!(url, "postgres://u@h/db?sslmode=disable");
        assert!(tls.settings.root.is_none() && tls.settings.client.is_none());
    }

    #[test]
    fn a_client_certificate_needs_its_key_readable_by_its_owner_only_and_unencrypted() {
        let dir = Scratch::new("client");
        dir.self_signed("ca", "/CN=Test CA", None);
        dir.signed_by_ca("client", "/CN=app", "basicConstraints=CA:FALSE");
        let url = |params: &str| format!("postgres://u@h/db?sslmode=require&{params}");
        let (cert, key) = (dir.path("client.crt"), dir.path("client.key"));
        let err = |params: &str| configure(&url(params), "t").err().expect("refused").to_string();
        assert_eq!(
            err(&format!("sslcert={cert}")),
            "cannot connect to t: sslcert needs sslkey: the client certificate's private key file"
        );
        assert!(err(&format!("sslkey={key}")).contains("sslkey needs sslcert"));
        assert!(err(&format!("sslcert={key}&sslkey={key}")).contains("is not a PEM certificate"));
        set_mode(&dir.0.join("client.key"), 0o644);
        assert!(
            err(&format!("sslcert={cert}&sslkey={key}"))
                .contains("is open to its group or others (mode 644)"),
            "{}",
            err(&format!("sslcert={cert}&sslkey={key}"))
        );
        set_mode(&dir.0.join("client.key"), 0o600);
        let (_, tls) =
            configure(&url(&format!("sslcert={cert}&sslkey={key}")), "t").expect("a usable identity");
        let client = tls.settings.client.as_ref().expect("read");
        assert_eq!(client.chain.len(), 1);
        tls.settings.connector().expect("rustls takes the certificate and its key");
        // An X.509 v1 certificate (PostgreSQL's manual's `openssl x509 -req`, no extensions),
        // which webpki does not parse: libpq takes it, so strata does.
        dir.output(&["req", "-new", "-key", "client.key", "-subj", "/CN=app", "-out", "v1.csr"]);
        dir.output(&[
            "x509", "-req", "-in", "v1.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-days", "2", "-out",
            "v1.crt",
        ]);
        assert!(dir.output(&["x509", "-in", "v1.crt", "-noout", "-text"]).contains("Version: 1"));
        let v1 = dir.path("v1.crt");
        let (_, tls) = configure(&url(&format!("sslcert={v1}&sslkey={key}")), "t").expect("a v1 identity");
        tls.settings.connector().expect("a v1 certificate with its key");
        // Another certificate's key: refused, naming both files.
        let other_key = dir.path("ca.key");
        set_mode(&dir.0.join("ca.key"), 0o600);
        let (_, tls) = configure(&url(&format!("sslcert={v1}&sslkey={other_key}")), "t").expect("read");
        let mismatch = tls.settings.connector().err().expect("mismatch").to_string();
        assert_eq!(
            mismatch,
            format!("cannot use sslcert {v1}: sslkey {other_key} is not the key of this certificate")
        );
        // An encrypted key, with or without its password in the URL: refused with the remedy.
        dir.output(&["pkey", "-in", "client.key", "-aes256", "-passout", "pass:pw", "-out", "locked.key"]);
        set_mode(&dir.0.join("locked.key"), 0o600);
        let locked = dir.path("locked.key");
        dir.output(&[
            "pkey",
            "-in",
            "client.key",
            "-traditional",
            "-aes256",
            "-passout",
            "pass:pw",
            "-out",
            "legacy.key",
        ]);
        set_mode(&dir.0.join("legacy.key"), 0o600);
        assert!(err(&format!("sslcert={cert}&sslkey={}", dir.path("legacy.key"))).contains("is encrypted:"));
        let message = err(&format!("sslcert={cert}&sslkey={locked}&sslpassword=pw"));
        assert!(
            message.contains("is encrypted (sslpassword is not used)") && message.contains("openssl pkey"),
            "{message}"
        );
        assert!(!message.contains("=pw"), "{message}");
        // A key file of something else.
        std::fs::write(dir.0.join("junk.key"), "not a key\n").unwrap();
        set_mode(&dir.0.join("junk.key"), 0o600);
        assert!(err(&format!("sslcert={cert}&sslkey={}", dir.path("junk.key")))
            .contains("is not a PEM private key"));
    }

    #[test]
    fn libpqs_other_connection_parameters_are_understood() {
        for ok in
            ["gssencmode=disable", "gssencmode=prefer", "sslcompression=0", "sslcompression=1", "sslsni=1"]
        {
            let (url, tls) = configure(&format!("postgres://u@h/db?{ok}"), "t").unwrap();
            assert_eq!(url, "postgres://u@h/db?sslmode=prefer", "the driver does not know {ok}");
            assert!(tls.settings.sni);
        }
        let (_, tls) = configure("postgres://u@h/db?sslsni=0", "t").unwrap();
        assert!(!tls.settings.sni);
        let err = configure("postgres://u@h/db?sslsni=yes", "t").err().expect("refused").to_string();
        assert!(err.contains("sslsni=yes is not 0 or 1"), "{err}");
        let err = configure("postgres://u@h/db?gssencmode=require", "t").err().expect("refused").to_string();
        assert!(err.contains("strata has no GSSAPI encryption"), "{err}");
        let err = configure("postgres://u@h/db?gssencmode=maybe", "t").err().expect("refused").to_string();
        assert!(err.contains("expected disable, prefer or require"), "{err}");
    }

    fn set_mode(path: &std::path::Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_question_mark_in_the_password_does_not_start_the_parameters() {
        let (url, _) = configure("postgres://u:pa?ss@h/db?sslmode=disable", "t").unwrap();
        assert_eq!(url, "postgres://u:pa?ss@h/db?sslmode=disable");
        let config: postgres::Config = url.parse().unwrap();
        assert_eq!((config.get_password(), config.get_dbname()), (Some(&b"pa?ss"[..]), Some("db")));
    }

    #[test]
    fn a_root_file_must_hold_certificates() {
        let dir = Scratch::new("roots");
        std::fs::write(dir.0.join("empty.pem"), "nothing here\n").unwrap();
        let url = format!("postgres://u@h/db?sslmode=verify-ca&sslrootcert={}", dir.path("empty.pem"));
        let err = configure(&url, "t").err().expect("refused").to_string();
        assert!(err.contains("is not a PEM certificate: it holds no BEGIN CERTIFICATE section"), "{err}");
        // Every certificate of the file is a root (libpq reads them all).
        dir.self_signed("a", "/CN=a", None);
        dir.self_signed("b", "/CN=b", None);
        let both = [std::fs::read(dir.0.join("a.crt")).unwrap(), std::fs::read(dir.0.join("b.crt")).unwrap()]
            .concat();
        std::fs::write(dir.0.join("both.pem"), both).unwrap();
        let roots = Roots::read(dir.path("both.pem")).unwrap();
        assert_eq!((roots.certificates.len(), roots.store.len()), (2, 2));
    }

    #[test]
    fn verify_ca_checks_the_chain_and_verify_full_the_name_too() {
        let dir = Scratch::new("chain");
        dir.self_signed("ca", "/CN=Test CA", None);
        dir.signed_by_ca("server", "/CN=db.example.test", "subjectAltName=DNS:db.example.test");
        let (ca, server) = (dir.der("ca.crt"), dir.der("server.crt"));
        let full = verifier(&ca, true);
        assert!(check(&full, &server, "db.example.test").is_ok());
        assert!(check(&full, &server, "DB.Example.Test").is_ok(), "host names ignore case");
        let err = check(&full, &server, "other.example.test").expect_err("another host");
        assert_eq!(
            message(err, "other.example.test"),
            "the server's certificate is not trusted (sslmode=verify-full): it is not issued for the host \
             name other.example.test (it is for db.example.test)"
        );
        // verify-ca: any host name, but only this root's certificates.
        let ca_only = verifier(&ca, false);
        assert!(check(&ca_only, &server, "other.example.test").is_ok());
        dir.self_signed("stranger", "/CN=Another CA", None);
        let err = check(&verifier(&dir.der("stranger.crt"), false), &server, "db.example.test").unwrap_err();
        assert_eq!(
            message(err, "db.example.test"),
            "the server's certificate is not trusted (sslmode=verify-full): it is not signed by a certificate \
             authority in sslrootcert root.crt"
        );
        // A certificate past its end is refused with the date.
        let later = UnixTime::since_unix_epoch(Duration::from_secs(UnixTime::now().as_secs() + 3 * 86_400));
        let err = full.verify_server_cert(&server, &[], &name("db.example.test"), &[], later).unwrap_err();
        let err = message(err, "db.example.test");
        assert!(err.contains("(sslmode=verify-full): it expired on 20"), "{err}");
    }

    #[test]
    fn a_self_signed_certificate_given_as_root_is_trusted_as_itself() {
        // `openssl req -x509`, PostgreSQL's manual's recipe, marks the certificate as a CA:
        // webpki would refuse it as a server's certificate, OpenSSL (libpq) trusts it.
        let dir = Scratch::new("pinned");
        dir.self_signed("server", "/CN=localhost", Some("subjectAltName=DNS:localhost"));
        let server = dir.der("server.crt");
        assert!(check(&verifier(&server, true), &server, "localhost").is_ok());
        assert!(check(&verifier(&server, false), &server, "elsewhere").is_ok());
        let err = check(&verifier(&server, true), &server, "elsewhere").unwrap_err();
        assert!(message(err, "elsewhere").contains("not issued for the host name elsewhere"));
        // Only that very certificate: the same name and key in another certificate is not it.
        let mut unpinned = verifier(&server, true);
        if let Some(trust) = unpinned.trust.as_mut() {
            trust.pinned.clear();
        }
        assert!(check(&unpinned, &server, "localhost").is_err(), "webpki accepted a CA as the server");
        dir.self_signed("stranger", "/CN=localhost", Some("subjectAltName=DNS:localhost"));
        let err = check(&verifier(&dir.der("stranger.crt"), true), &server, "localhost").unwrap_err();
        assert_eq!(
            message(err, "localhost"),
            "the server's certificate is not trusted (sslmode=verify-full): it is self-signed, and not in \
             sslrootcert root.crt"
        );
        // Its validity period still counts.
        let later = UnixTime::since_unix_epoch(Duration::from_secs(UnixTime::now().as_secs() + 3 * 86_400));
        let pinned = verifier(&server, true);
        let err = pinned.verify_server_cert(&server, &[], &name("localhost"), &[], later).unwrap_err();
        assert!(message(err, "localhost").contains("it expired on"));
        let earlier = UnixTime::since_unix_epoch(Duration::from_secs(UnixTime::now().as_secs() - 86_400));
        let err = pinned.verify_server_cert(&server, &[], &name("localhost"), &[], earlier).unwrap_err();
        assert!(message(err, "localhost").contains("it is not valid before"));
    }

    #[test]
    fn the_common_name_counts_only_without_an_alt_name_of_the_hosts_kind() {
        let dir = Scratch::new("cn");
        dir.self_signed("ca", "/CN=Test CA", None);
        dir.signed_by_ca("cn", "/CN=db.example.test", "basicConstraints=CA:FALSE");
        dir.signed_by_ca("wild", "/CN=*.example.test", "basicConstraints=CA:FALSE");
        dir.signed_by_ca("ip", "/CN=127.0.0.1", "basicConstraints=CA:FALSE");
        dir.signed_by_ca("san", "/CN=cn.example.test", "subjectAltName=DNS:san.example.test");
        let full = verifier(&dir.der("ca.crt"), true);
        let cn = dir.der("cn.crt");
        assert!(check(&full, &cn, "db.example.test").is_ok());
        assert!(check(&full, &cn, "other.example.test").is_err());
        let wild = dir.der("wild.crt");
        assert!(check(&full, &wild, "db.example.test").is_ok());
        assert!(check(&full, &wild, "a.db.example.test").is_err(), "a wildcard is one label");
        assert!(check(&full, &wild, "example.test").is_err());
        assert!(check(&full, &dir.der("ip.crt"), "127.0.0.1").is_ok());
        let san = dir.der("san.crt");
        assert!(check(&full, &san, "san.example.test").is_ok());
        assert!(check(&full, &san, "cn.example.test").is_err(), "a DNS alt name hides the common name");
        let names = x509::Certificate::parse(&san).unwrap().names();
        assert_eq!(
            names,
            x509::Names {
                has_dns_san: true,
                has_ip_san: false,
                common_names: vec!["cn.example.test".into()]
            }
        );
    }

    #[test]
    fn channel_binding_hashes_with_the_signatures_hash() {
        let dir = Scratch::new("binding");
        let make = |key: &[&str], name: &str| {
            let (subject, key_file, crt) =
                (format!("/CN={name}"), format!("{name}.key"), format!("{name}.crt"));
            let mut args = vec!["req", "-x509", "-nodes", "-days", "2", "-subj", &subject];
            args.extend_from_slice(key);
            args.extend(["-keyout", &key_file, "-out", &crt]);
            dir.output(&args);
        };
        make(&["-newkey", "rsa:2048"], "r");
        make(&["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-sha384"], "e");
        make(&["-newkey", "ed25519"], "d");
        let hash = |file: &str| x509::Certificate::parse(&dir.der(file)).and_then(|c| c.signature_hash());
        assert_eq!(hash("r.crt"), Some(x509::Hash::Sha256));
        assert_eq!(hash("e.crt"), Some(x509::Hash::Sha384));
        assert_eq!(hash("d.crt"), None, "Ed25519 has no hash of its own: no binding");
        let der = dir.der("r.crt");
        let fingerprint = dir.output(&["x509", "-in", "r.crt", "-noout", "-fingerprint", "-sha256"]);
        let expected: String = fingerprint.trim().rsplit('=').next().unwrap().replace(':', "").to_lowercase();
        let digest: String = x509::Hash::Sha256.digest(&der).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(digest, expected);
    }

    #[test]
    fn names_match_like_libpq() {
        assert!(name_matches("db.example.test", "DB.example.test."));
        assert!(name_matches("*.example.test", "db.EXAMPLE.test"));
        assert!(!name_matches("*.example.test", "example.test"));
        assert!(!name_matches("*.example.test", ".example.test"));
        assert!(!name_matches("*.example.test", "a.b.example.test"));
        assert!(!name_matches("db*.example.test", "db1.example.test"));
    }

    fn name(host: &str) -> ServerName<'static> {
        ServerName::try_from(host.to_string()).unwrap()
    }

    /// A verify-full (`check_host`) or verify-ca verifier trusting `root`, as for
    /// `sslrootcert`.
    fn verifier(root: &CertificateDer<'static>, check_host: bool) -> Verifier {
        let mut store = RootCertStore::empty();
        store.add(root.clone()).unwrap();
        let algorithms = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        let trust = Trust { roots: Arc::new(store), pinned: vec![root.clone()], check_host };
        Verifier { trust: Some(trust), algorithms }
    }

    fn check(verifier: &Verifier, certificate: &CertificateDer<'_>, host: &str) -> Result<(), rustls::Error> {
        verifier.verify_server_cert(certificate, &[], &name(host), &[], UnixTime::now()).map(|_| ())
    }

    /// The connection error's sentence for a refused certificate.
    fn message(error: rustls::Error, host: &str) -> String {
        let rustls::Error::InvalidCertificate(error) = error else { panic!("{error:?}") };
        let roots = "sslrootcert root.crt".to_string();
        TlsError::Certificate { host: host.to_string(), mode: "verify-full", roots, error }.to_string()
    }

    /// A scratch directory of certificates made with the `openssl` command, as the testkit's
    /// TLS server makes its own.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("strata-tls-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn path(&self, file: &str) -> String {
            self.0.join(file).display().to_string()
        }

        fn output(&self, args: &[&str]) -> String {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(&self.0)
                .output()
                .expect("the openssl command (the TLS tests make their certificates with it)");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).into_owned()
        }

        /// `NAME.crt`, self-signed (and so a CA, as `openssl req -x509` makes it).
        fn self_signed(&self, name: &str, subject: &str, extension: Option<&str>) {
            let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
            let mut args =
                vec!["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
            args.extend(["-days", "2", "-subj", subject, "-keyout", &key, "-out", &crt]);
            if let Some(extension) = extension {
                args.extend(["-addext", extension]);
            }
            self.output(&args);
        }

        /// `NAME.crt`, signed by `ca.crt`, with the extensions in `extensions`.
        fn signed_by_ca(&self, name: &str, subject: &str, extensions: &str) {
            let (key, csr, crt, ext) =
                (format!("{name}.key"), format!("{name}.csr"), format!("{name}.crt"), format!("{name}.ext"));
            std::fs::write(self.0.join(&ext), format!("{extensions}\n")).unwrap();
            self.output(
                &["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
                    .into_iter()
                    .chain(["-subj", subject, "-keyout", &key, "-out", &csr])
                    .collect::<Vec<_>>(),
            );
            self.output(
                &["x509", "-req", "-in", &csr, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"]
                    .into_iter()
                    .chain(["-days", "2", "-extfile", &ext, "-out", &crt])
                    .collect::<Vec<_>>(),
            );
        }

        fn der(&self, file: &str) -> CertificateDer<'static> {
            CertificateDer::from_pem_file(self.0.join(file)).unwrap()
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
