//! Keeping passwords out of connect errors. The URL's Display form is already redacted; this
//! covers the driver's own text, which is not ours to control.

/// The password of a URL as written and percent-decoded, from the userinfo and any
/// `password=` parameter, so that no error can repeat it.
pub(super) fn secrets_in(url: &str) -> Vec<String> {
    let mut raw = Vec::new();
    if let Some((_, rest)) = url.split_once("://") {
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if let Some((_, password)) = userinfo.split_once(':') {
                raw.push(password.to_string());
            }
        }
    }
    if let Some((_, query)) = url.split_once('?') {
        for pair in query.split('&') {
            if let Some(password) = pair.strip_prefix("password=") {
                raw.push(password.to_string());
            }
        }
    }
    let decoded: Vec<String> = raw.iter().map(|p| percent_decode(p)).collect();
    raw.into_iter().chain(decoded).filter(|s| !s.is_empty()).collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn scrub(message: &str, secrets: &[String]) -> String {
    secrets.iter().fold(message.to_string(), |m, secret| m.replace(secret.as_str(), "***"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_userinfo_and_parameter_passwords_raw_and_decoded() {
        assert_eq!(secrets_in("postgres://u:p%40ss@h/db"), ["p%40ss", "p@ss"]);
        assert_eq!(secrets_in("postgres://h/db?user=u&password=x1"), ["x1", "x1"]);
        assert!(secrets_in("postgres://u@h/db").is_empty());
        assert_eq!(scrub("bad p@ss here", &secrets_in("postgres://u:p%40ss@h/db")), "bad *** here");
    }
}
