//! Settings: which environment this is and which database to use. Sources, lowest first:
//! built-in defaults, `strata.toml`, a `.env` file, the process environment, the command line.
//! Every `ENV` and `STRATA_ENV` (process environment and `.env`) must name the same
//! environment; a disagreement is an error, never a silent pick.
//! dev falls back to a local SQLite file; staging and prod require a PostgreSQL URL and never
//! fall back to SQLite.

use crate::backend::{DatabaseUrl, UrlError, VersionTables};
use crate::runner::LockMode;
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
    /// A developer's machine: SQLite allowed, no confirmations, everything applied.
    Dev,
    /// Pre-production: PostgreSQL only, rollbacks confirmed, timeouts on.
    Staging,
    /// Production: PostgreSQL only, rollbacks forced and typed, only safe migrations at start-up.
    Prod,
}

impl Environment {
    /// Whether migrations are rewritten lock-safely ([`crate::rewrite`]) unless configured
    /// otherwise: in staging and prod, where tables hold rows that others are using.
    pub fn rewrites_by_default(self) -> bool {
        self != Environment::Dev
    }

    /// The canonical name (`dev`, `staging`, `prod`).
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
#[non_exhaustive]
pub enum ConfigError {
    /// An environment name strata does not know.
    #[error("unknown environment {0:?}: expected dev, development, staging, prod or production")]
    UnknownEnvironment(String),
    /// Staging and prod never fall back to the dev SQLite file: a missing URL is an error.
    #[error("the {env} environment needs a PostgreSQL database: set DATABASE_URL (or --database-url) to postgres://...; it never falls back to SQLite")]
    UrlRequired {
        /// The environment.
        env: Environment,
    },
    #[error(
        "the {env} environment needs a PostgreSQL database, but the URL is {url}: SQLite is for dev only"
    )]
    /// A SQLite URL outside dev.
    SqliteOutsideDev {
        /// The environment.
        env: Environment,
        /// The URL given.
        url: String,
    },
    /// The database URL cannot be used.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// `strata.toml` (or `--config`) cannot be read.
    #[error("cannot read {path}: {message}")]
    File {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// `strata.toml` is not valid TOML or has an unknown key.
    #[error("{path}: {message}")]
    Toml {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// `STRATA_MIGRATION_LOCK` is neither `session` nor `transaction`.
    #[error("migration lock mode {0:?} is unknown: expected session (the default) or transaction (behind a transaction-pooling PgBouncer)")]
    LockMode(String),
    /// A timeout that is not a number of seconds in range (or `off` where allowed).
    #[error("{name}={value:?} ({origin}) is not a timeout: {expected}")]
    Duration {
        /// The setting (`STRATA_LOCK_TIMEOUT`, `lock_timeout`).
        name: String,
        /// What it says.
        value: String,
        /// Where it came from (process environment, `.env`, `strata.toml`).
        origin: String,
        /// What would be accepted.
        expected: &'static str,
    },
    /// `STRATA_REWRITE` is neither on nor off.
    #[error("STRATA_REWRITE={value:?} ({origin}) is neither on nor off (true/false, 1/0 also work)")]
    Rewrite {
        /// What it says.
        value: String,
        /// Where it came from.
        origin: String,
    },
    /// `ENV` or `STRATA_ENV` names no known environment.
    #[error("unknown environment {value:?} in {name} ({origin}): expected dev, development, staging, prod or production")]
    BadEnvironment {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
        /// Where it came from.
        origin: String,
    },
    #[error(
        "conflicting environments: {first} and {second}: every ENV and STRATA_ENV (process environment and .env file) must name the same environment, since it decides the safety rules; fix or remove one of them (--env overrides both only when they agree)"
    )]
    /// Two sources name different environments; since the environment decides the safety rules,
    /// strata refuses to pick one.
    EnvConflict {
        /// One setting, with its origin.
        first: String,
        /// The other.
        second: String,
    },
}

/// What the command line says, on top of every other source.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--env`.
    pub env: Option<String>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// Another `strata.toml` (default: `./strata.toml` when it exists).
    pub config_file: Option<PathBuf>,
}

