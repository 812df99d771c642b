//! Writes the workload as refinery's SQL migrations (`V<version>__<name>.sql`; refinery has
//! no down migrations) into `OUT_DIR/migrations`, and `OUT_DIR/embedded.rs` holding the
//! `embed_migrations!` call that embeds them, so nothing generated lands in the source tree.

use peer_workload::{size_from_features, steps, write_if_changed};
use std::path::PathBuf;

fn main() {
    let n = size_from_features().unwrap_or_else(|e| panic!("refinery-app: {e}"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    let dir = out.join("migrations");
    for step in steps(n) {
        let path = dir.join(format!("V{}__{}.sql", step.index, step.slug()));
        write_if_changed(&path, &format!("{};\n", step.up_sql()))
            .unwrap_or_else(|e| panic!("refinery-app: cannot write {}: {e}", path.display()));
    }
    // embed_migrations! joins its argument to the crate's folder: an absolute path stays as is.
    let dir = dir.to_str().expect("refinery-app: OUT_DIR is not UTF-8");
    let embedded = format!("refinery::embed_migrations!({dir:?});\n");
    write_if_changed(&out.join("embedded.rs"), &embedded).expect("refinery-app: cannot write embedded.rs");
    println!("cargo:rerun-if-changed=build.rs");
}
