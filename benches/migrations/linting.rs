//! The lint over 1,000 migrations, in process (the safety engine issue's target: at most
//! 50 ms). Two histories: the generated chain the runtime bench applies (typed ops recorded by
//! the migrations' own closures, as `strata lint` records them), and a mixed history where
//! every migration has an op at least one rule judges, a tenth of them raw SQL the parser reads.

use crate::generated;
use crate::report::{self, Goal, Report, Row};
use std::time::Duration;
use strata::lint::{self, LintOptions};
use strata::locks::{Known, PgMajor};
use strata::prelude::*;

/// Migration `i` of the mixed history: ten shapes in turn, on tables an earlier migration made
/// (so the lock and rewrite rules apply and findings are produced).
fn mixed_ops(i: usize) -> Vec<strata::ops::Op> {
    let t = format!("t_{}", i / 10);
    let mut op = Ops::new();
    match i % 10 {
        0 => {
            op.create_table(
                Table::new(t.as_str())
                    .column(Column::new("id", Type::Integer).autoincrement())
                    .column(Column::new("name", Type::String(100)))
                    .column(Column::new("created", Type::Timestamp)),
            );
        }
        1 => {
            op.add_column(t.as_str(), Column::new("score", Type::Integer).default(0));
        }
        2 => {
            op.create_index(Index::new(format!("ix_{t}_name"), t.as_str(), ["name"]));
        }
        3 => {
            op.add_foreign_key(t.as_str(), ForeignKey::new(["id"], "t_0", ["id"]));
        }
        4 => {
            op.alter_column(t.as_str(), "score", AlterColumn::new().ty(Type::BigInt).nullable(false));
        }
        5 => {
            op.add_check_constraint(t.as_str(), Check::new(format!("ck_{t}_score"), "score >= 0"));
        }
        6 => {
            op.rename_column(t.as_str(), "name", "title");
        }
        7 => {
            op.execute(format!(
                "CREATE INDEX ix_{t}_created ON {t} (created); ALTER TABLE {t} ADD COLUMN token uuid DEFAULT gen_random_uuid()"
            ));
        }
        8 => {
            op.add_unique_constraint(t.as_str(), Unique::new(["title"]));
        }
        _ => {
            op.drop_column(t.as_str(), "token");
        }
    }
    op.into_ops()
}

/// Lints the generated chain and the mixed history; too few findings on the mixed history
/// (the rules did not run) is an error.
pub fn run(report: &mut Report, runs: usize) -> Result<(), String> {
    let set = strata::MigrationSet::new(generated::migrations(generated::MAX))
        .map_err(|e| format!("the generated chain is broken: {e}"))?;
    let options = LintOptions::for_version(PgMajor::OLDEST);
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (findings, took) = report::timed(|| lint::lint(&set, &options));
        std::hint::black_box(findings);
        samples.push(took);
    }
    report.push(Row::alone(
        "lint, 1,000 migrations",
        "strata::lint::lint on the generated chain (each migration's closure records its ops)",
        report::median(&samples),
        Goal::AtMost(Duration::from_millis(50)),
        report::runs(runs),
    ));

    let plans: Vec<(String, Vec<strata::ops::Op>)> =
        (0..generated::MAX).map(|i| (format!("m{i:04}"), mixed_ops(i))).collect();
    let mut samples = Vec::with_capacity(runs);
    let mut count = 0;
    for _ in 0..runs {
        let (findings, took) = report::timed(|| {
            let mut known = Known::new();
            plans
                .iter()
                .map(|(revision, ops)| lint::lint_ops(revision, true, ops, &mut known, &options).len())
                .sum::<usize>()
        });
        count = findings;
        samples.push(took);
    }
    if count < generated::MAX / 2 {
        return Err(format!(
            "the mixed history gave {count} findings, expected at least {}",
            generated::MAX / 2
        ));
    }
    report.push(Row::alone(
        "lint, 1,000 migrations",
        &format!("mixed typed ops and raw SQL on tables that hold rows ({count} findings)"),
        report::median(&samples),
        Goal::AtMost(Duration::from_millis(50)),
        report::runs(runs),
    ));
    Ok(())
}
