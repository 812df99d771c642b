//! Settings: which environment this is and which database to use. Sources, lowest first:
//! built-in defaults, `strata.toml`, a `.env` file, the process environment, the command line.
//! dev falls back to a local SQLite file; staging and prod require a PostgreSQL URL and never
//! fall back to SQLite.

use crate::backend::{DatabaseUrl, UrlError, VersionTables};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The SQLite file dev uses when no URL is configured.
pub const DEFAULT_DEV_URL: &str = "sqlite://app.db";

/// Where a deployment runs; it decides the safety rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Dev,
    Staging,
    Prod,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Dev => "dev",
            Environment::Staging => "staging",
            Environment::Prod => "prod",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dev" | "development" => Ok(Environment::Dev),
            "staging" => Ok(Environment::Staging),
            "prod" | "production" => Ok(Environment::Prod),
            other => Err(ConfigError::UnknownEnvironment(other.to_string())),
        }
    }
}

/// Settings that cannot be used; each message says what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown environment {0:?}: expected dev, development, staging, prod or production")]
    UnknownEnvironment(String),
    #[error("the {env} environment needs a PostgreSQL database: set DATABASE_URL (or --database-url) to postgres://...; it never falls back to SQLite")]
    UrlRequired { env: Environment },
    #[error(
        "the {env} environment needs a PostgreSQL database, but the URL is {url}: SQLite is for dev only"
    )]
    SqliteOutsideDev { env: Environment, url: String },
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("cannot read {path}: {message}")]
    File { path: String, message: String },
    #[error("{path}: {message}")]
    Toml { path: String, message: String },
    #[error("{name}={value:?} is not a duration: expected a number of seconds such as 30 or 2.5")]
    Duration { name: String, value: String },
}

/// What the command line says, on top of every other source.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub env: Option<String>,
    pub database_url: Option<String>,
    /// Another `strata.toml` (default: `./strata.toml` when it exists).
    pub config_file: Option<PathBuf>,
}

/// Settings resolved from every source.
#[derive(Debug, Clone)]
pub struct Settings {
    pub env: Environment,
    pub database_url: DatabaseUrl,
    /// Where `create` and `template` write new migrations.
    pub versions_dir: Option<PathBuf>,
    pub tables: VersionTables,
    /// How long a migration waits for a lock before failing (staging and prod).
    pub lock_timeout: Option<Duration>,
    /// How long one statement may run before failing (staging and prod).
    pub statement_timeout: Option<Duration>,
}

/// The subset of `strata.toml` strata reads; unknown keys are an error (a typo should not be
/// silently ignored).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    env: Option<String>,
    database_url: Option<String>,
    versions_dir: Option<PathBuf>,
    version_table: Option<String>,
    history_table: Option<String>,
    lock_timeout: Option<f64>,
    statement_timeout: Option<f64>,
    /// Per-environment overrides: `[environments.prod]`.
    #[serde(default)]
    environments: HashMap<String, FileSettings>,
}

/// Reads variables from the process environment first, then from `.env`.
struct Variables {
    dotenv: HashMap<String, String>,
}

impl Variables {
    fn load(dir: &Path) -> Result<Self, ConfigError> {
        let path = dir.join(".env");
        let mut dotenv = HashMap::new();
        if path.exists() {
            let entries = dotenvy::from_path_iter(&path).map_err(|e| ConfigError::File {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            for entry in entries {
                let (key, value) = entry.map_err(|e| ConfigError::File {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                dotenv.insert(key, value);
            }
        }
        Ok(Variables { dotenv })
    }
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty()).or_else(|| self.dotenv.get(name).cloned())
    }
}

fn seconds(name: &str, value: Option<String>) -> Result<Option<Duration>, ConfigError> {
    value
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or(ConfigError::Duration { name: name.to_string(), value: v })
        })
        .transpose()
}

