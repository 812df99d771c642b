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
    Sqlite { path: PathBuf, options: SqliteOptions },
    /// A private in-memory SQLite database.
    SqliteMemory,
    /// A PostgreSQL server; `url` is handed to the driver as given (sslmode and other
    /// standard parameters included).
    Postgres { url: String },
}

/// The parameters of a `sqlite://` URL, as SQLite's own URI filenames spell them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqliteOptions {
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
    Shared,
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

/// Decodes `%XX` escapes; `None` on a `%` not followed by two hex digits.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
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
    let decoded = percent_decode(raw_path).ok_or_else(|| {
        malformed(format!("its path {raw_path:?} has a % that is not followed by two hex digits (write %25 for a literal %)"))
    })?;
    let path = String::from_utf8(decoded)
        .map_err(|_| malformed(format!("its path {raw_path:?} does not percent-decode to UTF-8")))?;
    let mut options = SqliteOptions::default();
    let (mut mode_seen, mut cache_seen) = (false, false);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value).and_then(|v| String::from_utf8(v).ok()).unwrap_or_default();
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
pub enum UrlError {
    #[error("database URL {0:?} has an unknown scheme: expected sqlite://PATH, sqlite::memory:, postgres://... or postgresql://...")]
    UnknownScheme(String),
    #[error("database URL sqlite:// has no path: expected sqlite://PATH such as sqlite://app.db")]
    EmptySqlitePath,
    #[error("database URL {url} is malformed: {reason}")]
    Malformed { url: String, reason: String },
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
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            let rest = s.split_once("://").map(|(_, r)| r).unwrap_or_default();
            if rest.is_empty() {
                return Err(UrlError::Malformed {
                    url: redact(s),
                    reason: "expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMS]".into(),
                });
            }
            return Ok(DatabaseUrl::Postgres { url: s.to_string() });
        }
        let shown: String = redact(s).chars().take(40).collect();
        Err(UrlError::UnknownScheme(shown))
    }
}

/// The URL with any password replaced by `***` (in the userinfo or a `password=` parameter).
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some((user, _)) = userinfo.split_once(':') {
                out = format!("{scheme}://{user}:***@{}", &rest[at + 1..]);
            }
        }
    }
    if let Some(pos) = out.find("password=") {
        let end = out[pos..].find('&').map_or(out.len(), |e| pos + e);
        out.replace_range(pos + "password=".len()..end, "***");
    }
    out
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
