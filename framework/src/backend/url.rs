//! Database URLs: `sqlite://PATH[?mode=ro|rw|rwc|memory&cache=shared|private]`, `sqlite::memory:`,
//! `postgres://...`, `postgresql://...`. A SQLite path is percent-decoded.
//! The password is kept out of every `Display` and `Debug` form.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A parsed database URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file (created if missing, unless `options` say otherwise).
    Sqlite {
        /// The file's path (percent-decoded), relative to the working directory unless absolute.
        path: PathBuf,
        /// The URL's parameters.
        options: SqliteOptions,
    },
    /// A private in-memory SQLite database.
    SqliteMemory,
    /// A PostgreSQL server; `url` is handed to the driver as given (sslmode and other
    /// standard parameters included).
    Postgres {
        /// The URL as given.
        url: String,
    },
}

/// The parameters of a `sqlite://` URL, as SQLite's own URI filenames spell them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqliteOptions {
    /// `mode=`: how the file is opened.
    pub mode: SqliteMode,
    /// `None`: SQLite's default (private unless the process enabled shared cache).
    pub cache: Option<SqliteCache>,
}

/// `mode=`: how the file is opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SqliteMode {
    /// `ro`: read-only; the file must exist. Anything that would write fails.
    ReadOnly,
    /// `rw`: read and write; the file must exist.
    ReadWrite,
    /// `rwc` (the default): read and write, creating the file if missing.
    #[default]
    ReadWriteCreate,
    /// `memory`: an in-memory database named by the path (shared with `cache=shared`).
    Memory,
}

/// `cache=`: SQLite's shared or private page cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteCache {
    /// `shared`: connections of this process share one page cache.
    Shared,
    /// `private`: a page cache per connection.
    Private,
}

/// What a `sqlite://` URL accepts, for messages.
const SQLITE_PARAMETERS: &str = "mode=ro|rw|rwc|memory, cache=shared|private";

impl SqliteMode {
    fn as_str(self) -> &'static str {
        match self {
            SqliteMode::ReadOnly => "ro",
            SqliteMode::ReadWrite => "rw",
            SqliteMode::ReadWriteCreate => "rwc",
            SqliteMode::Memory => "memory",
        }
    }
}

impl SqliteCache {
    fn as_str(self) -> &'static str {
        match self {
            SqliteCache::Shared => "shared",
            SqliteCache::Private => "private",
        }
    }
}

