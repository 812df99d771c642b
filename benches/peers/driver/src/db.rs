//! The databases runs use: making a fresh one (empty, or a copy of one at head) and checking
//! the state a run left (`n/2` tables `t_*` and `n/2` columns `extra_*` at head, none at
//! base), with the bare drivers.

use crate::tools::Expect;
use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A database the apps reach through `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Db {
    /// A SQLite file.
    Sqlite { path: PathBuf },
    /// A database on a PostgreSQL server: `server` is the URL up to (not including) the
    /// `/database` part.
    Postgres { server: String, name: String },
}

impl Db {
    /// Parses the `DATABASE_URL` forms the benchmark writes: `sqlite://PATH` and
    /// `postgres://USER@HOST:PORT/NAME` (no query part).
    pub fn parse(url: &str) -> Result<Db, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok(Db::Sqlite { path: PathBuf::from(path) });
        }
        if url.starts_with("postgres://") && !url.contains('?') {
            if let Some((server, name)) = url.rsplit_once('/') {
                if !name.is_empty() && server.len() > "postgres:/".len() {
                    return Ok(Db::Postgres { server: server.to_string(), name: name.to_string() });
                }
            }
        }
        Err(format!(
            "{url:?} is not a database URL the benchmark writes (sqlite://PATH or postgres://.../NAME)"
        ))
    }

    /// The URL the apps get as `DATABASE_URL`.
    pub fn url(&self) -> String {
        match self {
            Db::Sqlite { path } => format!("sqlite://{}", path.display()),
            Db::Postgres { server, name } => format!("{server}/{name}"),
        }
    }

    /// The same server's or folder's database called `name` (a SQLite file `name.db`).
    pub fn sibling(&self, name: &str) -> Db {
        match self {
            Db::Sqlite { path } => Db::Sqlite { path: path.with_file_name(format!("{name}.db")) },
            Db::Postgres { server, .. } => Db::Postgres { server: server.clone(), name: name.to_string() },
        }
    }

    /// Replaces this database with a fresh one: empty (`from` is `None`; for SQLite, no
    /// file at all, as on a new deployment) or a copy of `from`, a database of the same engine.
    /// Afterwards nothing is left to write back: the copy is synced (SQLite) or
    /// checkpointed (PostgreSQL), and a PostgreSQL database has had its first connection
    /// (which builds its relation cache file), so a timed run pays neither.
    pub fn reset(&self, from: Option<&Db>) -> Result<(), String> {
        match (self, from) {
            (Db::Sqlite { path }, from) => {
                for suffix in ["", "-journal", "-wal", "-shm"] {
                    let file = PathBuf::from(format!("{}{suffix}", path.display()));
                    match fs::remove_file(&file) {
                        Err(e) if e.kind() != io::ErrorKind::NotFound => {
                            return Err(format!("cannot remove {}: {e}", file.display()))
                        }
                        _ => {}
                    }
                }
                match from {
                    None => {}
                    Some(Db::Sqlite { path: source }) => copy_synced(source, path)?,
                    Some(other) => return Err(format!("cannot copy {other} into a SQLite file")),
                }
                sync_dir(path)
            }
            (Db::Postgres { name, .. }, from) => {
                let template = match from {
                    None => String::new(),
                    Some(Db::Postgres { name: source, .. }) => format!(" TEMPLATE {}", quote_ident(source)),
                    Some(other) => return Err(format!("cannot copy {other} into a PostgreSQL database")),
                };
                let mut admin = self.sibling("postgres").connect_postgres()?;
                let name = quote_ident(name);
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .map_err(|e| format!("cannot drop {self}: {e}"))?;
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}{template}"))
                    .map_err(|e| format!("cannot create {self}: {e}"))?;
                let mut fresh = self.connect_postgres()?;
                fresh.batch_execute("SELECT 1").map_err(|e| format!("cannot query {self}: {e}"))?;
                drop(fresh);
                admin.batch_execute("CHECKPOINT").map_err(|e| format!("CHECKPOINT failed: {e}"))
            }
        }
    }

    /// Drops the database (PostgreSQL) or removes the file (SQLite), if there.
    pub fn remove(&self) -> Result<(), String> {
        match self {
            Db::Sqlite { path } => match fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(format!("cannot remove {self}: {e}")),
                _ => Ok(()),
            },
            Db::Postgres { name, .. } => {
                let mut admin = self.sibling("postgres").connect_postgres()?;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name)))
                    .map_err(|e| format!("cannot drop {self}: {e}"))
            }
        }
    }

    /// A connection to this PostgreSQL database.
    pub fn connect_postgres(&self) -> Result<postgres::Client, String> {
        postgres::Client::connect(&self.url(), postgres::NoTls)
            .map_err(|e| format!("cannot connect to {self}: {e}"))
    }

    /// What the database holds of the workload.
    pub fn state(&self) -> Result<State, String> {
        match self {
            Db::Sqlite { path } => sqlite_state(path),
            Db::Postgres { .. } => {
                let mut client = self.connect_postgres()?;
                let query = |client: &mut postgres::Client, sql: &str| {
                    client.query(sql, &[]).map_err(|e| format!("cannot read the catalog of {self}: {e}"))
                };
                let tables = query(
                    &mut client,
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname LIKE 't\\_%'",
                )?
                .iter()
                .map(|row| row.get::<_, String>(0))
                .collect();
                let columns = query(
                    &mut client,
                    "SELECT c.relname, a.attname FROM pg_attribute a \
                     JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname LIKE 't\\_%' \
                     AND a.attname LIKE 'extra\\_%' AND a.attnum > 0 AND NOT a.attisdropped",
                )?
                .iter()
                .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1)))
                .collect();
                Ok(State { tables, columns, journal: None })
            }
        }
    }

    /// Checks that the database is at `expect` for a workload of `n` migrations; the error
    /// says what was expected and what was found.
    pub fn verify(&self, n: usize, expect: Expect) -> Result<(), String> {
        let state = self.state()?;
        state.verify(n, expect)
    }
}