/// Settings resolved from every source.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// The environment, which decides the safety rules.
    pub env: Environment,
    /// The database to migrate.
    pub database_url: DatabaseUrl,
    /// Where `create` and `template` write new migrations.
    pub versions_dir: Option<PathBuf>,
    /// The bookkeeping table names (`version_table`, `history_table`).
    pub tables: VersionTables,
    /// How long a migration waits for a lock before failing (staging and prod; `None`: off,
    /// the dev default or an explicit `off`). Whole milliseconds, at most [`MAX_TIMEOUT_MS`].
    pub lock_timeout: Option<Duration>,
    /// How long one statement may run before failing (staging and prod; `None` as above).
    pub statement_timeout: Option<Duration>,
    /// How concurrent migrators are kept apart (`STRATA_MIGRATION_LOCK=session|transaction`).
    pub migration_lock: LockMode,
    /// How long a migrator waits for another one (`STRATA_MIGRATION_LOCK_TIMEOUT`, seconds).
    pub migration_lock_timeout: Duration,
    /// Whether migrations are rewritten lock-safely on PostgreSQL ([`crate::rewrite`]):
    /// `STRATA_REWRITE=on|off`, `rewrite = true|false`; on by default in staging and prod, off
    /// in dev.
    pub rewrite: bool,
    /// Whether `rewrite` was set (`STRATA_REWRITE` or `rewrite` in `strata.toml`) rather than
    /// left to the environment's default: dev's lint assumes production's default rewriting
    /// only when nobody said otherwise.
    pub rewrite_configured: bool,
    /// How rewritten steps retry on a lock timeout (`STRATA_REWRITE_LOCK_TIMEOUT`,
    /// `STRATA_REWRITE_LOCK_TIMEOUT_MAX`, `STRATA_REWRITE_RETRY_TOTAL`, seconds; the same keys
    /// in lower case in `strata.toml`).
    pub rewrite_retry: crate::rewrite::LockRetry,
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
    lock_timeout: Option<TimeoutValue>,
    statement_timeout: Option<TimeoutValue>,
    migration_lock: Option<String>,
    migration_lock_timeout: Option<TimeoutValue>,
    rewrite: Option<bool>,
    rewrite_lock_timeout: Option<TimeoutValue>,
    rewrite_lock_timeout_max: Option<TimeoutValue>,
    rewrite_retry_total: Option<TimeoutValue>,
    /// Per-environment overrides: `[environments.prod]`.
    #[serde(default)]
    environments: HashMap<String, FileSettings>,
}

/// Looks a variable up in the process environment (a map in tests).
type ProcessLookup = Box<dyn Fn(&str) -> Option<String>>;

/// Reads variables from the process environment first, then from `.env`: a variable set
/// (not empty) in the process environment always beats the `.env` file.
struct Variables {
    process: ProcessLookup,
    dotenv: HashMap<String, String>,
    dotenv_path: PathBuf,
}

/// Where a variable's value came from, for messages.
const PROCESS: &str = "process environment";

impl Variables {
    fn load(dir: &Path) -> Result<Self, ConfigError> {
        Self::load_with(dir, Box::new(|name| std::env::var(name).ok()))
    }

    fn load_with(dir: &Path, process: ProcessLookup) -> Result<Self, ConfigError> {
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
        Ok(Variables { process, dotenv, dotenv_path: path })
    }

    fn in_process(&self, name: &str) -> Option<String> {
        (self.process)(name).filter(|v| !v.trim().is_empty())
    }

    fn in_dotenv(&self, name: &str) -> Option<String> {
        self.dotenv.get(name).filter(|v| !v.trim().is_empty()).cloned()
    }

    fn get(&self, name: &str) -> Option<String> {
        self.in_process(name).or_else(|| self.in_dotenv(name))
    }

    /// The value and where it came from.
    fn get_with_source(&self, name: &str) -> Option<(String, String)> {
        match self.in_process(name) {
            Some(v) => Some((v, PROCESS.to_string())),
            None => self.in_dotenv(name).map(|v| (v, self.dotenv_source())),
        }
    }

    fn dotenv_source(&self) -> String {
        format!(".env file {}", self.dotenv_path.display())
    }

