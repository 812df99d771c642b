//! Lock-safe rewriting's cost: the example history (app-migrations) upgraded base→head on
//! PostgreSQL with rewriting on and off, side by side in one run (fresh databases, alternating
//! which goes first). On tables this small the difference is the rewrite's own: its extra
//! steps (a commit and a marker each) and CREATE INDEX CONCURRENTLY's waits.

use crate::report::{human, median, runs, Goal, Report, Row};
use std::time::{Duration, Instant};
use strata::graph::Target;
use strata::ops::DialectKind;
use strata::runner::{Rewriting, Runner};

/// One upgrade of the example history on a fresh database, rewriting `on` or off.
fn upgrade(on: bool) -> Result<Duration, String> {
    let db = std::panic::catch_unwind(|| strata::testkit::fresh_database(DialectKind::Postgres))
        .map_err(|_| "strata::testkit could not make a PostgreSQL database (see above)".to_string())?;
    let set = app_migrations::migrations().map_err(|e| e.to_string())?;
    let total = set.migrations().len();
    let runner = Runner::new(set).with_rewrite(Rewriting::new(on));
    let mut conn = strata::backend::connect(&db.url).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let report = runner.upgrade(conn.as_mut(), &Target::Head).map_err(|e| e.to_string())?;
    let took = started.elapsed();
    if report.applied.len() != total {
        return Err(format!("applied {} of {total} migrations", report.applied.len()));
    }
    // Rewritten migrations record a `started` row: proof that the two sides differ.
    let history = runner.history(conn.as_mut()).map_err(|e| e.to_string())?;
    let staged = history.iter().filter(|r| r.direction == strata::backend::Direction::Started).count();
    if (staged > 0) != on {
        return Err(format!(
            "rewriting {}, yet {staged} migrations ran in steps",
            if on { "on" } else { "off" }
        ));
    }
    Ok(took)
}

/// Measures `runs` pairs and reports the median of the per-run on/off ratios (target ≤ 1.2).
pub fn run(report: &mut Report, runs_wanted: usize) -> Result<(), String> {
    let section = "PostgreSQL, example history (app-migrations)";
    let mut pairs = Vec::with_capacity(runs_wanted);
    // A warm-up pair, not counted: the first database of a run pays for caches.
    upgrade(true)?;
    upgrade(false)?;
    for run in 0..runs_wanted {
        let (on, off) = if run % 2 == 0 {
            let on = upgrade(true)?;
            (on, upgrade(false)?)
        } else {
            let off = upgrade(false)?;
            (upgrade(true)?, off)
        };
        println!(
            "  {section}: run {} of {runs_wanted}, rewriting on {} vs off {}",
            run + 1,
            human(on),
            human(off)
        );
        pairs.push((on, off));
    }
    let mut ratios: Vec<f64> = pairs.iter().map(|(on, off)| on.as_secs_f64() / off.as_secs_f64()).collect();
    ratios.sort_by(f64::total_cmp);
    let mid = ratios.len() / 2;
    let ratio = if ratios.len() % 2 == 1 { ratios[mid] } else { (ratios[mid - 1] + ratios[mid]) / 2.0 };
    let on: Vec<Duration> = pairs.iter().map(|p| p.0).collect();
    let off: Vec<Duration> = pairs.iter().map(|p| p.1).collect();
    report.push(
        Row::against(
            section,
            "upgrade base→head, rewriting on (lock-safe steps)",
            median(&on),
            ("rewriting off", median(&off)),
            Goal::Ratio(1.2),
            runs(pairs.len()),
        )
        .with_ratio(ratio),
    );
    println!(
        "  {section}: rewriting on/off ratio {ratio:.2}x (median of {} runs; target ≤ 1.2x)",
        pairs.len()
    );
    Ok(())
}