impl Settings {
    /// Resolves settings with `dir` as the working directory (for `.env` and `strata.toml`).
    pub fn load(overrides: &Overrides, dir: &Path) -> Result<Settings, ConfigError> {
        let vars = Variables::load(dir)?;
        let file = read_file(overrides.config_file.as_deref(), dir)?;
        let env_name = overrides
            .env
            .clone()
            .or_else(|| vars.get("STRATA_ENV"))
            .or_else(|| vars.get("ENV"))
            .or_else(|| file.env.clone());
        let env = env_name.as_deref().map(str::parse).transpose()?.unwrap_or(Environment::Dev);
        let section = file.environments.get(env.as_str()).cloned().unwrap_or_default();
        let pick = |f: fn(&FileSettings) -> Option<String>| f(&section).or_else(|| f(&file));

        let url_text = overrides
            .database_url
            .clone()
            .or_else(|| vars.get("DATABASE_URL"))
            .or_else(|| pick(|f| f.database_url.clone()));
        let database_url = match (url_text, env) {
            (Some(text), _) => text.parse::<DatabaseUrl>()?,
            (None, Environment::Dev) => DEFAULT_DEV_URL.parse::<DatabaseUrl>()?,
            (None, env) => return Err(ConfigError::UrlRequired { env }),
        };
        if env != Environment::Dev && !matches!(database_url, DatabaseUrl::Postgres { .. }) {
            return Err(ConfigError::SqliteOutsideDev { env, url: database_url.to_string() });
        }
        let defaults = VersionTables::default();
        let tables = VersionTables {
            version: pick(|f| f.version_table.clone()).unwrap_or(defaults.version),
            history: pick(|f| f.history_table.clone()).unwrap_or(defaults.history),
        };
        let timeout = |var: &str, f: fn(&FileSettings) -> Option<f64>| {
            seconds(var, vars.get(var).or_else(|| f(&section).or_else(|| f(&file)).map(|s| s.to_string())))
        };
        let mut lock_timeout = timeout("STRATA_LOCK_TIMEOUT", |f| f.lock_timeout)?;
        let mut statement_timeout = timeout("STRATA_STATEMENT_TIMEOUT", |f| f.statement_timeout)?;
        if env != Environment::Dev {
            // A migration stuck behind a busy table must fail fast, not stall a deploy.
            lock_timeout.get_or_insert(Duration::from_secs(10));
            statement_timeout.get_or_insert(Duration::from_secs(600));
        }
        let versions_dir = vars
            .get("STRATA_VERSIONS_DIR")
            .map(PathBuf::from)
            .or_else(|| section.versions_dir.clone().or(file.versions_dir.clone()))
            .map(|p| if p.is_relative() { dir.join(p) } else { p });
        Ok(Settings { env, database_url, versions_dir, tables, lock_timeout, statement_timeout })
    }
}

fn read_file(explicit: Option<&Path>, dir: &Path) -> Result<FileSettings, ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let default = dir.join("strata.toml");
            if !default.exists() {
                return Ok(FileSettings::default());
            }
            default
        }
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ConfigError::File { path: path.display().to_string(), message: e.to_string() })?;
    toml::from_str(&text)
        .map_err(|e| ConfigError::Toml { path: path.display().to_string(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_in(dir: &Path, overrides: Overrides) -> Result<Settings, ConfigError> {
        Settings::load(&overrides, dir)
    }

    fn temp() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("strata-config-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn rand_suffix() -> u64 {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(std::time::SystemTime::now())
    }

    fn with_env(env: &str, url: Option<&str>) -> Overrides {
        Overrides { env: Some(env.into()), database_url: url.map(Into::into), config_file: None }
    }

    #[test]
    fn environment_names() {
        assert_eq!("development".parse::<Environment>().unwrap(), Environment::Dev);
        assert_eq!("PRODUCTION".parse::<Environment>().unwrap(), Environment::Prod);
        let err = "qa".parse::<Environment>().unwrap_err().to_string();
        assert!(err.contains("expected dev, development, staging, prod or production"), "{err}");
    }

    #[test]
    fn dev_defaults_to_sqlite_and_prod_never_does() {
        let dir = temp();
        let dev = load_in(&dir, with_env("dev", None)).unwrap();
        assert_eq!(dev.database_url.to_string(), DEFAULT_DEV_URL);
        assert_eq!(dev.lock_timeout, None);
        let err = load_in(&dir, with_env("prod", None)).unwrap_err().to_string();
        assert!(err.contains("prod environment needs a PostgreSQL database"), "{err}");
        let err = load_in(&dir, with_env("staging", Some("sqlite://x.db"))).unwrap_err().to_string();
        assert!(err.contains("SQLite is for dev only"), "{err}");
        let prod = load_in(&dir, with_env("prod", Some("postgres://u:pw@h/db"))).unwrap();
        assert_eq!(prod.lock_timeout, Some(Duration::from_secs(10)), "prod gets a lock timeout");
    }

    #[test]
    fn file_then_section_then_command_line() {
        let dir = temp();
        std::fs::write(
            dir.join("strata.toml"),
            "env = \"staging\"\nversion_table = \"app_version\"\n\
             [environments.staging]\ndatabase_url = \"postgres://app@staging/app\"\nlock_timeout = 3\n",
        )
        .unwrap();
        let s = load_in(&dir, Overrides::default()).unwrap();
        assert_eq!(
            (s.env, s.database_url.to_string()),
            (Environment::Staging, "postgres://app@staging/app".into())
        );
        assert_eq!(s.tables.version, "app_version");
        assert_eq!(s.lock_timeout, Some(Duration::from_secs(3)));
        let s = load_in(&dir, with_env("dev", Some("sqlite::memory:"))).unwrap();
        assert_eq!(s.database_url, DatabaseUrl::SqliteMemory, "the command line wins");
        std::fs::write(dir.join("strata.toml"), "databse_url = \"typo\"\n").unwrap();
        let err = load_in(&dir, Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("databse_url"), "{err}");
    }

    #[test]
    fn dotenv_is_read_without_touching_the_process_environment() {
        let dir = temp();
        std::fs::write(dir.join(".env"), "STRATA_TEST_ONLY_VAR=from-dotenv\n").unwrap();
        let vars = Variables::load(&dir).unwrap();
        assert_eq!(vars.get("STRATA_TEST_ONLY_VAR").as_deref(), Some("from-dotenv"));
        assert!(std::env::var("STRATA_TEST_ONLY_VAR").is_err());
    }
}
