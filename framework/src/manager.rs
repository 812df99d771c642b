//! The application API: [`MigrationManager`] applies the environment's rules around the
//! runner (validate before applying in production, only safe migrations at start-up, confirmed
//! rollbacks), and [`init_database`], [`migrate`], [`rollback`] and [`create_migration`] cover the
//! common cases in one call. A CLI is a thin front end over this.

use crate::backend::{self, Backend, BackendError, DatabaseUrl, HistoryRow};
use crate::config::{ConfigError, Environment, Overrides, Settings};
use crate::graph::{Target, TargetError};
use crate::migration::{Migration, MigrationSet};
use crate::offline::{self, MigrationSql, OfflineError};
use crate::policy::{self, Confirmation, Refusal, Risk};
use crate::runner::{self, DriftPolicy, Listener, Quiet, Report, Runner, TransactionMode};
use crate::scaffold::{self, Created, ScaffoldError, Scaffolded, Template};
use crate::validate::{self, Validation};
use std::path::PathBuf;

/// Everything the application API can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// The settings cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The target names no place in the chain.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A run failed.
    #[error(transparent)]
    Run(#[from] runner::Error),
    /// The database failed outside a run.
    #[error("database error: {0}")]
    Backend(#[from] BackendError),
    /// A migration file or the scaffolding could not be written.
    #[error(transparent)]
    Scaffold(#[from] ScaffoldError),
    /// Offline SQL could not be rendered.
    #[error(transparent)]
    Offline(#[from] OfflineError),
    /// The environment's rollback rules refused (or still need a confirmation).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Production validates before applying, and validation found errors.
    #[error("validation failed, nothing was applied: {}", .0.errors.join("; "))]
    Invalid(Validation),
    /// Production refuses to apply migrations with lint errors they do not acknowledge
    /// (PostgreSQL; see [`MigrationManager::start_up`]). Nothing was applied.
    #[error("production refuses to apply migrations with unacknowledged lint errors, and nothing was applied: {}", describe_findings(.0))]
    LintRefused(Vec<crate::lint::Finding>),
    /// Migrations about to run acknowledge lint rules that do not exist, or give no reason.
    #[error("{}; nothing was applied", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Acknowledgements(Vec<crate::lint::AcknowledgementError>),
    /// Production start-up found pending migrations that are not safe to apply unattended.
    #[error("production start-up applies only safe migrations; these need an explicit upgrade by an operator: {}", describe_risks(.0))]
    StartupBlocked(Vec<Risk>),
    /// Creating a migration needs to know where to write it.
    #[error("no migrations folder is configured: set versions_dir in strata.toml or STRATA_VERSIONS_DIR")]
    NoVersionsDir,
    /// `create --auto`, `check` and `init --from-models` need [`MigrationManager::with_models`].
    #[error("this application declares no models, so there is nothing to generate from or check against")]
    NoModels,
    /// Comparing the models with head failed.
    #[error(transparent)]
    Autogen(#[from] crate::autogen::AutogenError),
    /// The binary is older than the versions folder, so comparing its head with the models would
    /// generate a migration that already exists.
    #[error("the versions folder's head is {folder}, but this binary was built with head {built}: rebuild first (cargo build) so the comparison starts from the folder's head")]
    NotBuilt {
        /// The head in the versions folder.
        folder: String,
        /// The head compiled into this binary.
        built: String,
    },
}

fn describe_findings(findings: &[crate::lint::Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} op {} ({}): {} {}. Remedy: {}, or acknowledge it in the migration if it is safe here: {}",
                f.revision,
                f.op_index + 1,
                f.op,
                f.code,
                f.message,
                f.remedy,
                f.how_to_acknowledge()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn describe_risks(risks: &[Risk]) -> String {
    risks
        .iter()
        .map(|r| format!("{} ({}): {} {}", r.revision, r.message, r.op, r.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The migrations, the settings, and the environment's rules around them.
///
/// Build it once per process with [`MigrationManager::from_env`] (the environment, `.env` and
/// `strata.toml`, as the CLI reads them) or [`MigrationManager::new`] with explicit
/// [`Settings`]; each call connects afresh, so a manager can live for the whole application.
///
/// ```
/// use strata::prelude::*;
///
/// # mod migration_1 { use strata::prelude::*;
/// migration! {
///     revision: "0001aaaa",
///     parent: None,
///     message: "create users",
///     created: "2026-11-24T09:30:00Z",
///     upgrade: |op| { op.create_table(Table::new("users").column(Column::new("id", Type::BigInt).autoincrement())); },
///     downgrade: |op| { op.drop_table("users"); },
/// }
/// # }
/// # mod migration_2 { use strata::prelude::*;
/// migration! {
///     revision: "0002bbbb",
///     parent: Some("0001aaaa"),
///     message: "add emails",
///     created: "2026-11-25T09:30:00Z",
///     upgrade: |op| { op.add_column("users", Column::new("email", Type::Text).nullable()); },
///     downgrade: |op| { op.drop_column("users", "email"); },
/// }
/// # }
/// # let dir = std::env::temp_dir().join(format!("strata-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// use strata::config::{Overrides, Settings};
/// use strata::graph::Target;
/// use strata::policy::Confirmation;
/// use strata::runner::Quiet;
/// use strata::MigrationManager;
///
/// let set = strata::MigrationSet::new(strata::migration::registered())?;
/// let overrides = Overrides {
///     database_url: Some(format!("sqlite://{}", dir.join("app.db").display())),
///     ..Overrides::default()
/// };
/// let settings = Settings::load(&overrides, &dir)?; // `dir`: where strata.toml and .env live
/// let manager = MigrationManager::new(set, settings);
///
/// assert_eq!(manager.pending_migrations()?.len(), 2);
/// manager.run_migrations(&Target::Head, &mut Quiet)?;
/// assert_eq!(manager.current_revision()?.last().map(|m| m.revision), Some("0002bbbb"));
/// assert!(!manager.validate_migrations().is_error());
///
/// // Dev needs no confirmation; staging and prod refuse without one.
/// manager.rollback_migration(&"-1".parse()?, &Confirmation::default(), &mut Quiet)?;
/// assert_eq!(manager.migration_history()?.len(), 3);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct MigrationManager {
    set: MigrationSet,
    settings: Settings,
    models: Option<crate::models::Models>,
    pg_major: crate::locks::PgMajor,
    /// Whether the operator named the version ([`MigrationManager::with_pg_major`]).
    pg_major_given: bool,
}

impl MigrationManager {
    /// A manager with explicit settings (tests, or settings resolved by the caller).
    pub fn new(set: MigrationSet, settings: Settings) -> Self {
        MigrationManager {
            set,
            settings,
            models: None,
            pg_major: crate::locks::PgMajor::OLDEST,
            pg_major_given: false,
        }
    }

    /// The PostgreSQL major version offline SQL and `show` state lock facts for (default:
    /// [`crate::locks::PgMajor::OLDEST`], the worst case).
    pub fn with_pg_major(mut self, major: crate::locks::PgMajor) -> Self {
        self.pg_major = major;
        self.pg_major_given = true;
        self
    }

    /// The PostgreSQL major version offline lock facts are stated for.
    pub fn pg_major(&self) -> crate::locks::PgMajor {
        self.pg_major
    }

    /// What [`crate::lint`] assumes for these settings: the PostgreSQL version of
    /// [`MigrationManager::with_pg_major`], and in staging and prod (where migrations run
    /// with timeouts unless told otherwise) the configured timeouts, so a timeout turned off
    /// is reported. Dev runs without timeouts by design, so there they are not judged.
    pub fn lint_options(&self) -> crate::lint::LintOptions {
        let mut options = crate::lint::LintOptions::for_version(self.pg_major);
        // The runner rewrites only with a run lock (not in the transaction lock mode behind a
        // pooler): the lint assumes the rewrite only where it will happen.
        options.rewriting =
            self.settings.rewrite && self.settings.migration_lock != runner::LockMode::Transaction;
        match self.env() {
            Environment::Dev => options,
            Environment::Staging | Environment::Prod => options.with_timeouts(crate::lint::Timeouts {
                lock: self.settings.lock_timeout,
                statement: self.settings.statement_timeout,
            }),
        }
    }

    /// What `upgrade` and start-up lint the migrations about to run with, for PostgreSQL
    /// `major` (the server's): [`MigrationManager::lint_options`] for that version. The one
    /// place the enforcement's assumptions are made (lock-safe rewriting, when on, belongs
    /// here too), so that `validate` and the runs judge alike.
    ///
    /// Dev warns of what production will refuse, and production rewrites lock-safely by
    /// default: so unless rewriting is configured, dev assumes the rewrite (in the session
    /// lock mode), instead of warning of locks that production's rewrite does not take.
    pub fn enforcement_lint_options(&self, major: crate::locks::PgMajor) -> crate::lint::LintOptions {
        let mut options = self.lint_options();
        options.pg_major = major;
        if self.env() == Environment::Dev && !self.settings.rewrite_configured {
            options.rewriting = Environment::Prod.rewrites_by_default()
                && self.settings.migration_lock != runner::LockMode::Transaction;
        }
        options
    }

    /// The environment's rule for the lint `findings` of the migrations about to run on a
    /// `kind` database: production on PostgreSQL refuses an unacknowledged error
    /// ([`ManagerError::LintRefused`]); otherwise `listener` hears of them (dev: the
    /// unacknowledged errors, which production would refuse; staging and production: every
    /// finding, info and acknowledged ones included). SQLite databases are linted as
    /// PostgreSQL (the code runs there in production) but only warn: SQLite takes its one
    /// lock whatever the op.
    fn enforce(
        &self,
        kind: crate::ops::DialectKind,
        findings: &[crate::lint::Finding],
        listener: &mut dyn Listener,
    ) -> Result<(), ManagerError> {
        let env = self.env();
        let blocking = crate::lint::unacknowledged_errors(findings);
        if env == Environment::Prod && kind == crate::ops::DialectKind::Postgres && !blocking.is_empty() {
            return Err(ManagerError::LintRefused(blocking.into_iter().cloned().collect()));
        }
        for f in findings {
            let shown = match env {
                Environment::Dev => f.blocks(),
                Environment::Staging | Environment::Prod => true,
            };
            if shown {
                listener.lint_finding(env, f);
            }
        }
        Ok(())
    }

    /// The lint findings of the migrations an upgrade to `target` would apply from `read`,
    /// judged on what is applied (the server's version is read only when something would run).
    /// Acknowledgements that cannot be honoured are an error.
    /// `mode`: how they will run (grouped runs are never rewritten, so the lint then assumes
    /// no rewrite, or prod would let through what the rewrite was counted on to fix).
    fn planned_findings(
        &self,
        db: &mut dyn Backend,
        read: &runner::VersionRead,
        target: &Target,
        mode: TransactionMode,
    ) -> Result<Vec<crate::lint::Finding>, ManagerError> {
        let runner = self.runner();
        let planned = runner.plan_upgrade_of(read, target)?;
        if planned.is_empty() {
            return Ok(Vec::new());
        }
        let applied = runner.applied_of(read);
        let bad = crate::lint::acknowledgement_errors(&planned);
        if !bad.is_empty() {
            return Err(ManagerError::Acknowledgements(bad));
        }
        let (major, note) = validate::server_major(db);
        if let Some(note) = note {
            tracing::warn!("{note}");
        }
        let known = crate::locks::Known::after(applied.iter().copied());
        let mut options = self.enforcement_lint_options(major);
        options.rewriting &= mode == TransactionMode::PerMigration;
        Ok(crate::lint::lint_migrations(&planned, known, &options))
    }

    /// The application's models: the target schema that `create --auto`, `check` and a fresh
    /// database from models work from.
    pub fn with_models(mut self, models: crate::models::Models) -> Self {
        self.models = Some(models);
        self
    }

    fn models(&self) -> Result<&crate::models::Models, ManagerError> {
        self.models.as_ref().ok_or(ManagerError::NoModels)
    }

    /// Where the comparisons run: a private in-memory SQLite for SQLite, throwaway schemas on
    /// the configured server for PostgreSQL. Never the user's own schema.
    fn scratch(&self) -> Box<dyn crate::scratch::Scratch> {
        crate::scratch::for_url(self.database_url())
    }

    /// With settings from the environment, `.env` and `strata.toml` in the working directory.
    pub fn from_env(set: MigrationSet) -> Result<Self, ManagerError> {
        let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Ok(Self::new(set, Settings::load(&Overrides::default(), &dir)?))
    }

    /// The resolved settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
    /// The migrations it manages.
    pub fn migrations(&self) -> &MigrationSet {
        &self.set
    }
    /// The environment whose rules apply.
    pub fn env(&self) -> Environment {
        self.settings.env
    }
    /// The database it migrates.
    pub fn database_url(&self) -> &DatabaseUrl {
        &self.settings.database_url
    }

    fn runner(&self) -> Runner {
        let drift = if self.env() == Environment::Dev { DriftPolicy::Warn } else { DriftPolicy::Refuse };
        Runner::new(self.set.clone())
            .log_statements(self.env() == Environment::Prod)
            .on_drift(drift)
            .with_lock(self.settings.migration_lock, self.settings.migration_lock_timeout)
            .with_rewrite(
                runner::Rewriting::new(self.settings.rewrite).with_retry(self.settings.rewrite_retry),
            )
    }

    /// A connection with the environment's timeouts applied, so a migration that waits on a
    /// busy table fails fast instead of stalling a deploy.
    pub fn connect(&self) -> Result<Box<dyn Backend>, ManagerError> {
        open(&self.settings)
    }

    /// Scaffolds the migrations crate where parts are missing (when a versions folder is
    /// configured) and creates the version tables. Idempotent; never overwrites a file.
    pub fn initialize(&self) -> Result<Vec<Scaffolded>, ManagerError> {
        let scaffolded = match &self.settings.versions_dir {
            Some(dir) => scaffold::init(dir)?,
            None => Vec::new(),
        };
        let mut db = self.connect()?;
        // An empty version table beside a history would read as base: a corrupt state is
        // reported, never papered over (`stamp` is the repair).
        if let Err(e @ BackendError::CorruptVersionTable { .. }) = db.current_revision() {
            return Err(e.into());
        }
        db.ensure_version_tables()?;
        Ok(scaffolded)
    }

    /// Applies migrations up to `target`. In production, validates first and refuses on an
    /// error. The migrations it would apply are linted first: dev and staging warn
    /// ([`Listener::lint_finding`]), production refuses an error finding the migration does not
    /// acknowledge ([`ManagerError::LintRefused`], on PostgreSQL).
    pub fn run_migrations(
        &self,
        target: &Target,
        listener: &mut dyn Listener,
    ) -> Result<Report, ManagerError> {
        self.run_migrations_in(target, TransactionMode::PerMigration, listener)
    }

    /// [`MigrationManager::run_migrations`] with a transaction mode.
    pub fn run_migrations_in(
        &self,
        target: &Target,
        mode: TransactionMode,
        listener: &mut dyn Listener,
    ) -> Result<Report, ManagerError> {
        let mut db = self.connect()?;
        if self.env() == Environment::Prod {
            let validation = self.validate_with(db.as_mut());
            // Its lint errors are judged below, for the migrations up to `target` only.
            if validation.has_other_errors() {
                return Err(ManagerError::Invalid(validation));
            }
        }
        let runner = self.runner().with_mode(mode);
        // One read of the version for the lint and the run: nothing pending, nothing more asked.
        let read = runner.read_for(db.as_mut(), backend::Direction::Up)?;
        let findings = self.planned_findings(db.as_mut(), &read, target, mode)?;
        self.enforce(db.kind(), &findings, listener)?;
        Ok(runner.upgrade_after_read(db.as_mut(), read, target, listener)?)
    }

    /// What a rollback to `target` would end at (`base` or a revision id) and revert, for a
    /// front end to show and confirm. Changes nothing.
    pub fn rollback_plan(&self, target: &Target) -> Result<(String, Vec<&'static Migration>), ManagerError> {
        self.rollback_plan_on(self.connect()?.as_mut(), target)
    }

    /// [`MigrationManager::rollback_plan`] on a connection the caller holds.
    fn rollback_plan_on(
        &self,
        db: &mut dyn Backend,
        target: &Target,
    ) -> Result<(String, Vec<&'static Migration>), ManagerError> {
        let (steps, end) = self.runner().plan_downgrade(db, target)?;
        Ok((end.unwrap_or_else(|| "base".into()), steps))
    }

    /// The confirmation session for a rollback to `target` (see [`policy::RollbackSession`]):
    /// the plan, and what to ask given the environment and what the flags said. Changes
    /// nothing.
    pub fn rollback_session(
        &self,
        target: &Target,
        said: Confirmation,
    ) -> Result<policy::RollbackSession, ManagerError> {
        self.rollback_session_on(self.connect()?.as_mut(), target, said)
    }

    /// [`MigrationManager::rollback_session`] on a connection the caller holds (from
    /// [`MigrationManager::connect`]) and then hands to
    /// [`MigrationManager::rollback_migration_on`]: a command line's rollback connects once.
    pub fn rollback_session_on(
        &self,
        db: &mut dyn Backend,
        target: &Target,
        said: Confirmation,
    ) -> Result<policy::RollbackSession, ManagerError> {
        let (end, steps) = self.rollback_plan_on(db, target)?;
        Ok(policy::RollbackSession::new(self.env(), end, steps, said))
    }

    /// Reverts migrations down to `target`, if the environment's rules are satisfied by
    /// `confirmation`; nothing changes when they are not.
    pub fn rollback_migration(
        &self,
        target: &Target,
        confirmation: &Confirmation,
        listener: &mut dyn Listener,
    ) -> Result<Report, ManagerError> {
        self.rollback_migration_on(self.connect()?.as_mut(), target, confirmation, listener)
    }

    /// [`MigrationManager::rollback_migration`] on a connection the caller holds.
    pub fn rollback_migration_on(
        &self,
        db: &mut dyn Backend,
        target: &Target,
        confirmation: &Confirmation,
        listener: &mut dyn Listener,
    ) -> Result<Report, ManagerError> {
        let runner = self.runner();
        // One read for the plan check and the run.
        let read = runner.read_for(db, backend::Direction::Down)?;
        let (steps, end) = runner.plan_downgrade_of(&read, target)?;
        if let Some(shown) = &confirmation.shown_plan {
            if steps.iter().map(|m| m.revision).ne(shown.iter().map(String::as_str)) {
                let current = db.current_revision()?.unwrap_or_else(|| "base".into());
                return Err(runner::Error::PlanChanged {
                    shown: shown.clone(),
                    now: steps.iter().map(|m| m.revision.to_string()).collect(),
                    current,
                }
                .into());
            }
        }
        let end = end.unwrap_or_else(|| "base".into());
        policy::check_rollback(self.env(), confirmation, &end)?;
        if self.env() == Environment::Prod && !steps.is_empty() {
            tracing::warn!(target = end, steps = steps.len(), "rolling back in production");
        }
        let expected = confirmation.shown_plan.as_deref();
        Ok(runner.downgrade_after_read(db, read, target, expected, listener)?)
    }

    /// The heads of what the database has applied: one migration in a linear history, one
    /// per branch while a branching history is partly applied, none at base.
    pub fn current_revision(&self) -> Result<Vec<&'static Migration>, ManagerError> {
        Ok(self.runner().current(self.connect()?.as_mut())?)
    }
    /// [`MigrationManager::current_revision`] and the history rows of those heads, on one
    /// connection (what `current` shows: one connect and two short queries).
    pub fn current_with_history(&self) -> Result<(Vec<&'static Migration>, Vec<HistoryRow>), ManagerError> {
        let mut db = self.connect()?;
        let heads = self.runner().current(db.as_mut())?;
        if heads.is_empty() {
            return Ok((heads, Vec::new()));
        }
        let revisions: Vec<&str> = heads.iter().map(|m| m.revision).collect();
        let rows = db.history_of(&revisions)?;
        Ok((heads, rows))
    }
    /// The migrations not yet applied, in apply order.
    pub fn pending_migrations(&self) -> Result<Vec<&'static Migration>, ManagerError> {
        Ok(self.runner().pending(self.connect()?.as_mut())?)
    }
    /// The history table: every upgrade, downgrade, stamp, accept and resolve, oldest first.
    pub fn migration_history(&self) -> Result<Vec<HistoryRow>, ManagerError> {
        Ok(self.runner().history(self.connect()?.as_mut())?)
    }

    /// Validates code, environment and database; never fails, the result says what is wrong.
    pub fn validate_migrations(&self) -> Validation {
        match self.connect() {
            Ok(mut db) => self.validate_with(db.as_mut()),
            Err(e) => {
                let options = |major| self.enforcement_lint_options(major);
                let url = self.database_url();
                validate::validate_with_lint(Ok(&self.set), self.env(), url, Err(e.to_string()), &options)
            }
        }
    }

    fn validate_with(&self, db: &mut dyn Backend) -> Validation {
        let options = |major| self.enforcement_lint_options(major);
        validate::validate_with_lint(Ok(&self.set), self.env(), self.database_url(), Ok(db), &options)
    }

    /// Records the current checksum of an applied migration after a reviewed edit.
    pub fn accept(&self, revision: &str) -> Result<&'static Migration, ManagerError> {
        Ok(self.runner().accept(self.connect()?.as_mut(), revision)?)
    }

    /// Settles an interrupted non-transactional migration (see [`Runner::resolve`]).
    pub fn resolve(&self, revision: &str, applied: bool) -> Result<Option<String>, ManagerError> {
        Ok(self.runner().resolve(self.connect()?.as_mut(), revision, applied)?)
    }

    /// Sets the version without running anything.
    pub fn stamp(&self, target: &Target) -> Result<Option<&'static Migration>, ManagerError> {
        Ok(self.runner().stamp(self.connect()?.as_mut(), target)?)
    }

    /// The SQL an upgrade or downgrade would run, without touching the database: a script that
    /// also creates and writes the version tables (this environment's), so a database it is
    /// applied to ends where an online run would. A data op is refused unless
    /// `allow_data_placeholders`, which leaves a marked placeholder for it.
    pub fn offline_sql(
        &self,
        direction: backend::Direction,
        from: &Target,
        to: &Target,
        allow_data_placeholders: bool,
    ) -> Result<Vec<MigrationSql>, ManagerError> {
        self.offline_sql_from(direction, &offline::start_of(&self.set, from)?, to, allow_data_placeholders)
    }

    /// [`MigrationManager::offline_sql`] from a database in the applied state `from`.
    pub fn offline_sql_from(
        &self,
        direction: backend::Direction,
        from: &crate::plan::State,
        to: &Target,
        allow_data_placeholders: bool,
    ) -> Result<Vec<MigrationSql>, ManagerError> {
        let kind = match self.database_url() {
            DatabaseUrl::Postgres { .. } => crate::ops::DialectKind::Postgres,
            _ => crate::ops::DialectKind::Sqlite,
        };
        let options = offline::Options {
            tables: self.settings.tables.clone(),
            allow_data_placeholders,
            lock_facts: Some(self.pg_major),
            rewrite: self.settings.rewrite.then(crate::rewrite::RewriteOptions::on),
            version_unknown: !self.pg_major_given,
        };
        Ok(offline::render_from(&self.set, kind, direction, from, to, &options)?)
    }

    /// Writes a new migration module into the versions folder: blank, or with `autogenerate`
    /// the ops that close the difference between the migrations at head and the models.
    /// `Ok(None)`: the models match head, nothing was written.
    pub fn create_migration(
        &self,
        message: &str,
        autogenerate: bool,
    ) -> Result<Option<Created>, ManagerError> {
        if !autogenerate {
            return self.create_migration_template(Template::Blank, message).map(Some);
        }
        self.create_migration_auto(message, None)
    }

    /// `create --auto`: the ops from the difference between the models and the migrations
    /// at head, with a chosen revision id (validated before anything is compared) or a fresh
    /// one. `None` when there is nothing to generate.
    pub fn create_migration_auto(
        &self,
        message: &str,
        revision: Option<&str>,
    ) -> Result<Option<Created>, ManagerError> {
        if let Some(id) = revision.filter(|id| !crate::build::valid_revision(id)) {
            return Err(ScaffoldError::BadRevision(id.to_string()).into());
        }
        let dir = self.settings.versions_dir.as_deref().ok_or(ManagerError::NoVersionsDir)?;
        let (folder_head, _) = scaffold::folder_head(dir)?;
        let built_head = self.set.head().map(|m| m.revision.to_string());
        if folder_head != built_head {
            let name = |h: Option<String>| h.unwrap_or_else(|| "base".into());
            return Err(ManagerError::NotBuilt { folder: name(folder_head), built: name(built_head) });
        }
        let diff = crate::autogen::autogenerate(&self.set, self.models()?, self.scratch().as_mut())?;
        if diff.is_empty() {
            return Ok(None);
        }
        let created = scaffold::write_migration(dir, message, revision, |revision, parent, created| {
            let header = crate::codegen::MigrationHeader {
                revision: revision.to_string(),
                parent: parent.map(str::to_string),
                message: message.to_string(),
                created: created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            };
            crate::codegen::migration_source(&header, &diff)
        })?;
        Ok(Some(created))
    }

    /// `check`: `None` when the models and the migrations at head agree, otherwise the
    /// difference as readable text.
    pub fn check_models(&self) -> Result<Option<String>, ManagerError> {
        Ok(crate::autogen::check(&self.set, self.models()?, self.scratch().as_mut())?)
    }

    /// A new database built straight from the models and stamped at head in one transaction,
    /// refused when the models and head differ or the database is not empty. Returns the
    /// revision it stamped.
    pub fn create_from_models(&self) -> Result<Option<String>, ManagerError> {
        let mut db = self.connect()?;
        Ok(crate::autogen::create_from_models_with(
            &self.runner(),
            self.models()?,
            self.scratch().as_mut(),
            db.as_mut(),
        )?)
    }

    /// Writes a new migration module from a template.
    pub fn create_migration_template(
        &self,
        template: Template,
        message: &str,
    ) -> Result<Created, ManagerError> {
        self.create_migration_with_id(template, message, None)
    }

    /// Writes a new migration module from a template with a chosen revision id (validated:
    /// it becomes part of a file name and of Rust code).
    pub fn create_migration_with_id(
        &self,
        template: Template,
        message: &str,
        revision: Option<&str>,
    ) -> Result<Created, ManagerError> {
        let dir = self.settings.versions_dir.as_deref().ok_or(ManagerError::NoVersionsDir)?;
        Ok(scaffold::create_migration_with_id(dir, message, template, revision)?)
    }

    /// The start-up call: validates, then applies pending migrations under the environment's
    /// rules (production: only when none of them drops or rewrites data, and none has a lint
    /// error it does not acknowledge; dev and staging warn of the lint's findings, see
    /// [`MigrationManager::run_migrations`]). The lint uses validation's findings, so a
    /// start-up with nothing pending costs no query more than before.
    pub fn start_up(&self, listener: &mut dyn Listener) -> Result<Report, ManagerError> {
        let mut db = self.connect()?;
        let validation = self.validate_with(db.as_mut());
        if validation.has_other_errors() {
            return Err(ManagerError::Invalid(validation));
        }
        let runner = self.runner();
        // One read of the version for production's risk check and the run.
        let read = runner.read_for(db.as_mut(), backend::Direction::Up)?;
        if self.env() == Environment::Prod {
            let risks = policy::risks(&runner.plan_upgrade_of(&read, &Target::Head)?);
            if !risks.is_empty() {
                return Err(ManagerError::StartupBlocked(risks));
            }
        }
        self.enforce(db.kind(), &validation.findings, listener)?;
        if validation.is_error() {
            return Err(ManagerError::Invalid(validation));
        }
        Ok(runner.upgrade_after_read(db.as_mut(), read, &Target::Head, listener)?)
    }
}

/// Runs pending migrations at application start-up with the environment's rules, settings
/// from the environment, `.env` and `strata.toml`.
///
/// This is the one call an application makes before serving. It validates first in every
/// environment and refuses on an error (a broken chain, drift, a dirty or corrupt version
/// table, a database at an unknown revision: [`ManagerError::Invalid`]); then dev and staging
/// apply everything pending, while production applies only migrations that neither drop nor
/// rewrite data ([`ManagerError::StartupBlocked`] names the others, for an operator to apply
/// with an explicit upgrade) and have no lint error they do not acknowledge
/// ([`ManagerError::LintRefused`]; dev and staging warn of them instead). Replicas starting together are safe: one
/// migrates, the others wait for the lock and find the database at head.
///
/// ```
/// # use strata::prelude::*;
/// #
/// # mod migration_3 { use strata::prelude::*;
/// # migration! {
/// #     revision: "0001aaaa",
/// #     parent: None,
/// #     message: "create users",
/// #     created: "2026-11-24T09:30:00Z",
/// #     upgrade: |op| { op.create_table(Table::new("users").column(Column::new("id", Type::BigInt).autoincrement())); },
/// #     downgrade: |op| { op.drop_table("users"); },
/// # }
/// # }
/// # mod migration_4 { use strata::prelude::*;
/// # migration! {
/// #     revision: "0002bbbb",
/// #     parent: Some("0001aaaa"),
/// #     message: "add emails",
/// #     created: "2026-11-25T09:30:00Z",
/// #     upgrade: |op| { op.add_column("users", Column::new("email", Type::Text).nullable()); },
/// #     downgrade: |op| { op.drop_column("users", "email"); },
/// # }
/// # }
/// # let dir = std::env::temp_dir().join(format!("strata-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # std::env::set_var("DATABASE_URL", format!("sqlite://{}", dir.join("app.db").display()));
/// // In an application: `let set = app_migrations::migrations()?;`
/// let set = strata::MigrationSet::new(strata::migration::registered())?;
/// let report = strata::init_database(set)?; // DATABASE_URL, ENV, ... from the environment
/// assert_eq!(report.applied.len(), 2);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn init_database(set: MigrationSet) -> Result<Report, ManagerError> {
    MigrationManager::from_env(set)?.start_up(&mut Quiet)
}

/// Upgrades to `target` (`"head"`, a revision, `"+N"`).
///
/// Unlike [`init_database`], no start-up rules: an explicit upgrade, as an operator's
/// `upgrade` command (production still validates first).
///
/// ```
/// # use strata::prelude::*;
/// #
/// # mod migration_5 { use strata::prelude::*;
/// # migration! {
/// #     revision: "0001aaaa",
/// #     parent: None,
/// #     message: "create users",
/// #     created: "2026-11-24T09:30:00Z",
/// #     upgrade: |op| { op.create_table(Table::new("users").column(Column::new("id", Type::BigInt).autoincrement())); },
/// #     downgrade: |op| { op.drop_table("users"); },
/// # }
/// # }
/// # mod migration_6 { use strata::prelude::*;
/// # migration! {
/// #     revision: "0002bbbb",
/// #     parent: Some("0001aaaa"),
/// #     message: "add emails",
/// #     created: "2026-11-25T09:30:00Z",
/// #     upgrade: |op| { op.add_column("users", Column::new("email", Type::Text).nullable()); },
/// #     downgrade: |op| { op.drop_column("users", "email"); },
/// # }
/// # }
/// # let dir = std::env::temp_dir().join(format!("strata-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # std::env::set_var("DATABASE_URL", format!("sqlite://{}", dir.join("app.db").display()));
/// let set = strata::MigrationSet::new(strata::migration::registered())?;
/// let report = strata::migrate(set, "+1")?; // one step; "head" for everything
/// assert_eq!(report.to.as_deref(), Some("0001aaaa"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn migrate(set: MigrationSet, target: &str) -> Result<Report, ManagerError> {
    MigrationManager::from_env(set)?.run_migrations(&target.parse()?, &mut Quiet)
}

/// Rolls back to `target` (`"-1"`, a revision, `"base"`) without confirmations: allowed in
/// dev only; staging and production refuse (use [`MigrationManager::rollback_migration`]).
///
/// ```
/// # use strata::prelude::*;
/// #
/// # mod migration_7 { use strata::prelude::*;
/// # migration! {
/// #     revision: "0001aaaa",
/// #     parent: None,
/// #     message: "create users",
/// #     created: "2026-11-24T09:30:00Z",
/// #     upgrade: |op| { op.create_table(Table::new("users").column(Column::new("id", Type::BigInt).autoincrement())); },
/// #     downgrade: |op| { op.drop_table("users"); },
/// # }
/// # }
/// # mod migration_8 { use strata::prelude::*;
/// # migration! {
/// #     revision: "0002bbbb",
/// #     parent: Some("0001aaaa"),
/// #     message: "add emails",
/// #     created: "2026-11-25T09:30:00Z",
/// #     upgrade: |op| { op.add_column("users", Column::new("email", Type::Text).nullable()); },
/// #     downgrade: |op| { op.drop_column("users", "email"); },
/// # }
/// # }
/// # let dir = std::env::temp_dir().join(format!("strata-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # std::env::set_var("DATABASE_URL", format!("sqlite://{}", dir.join("app.db").display()));
/// let set = strata::MigrationSet::new(strata::migration::registered())?;
/// strata::migrate(set.clone(), "head")?;
/// let report = strata::rollback(set, "-1")?;
/// assert_eq!(report.to.as_deref(), Some("0001aaaa"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn rollback(set: MigrationSet, target: &str) -> Result<Report, ManagerError> {
    MigrationManager::from_env(set)?.rollback_migration(
        &target.parse()?,
        &Confirmation::default(),
        &mut Quiet,
    )
}

