//! The workload of the whole-process peer benchmark, defined once for every tool.
//!
//! Migration `i` (1-based, `1..=n`, `n` even):
//!
//! - odd `i`: `CREATE TABLE t_i (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`, undone by
//!   `DROP TABLE t_i`;
//! - even `i`: `ALTER TABLE t_{i-1} ADD COLUMN extra_i TEXT`, undone by
//!   `ALTER TABLE t_{i-1} DROP COLUMN extra_i`.
//!
//! At head a database has `n/2` tables `t_*` and `n/2` columns `extra_*`; at base, none.
//! Every app's build script writes its own kind of migration files from [`steps`] (SQL files
//! for sqlx and refinery, typed-op Rust files for strata), and the raw app runs the same SQL.

/// The sizes the benchmark measures, as cargo features of the apps (`n100`, `n1000`).
pub const SIZES: [usize; 2] = [100, 1000];

/// What one migration does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`.
    CreateTable { table: String },
    /// `ALTER TABLE {table} ADD COLUMN {column} TEXT` (nullable).
    AddColumn { table: String, column: String },
}

/// One generated migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// 1-based position in the chain.
    pub index: usize,
    pub change: Change,
}

impl Step {
    /// The upgrade statement (the same SQL on SQLite and PostgreSQL).
    pub fn up_sql(&self) -> String {
        match &self.change {
            Change::CreateTable { table } => {
                format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            }
            Change::AddColumn { table, column } => format!("ALTER TABLE {table} ADD COLUMN {column} TEXT"),
        }
    }

    /// The downgrade statement.
    pub fn down_sql(&self) -> String {
        match &self.change {
            Change::CreateTable { table } => format!("DROP TABLE {table}"),
            Change::AddColumn { table, column } => format!("ALTER TABLE {table} DROP COLUMN {column}"),
        }
    }

    /// A short snake_case description for file names (`create_t_1`, `add_extra_2_to_t_1`).
    pub fn slug(&self) -> String {
        match &self.change {
            Change::CreateTable { table } => format!("create_{table}"),
            Change::AddColumn { table, column } => format!("add_{column}_to_{table}"),
        }
    }

    /// A human message (`create t_1`, `add t_1.extra_2`).
    pub fn message(&self) -> String {
        match &self.change {
            Change::CreateTable { table } => format!("create {table}"),
            Change::AddColumn { table, column } => format!("add {table}.{column}"),
        }
    }
}

/// The `n` migrations, in chain order.
///
/// # Panics
/// When `n` is odd: the state check counts `n/2` tables and `n/2` columns.
pub fn steps(n: usize) -> Vec<Step> {
    assert!(n.is_multiple_of(2), "the workload needs an even number of migrations, not {n}");
    (1..=n)
        .map(|index| {
            let change = if index % 2 == 1 {
                Change::CreateTable { table: format!("t_{index}") }
            } else {
                Change::AddColumn { table: format!("t_{}", index - 1), column: format!("extra_{index}") }
            };
            Step { index, change }
        })
        .collect()
}

/// The size a build script was asked for through the app's `n100` / `n1000` feature
/// (cargo sets `CARGO_FEATURE_N100` and so on). Exactly one must be on.
pub fn size_from_features() -> Result<usize, String> {
    let on: Vec<usize> =
        SIZES.iter().copied().filter(|n| std::env::var_os(format!("CARGO_FEATURE_N{n}")).is_some()).collect();
    match on.as_slice() {
        [n] => Ok(*n),
        [] => Err(format!(
            "no workload size selected: build with exactly one of --features {}",
            SIZES.map(|n| format!("n{n}")).join(", ")
        )),
        _ => Err(format!("several workload sizes selected ({on:?}): build with exactly one")),
    }
}

/// A 12-hex-digit revision id that looks random but is the same on every run (splitmix64 of
/// the index, as in strata's in-process benchmark), for tools whose ids are not numbers.
pub fn revision_id(index: usize) -> String {
    let mut z = (index as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    format!("{:012x}", z & 0xFFFF_FFFF_FFFF)
}

/// The tables raw-app's bookkept modes keep (`up-bookkept`, `down-bookkept`): the history
/// (one row per migration run) and the one-row version. No name starts with `t_`, so the
/// state check, which counts tables `t_*`, does not count them.
pub const RAW_BOOKKEEPING_TABLES: [&str; 2] = ["raw_history", "raw_version"];

/// Writes `text` to `path` unless the file already holds exactly that (so cargo sees no
/// change on a rebuild), creating parent folders.
pub fn write_if_changed(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternates_tables_and_columns() {
        let steps = steps(4);
        assert_eq!(steps[0].up_sql(), "CREATE TABLE t_1 (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
        assert_eq!(steps[1].up_sql(), "ALTER TABLE t_1 ADD COLUMN extra_2 TEXT");
        assert_eq!(steps[1].down_sql(), "ALTER TABLE t_1 DROP COLUMN extra_2");
        assert_eq!(steps[3].down_sql(), "ALTER TABLE t_3 DROP COLUMN extra_4");
        assert_eq!(steps[2].down_sql(), "DROP TABLE t_3");
    }

    #[test]
    fn bookkeeping_tables_are_not_workload_tables() {
        for table in RAW_BOOKKEEPING_TABLES {
            assert!(!table.to_ascii_lowercase().starts_with("t_"), "{table}");
        }
    }
}