    /// The environment the variables name. Every `ENV` and `STRATA_ENV`, in the process
    /// environment and in `.env`, must name the same environment: which one wins is never
    /// guessed, since a stray `.env` line must not turn production into dev.
    fn environment(&self) -> Result<Option<(Environment, String)>, ConfigError> {
        let mut found: Vec<(Environment, String)> = Vec::new();
        for (source, value) in [
            (PROCESS.to_string(), self.in_process("ENV").map(|v| ("ENV", v))),
            (PROCESS.to_string(), self.in_process("STRATA_ENV").map(|v| ("STRATA_ENV", v))),
            (self.dotenv_source(), self.in_dotenv("ENV").map(|v| ("ENV", v))),
            (self.dotenv_source(), self.in_dotenv("STRATA_ENV").map(|v| ("STRATA_ENV", v))),
        ] {
            let Some((name, value)) = value else { continue };
            let env = value.parse::<Environment>().map_err(|_| ConfigError::BadEnvironment {
                name: name.to_string(),
                value: value.trim().to_string(),
                origin: source.clone(),
            })?;
            let shown = format!("{name}={} ({source})", value.trim());
            if let Some((first, first_shown)) = found.first() {
                if *first != env {
                    return Err(ConfigError::EnvConflict { first: first_shown.clone(), second: shown });
                }
            }
            found.push((env, shown));
        }
        Ok(found.into_iter().next())
    }
}

/// The largest timeout: PostgreSQL's `lock_timeout` and `statement_timeout` take
/// milliseconds up to INT_MAX (about 24.8 days), and SQLite's busy timeout likewise.
pub const MAX_TIMEOUT_MS: u64 = i32::MAX as u64;

const TIMEOUT_EXPECTED: &str = "expected a number of seconds from 0.001 to 2147483.647 (about 24.8 days), such as 30 or 2.5, or off to switch it off (0 is refused: write off)";
const LOCK_WAIT_EXPECTED: &str =
    "expected a number of seconds from 0.001 to 2147483.647 (about 24.8 days), such as 60; this wait cannot be switched off";

/// A timeout as written: `off` (`Ok(None)`, only where `allow_off`) or seconds, in range,
/// rounded to whole milliseconds (what the server takes).
fn parse_timeout(
    name: &str,
    value: &str,
    source: &str,
    allow_off: bool,
) -> Result<Option<Duration>, ConfigError> {
    let expected = if allow_off { TIMEOUT_EXPECTED } else { LOCK_WAIT_EXPECTED };
    let fail = || ConfigError::Duration {
        name: name.to_string(),
        value: value.to_string(),
        origin: source.to_string(),
        expected,
    };
    let text = value.trim();
    if allow_off && text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let seconds = text.parse::<f64>().map_err(|_| fail())?;
    if !seconds.is_finite() {
        return Err(fail());
    }
    let ms = (seconds * 1000.0).round();
    if !(1.0..=MAX_TIMEOUT_MS as f64).contains(&ms) {
        return Err(fail());
    }
    Ok(Some(Duration::from_millis(ms as u64)))
}

/// A timeout in `strata.toml`: a number of seconds or the string `off`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
enum TimeoutValue {
    Seconds(f64),
    Text(String),
}

impl TimeoutValue {
    fn text(&self) -> String {
        match self {
            TimeoutValue::Seconds(s) => s.to_string(),
            TimeoutValue::Text(t) => t.clone(),
        }
    }
}

impl Settings {
    /// Resolves settings with `dir` as the working directory (for `.env` and `strata.toml`).
    pub fn load(overrides: &Overrides, dir: &Path) -> Result<Settings, ConfigError> {
        Self::load_vars(overrides, dir, Variables::load(dir)?)
    }

