//! The few fields of an X.509 certificate that rustls does not expose and libpq's checks
//! need: the signature algorithm (for channel binding), the validity period (for a
//! self-signed certificate trusted as itself), the names (for the common-name fallback) and
//! the public key (to check that `sslkey` belongs to `sslcert` even in an X.509 v1
//! certificate, which webpki refuses to parse and OpenSSL's recipes still make).
//! A minimal DER walk: anything it does not understand reads as `None`, never a panic.

use sha2::Digest;

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const INTEGER: u8 = 0x02;
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
/// `[0]` EXPLICIT, the version of the TBSCertificate; `[3]` EXPLICIT, its extensions.
const VERSION: u8 = 0xA0;
const EXTENSIONS: u8 = 0xA3;
/// GeneralName choices: `[2] dNSName`, `[7] iPAddress`.
const DNS_NAME: u8 = 0x82;
const IP_ADDRESS: u8 = 0x87;

/// 2.5.29.17, subjectAltName.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1D, 0x11];
/// 2.5.4.3, commonName.
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// The fields of one certificate, borrowed from its DER.
pub(super) struct Certificate<'a> {
    signature_algorithm: &'a [u8],
    /// Seconds since the Unix epoch.
    pub(super) not_before: i64,
    pub(super) not_after: i64,
    issuer: &'a [u8],
    subject: &'a [u8],
    /// The contents of the SubjectPublicKeyInfo sequence.
    pub(super) public_key: &'a [u8],
    extensions: Option<&'a [u8]>,
}

/// The hash of a certificate's signature, for `tls-server-end-point` channel binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub(super) fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// The names a certificate gives its subject, for host name checks.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Names {
    pub(super) has_dns_san: bool,
    pub(super) has_ip_san: bool,
    pub(super) common_names: Vec<String>,
}

impl<'a> Certificate<'a> {
    pub(super) fn parse(der: &'a [u8]) -> Option<Certificate<'a>> {
        let mut outer = Reader(der);
        let mut certificate = Reader(outer.expect(SEQUENCE)?);
        let mut tbs = Reader(certificate.expect(SEQUENCE)?);
        let signature_algorithm = Reader(certificate.expect(SEQUENCE)?).expect(OID)?;
        let (mut tag, _) = tbs.next()?;
        if tag == VERSION {
            (tag, _) = tbs.next()?;
        }
        if tag != INTEGER {
            return None;
        }
        tbs.expect(SEQUENCE)?; // the signature algorithm, again
        let issuer = tbs.expect(SEQUENCE)?;
        let mut validity = Reader(tbs.expect(SEQUENCE)?);
        let not_before = time(validity.next()?)?;
        let not_after = time(validity.next()?)?;
        let subject = tbs.expect(SEQUENCE)?;
        let public_key = tbs.expect(SEQUENCE)?;
        let mut extensions = None;
        while let Some((tag, content)) = tbs.next() {
            if tag == EXTENSIONS {
                extensions = Some(Reader(content).expect(SEQUENCE)?);
            }
        }
        Some(Certificate {
            signature_algorithm,
            not_before,
            not_after,
            issuer,
            subject,
            public_key,
            extensions,
        })
    }

    /// Whether it names itself as its issuer (a self-signed certificate).
    pub(super) fn self_issued(&self) -> bool {
        self.issuer == self.subject
    }

    /// The hash RFC 5929 binds to: the signature's, with MD5 and SHA-1 raised to SHA-256.
    /// `None` for a signature without one of its own (Ed25519, RSA-PSS's parameters): the
    /// connection then offers no binding, as PostgreSQL's server cannot compute one either.
    pub(super) fn signature_hash(&self) -> Option<Hash> {
        const RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01];
        const ECDSA_SHA1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01];
        const ECDSA_SHA2: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03];
        let oid = self.signature_algorithm;
        if oid == ECDSA_SHA1 {
            return Some(Hash::Sha256);
        }
        if let Some(&[last]) = oid.strip_prefix(RSA) {
            // md5, sha1, sha256, sha384, sha512 WithRSAEncryption
            return match last {
                0x04 | 0x05 | 0x0B => Some(Hash::Sha256),
                0x0C => Some(Hash::Sha384),
                0x0D => Some(Hash::Sha512),
                _ => None,
            };
        }
        match oid.strip_prefix(ECDSA_SHA2) {
            Some(&[0x02]) => Some(Hash::Sha256),
            Some(&[0x03]) => Some(Hash::Sha384),
            Some(&[0x04]) => Some(Hash::Sha512),
            _ => None,
        }
    }

    /// The subjectAltName kinds present and the subject's common names.
    pub(super) fn names(&self) -> Names {
        let mut names = Names::default();
        let mut extensions = Reader(self.extensions.unwrap_or_default());
        while let Some((_, extension)) = extensions.next() {
            let mut extension = Reader(extension);
            let Some(oid) = extension.expect(OID) else { continue };
            let Some(mut value) = extension.next() else { continue };
            if value.0 == BOOLEAN {
                let Some(next) = extension.next() else { continue };
                value = next;
            }
            if oid != SUBJECT_ALT_NAME || value.0 != OCTET_STRING {
                continue;
            }
            let mut general_names = Reader(Reader(value.1).expect(SEQUENCE).unwrap_or_default());
            while let Some((tag, _)) = general_names.next() {
                names.has_dns_san |= tag == DNS_NAME;
                names.has_ip_san |= tag == IP_ADDRESS;
            }
        }
        let mut rdns = Reader(self.subject);
        while let Some((SET, set)) = rdns.next() {
            let mut set = Reader(set);
            while let Some((SEQUENCE, attribute)) = set.next() {
                let mut attribute = Reader(attribute);
                if attribute.expect(OID) != Some(COMMON_NAME) {
                    continue;
                }
                // UTF8String, PrintableString, T61String, IA5String; a NUL byte (a known
                // trick against C string compares) makes the name unusable.
                if let Some((0x0C | 0x13 | 0x14 | 0x16, text)) = attribute.next() {
                    if let Ok(text) = std::str::from_utf8(text) {
                        if !text.contains('\0') {
                            names.common_names.push(text.to_string());
                        }
                    }
                }
            }
        }
        names
    }
}

