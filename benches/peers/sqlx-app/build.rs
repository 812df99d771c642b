//! Writes the workload as sqlx's reversible migrations (`<version>_<name>.up.sql` and
//! `.down.sql`) into `OUT_DIR/migrations`, and `OUT_DIR/migrator.rs` holding the
//! `sqlx::migrate!` call that embeds them, so nothing generated lands in the source tree.

use peer_workload::{size_from_features, steps, write_if_changed};
use std::path::{Component, Path, PathBuf};

fn main() {
    let n = size_from_features().unwrap_or_else(|e| panic!("sqlx-app: {e}"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    let dir = out.join("migrations");
    for step in steps(n) {
        let stem = format!("{:04}_{}", step.index, step.slug());
        for (suffix, sql) in [("up", step.up_sql()), ("down", step.down_sql())] {
            let path = dir.join(format!("{stem}.{suffix}.sql"));
            write_if_changed(&path, &format!("{sql};\n"))
                .unwrap_or_else(|e| panic!("sqlx-app: cannot write {}: {e}", path.display()));
        }
    }
    // `migrate!` takes a path relative to the crate (it refuses absolute ones).
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let relative = relative_path(&manifest, &dir);
    let relative = relative.to_str().expect("sqlx-app: OUT_DIR is not UTF-8");
    let migrator = format!(
        "/// The embedded migrations.\n\
         pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!({relative:?});\n"
    );
    write_if_changed(&out.join("migrator.rs"), &migrator).expect("sqlx-app: cannot write migrator.rs");
    println!("cargo:rerun-if-changed=build.rs");
}

/// `to` as a path relative to `from` (both absolute): `..` for each of `from`'s components
/// past the common prefix, then the rest of `to`.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|e| panic!("sqlx-app: {}: {e}", p.display()));
    let (from, to) = (canonical(from), canonical(to));
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        out.push(part);
    }
    out
}