    fn load_vars(overrides: &Overrides, dir: &Path, vars: Variables) -> Result<Settings, ConfigError> {
        let file = read_file(overrides.config_file.as_deref(), dir)?;
        // The variables must agree among themselves even when --env decides.
        let from_vars = vars.environment()?;
        let env = match (&overrides.env, from_vars, &file.env) {
            (Some(name), _, _) => name.parse()?,
            (None, Some((env, _)), _) => env,
            (None, None, Some(name)) => name.parse()?,
            (None, None, None) => Environment::Dev,
        };
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
        let file_path = overrides.config_file.clone().unwrap_or_else(|| dir.join("strata.toml"));
        let timeout =
            |var: &str, key: &str, allow_off: bool, f: fn(&FileSettings) -> Option<TimeoutValue>| match vars
                .get_with_source(var)
            {
                Some((value, source)) => parse_timeout(var, &value, &source, allow_off).map(Some),
                None => match f(&section).or_else(|| f(&file)) {
                    Some(value) => {
                        let source = file_path.display().to_string();
                        parse_timeout(key, &value.text(), &source, allow_off).map(Some)
                    }
                    None => Ok(None),
                },
            };
        // None: not set; Some(None): explicitly off.
        let lock_timeout = timeout("STRATA_LOCK_TIMEOUT", "lock_timeout", true, |f| f.lock_timeout.clone())?;
        let statement_timeout =
            timeout("STRATA_STATEMENT_TIMEOUT", "statement_timeout", true, |f| f.statement_timeout.clone())?;
        // A migration stuck behind a busy table must fail fast, not stall a deploy.
        let (default_lock, default_statement) = match env {
            Environment::Dev => (None, None),
            _ => (Some(Duration::from_secs(10)), Some(Duration::from_secs(600))),
        };
        let lock_timeout = lock_timeout.unwrap_or(default_lock);
        let statement_timeout = statement_timeout.unwrap_or(default_statement);
        let migration_lock =
            match vars.get("STRATA_MIGRATION_LOCK").or_else(|| pick(|f| f.migration_lock.clone())) {
                None => LockMode::Session,
                Some(mode) => match mode.trim().to_ascii_lowercase().as_str() {
                    "session" => LockMode::Session,
                    "transaction" => LockMode::Transaction,
                    _ => return Err(ConfigError::LockMode(mode)),
                },
            };
        let migration_lock_timeout =
            timeout("STRATA_MIGRATION_LOCK_TIMEOUT", "migration_lock_timeout", false, |f| {
                f.migration_lock_timeout.clone()
            })?
            .flatten()
            .unwrap_or(crate::runner::DEFAULT_LOCK_TIMEOUT);
        let rewrite_configured =
            vars.get_with_source("STRATA_REWRITE").is_some() || section.rewrite.or(file.rewrite).is_some();
        let rewrite = match vars.get_with_source("STRATA_REWRITE") {
            Some((value, source)) => match value.trim().to_ascii_lowercase().as_str() {
                "on" | "true" | "1" | "yes" => true,
                "off" | "false" | "0" | "no" => false,
                _ => return Err(ConfigError::Rewrite { value, origin: source }),
            },
            None => section.rewrite.or(file.rewrite).unwrap_or(env.rewrites_by_default()),
        };
        let defaults = crate::rewrite::LockRetry::default();
        let retry_value =
            |var: &str, key: &str, f: fn(&FileSettings) -> Option<TimeoutValue>, default: Duration| {
                timeout(var, key, false, f).map(|t| t.flatten().unwrap_or(default))
            };
        let rewrite_retry = crate::rewrite::LockRetry {
            first: retry_value(
                "STRATA_REWRITE_LOCK_TIMEOUT",
                "rewrite_lock_timeout",
                |f| f.rewrite_lock_timeout.clone(),
                defaults.first,
            )?,
            max: retry_value(
                "STRATA_REWRITE_LOCK_TIMEOUT_MAX",
                "rewrite_lock_timeout_max",
                |f| f.rewrite_lock_timeout_max.clone(),
                defaults.max,
            )?,
            total: retry_value(
                "STRATA_REWRITE_RETRY_TOTAL",
                "rewrite_retry_total",
                |f| f.rewrite_retry_total.clone(),
                defaults.total,
            )?,
        };
        let versions_dir = vars
            .get("STRATA_VERSIONS_DIR")
            .map(PathBuf::from)
            .or_else(|| section.versions_dir.clone().or(file.versions_dir.clone()))
            .map(|p| if p.is_relative() { dir.join(p) } else { p });
        Ok(Settings {
            env,
            database_url,
            versions_dir,
            tables,
            lock_timeout,
            statement_timeout,
            migration_lock,
            migration_lock_timeout,
            rewrite,
            rewrite_configured,
            rewrite_retry,
        })
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

    fn vars_in(dir: &Path, process: &[(&str, &str)]) -> Variables {
        let map: HashMap<String, String> =
            process.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Variables::load_with(dir, Box::new(move |name| map.get(name).cloned())).unwrap()
    }

    fn load_with_process(
        dir: &Path,
        overrides: Overrides,
        process: &[(&str, &str)],
    ) -> Result<Settings, ConfigError> {
        Settings::load_vars(&overrides, dir, vars_in(dir, process))
    }

    const PG: &str = "postgres://u:pw@h/db";

    #[test]
    fn the_process_environment_beats_dotenv_under_either_name() {
        let dir = temp();
        std::fs::write(
            dir.join(".env"),
            "DATABASE_URL=sqlite://from-dotenv.db
STRATA_LOCK_TIMEOUT=7
",
        )
        .unwrap();
        let s =
            load_with_process(&dir, Overrides::default(), &[("DATABASE_URL", PG), ("ENV", "prod")]).unwrap();
        assert_eq!((s.env, s.database_url.to_string()), (Environment::Prod, "postgres://u:***@h/db".into()));
        assert_eq!(s.lock_timeout, Some(Duration::from_secs(7)), ".env fills what the process leaves unset");
        let s = load_with_process(&dir, Overrides::default(), &[]).unwrap();
        assert_eq!(s.database_url.to_string(), "sqlite://from-dotenv.db");
    }

    #[test]
    fn disagreeing_env_and_strata_env_are_an_error_naming_both_sources() {
        let dir = temp();
        // The reported hole: .env STRATA_ENV=dev turned ENV=prod into dev.
        std::fs::write(
            dir.join(".env"),
            "STRATA_ENV=dev
",
        )
        .unwrap();
        for env in ["prod", "staging"] {
            let err = load_with_process(&dir, Overrides::default(), &[("ENV", env), ("DATABASE_URL", PG)])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("ENV={env} (process environment) and STRATA_ENV=dev (.env file ")),
                "{err}"
            );
            // --env does not hide the disagreement.
            let err = load_with_process(&dir, with_env(env, Some(PG)), &[("ENV", env)]).unwrap_err();
            assert!(matches!(err, ConfigError::EnvConflict { .. }), "{err}");
        }
        // Process against process.
        let clean = temp();
        let err = load_with_process(&clean, Overrides::default(), &[("ENV", "prod"), ("STRATA_ENV", "dev")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ENV=prod (process environment) and STRATA_ENV=dev (process environment)"),
            "{err}"
        );
        // Within .env, and the same name in both places.
        std::fs::write(
            clean.join(".env"),
            "ENV=staging
STRATA_ENV=prod
",
        )
        .unwrap();
        let err = load_with_process(&clean, Overrides::default(), &[]).unwrap_err();
        assert!(matches!(err, ConfigError::EnvConflict { .. }), "{err}");
        std::fs::write(
            clean.join(".env"),
            "ENV=dev
",
        )
        .unwrap();
        let err =
            load_with_process(&clean, Overrides::default(), &[("ENV", "prod")]).unwrap_err().to_string();
        assert!(err.contains("ENV=prod (process environment) and ENV=dev (.env file"), "{err}");
        // Agreement (aliases included) is fine, and strata.toml's env is only a default.
        std::fs::write(
            clean.join(".env"),
            "STRATA_ENV=production
",
        )
        .unwrap();
        std::fs::write(clean.join("strata.toml"), "env = \"dev\"\n").unwrap();
        let s = load_with_process(&clean, Overrides::default(), &[("ENV", "prod"), ("DATABASE_URL", PG)])
            .unwrap();
        assert_eq!(s.env, Environment::Prod);
        // An unknown name says where it came from.
        let err = load_with_process(&clean, Overrides::default(), &[("ENV", "qa")]).unwrap_err().to_string();
        assert!(err.contains("unknown environment \"qa\" in ENV (process environment)"), "{err}");
    }

