//! A PgBouncer in transaction pooling mode in front of the test server, so tests can prove
//! what strata does behind a real pooler: consecutive transactions of one client land on
//! whichever server connection is free, and nothing of a session survives a transaction.
//!
//! It listens on a unix socket in a fresh directory under /tmp, lets any user in
//! (`auth_type = any`) and logs into the server as `postgres`. Like the server it is stopped
//! by an `atexit` handler and by a watchdog should the test process be killed. Without
//! pgbouncer installed it fails loudly, never skips.

use super::server::{encode_host, path_str, register_cleanup, run, sh_quote, Server};
use crate::backend::DatabaseUrl;
use postgres::config::Host;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The port number in the socket's name (`.s.PGSQL.6432`); the directory is private, so
/// any number is free.
const PORT: u16 = 6432;

/// A running PgBouncer (transaction pooling) in front of the shared test server.
#[derive(Debug)]
pub struct PgBouncer {
    dir: PathBuf,
}

/// The process-wide PgBouncer, started on first use in front of the server the test
/// databases live on.
pub fn pgbouncer() -> Result<&'static PgBouncer, String> {
    static BOUNCER: OnceLock<Result<PgBouncer, String>> = OnceLock::new();
    BOUNCER.get_or_init(PgBouncer::start).as_ref().map_err(Clone::clone)
}

impl PgBouncer {
    /// `url`, a database on the shared test server, reached through this PgBouncer.
    ///
    /// # Panics
    /// When `url` is not a PostgreSQL URL with a database name (a testkit database always is).
    pub fn url_for(&self, url: &DatabaseUrl) -> DatabaseUrl {
        let DatabaseUrl::Postgres { url: raw } = url else {
            panic!("strata testkit: {url} is not a PostgreSQL URL")
        };
        let config = postgres::Config::from_str(raw)
            .unwrap_or_else(|e| panic!("strata testkit: cannot read the test database URL {url}: {e}"));
        let database = config.get_dbname().unwrap_or("postgres");
        DatabaseUrl::Postgres {
            url: format!("postgres://postgres@{}:{PORT}/{database}", encode_host(&self.dir)),
        }
    }

    fn start() -> Result<PgBouncer, String> {
        let program = find_pgbouncer().ok_or_else(|| {
            "\n\nstrata testkit: pgbouncer is not installed, and the PgBouncer tests need it.\n  \
             Debian/Ubuntu: apt-get install pgbouncer   Fedora: dnf install pgbouncer   \
             macOS: brew install pgbouncer\n\
             (looked for /usr/sbin/pgbouncer and pgbouncer on PATH)\n"
                .to_string()
        })?;
        let server = Server::shared()?;
        let config = postgres::Config::from_str(server.raw_url())
            .map_err(|e| format!("strata testkit: cannot read the test server's URL: {e}"))?;
        let host = match config.get_hosts().first() {
            Some(Host::Unix(dir)) => path_str(dir)?,
            Some(Host::Tcp(name)) => name.clone(),
            None => "localhost".to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres");
        let password = config
            .get_password()
            .map(|p| format!(" password={}", String::from_utf8_lossy(p)))
            .unwrap_or_default();

        // pgbouncer refuses to run as root: as root, it runs as `postgres` like the server.
        // SAFETY: geteuid has no preconditions and cannot fail.
        let as_postgres = unsafe { libc::geteuid() } == 0;
        let dir = tempfile::Builder::new()
            .prefix("strata-pgb-")
            .tempdir_in("/tmp")
            .map_err(|e| format!("strata testkit: cannot create a directory for PgBouncer: {e}"))?
            .keep();
        let (ini, pidfile, log) = (dir.join("pgbouncer.ini"), dir.join("pgbouncer.pid"), dir.join("log"));
        register_cleanup(format!(
            "cd /tmp; test -f {pid} && kill $(cat {pid}) 2>/dev/null; sleep 0.2; rm -rf {dir}",
            pid = sh_quote(&path_str(&pidfile)?),
            dir = sh_quote(&path_str(&dir)?)
        ));
        // `options` carries strata's `-c standard_conforming_strings=on`, which PgBouncer
        // 1.18 cannot forward (that setting is the server default anyway).
        let text = format!(
            "[databases]\n\
             * = host={host} port={port} user={user}{password}\n\
             [pgbouncer]\n\
             listen_addr =\n\
             listen_port = {PORT}\n\
             unix_socket_dir = {dir}\n\
             auth_type = any\n\
             pool_mode = transaction\n\
             max_client_conn = 1000\n\
             default_pool_size = 60\n\
             max_db_connections = 100\n\
             server_reset_query =\n\
             ignore_startup_parameters = extra_float_digits,options\n\
             logfile = {log}\n\
             pidfile = {pidfile}\n",
            dir = path_str(&dir)?,
            log = path_str(&log)?,
            pidfile = path_str(&pidfile)?,
        );
        std::fs::write(&ini, text).map_err(|e| format!("strata testkit: cannot write {ini:?}: {e}"))?;
        if as_postgres {
            run(Command::new("chown").arg("-R").arg("postgres:").arg(&dir), "chown")?;
        }
        let mut command = if as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        run(command.arg("-d").arg(&ini).current_dir(&dir), "pgbouncer")?;
        let socket = dir.join(format!(".s.PGSQL.{PORT}"));
        let started = Instant::now();
        while !socket.exists() {
            if started.elapsed() > Duration::from_secs(10) {
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("strata testkit: PgBouncer did not start within 10 s\nlog:\n{tail}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(PgBouncer { dir })
    }
}

fn find_pgbouncer() -> Option<PathBuf> {
    let fixed = Path::new("/usr/sbin/pgbouncer");
    if fixed.is_file() {
        return Some(fixed.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join("pgbouncer")).find(|p| p.is_file())
}