impl fmt::Display for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Db::Sqlite { path } => write!(f, "the SQLite file {}", path.display()),
            Db::Postgres { name, .. } => write!(f, "the PostgreSQL database {name}"),
        }
    }
}

/// The workload's traces in a database.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    /// Tables named `t_*`.
    pub tables: BTreeSet<String>,
    /// (table, column) of the columns named `extra_*` of those tables.
    pub columns: BTreeSet<(String, String)>,
    /// SQLite: the journal the file header records (`rollback` or `WAL`).
    pub journal: Option<&'static str>,
}

impl State {
    /// The state at `expect` of a workload of `n` migrations.
    pub fn expected(n: usize, expect: Expect) -> State {
        let mut state = State::default();
        if expect == Expect::Head {
            for step in peer_workload::steps(n) {
                match step.change {
                    peer_workload::Change::CreateTable { table } => {
                        state.tables.insert(table);
                    }
                    peer_workload::Change::AddColumn { table, column } => {
                        state.columns.insert((table, column));
                    }
                }
            }
        }
        state
    }

    /// Compares with the state at `expect`; the error names the counts and the first
    /// differences.
    pub fn verify(&self, n: usize, expect: Expect) -> Result<(), String> {
        let want = State::expected(n, expect);
        let mut problems = Vec::new();
        if self.tables != want.tables || self.columns != want.columns {
            let mut text = format!(
                "expected {} tables t_* and {} columns extra_* ({} of {n} migrations), found {} and {}",
                want.tables.len(),
                want.columns.len(),
                expect.as_str(),
                self.tables.len(),
                self.columns.len()
            );
            let missing: Vec<String> = want
                .tables
                .difference(&self.tables)
                .cloned()
                .chain(want.columns.difference(&self.columns).map(|(t, c)| format!("{t}.{c}")))
                .collect();
            let extra: Vec<String> = self
                .tables
                .difference(&want.tables)
                .cloned()
                .chain(self.columns.difference(&want.columns).map(|(t, c)| format!("{t}.{c}")))
                .collect();
            for (what, mut list) in [("missing", missing), ("unexpected", extra)] {
                // t_3 before t_11.
                list.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
                if !list.is_empty() {
                    let shown: Vec<&str> = list.iter().take(5).map(String::as_str).collect();
                    let more =
                        if list.len() > 5 { format!(" and {} more", list.len() - 5) } else { String::new() };
                    text.push_str(&format!("; {what}: {}{more}", shown.join(", ")));
                }
            }
            problems.push(text);
        }
        if let Some(journal) = self.journal {
            if journal != "rollback" {
                problems.push(format!(
                    "the file is in {journal} mode, not the default rollback journal the benchmark measures"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// The state of a SQLite file (a missing file holds nothing), read without writing.
fn sqlite_state(path: &Path) -> Result<State, String> {
    let header = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::default()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    // Bytes 18 and 19 of the header: 1 for the rollback journal, 2 for WAL.
    let journal = match header.get(18..20) {
        Some([1, 1]) => Some("rollback"),
        Some([2, 2]) => Some("WAL"),
        _ if header.is_empty() => None,
        _ => return Err(format!("{} is not a SQLite database", path.display())),
    };
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(path, flags)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let failed = |e: rusqlite::Error| format!("cannot read the schema of {}: {e}", path.display());
    let mut tables = BTreeSet::new();
    let mut statement = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 't\\_%' ESCAPE '\\'")
        .map_err(failed)?;
    for name in statement.query_map([], |row| row.get::<_, String>(0)).map_err(failed)? {
        tables.insert(name.map_err(failed)?);
    }
    let mut columns = BTreeSet::new();
    let mut statement = conn
        .prepare(
            "SELECT m.name, p.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p \
             WHERE m.type = 'table' AND m.name LIKE 't\\_%' ESCAPE '\\' AND p.name LIKE 'extra\\_%' ESCAPE '\\'",
        )
        .map_err(failed)?;
    for pair in statement
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
        .map_err(failed)?
    {
        columns.insert(pair.map_err(failed)?);
    }
    Ok(State { tables, columns, journal })
}

/// Copies `source` to `target` and syncs the copy to disk.
fn copy_synced(source: &Path, target: &Path) -> Result<(), String> {
    fs::copy(source, target)
        .map_err(|e| format!("cannot copy {} to {}: {e}", source.display(), target.display()))?;
    fs::File::open(target)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("cannot sync {}: {e}", target.display()))
}

/// Syncs the folder holding `path` (a removed or created file's directory entry).
fn sync_dir(path: &Path) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| format!("cannot sync {}: {e}", dir.display()))
}

/// `"name"` with inner quotes doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(dir: &Path, name: &str, statements: &[String]) -> Db {
        let path = dir.join(format!("{name}.db"));
        let conn = rusqlite::Connection::open(&path).expect("open a test database");
        for sql in statements {
            conn.execute_batch(sql).expect("run a test statement");
        }
        Db::Sqlite { path }
    }

    /// A fresh folder for one test (tests run in parallel).
    fn scratch(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("peer-bench-test-{}-{test}", std::process::id()));
        fs::remove_dir_all(&dir).ok();
        fs::create_dir_all(&dir).expect("create a scratch folder");
        dir
    }

