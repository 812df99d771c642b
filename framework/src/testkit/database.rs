//! One test database on the shared server: created empty, dropped (forcibly, best effort)
//! when the guard goes away.

use super::server::Server;
use crate::backend::postgres::driver_message;
use postgres::{Client, NoTls};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// A database created for one test.
#[derive(Debug)]
pub(super) struct Database {
    name: String,
    url: String,
    admin_url: String,
}

impl Database {
    /// Creates `strata_test_<pid>_<run>_<n>`: the pid and a per-run tag keep names apart
    /// between processes sharing a `TEST_DATABASE_URL` server, the counter within one.
    pub(super) fn create() -> Result<Database, String> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        static RUN: OnceLock<u32> = OnceLock::new();
        let server = Server::shared()?;
        let run =
            RUN.get_or_init(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos()));
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("strata_test_{}_{run:x}_{n}", std::process::id());
        let admin_url = server.url_for("postgres");
        let mut admin = admin(&admin_url)?;
        // template0 is pristine even when template1 of a shared server has been changed.
        admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0")).map_err(|e| {
            format!("strata testkit: cannot create test database {name} on {}: {e}", server.shown())
        })?;
        Ok(Database { url: server.url_for(&name), name, admin_url })
    }

    pub(super) fn url(&self) -> &str {
        &self.url
    }
}

fn admin(url: &str) -> Result<Client, String> {
    Client::connect(url, NoTls).map_err(|e| {
        let shown = crate::backend::DatabaseUrl::Postgres { url: url.to_string() };
        format!("strata testkit: cannot connect to the test server at {shown}: {}", driver_message(&e))
    })
}

impl Drop for Database {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) =
            admin(&self.admin_url).and_then(|mut c| c.batch_execute(&sql).map_err(|e| driver_message(&e)))
        {
            eprintln!("strata testkit: could not drop test database {}: {e}", self.name);
        }
    }
}