/// Decodes `%XX` escapes strictly (SQLite paths); `None` on a `%` not followed by two hex digits.
fn percent_decode_strict(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Escapes what would not read back as the same path: `%`, `?`, `#`, whitespace and controls.
fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c == '%' || c == '?' || c == '#' || c.is_whitespace() || c.is_control() {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `sqlite://PATH[?PARAMS]` or `sqlite:PATH[?PARAMS]` once the scheme is gone.
fn parse_sqlite(url: &str, rest: &str) -> Result<DatabaseUrl, UrlError> {
    let malformed = |reason: String| UrlError::Malformed { url: url.to_string(), reason };
    let (raw_path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if raw_path.is_empty() {
        return Err(UrlError::EmptySqlitePath);
    }
    let decoded = percent_decode_strict(raw_path).ok_or_else(|| {
        malformed(format!("its path {raw_path:?} has a % that is not followed by two hex digits (write %25 for a literal %)"))
    })?;
    let path = String::from_utf8(decoded)
        .map_err(|_| malformed(format!("its path {raw_path:?} does not percent-decode to UTF-8")))?;
    let mut options = SqliteOptions::default();
    let (mut mode_seen, mut cache_seen) = (false, false);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode_strict(value).and_then(|v| String::from_utf8(v).ok()).unwrap_or_default();
        let bad_value = |expected: &str| {
            malformed(format!("the parameter {key} has the value {value:?}; expected {key}={expected}"))
        };
        let seen = match key {
            "mode" => {
                options.mode = match value.as_str() {
                    "ro" => SqliteMode::ReadOnly,
                    "rw" => SqliteMode::ReadWrite,
                    "rwc" => SqliteMode::ReadWriteCreate,
                    "memory" => SqliteMode::Memory,
                    _ => return Err(bad_value("ro|rw|rwc|memory")),
                };
                &mut mode_seen
            }
            "cache" => {
                options.cache = Some(match value.as_str() {
                    "shared" => SqliteCache::Shared,
                    "private" => SqliteCache::Private,
                    _ => return Err(bad_value("shared|private")),
                });
                &mut cache_seen
            }
            _ => {
                return Err(malformed(format!(
                    "it has the unknown parameter {key:?}; a sqlite:// URL supports {SQLITE_PARAMETERS}"
                )))
            }
        };
        if std::mem::replace(seen, true) {
            return Err(malformed(format!("the parameter {key} is given twice")));
        }
    }
    Ok(DatabaseUrl::Sqlite { path: PathBuf::from(path), options })
}

impl DatabaseUrl {
    /// A SQLite file with the default options (read, write, create if missing).
    pub fn sqlite(path: impl Into<PathBuf>) -> DatabaseUrl {
        DatabaseUrl::Sqlite { path: path.into(), options: SqliteOptions::default() }
    }
}

/// A URL strata cannot use; the message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// Holds what may be shown of the input: its scheme at most.
    #[error("database URL {0}: expected sqlite://PATH, sqlite::memory:, postgres://... or postgresql://...")]
    UnknownScheme(String),
    /// `sqlite://` with nothing after it.
    #[error("database URL sqlite:// has no path: expected sqlite://PATH such as sqlite://app.db")]
    EmptySqlitePath,
    /// The URL has the right scheme but cannot be parsed.
    #[error("database URL {url} is malformed: {reason}")]
    Malformed {
        /// The URL, its password redacted.
        url: String,
        /// What is wrong.
        reason: String,
    },
}

impl FromStr for DatabaseUrl {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "sqlite::memory:" || s == "sqlite://:memory:" {
            return Ok(DatabaseUrl::SqliteMemory);
        }
        if let Some(rest) = s.strip_prefix("sqlite://").or_else(|| s.strip_prefix("sqlite:")) {
            return parse_sqlite(s, rest);
        }
        if let Some(parts) = PostgresUrl::split(s) {
            if parts.rest.is_empty() {
                return Err(UrlError::Malformed {
                    url: redact(s),
                    reason: "expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMS]".into(),
                });
            }
            return Ok(DatabaseUrl::Postgres { url: s.to_string() });
        }
        Err(UrlError::UnknownScheme(scheme_hint(s)))
    }
}

/// What the unknown-scheme error may say about `s`: its scheme at most, never the rest (which
/// may hold a password).
fn scheme_hint(s: &str) -> String {
    const NOT_SHOWN: &str = "the rest is not shown: it may hold a password";
    let scheme = s.split_once(':').map(|(scheme, _)| scheme).filter(|scheme| {
        let mut chars = scheme.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    match scheme {
        Some(scheme) => {
            let lower = scheme.to_ascii_lowercase();
            let hint = match lower.as_str() {
                "postgres" | "postgresql" if scheme != lower => "; write the scheme in lower case",
                "postgres" | "postgresql" | "sqlite" => "; the scheme is followed by ://",
                _ => "",
            };
            format!("has the unknown scheme {scheme:?} ({NOT_SHOWN}){hint}")
        }
        None if s.contains('=') => format!(
            "has no scheme ({NOT_SHOWN}); key=value connection strings are not accepted: write postgres://USER:PASSWORD@HOST/DATABASE"
        ),
        None => format!("has no scheme ({NOT_SHOWN})"),
    }
}

/// A `postgres://` or `postgresql://` URL split the way the driver (`tokio-postgres`'s
/// `Config::from_str`, after libpq) splits it: the userinfo runs to the first `@` anywhere,
/// the password from its first `:`; the host and path follow, and the parameters start at
/// the first `?` after the userinfo. Every reader of a URL's parts uses this one split, so
/// that what is redacted is exactly what the driver takes as the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PostgresUrl<'a> {
    /// `postgres://` or `postgresql://`.
    pub prefix: &'a str,
    /// Everything after the prefix.
    pub rest: &'a str,
    /// The userinfo (before the first `@`), if any.
    pub userinfo: Option<&'a str>,
    /// Host, port and path: between the userinfo and the parameters.
    pub authority_and_path: &'a str,
    /// The parameters after the `?`, if any.
    pub query: Option<&'a str>,
}

impl<'a> PostgresUrl<'a> {
    /// The parts of `url`, or `None` when it is not a URL the driver's URL parser takes
    /// (the driver then reads it as `key=value` pairs).
    pub(crate) fn split(url: &'a str) -> Option<Self> {
        let prefix = ["postgres://", "postgresql://"].into_iter().find(|p| url.starts_with(p))?;
        let rest = &url[prefix.len()..];
        let (userinfo, after) = match rest.find('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let (authority_and_path, query) = match after.find('?') {
            Some(q) => (&after[..q], Some(&after[q + 1..])),
            None => (after, None),
        };
        Some(PostgresUrl { prefix: &url[..prefix.len()], rest, userinfo, authority_and_path, query })
    }

    /// The host part as written (the first of a list), without port or brackets.
    pub(crate) fn host(&self) -> &'a str {
        let host_port = self.authority_and_path.split('/').next().unwrap_or_default();
        let host_port = host_port.rsplit('@').next().unwrap_or_default();
        let first = host_port.split(',').next().unwrap_or_default();
        match first.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
            None => first.split(':').next().unwrap_or_default(),
        }
    }

    /// Byte offset of the parameters (after the `?`) in the whole URL.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn query_offset(&self, url: &str) -> Option<usize> {
        self.query.map(|q| url.len() - q.len())
    }
}

