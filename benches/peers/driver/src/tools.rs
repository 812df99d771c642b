//! What is measured: the four apps, the columns of the table (a tool, or raw in one of its
//! modes) and the workloads (the rows), and which command each column runs for each row.

use std::fmt;

/// One of the benchmark's apps: a cargo project under `benches/peers/`, built one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum App {
    Raw,
    Sqlx,
    Refinery,
    Strata,
    /// strata-app built without strata's `sql-lint` feature (the raw-SQL parser): what the
    /// parser's presence in the binary costs each start, measured beside the default build.
    StrataNoSqlLint,
}

impl App {
    pub const ALL: [App; 5] = [App::Raw, App::Sqlx, App::Refinery, App::Strata, App::StrataNoSqlLint];

    /// The project's folder under `benches/peers/`, which is also its package and binary name.
    pub fn project(self) -> &'static str {
        match self {
            App::Raw => "raw-app",
            App::Sqlx => "sqlx-app",
            App::Refinery => "refinery-app",
            App::Strata | App::StrataNoSqlLint => "strata-app",
        }
    }

    /// The app's own name: its binaries' and databases' names.
    pub fn name(self) -> &'static str {
        match self {
            App::StrataNoSqlLint => "strata-app-no-sql-lint",
            app => app.project(),
        }
    }

    /// The cargo arguments that choose the build besides the size feature: every app with its
    /// project's default features (strata-app's: strata's default `sql-lint`) but one.
    pub fn cargo_args(self) -> &'static [&'static str] {
        match self {
            App::StrataNoSqlLint => &["--no-default-features"],
            _ => &[],
        }
    }

    /// The commands, in order, that upgrade base → head (to build the databases runs start
    /// from).
    pub fn upgrade_commands(self) -> &'static [&'static [&'static str]] {
        match self {
            // The floors' database keeps no history (the bookkept downgrade creates its table)
            // and one version row, which `read-version` reads: every floor runs on the
            // workload's tables and that one small table.
            App::Raw => &[&["up-one-txn"], &["stamp"]],
            App::Sqlx | App::Refinery => &[&["up"]],
            App::Strata | App::StrataNoSqlLint => &[&["upgrade"]],
        }
    }

    /// Whether the app has a `durability` command (strata's command line is strata's own).
    pub fn reports_durability(self) -> bool {
        !matches!(self, App::Strata | App::StrataNoSqlLint)
    }
}

impl fmt::Display for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A column of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tool {
    /// Raw SQL, every statement in one transaction.
    RawOneTxn,
    /// Raw SQL, a transaction per statement: the floor of upgrade and downgrade.
    RawPerStatement,
    /// Raw SQL, a transaction per migration holding its statement, a history row and the
    /// version update: the least a tool that records each migration in the migration's own
    /// transaction must do (the second floor of upgrade and downgrade).
    RawBookkept,
    /// Connect and `SELECT 1`: the floor of the nothing-pending check and `current`.
    Select1,
    /// Connect and read a one-row version table: the least a tool that keeps its state in the
    /// database must do to check or tell it (the second floor of those rows).
    ReadVersion,
    Sqlx,
    Refinery,
    Strata,
    /// strata built without its raw-SQL parser, on the start-up rows only: what the target's
    /// remaining gap owes to the parser being linked in (see [`App::StrataNoSqlLint`]).
    StrataNoSqlLint,
}

impl Tool {
    pub const ALL: [Tool; 9] = [
        Tool::RawOneTxn,
        Tool::RawPerStatement,
        Tool::RawBookkept,
        Tool::Select1,
        Tool::ReadVersion,
        Tool::Sqlx,
        Tool::Refinery,
        Tool::Strata,
        Tool::StrataNoSqlLint,
    ];

    /// The app whose binary runs this column.
    pub fn app(self) -> App {
        match self {
            Tool::RawOneTxn
            | Tool::RawPerStatement
            | Tool::RawBookkept
            | Tool::Select1
            | Tool::ReadVersion => App::Raw,
            Tool::Sqlx => App::Sqlx,
            Tool::Refinery => App::Refinery,
            Tool::Strata => App::Strata,
            Tool::StrataNoSqlLint => App::StrataNoSqlLint,
        }
    }