/// A DER time (UTCTime or GeneralizedTime, in UTC as RFC 5280 requires) as Unix seconds.
fn time((tag, content): (u8, &[u8])) -> Option<i64> {
    let text = std::str::from_utf8(content).ok()?;
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match (tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy: i32 = digits[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &digits[2..])
        }
        (GENERALIZED_TIME, 14) => (digits[..4].parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let field = |i: usize| rest[i..i + 2].parse::<u32>().ok();
    let date = chrono::NaiveDate::from_ymd_opt(year, field(0)?, field(2)?)?;
    Some(date.and_hms_opt(field(4)?, field(6)?, field(8)?)?.and_utc().timestamp())
}

/// DER elements one after another: (tag, content).
/// The contents of a DER SEQUENCE that is the whole of `der` (a SubjectPublicKeyInfo, say).
pub(super) fn sequence_contents(der: &[u8]) -> Option<&[u8]> {
    let mut reader = Reader(der);
    let contents = reader.expect(SEQUENCE)?;
    reader.0.is_empty().then_some(contents)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let length = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7F);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let (bytes, tail) = rest.split_at(count);
            rest = tail;
            bytes.iter().fold(0usize, |length, &b| (length << 8) | usize::from(b))
        };
        if rest.len() < length {
            return None;
        }
        let (content, tail) = rest.split_at(length);
        self.0 = tail;
        Some((tag, content))
    }

    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        self.next().filter(|(t, _)| *t == tag).map(|(_, content)| content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_times_in_both_encodings() {
        assert_eq!(time((UTC_TIME, b"700101000000Z")), Some(0));
        assert_eq!(time((UTC_TIME, b"491231235959Z")), Some(2_524_607_999));
        assert_eq!(time((GENERALIZED_TIME, b"20500101000000Z")), Some(2_524_608_000));
        assert_eq!(time((UTC_TIME, b"701301000000Z")), None, "month 13");
        assert_eq!(time((UTC_TIME, b"7001010000+0Z")), None);
        assert_eq!(time((UTC_TIME, b"700101000000")), None, "not UTC");
    }

    #[test]
    fn malformed_der_reads_as_nothing() {
        for der in [&b""[..], &[0x30], &[0x30, 0x85, 1, 1, 1, 1, 1], &[0x30, 0x05, 0x30, 0x00]] {
            assert!(Certificate::parse(der).is_none(), "{der:?}");
        }
        assert_eq!(Reader(&[0x04, 0x81, 0x02, 0xAA, 0xBB]).next(), Some((0x04, &[0xAA, 0xBB][..])));
    }
}