/// Whether a parameter or keyword carries a secret: `password` in any case (the driver
/// knows only `password`; `PASSWORD` and `sslpassword` are refused by it but still hidden).
fn is_secret_key(key: &str) -> bool {
    key.to_ascii_lowercase().ends_with("password")
}

/// A password's place in a connection string, and its value as the driver reads it
/// (percent-decoded in a URL, unescaped in `key=value` form).
struct Secret {
    span: std::ops::Range<usize>,
    value: String,
}

/// Every password in `text`, a URL or a `key=value` connection string, found by the
/// driver's own parse.
fn secrets(text: &str) -> Vec<Secret> {
    match PostgresUrl::split(text) {
        Some(url) => url_secrets(text, &url),
        None => keyword_secrets(text),
    }
}

fn url_secrets(text: &str, url: &PostgresUrl) -> Vec<Secret> {
    let mut found = Vec::new();
    let offset = |part: &str| part.as_ptr() as usize - text.as_ptr() as usize;
    if let Some((_, password)) = url.userinfo.and_then(|u| u.split_once(':')) {
        let start = offset(password);
        // The driver's password ends at the first `@`. A host cannot hold an `@`, so one
        // there means the password had several: hide up to the last one too.
        let host_part = url.authority_and_path.split('/').next().unwrap_or_default();
        match host_part.rfind('@') {
            Some(last) => {
                let end = offset(host_part) + last;
                found.push(Secret { span: start..end, value: percent_decode(&text[start..end]) });
                found.push(Secret { span: start..start, value: percent_decode(password) });
                found.push(Secret { span: start..start, value: password.to_string() });
            }
            None => {
                found.push(Secret { span: start..start + password.len(), value: percent_decode(password) })
            }
        }
    }
    if let Some(mut rest) = url.query {
        // As the driver reads parameters: the key runs to the next `=`, the value to the next `&`.
        while let Some(eq) = rest.find('=') {
            let key = percent_decode(&rest[..eq]);
            let after = &rest[eq + 1..];
            let (value, mut next) = match after.find('&') {
                Some(amp) => (&after[..amp], &after[amp + 1..]),
                None => (after, ""),
            };
            if is_secret_key(&key) {
                let start = offset(value);
                let mut end = start + value.len();
                // Pieces without `=` after it (the driver refuses them) are the password's
                // own `&`s: hide them too.
                while !next.is_empty() {
                    let piece = next.split('&').next().unwrap_or_default();
                    if piece.contains('=') {
                        break;
                    }
                    end = offset(piece) + piece.len();
                    next = next.get(piece.len() + 1..).unwrap_or_default();
                }
                found.push(Secret { span: start..end, value: percent_decode(&text[start..end]) });
                if end != start + value.len() {
                    found.push(Secret { span: start..start, value: percent_decode(value) });
                }
            }
            rest = next;
        }
    }
    found
}