    #[test]
    fn timeouts_parse_into_a_range_and_off_is_explicit() {
        let dir = temp();
        let load = |process: &[(&str, &str)]| load_with_process(&dir, with_env("staging", Some(PG)), process);
        for bad in ["1e300", "1e12", "inf", "NaN", "-1", "0", "0.0001", "2147484", "30s", ""] {
            if bad.is_empty() {
                continue;
            }
            for var in ["STRATA_LOCK_TIMEOUT", "STRATA_STATEMENT_TIMEOUT", "STRATA_MIGRATION_LOCK_TIMEOUT"] {
                let err = load(&[(var, bad)]).unwrap_err().to_string();
                assert!(
                    err.contains(&format!("{var}=\"{bad}\" (process environment) is not a timeout")),
                    "{err}"
                );
                assert!(err.contains("2147483.647"), "{err}");
            }
        }
        let err = load(&[("STRATA_LOCK_TIMEOUT", "0")]).unwrap_err().to_string();
        assert!(err.contains("0 is refused: write off"), "{err}");
        let err = load(&[("STRATA_MIGRATION_LOCK_TIMEOUT", "off")]).unwrap_err().to_string();
        assert!(err.contains("cannot be switched off"), "{err}");
        let s = load(&[("STRATA_LOCK_TIMEOUT", "off"), ("STRATA_STATEMENT_TIMEOUT", "2147483.647")]).unwrap();
        assert_eq!(s.lock_timeout, None, "off switches staging's default off");
        assert_eq!(s.statement_timeout, Some(Duration::from_millis(i32::MAX as u64)));
        let s =
            load(&[("STRATA_LOCK_TIMEOUT", " 2.5 "), ("STRATA_MIGRATION_LOCK_TIMEOUT", "0.001")]).unwrap();
        assert_eq!(
            (s.lock_timeout, s.migration_lock_timeout),
            (Some(Duration::from_millis(2500)), Duration::from_millis(1))
        );
        // The same rules in strata.toml, whose path the message names.
        std::fs::write(dir.join("strata.toml"), "lock_timeout = 1e300\n").unwrap();
        let err = load(&[]).unwrap_err().to_string();
        assert!(err.contains("lock_timeout=") && err.contains("strata.toml) is not a timeout"), "{err}");
        std::fs::write(dir.join("strata.toml"), "[environments.staging]\nstatement_timeout = 0\n").unwrap();
        assert!(load(&[]).unwrap_err().to_string().contains("write off"));
        std::fs::write(dir.join("strata.toml"), "statement_timeout = \"off\"\nlock_timeout = 3\n").unwrap();
        let s = load(&[]).unwrap();
        assert_eq!((s.lock_timeout, s.statement_timeout), (Some(Duration::from_secs(3)), None));
    }

