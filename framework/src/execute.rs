//! The one loop that turns a migration's ops into statements: for each op, the table snapshot
//! it needs (SQLite rebuilds), the dialect's rendering, and each statement handed to a
//! [`Sink`]. The runner's sink executes them on the live connection; offline SQL's sink keeps
//! them and runs them on a scratch database. Rules that rewrite a plan for an engine belong
//! here, in one place, so that apply, offline SQL and `show` stay the same plan.

use crate::dialect::{Dialect, RenderError};
use crate::ops::Op;
use crate::schema::TableSnapshot;

/// Where an op's statements go, and where the snapshots come from.
pub(crate) trait Sink {
    /// What stops the loop.
    type Error;
    /// The table `op` (at `index`) rebuilds, as the database holds it now; `None` when the
    /// sink has no database to ask (offline PostgreSQL, which never rebuilds).
    fn snapshot(&mut self, index: usize, op: &Op, table: &str) -> Result<Option<TableSnapshot>, Self::Error>;
    /// Runs the dialect's plain form of `op` (at `index`), if this sink can try it
    /// ([`Dialect::plain_form`]); `Ok(false)` when it did not run (not tried, or refused by
    /// the live table with nothing left of it), so the op takes its general form. By
    /// default never tried.
    fn try_plain_form(
        &mut self,
        _index: usize,
        _op: &Op,
        _statements: Vec<String>,
    ) -> Result<bool, Self::Error> {
        Ok(false)
    }
    /// `op` (at `index`) could not be rendered for the dialect.
    fn render_failed(&mut self, index: usize, op: &Op, error: RenderError) -> Self::Error;
    /// A data op, which has no SQL form.
    fn data(&mut self, index: usize, op: &Op) -> Result<(), Self::Error>;
    /// One statement of `op` (at `index`); `last`: the last statement of the whole list of
    /// ops (a sink may hold it back, to send it with the bookkeeping and the commit).
    fn statement(&mut self, index: usize, op: &Op, statement: String, last: bool) -> Result<(), Self::Error>;
    /// Drops the index `name` on `table` of op `index` if an earlier failure left it INVALID.
    /// By default a statement for psql: the query whose answer `\gexec` runs (an offline script).
    fn drop_invalid_index(
        &mut self,
        index: usize,
        op: &Op,
        name: &str,
        table: &str,
    ) -> Result<(), Self::Error> {
        let query = crate::rewrite::invalid_index_query(name, table);
        self.statement(index, op, format!("{query} \\gexec"), false)
    }
    /// After a resumed `CREATE INDEX CONCURRENTLY IF NOT EXISTS`: fails unless a valid index
    /// `name` is now on `table` (`IF NOT EXISTS` also skips when a namesake on another table
    /// holds the name). Only live runs resume; by default nothing.
    fn check_resumed_index(
        &mut self,
        _index: usize,
        _op: &Op,
        _name: &str,
        _table: &str,
    ) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Renders `ops` for `dialect` in order and hands every statement to `sink`.
pub(crate) fn execute<S: Sink>(dialect: &dyn Dialect, ops: &[Op], sink: &mut S) -> Result<(), S::Error> {
    let last_op = ops.len().checked_sub(1);
    for (index, op) in ops.iter().enumerate() {
        execute_op(dialect, index, op, Some(index) == last_op, sink)?;
    }
    Ok(())
}

/// One op: its plain form if the sink ran it, else its snapshot, its rendering and each
/// statement to `sink` (`last_op`: the list's last).
fn execute_op<S: Sink>(
    dialect: &dyn Dialect,
    index: usize,
    op: &Op,
    last_op: bool,
    sink: &mut S,
) -> Result<(), S::Error> {
    tracing::debug!(op = %op, "op");
    if let Op::Data { .. } = op {
        return sink.data(index, op);
    }
    if let Some(plain) = dialect.plain_form(op) {
        if sink.try_plain_form(index, op, plain)? {
            return Ok(());
        }
    }
    let snapshot = match dialect.needs_snapshot(op) {
        Some(table) => sink.snapshot(index, op, &table)?,
        None => None,
    };
    let statements = dialect.render(op, snapshot.as_ref()).map_err(|e| sink.render_failed(index, op, e))?;
    let count = statements.len();
    for (k, statement) in statements.into_iter().enumerate() {
        sink.statement(index, op, statement, last_op && k + 1 == count)?;
    }
    Ok(())
}

/// One step of a rewritten plan ([`crate::rewrite`]): its plain ops rendered as
/// [`execute`] renders them, the rewrite's own SQL as written (its `IF [NOT] EXISTS` form
/// with `resume`: a killed run may have done it already), and the INVALID index cleanup
/// through [`Sink::drop_invalid_index`]. No statement is marked last: the caller sends the
/// bookkeeping.
pub(crate) fn execute_step<S: Sink>(
    dialect: &dyn Dialect,
    ops: &[Op],
    step: &crate::rewrite::Step,
    resume: bool,
    sink: &mut S,
) -> Result<(), S::Error> {
    use crate::rewrite::Statement;
    // The index the step's cleanup named: the one its `CREATE INDEX CONCURRENTLY` builds.
    let mut built: Option<(&str, &str)> = None;
    for statement in &step.statements {
        let index = statement.op();
        let Some(op) = ops.get(index) else { continue };
        match statement {
            Statement::Op(_) => execute_op(dialect, index, op, false, sink)?,
            Statement::Sql { sql, on_resume, .. } => {
                let resumed = resume && on_resume.is_some();
                let sql = if resume { on_resume.as_ref().unwrap_or(sql) } else { sql };
                sink.statement(index, op, sql.clone(), false)?;
                if let (true, Some((name, table))) = (resumed, built) {
                    sink.check_resumed_index(index, op, name, table)?;
                }
            }
            Statement::DropInvalidIndex { name, table, .. } => {
                sink.drop_invalid_index(index, op, name, table)?;
                built = Some((name, table));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{Column, DialectKind, Ops, Table};
    use crate::types::Type;

    /// Keeps what it is handed, in order.
    #[derive(Default)]
    struct Recorder {
        seen: Vec<String>,
    }

    impl Sink for Recorder {
        type Error = String;
        fn snapshot(&mut self, index: usize, _op: &Op, table: &str) -> Result<Option<TableSnapshot>, String> {
            self.seen.push(format!("{index}: snapshot {table}"));
            Err(format!("no table {table}"))
        }
        fn render_failed(&mut self, index: usize, _op: &Op, error: RenderError) -> String {
            format!("{index}: {error}")
        }
        fn data(&mut self, index: usize, _op: &Op) -> Result<(), String> {
            self.seen.push(format!("{index}: data"));
            Ok(())
        }
        fn statement(&mut self, index: usize, _op: &Op, statement: String, last: bool) -> Result<(), String> {
            self.seen.push(format!("{index}: {statement}{}", if last { " (last)" } else { "" }));
            Ok(())
        }
    }

    fn ops(record: impl FnOnce(&mut Ops)) -> Vec<Op> {
        let mut ops = Ops::new();
        record(&mut ops);
        ops.into_ops()
    }

    #[test]
    fn statements_come_in_order_and_only_the_very_last_is_marked() {
        let ops = ops(|op| {
            op.create_table(Table::new("t").column(Column::new("id", Type::BigInt).autoincrement()));
            op.run_data("backfill", |_| Ok(()));
            op.create_index(crate::ops::Index::new("ix_t_id", "t", ["id"]));
        });
        let mut sink = Recorder::default();
        execute(crate::dialect::for_kind(DialectKind::Postgres), &ops, &mut sink).unwrap();
        assert_eq!(sink.seen.len(), 3, "{:?}", sink.seen);
        assert!(sink.seen[0].starts_with("0: CREATE TABLE \"t\"") && !sink.seen[0].ends_with("(last)"));
        assert_eq!(sink.seen[1], "1: data");
        assert!(
            sink.seen[2].starts_with("2: CREATE INDEX") && sink.seen[2].ends_with("(last)"),
            "{:?}",
            sink.seen
        );
    }

    #[test]
    fn a_rebuild_asks_the_sink_for_its_snapshot_and_stops_on_its_error() {
        let ops = ops(|op| {
            op.drop_column("t", "note");
        });
        let mut sink = Recorder::default();
        let err = execute(crate::dialect::for_kind(DialectKind::Sqlite), &ops, &mut sink).unwrap_err();
        assert_eq!(err, "no table t");
        assert_eq!(sink.seen, ["0: snapshot t"]);
    }
}