/// `key=value` pairs as the driver reads them: whitespace between pairs and around `=`,
/// values bare (to the next whitespace) or in single quotes, with backslash escapes.
fn keyword_secrets(text: &str) -> Vec<Secret> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let skip_ws = |mut i: usize| {
        while i < text.len() && text[i..].starts_with(char::is_whitespace) {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
        i
    };
    loop {
        i = skip_ws(i);
        let key_start = i;
        while i < text.len() && !text[i..].starts_with(|c: char| c.is_whitespace() || c == '=') {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
        if i == key_start {
            return found;
        }
        let key = &text[key_start..i];
        i = skip_ws(i);
        if bytes.get(i) != Some(&b'=') {
            return found;
        }
        i = skip_ws(i + 1);
        let quoted = bytes.get(i) == Some(&b'\'');
        if quoted {
            i += 1;
        }
        let value_start = i;
        let mut value = String::new();
        while let Some(c) = text[i..].chars().next() {
            if (quoted && c == '\'') || (!quoted && c.is_whitespace()) {
                break;
            }
            i += c.len_utf8();
            if c == '\\' {
                if let Some(escaped) = text[i..].chars().next() {
                    value.push(escaped);
                    i += escaped.len_utf8();
                }
            } else {
                value.push(c);
            }
        }
        if is_secret_key(key) {
            found.push(Secret { span: value_start..i, value });
        }
        if quoted && i < text.len() {
            i += 1;
        }
    }
}

/// `text` (a URL or a `key=value` connection string) with every password replaced by `***`:
/// in the userinfo (up to the first `@`, as the driver reads it) and in every `password`
/// parameter, whatever its case. The one redaction: URL display, connect errors and logs
/// all come here or to [`secrets_in`].
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    for secret in secrets(text).iter().rev() {
        if !secret.span.is_empty() {
            out.replace_range(secret.span.clone(), "***");
        }
    }
    out
}

/// The passwords of `text` (a URL or a `key=value` connection string) as written and as the
/// driver reads them, for scrubbing text strata does not control (driver errors, logs,
/// panics). Empty passwords are left out.
pub fn secrets_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for secret in secrets(text) {
        for s in [text[secret.span].to_string(), secret.value] {
            if !s.is_empty() && !out.contains(&s) {
                out.push(s);
            }
        }
    }
    // Longest first, so that a password containing another is replaced whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// `message` with every one of `secrets` replaced by `***`.
pub fn scrub(message: &str, secrets: &[String]) -> String {
    secrets.iter().fold(message.to_string(), |m, secret| m.replace(secret.as_str(), "***"))
}

/// Percent-decoding as the driver does it (invalid escapes kept as written).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok());
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