    #[test]
    fn rewriting_is_on_in_staging_and_prod_off_in_dev_and_configurable() {
        let dir = temp();
        let load = |process: &[(&str, &str)]| load_with_process(&dir, Overrides::default(), process);
        assert!(!load(&[]).unwrap().rewrite, "dev");
        assert!(!load(&[]).unwrap().rewrite_configured, "the environment's default");
        assert!(load(&[("STRATA_REWRITE", "off")]).unwrap().rewrite_configured, "said");
        for env in ["staging", "prod"] {
            assert!(load(&[("ENV", env), ("DATABASE_URL", PG)]).unwrap().rewrite, "{env}");
        }
        let s = load(&[("ENV", "prod"), ("DATABASE_URL", PG), ("STRATA_REWRITE", "off")]).unwrap();
        assert!(!s.rewrite);
        assert_eq!(s.rewrite_retry, crate::rewrite::LockRetry::default());
        let err = load(&[("STRATA_REWRITE", "maybe")]).unwrap_err().to_string();
        assert!(err.contains("STRATA_REWRITE=\"maybe\"") && err.contains("on nor off"), "{err}");
        std::fs::write(
            dir.join("strata.toml"),
            "rewrite_lock_timeout = 0.05\nrewrite_retry_total = 5\n[environments.prod]\nrewrite = false\n[environments.dev]\nrewrite = true\n",
        )
        .unwrap();
        let dev = load(&[]).unwrap();
        assert!(dev.rewrite, "strata.toml turns it on in dev");
        assert_eq!(dev.rewrite_retry.first, Duration::from_millis(50));
        assert_eq!(dev.rewrite_retry.total, Duration::from_secs(5));
        assert!(!load(&[("ENV", "prod"), ("DATABASE_URL", PG)]).unwrap().rewrite, "and off in prod");
        let s = load(&[("ENV", "prod"), ("DATABASE_URL", PG), ("STRATA_REWRITE", "on")]).unwrap();
        assert!(s.rewrite, "the variable beats the file");
        let err = load(&[("STRATA_REWRITE_RETRY_TOTAL", "off")]).unwrap_err().to_string();
        assert!(err.contains("STRATA_REWRITE_RETRY_TOTAL"), "{err}");
    }
}
