//! Database URLs: `sqlite://PATH`, `sqlite::memory:`, `postgres://...`, `postgresql://...`.
//! The password is kept out of every `Display` and `Debug` form.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A parsed database URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file (created if missing).
    Sqlite { path: PathBuf },
    /// A private in-memory SQLite database.
    SqliteMemory,
    /// A PostgreSQL server; `url` is handed to the driver as given (sslmode and other
    /// standard parameters included).
    Postgres { url: String },
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
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(UrlError::EmptySqlitePath);
            }
            return Ok(DatabaseUrl::Sqlite { path: PathBuf::from(path) });
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
            DatabaseUrl::Sqlite { path } => write!(f, "sqlite://{}", path.display()),
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
        assert_eq!("sqlite://app.db".parse(), Ok(DatabaseUrl::Sqlite { path: "app.db".into() }));
        assert_eq!("sqlite:///tmp/x.db".parse(), Ok(DatabaseUrl::Sqlite { path: "/tmp/x.db".into() }));
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
}