impl DatabaseUrl {
    /// The full URL, password included, for handing to another process. Never log it: the
    /// `Display` form is the one to show.
    pub fn connection_string(&self) -> String {
        match self {
            DatabaseUrl::Postgres { url } => url.clone(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Parses back to the same URL, so it can be handed to another process.
            DatabaseUrl::Sqlite { path, options } => {
                write!(f, "sqlite://{}", percent_encode_path(&path.to_string_lossy()))?;
                let mut params = Vec::new();
                if options.mode != SqliteMode::default() {
                    params.push(format!("mode={}", options.mode.as_str()));
                }
                if let Some(cache) = options.cache {
                    params.push(format!("cache={}", cache.as_str()));
                }
                if !params.is_empty() {
                    write!(f, "?{}", params.join("&"))?;
                }
                Ok(())
            }
            DatabaseUrl::SqliteMemory => f.write_str("sqlite::memory:"),
            DatabaseUrl::Postgres { url } => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_supported_forms() {
        assert_eq!("sqlite://app.db".parse(), Ok(DatabaseUrl::sqlite("app.db")));
        assert_eq!("sqlite:///tmp/x.db".parse(), Ok(DatabaseUrl::sqlite("/tmp/x.db")));
        assert_eq!("sqlite::memory:".parse(), Ok(DatabaseUrl::SqliteMemory));
        assert!(matches!("postgresql://u@h/db?sslmode=disable".parse(), Ok(DatabaseUrl::Postgres { .. })));
        assert_eq!("sqlite://".parse::<DatabaseUrl>(), Err(UrlError::EmptySqlitePath));
        let err = "mysql://u:secret@h/db".parse::<DatabaseUrl>().unwrap_err().to_string();
        assert!(err.contains("expected sqlite://PATH") && !err.contains("secret"), "{err}");
    }

    #[test]
    fn never_shows_a_password() {
        let url: DatabaseUrl = "postgres://app:s3cr3t@db.example:5432/app?sslmode=require".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://app:***@db.example:5432/app?sslmode=require");
        assert!(!format!("{url:?}").contains("s3cr3t"));
        assert_eq!(
            redact("postgres://h/db?user=a&password=p4ss&x=1"),
            "postgres://h/db?user=a&password=***&x=1"
        );
        assert_eq!(redact("postgres://app@h/db"), "postgres://app@h/db");
    }

    /// URL shapes, what they show, and the passwords they hold (as the driver reads them
    /// first). Every password contains "hunter" or "pa", so a leak is easy to spot.
    pub(crate) const SHAPES: &[(&str, &str, &[&str])] = &[
        ("postgres://u:hunter2@h/db", "postgres://u:***@h/db", &["hunter2"]),
        (
            "postgresql://u:hunter2@h:5432/db?sslmode=disable",
            "postgresql://u:***@h:5432/db?sslmode=disable",
            &["hunter2"],
        ),
        ("postgres://pw2:pa/ss@127.0.0.1:54403/t5", "postgres://pw2:***@127.0.0.1:54403/t5", &["pa/ss"]),
        ("postgres://u:pa?ss@h/db", "postgres://u:***@h/db", &["pa?ss"]),
        (
            "postgres://u:pa/s?s&x=1@h/db?sslmode=disable",
            "postgres://u:***@h/db?sslmode=disable",
            &["pa/s?s&x=1"],
        ),
        ("postgres://u:pa#ss@h/db", "postgres://u:***@h/db", &["pa#ss"]),
        ("postgres://u:p%40ss@h/db", "postgres://u:***@h/db", &["p@ss"]),
        ("postgres://u:pa:ss@h/db", "postgres://u:***@h/db", &["pa:ss"]),
        ("postgres://u:pa@ss@h/db", "postgres://u:***@h/db", &["pa", "pa@ss"]),
        ("postgres://u:@h/db", "postgres://u:@h/db", &[]),
        ("postgres://u@h/db", "postgres://u@h/db", &[]),
        ("postgres://h/db?password=hunter2", "postgres://h/db?password=***", &["hunter2"]),
        (
            "postgres://h/db?user=u&password=hunter2&password=hunter3",
            "postgres://h/db?user=u&password=***&password=***",
            &["hunter2", "hunter3"],
        ),
        ("postgres://h/db?PASSWORD=hunter2", "postgres://h/db?PASSWORD=***", &["hunter2"]),
        (
            "postgres://h/db?Password=hunter2&sslmode=require",
            "postgres://h/db?Password=***&sslmode=require",
            &["hunter2"],
        ),
        (
            "postgres://u:hunter1@h/db?password=hunter2",
            "postgres://u:***@h/db?password=***",
            &["hunter1", "hunter2"],
        ),
        ("postgres://h/db?pass%77ord=hunter2", "postgres://h/db?pass%77ord=***", &["hunter2"]),
        ("postgres://h/db?sslpassword=hunter2", "postgres://h/db?sslpassword=***", &["hunter2"]),
        ("postgres://u:hunter2@h1:5432,h2:5433/db", "postgres://u:***@h1:5432,h2:5433/db", &["hunter2"]),
        ("postgres://u:hunter2@[::1]:5432/db", "postgres://u:***@[::1]:5432/db", &["hunter2"]),
        (
            "postgres://u:hunter2@%2Fvar%2Frun%2Fpostgresql/db",
            "postgres://u:***@%2Fvar%2Frun%2Fpostgresql/db",
            &["hunter2"],
        ),
        (
            "postgresql:///db?host=/tmp&password=hunter2",
            "postgresql:///db?host=/tmp&password=***",
            &["hunter2"],
        ),
        (
            "postgres://u:hunter2@h/db?application_name=a@b",
            "postgres://u:***@h/db?application_name=a@b",
            &["hunter2"],
        ),
        ("postgres://u:hunter2@h/db?password=", "postgres://u:***@h/db?password=", &["hunter2"]),
        ("postgres://u%3Aname:hunter2@h/db", "postgres://u%3Aname:***@h/db", &["hunter2"]),
        ("postgres://:hunter2@h/db", "postgres://:***@h/db", &["hunter2"]),
        ("postgres://u:hunter2@", "postgres://u:***@", &["hunter2"]),
        ("postgres://u:hunter%32@h/db", "postgres://u:***@h/db", &["hunter2"]),
        ("postgres://u:%ZZpa@h/db", "postgres://u:***@h/db", &["%ZZpa"]),
        ("postgres://u:pässwörd@h/db", "postgres://u:***@h/db", &["pässwörd"]),
        ("postgres://h/db?a&password=hunter2", "postgres://h/db?a&password=***", &[]),
        ("postgres://h/db?password=pa=ss&x=1", "postgres://h/db?password=***&x=1", &["pa=ss"]),
        ("postgres://h/db?password=hun&ter2", "postgres://h/db?password=***", &["hun", "hun&ter2"]),
        ("postgres://h/db?password=p%26ss&x=1", "postgres://h/db?password=***&x=1", &["p&ss"]),
        ("host=h password=hunter2 dbname=db", "host=h password=*** dbname=db", &["hunter2"]),
        ("host=h password='hun ter2' user=u", "host=h password='***' user=u", &["hun ter2"]),
        ("host=h password = hunter2", "host=h password = ***", &["hunter2"]),
        ("PASSWORD=hunter2 host=h", "PASSWORD=*** host=h", &[]),
        (r"host=h password=hun\ ter2", "host=h password=***", &["hun ter2"]),
        (r"password='it\'s hunter2'", "password='***'", &["it's hunter2"]),
    ];

    #[test]
    fn redacts_every_shape_by_the_drivers_parse() {
        assert!(SHAPES.len() >= 30);
        for (url, shown, passwords) in SHAPES {
            assert_eq!(redact(url), *shown, "{url}");
            let secrets = secrets_in(url);
            for password in *passwords {
                assert!(secrets.iter().any(|s| s == password), "{url}: {password} not in {secrets:?}");
                assert!(!redact(url).contains(password), "{url}");
            }
            assert!(scrub(url, &secrets).contains("***") || passwords.is_empty(), "{url}");
            // The driver agrees on what the password is, and finds none in the redacted form.
            #[cfg(feature = "postgres")]
            if let Ok(config) = url.parse::<postgres::Config>() {
                let driver = config
                    .get_password()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .filter(|p| !p.is_empty());
                match &driver {
                    // (An empty `password=` after the userinfo leaves the driver none.)
                    None => assert!(passwords.is_empty() || url.ends_with("password="), "{url}"),
                    Some(p) => assert!(passwords.contains(&p.as_str()), "{url}: the driver's password {p}"),
                }
                if let Ok(redacted) = redact(url).parse::<postgres::Config>() {
                    let left = redacted.get_password().map(|p| String::from_utf8_lossy(p).into_owned());
                    assert!(matches!(left.as_deref(), None | Some("" | "***")), "{url}: {left:?}");
                }
            }
        }
    }

    #[test]
    fn the_unknown_scheme_error_shows_the_scheme_at_most() {
        for (url, shown) in [
            ("mysql://u:hunter2@h/db", "has the unknown scheme \"mysql\""),
            ("postgres:/u:hunter2@h/db", "scheme \"postgres\""),
            ("postgres:u:hunter2@h", "the scheme is followed by ://"),
            ("postgres//u:hunter2@h", "has no scheme"),
            ("POSTGRES://u:hunter2@h/db", "write the scheme in lower case"),
            ("host=h password=hunter2", "key=value connection strings are not accepted"),
            ("u:hunter2@h/db", "scheme \"u\""),
            ("hunter2", "has no scheme"),
            ("", "has no scheme"),
        ] {
            let err = url.parse::<DatabaseUrl>().unwrap_err().to_string();
            assert!(err.contains(shown) && !err.contains("hunter2"), "{url}: {err}");
        }
        let err = "postgres://".parse::<DatabaseUrl>().unwrap_err().to_string();
        assert!(err.contains("malformed"), "{err}");
    }

    #[test]
    fn sqlite_parameters_are_honoured_or_refused() {
        let with = |mode, cache| DatabaseUrl::Sqlite {
            path: "app.db".into(),
            options: SqliteOptions { mode, cache },
        };
        assert_eq!("sqlite://app.db?mode=ro".parse(), Ok(with(SqliteMode::ReadOnly, None)));
        assert_eq!("sqlite:app.db?mode=rw".parse(), Ok(with(SqliteMode::ReadWrite, None)));
        assert_eq!("sqlite://app.db?mode=rwc".parse(), Ok(with(SqliteMode::ReadWriteCreate, None)));
        assert_eq!(
            "sqlite://app.db?mode=memory&cache=shared".parse(),
            Ok(with(SqliteMode::Memory, Some(SqliteCache::Shared)))
        );
        assert_eq!(
            "sqlite://app.db?cache=private".parse(),
            Ok(with(SqliteMode::ReadWriteCreate, Some(SqliteCache::Private)))
        );
        assert_eq!("sqlite://app.db?".parse(), Ok(DatabaseUrl::sqlite("app.db")));
        let err = |url: &str| url.parse::<DatabaseUrl>().unwrap_err().to_string();
        let unknown = err("sqlite://app.db?mode=ro&journal=wal");
        assert!(
            unknown.contains("unknown parameter \"journal\"") && unknown.contains(SQLITE_PARAMETERS),
            "{unknown}"
        );
        let bad = err("sqlite://app.db?mode=readonly");
        assert!(bad.contains("\"readonly\"") && bad.contains("mode=ro|rw|rwc|memory"), "{bad}");
        assert!(err("sqlite://app.db?cache=none").contains("cache=shared|private"));
        assert!(err("sqlite://app.db?mode=ro&mode=rw").contains("given twice"));
        assert_eq!("sqlite://?mode=ro".parse::<DatabaseUrl>(), Err(UrlError::EmptySqlitePath));
    }

    #[test]
    fn sqlite_paths_are_percent_decoded_and_displayed_so_they_parse_back() {
        assert_eq!("sqlite://enc%20oded.db".parse(), Ok(DatabaseUrl::sqlite("enc oded.db")));
        assert_eq!("sqlite:///tmp/d%C3%A9j%C3%A0.db".parse(), Ok(DatabaseUrl::sqlite("/tmp/déjà.db")));
        assert_eq!("sqlite://100%25.db".parse(), Ok(DatabaseUrl::sqlite("100%.db")));
        let err = |url: &str| url.parse::<DatabaseUrl>().unwrap_err().to_string();
        assert!(
            err("sqlite://bad%zz.db").contains("not followed by two hex digits"),
            "{}",
            err("sqlite://bad%zz.db")
        );
        assert!(err("sqlite://cut%2").contains("not followed by two hex digits"));
        assert!(err("sqlite://x%FF.db").contains("UTF-8"));
        for url in [
            "sqlite://enc%20oded.db",
            "sqlite:///tmp/a%3Fb%25c%23.db?mode=ro&cache=shared",
            "sqlite://d\u{e9}j\u{e0}.db",
        ] {
            let parsed: DatabaseUrl = url.parse().unwrap();
            assert_eq!(parsed.to_string(), url);
            assert_eq!(parsed.connection_string().parse::<DatabaseUrl>(), Ok(parsed));
        }
    }
}
