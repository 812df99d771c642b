//! 1,000 compiled migrations without 1,000 files: `seq!` writes the upgrade and downgrade
//! functions at compile time, and [`migrations`] links them into a chain at run time, so the
//! runner calls real fn pointers exactly as it does for `migration!` declarations.
//!
//! Migration 2k creates table `t_k` (an id column); migration 2k+1 adds `t_k.note`.

use seq_macro::seq;
use strata::prelude::*;
use strata::Migration;

/// How many migrations the bench binary holds; runs may use a prefix.
pub const MAX: usize = 1000;

seq!(K in 0..500 {
    fn create_t~K(op: &mut Ops) {
        op.create_table(Table::new(concat!("t_", K)).column(Column::new("id", Type::BigInt).primary_key()));
    }
    fn drop_t~K(op: &mut Ops) {
        op.drop_table(concat!("t_", K));
    }
    fn add_note~K(op: &mut Ops) {
        op.add_column(concat!("t_", K), Column::new("note", Type::Text).nullable());
    }
    fn drop_note~K(op: &mut Ops) {
        op.drop_column(concat!("t_", K), "note");
    }
});

// The ops of the files the build bench writes (`build_time::migration_file`), for the squash
// bench: it replays the compiled migrations of the folder it squashes.
seq!(K in 0..500 {
    fn create_named_t~K(op: &mut Ops) {
        op.create_table(
            Table::new(concat!("t_", K))
                .column(Column::new("id", Type::BigInt).autoincrement())
                .column(Column::new("name", Type::String(100))),
        );
    }
});

/// (upgrade, downgrade) of every generated migration, in chain order.
type Bodies = [(fn(&mut Ops), fn(&mut Ops)); MAX];

seq!(K in 0..500 {
    static BODIES: Bodies = [
        #( (create_t~K, drop_t~K), (add_note~K, drop_note~K), )*
    ];
    static FILE_BODIES: Bodies = [
        #( (create_named_t~K, drop_t~K), (add_note~K, drop_note~K), )*
    ];
});

/// The first `count` generated migrations as one chain. Each call leaks its `Migration`
/// values (they must be `'static`, like inventory's); the bench calls it once per size.
pub fn migrations(count: usize) -> Vec<&'static Migration> {
    chain(&BODIES, count)
}

/// The first `count` migrations of the files the build bench writes, compiled in: the same
/// revisions, parents and ops.
#[allow(dead_code)] // only with --only squash
pub fn file_migrations(count: usize) -> Vec<&'static Migration> {
    chain(&FILE_BODIES, count)
}

fn chain(bodies: &'static Bodies, count: usize) -> Vec<&'static Migration> {
    assert!(count <= MAX, "the bench binary holds {MAX} generated migrations, not {count}");
    let mut parent: &'static [&'static str] = &[];
    bodies[..count]
        .iter()
        .enumerate()
        .map(|(index, &(upgrade, downgrade))| {
            let revision: &'static str = crate::build_time::revision_id(index).leak();
            let message = if index.is_multiple_of(2) {
                format!("create t_{}", index / 2)
            } else {
                format!("add t_{}.note", index / 2)
            };
            let migration: &'static Migration = Box::leak(Box::new(Migration {
                revision,
                parents: parent,
                message: message.leak(),
                created: "2026-01-01T00:00:00Z",
                upgrade,
                downgrade,
                file: file!(),
                transactional: true,
                replaces: &[],
            }));
            parent = Box::leak(Box::new([revision]));
            migration
        })
        .collect()
}