    #[test]
    fn urls_round_trip() {
        for url in ["sqlite:///a/b.db", "postgres://postgres@%2Ftmp%2Fx:5432/bench"] {
            assert_eq!(Db::parse(url).expect("parses").url(), url);
        }
        assert!(Db::parse("mysql://x").is_err());
        assert!(Db::parse("postgres://h/db?sslmode=disable").is_err());
    }

    #[test]
    fn head_and_base_are_recognised() {
        let dir = scratch("states");
        let up: Vec<String> = peer_workload::steps(10).iter().map(|s| s.up_sql()).collect();
        let head = sqlite(&dir, "head", &up);
        head.verify(10, Expect::Head).expect("head is head");
        let error = head.verify(10, Expect::Base).expect_err("head is not base");
        assert!(error.starts_with(
            "expected 0 tables t_* and 0 columns extra_* (base of 10 migrations), found 5 and 5"
        ));
        assert!(error.contains("unexpected: t_1, t_3, t_5, t_7, t_9 and 5 more"), "{error}");

        let base = sqlite(&dir, "base", &["CREATE TABLE strata_version (v TEXT)".to_string()]);
        base.verify(10, Expect::Base).expect("no t_* is base");
        Db::Sqlite { path: dir.join("never-created.db") }.verify(10, Expect::Base).expect("no file is base");

        let partial = sqlite(&dir, "partial", &up[..9]);
        let error = partial.verify(10, Expect::Head).expect_err("one column short");
        assert!(error.contains("found 5 and 4; missing: t_9.extra_10"), "{error}");
        fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn the_bookkeeping_tables_are_not_counted_and_a_wrong_state_is_still_refused() {
        let dir = scratch("bookkept");
        // What raw-app's bookkept modes leave besides the workload: both tables, with rows.
        let [history, version] = peer_workload::RAW_BOOKKEEPING_TABLES;
        let bookkeeping = vec![
            format!("CREATE TABLE {history} (id INTEGER PRIMARY KEY, revision TEXT NOT NULL, applied_at TEXT NOT NULL)"),
            format!("CREATE TABLE {version} (revision TEXT)"),
            format!("INSERT INTO {history} (revision, applied_at) VALUES ('abc', 'now')"),
            format!("INSERT INTO {version} VALUES ('abc')"),
        ];
        let up: Vec<String> = peer_workload::steps(10).iter().map(|s| s.up_sql()).collect();
        let head = sqlite(&dir, "head", &[bookkeeping.clone(), up.clone()].concat());
        head.verify(10, Expect::Head).expect("head with bookkeeping is head");
        let error = head.verify(10, Expect::Base).expect_err("head is not base");
        assert!(error.contains("found 5 and 5"), "{error}");
        let base = sqlite(&dir, "base", &bookkeeping);
        base.verify(10, Expect::Base).expect("only the bookkeeping tables is base");
        let error = base.verify(10, Expect::Head).expect_err("the bookkeeping tables are not head");
        assert!(error.contains("found 0 and 0"), "{error}");
        let partial = sqlite(&dir, "partial", &[bookkeeping, up[..9].to_vec()].concat());
        let error = partial.verify(10, Expect::Head).expect_err("one column short");
        assert!(error.contains("found 5 and 4; missing: t_9.extra_10"), "{error}");
        fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn wal_files_are_refused() {
        let dir = scratch("wal");
        let db = sqlite(&dir, "wal", &["PRAGMA journal_mode=WAL".into(), "CREATE TABLE x (a)".into()]);
        let error = db.verify(10, Expect::Base).expect_err("WAL is refused");
        assert!(error.contains("WAL mode"), "{error}");
        fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn resets_copy_or_empty_a_sqlite_file() {
        let dir = scratch("reset");
        let up: Vec<String> = peer_workload::steps(4).iter().map(|s| s.up_sql()).collect();
        let template = sqlite(&dir, "template", &up);
        let target = template.sibling("target");
        target.reset(Some(&template)).expect("copy");
        target.verify(4, Expect::Head).expect("the copy is at head");
        target.reset(None).expect("empty");
        target.verify(4, Expect::Base).expect("empty is base");
        fs::remove_dir_all(dir).ok();
    }
}