    /// The column header.
    pub fn header(self) -> &'static str {
        match self {
            Tool::RawOneTxn => "raw, one txn",
            Tool::RawPerStatement => "raw, txn per stmt",
            Tool::RawBookkept => "raw + bookkeeping",
            Tool::Select1 => "connect + SELECT 1",
            Tool::ReadVersion => "connect + read version",
            Tool::Sqlx => "sqlx",
            Tool::Refinery => "refinery",
            Tool::Strata => "strata",
            Tool::StrataNoSqlLint => "strata, no sql-lint",
        }
    }

    /// A name without spaces, for file names.
    pub fn slug(self) -> &'static str {
        match self {
            Tool::RawOneTxn => "raw-one-txn",
            Tool::RawPerStatement => "raw-per-statement",
            Tool::RawBookkept => "raw-bookkept",
            Tool::Select1 => "select1",
            Tool::ReadVersion => "read-version",
            Tool::Sqlx => "sqlx",
            Tool::Refinery => "refinery",
            Tool::Strata => "strata",
            Tool::StrataNoSqlLint => "strata-no-sql-lint",
        }
    }

    /// Whether this column is a migration tool (compared with strata) rather than raw.
    pub fn is_peer(self) -> bool {
        matches!(self, Tool::Sqlx | Tool::Refinery)
    }

    /// What this column runs for `workload`: its arguments, or why it has no cell.
    pub fn command(self, workload: Workload) -> Cell {
        use Cell::{Absent, Runs, Unsupported};
        use Workload::*;
        match (self, workload) {
            (Tool::RawOneTxn, Upgrade) => Runs(&["up-one-txn"]),
            (Tool::RawPerStatement, Upgrade) => Runs(&["up-per-statement"]),
            (Tool::RawPerStatement, Downgrade) => Runs(&["down-per-statement"]),
            (Tool::RawBookkept, Upgrade) => Runs(&["up-bookkept"]),
            (Tool::RawBookkept, Downgrade) => Runs(&["down-bookkept"]),
            (Tool::Select1, Pending | Current) => Runs(&["select1"]),
            (Tool::ReadVersion, Pending | Current) => Runs(&["read-version"]),
            (
                Tool::RawOneTxn
                | Tool::RawPerStatement
                | Tool::RawBookkept
                | Tool::Select1
                | Tool::ReadVersion,
                _,
            ) => Absent,
            (Tool::Sqlx, Upgrade | Pending) => Runs(&["up"]),
            (Tool::Sqlx, Downgrade) => Runs(&["down"]),
            (Tool::Sqlx, Current) => Runs(&["current"]),
            (Tool::Refinery, Upgrade | Pending) => Runs(&["up"]),
            // refinery has no down migrations.
            (Tool::Refinery, Downgrade) => Unsupported,
            (Tool::Refinery, Current) => Runs(&["current"]),
            (Tool::Strata, Upgrade | Pending) => Runs(&["upgrade"]),
            (Tool::Strata, Downgrade) => Runs(&["downgrade", "--revision", "base"]),
            (Tool::Strata, Current) => Runs(&["current"]),
            (Tool::StrataNoSqlLint, Pending) => Runs(&["upgrade"]),
            (Tool::StrataNoSqlLint, Current) => Runs(&["current"]),
            // Not a target's subject: measured where only the binary's start-up differs.
            (Tool::StrataNoSqlLint, Upgrade | Downgrade) => Absent,
        }
    }
}

/// What a column does in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// Runs the column's binary with these arguments.
    Runs(&'static [&'static str]),
    /// The tool cannot do this (refinery's downgrade): "n/a".
    Unsupported,
    /// The column is not a measurement of this row (raw one txn on `current`): "—".
    Absent,
}

/// A row kind: what the timed command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Workload {
    /// base → head on a fresh, empty database.
    Upgrade,
    /// head → base on a fresh database at head.
    Downgrade,
    /// The upgrade command on a fresh database at head: nothing to do.
    Pending,
    /// The tool's "which revision is this database at" on a fresh database at head.
    Current,
}

impl Workload {
    pub const ALL: [Workload; 4] =
        [Workload::Upgrade, Workload::Downgrade, Workload::Pending, Workload::Current];