/// Writes a new blank migration module (see [`MigrationManager::create_migration`] for
/// autogenerate, which needs the application's models).
pub fn create_migration(set: MigrationSet, message: &str) -> Result<Created, ManagerError> {
    MigrationManager::from_env(set)?.create_migration_template(Template::Blank, message)
}

/// A connection for `settings`, with the environment's timeouts applied: what
/// [`MigrationManager::connect`] opens.
fn open(settings: &Settings) -> Result<Box<dyn Backend>, ManagerError> {
    let mut db = backend::connect_with(&settings.database_url, settings.tables.clone())?;
    let ms = |d: std::time::Duration| d.as_millis();
    match db.kind() {
        // Behind a transaction-pooling PgBouncer (lock mode `transaction`) a session
        // setting would stay on a pooled server connection for other clients and miss the
        // next transaction: each migration transaction sets its own.
        crate::ops::DialectKind::Postgres => db.set_timeouts(
            settings.lock_timeout,
            settings.statement_timeout,
            settings.migration_lock == runner::LockMode::Transaction,
        )?,
        // SQLite's only lock is the whole database's, held by another writer: every wait for
        // it (the version read that a `BEGIN EXCLUSIVE` holder blocks, as much as `BEGIN
        // IMMEDIATE`) is a wait for another migrator, bounded by the migration lock timeout.
        crate::ops::DialectKind::Sqlite => {
            let t = settings.migration_lock_timeout;
            db.execute(&format!("PRAGMA busy_timeout = {}", ms(t)))?;
        }
    }
    Ok(db)
}