    pub fn label(self) -> &'static str {
        match self {
            Workload::Upgrade => "upgrade",
            Workload::Downgrade => "downgrade",
            Workload::Pending => "nothing pending",
            Workload::Current => "current",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Workload::Upgrade => "upgrade",
            Workload::Downgrade => "downgrade",
            Workload::Pending => "pending",
            Workload::Current => "current",
        }
    }

    /// A start-up check (nothing pending, current): milliseconds a run, judged to within
    /// 1 ms, so it gets more runs than an upgrade.
    pub fn is_start_up(self) -> bool {
        matches!(self, Workload::Pending | Workload::Current)
    }

    /// Whether a run starts from a database at head (built by the same app) rather than empty.
    pub fn starts_at_head(self) -> bool {
        self != Workload::Upgrade
    }

    /// Where a run must leave the database.
    pub fn ends_at(self) -> Expect {
        if self == Workload::Downgrade {
            Expect::Base
        } else {
            Expect::Head
        }
    }

    /// The column strata is held against (the floor) in this row.
    pub fn floor(self) -> Tool {
        match self {
            Workload::Upgrade | Workload::Downgrade => Tool::RawPerStatement,
            Workload::Pending | Workload::Current => Tool::Select1,
        }
    }

    /// The floor with the bookkeeping every migration tool here keeps: a history row and the
    /// version in each migration's transaction (upgrade, downgrade), the version read
    /// (nothing pending, current).
    pub fn bookkept_floor(self) -> Tool {
        match self {
            Workload::Upgrade | Workload::Downgrade => Tool::RawBookkept,
            Workload::Pending | Workload::Current => Tool::ReadVersion,
        }
    }
}

/// The state a database must be in after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// `n/2` tables `t_*` and `n/2` columns `extra_*`.
    Head,
    /// No table `t_*`.
    Base,
}

impl Expect {
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Head => "head",
            Expect::Base => "base",
        }
    }

    pub fn parse(text: &str) -> Result<Expect, String> {
        match text {
            "head" => Ok(Expect::Head),
            "base" => Ok(Expect::Base),
            other => Err(format!("expected head or base, not {other:?}")),
        }
    }
}

/// The database engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn label(self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_its_floor_and_strata() {
        for workload in Workload::ALL {
            assert!(matches!(workload.floor().command(workload), Cell::Runs(_)), "{workload:?}");
            assert!(matches!(Tool::Strata.command(workload), Cell::Runs(_)), "{workload:?}");
            assert!(Tool::ALL.iter().any(|t| t.is_peer() && matches!(t.command(workload), Cell::Runs(_))));
            let bookkept = workload.bookkept_floor();
            assert!(matches!(bookkept.command(workload), Cell::Runs(_)), "{workload:?}");
        }
        assert_eq!(Tool::RawBookkept.command(Workload::Upgrade), Cell::Runs(&["up-bookkept"]));
        assert_eq!(Tool::RawBookkept.command(Workload::Downgrade), Cell::Runs(&["down-bookkept"]));
        assert_eq!(Tool::RawBookkept.command(Workload::Current), Cell::Absent);
        assert_eq!(Tool::ReadVersion.command(Workload::Pending), Cell::Runs(&["read-version"]));
        assert_eq!(Tool::ReadVersion.command(Workload::Upgrade), Cell::Absent);
        assert_eq!(Workload::Current.bookkept_floor(), Tool::ReadVersion);
    }

    #[test]
    fn the_build_without_the_sql_parser_runs_strata_s_start_up_commands_apart() {
        for workload in [Workload::Pending, Workload::Current] {
            assert_eq!(Tool::StrataNoSqlLint.command(workload), Tool::Strata.command(workload));
        }
        for workload in [Workload::Upgrade, Workload::Downgrade] {
            assert_eq!(Tool::StrataNoSqlLint.command(workload), Cell::Absent);
        }
        assert!(!Tool::StrataNoSqlLint.is_peer());
        let (lean, strata) = (App::StrataNoSqlLint, App::Strata);
        assert_eq!(lean.project(), strata.project());
        assert_ne!(lean.name(), strata.name());
        assert_eq!(lean.cargo_args(), ["--no-default-features"]);
        assert!(strata.cargo_args().is_empty());
        assert_eq!(lean.upgrade_commands(), strata.upgrade_commands());
    }
}
