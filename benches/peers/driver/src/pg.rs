//! A private PostgreSQL server with the default durability (`fsync=on`,
//! `synchronous_commit=on`, `full_page_writes=on`): strata's test kit starts its servers
//! with all three off, so the benchmark starts its own, the same way otherwise (initdb as the
//! `postgres` user when run as root, trust authentication, a Unix socket only).
//!
//! The data folder is under the benchmark's work folder (a real disk); the socket is in a
//! short folder under /tmp (a socket path must stay under 107 bytes). The server is stopped
//! when the [`Server`] is dropped and, should the driver be killed, by a watchdog shell that
//! waits for the driver's process to end.

use crate::db::Db;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A running server.
#[derive(Debug)]
pub struct Server {
    bindir: PathBuf,
    data: PathBuf,
    socket: PathBuf,
    port: u16,
    as_postgres: bool,
    /// `server_version` and the durability settings, for the report.
    pub description: String,
}

impl Server {
    /// initdb in `<dir>/data` (replacing any earlier cluster there) and start the server.
    pub fn start(dir: &Path) -> Result<Server, String> {
        let bindir = bindir().ok_or_else(|| {
            "no PostgreSQL server programs (initdb, pg_ctl) found through `pg_config --bindir`, \
             /usr/lib/postgresql/*/bin or PATH: install them (Debian/Ubuntu: apt-get install postgresql; \
             the issue's figures are for PostgreSQL 15), or run with --engine sqlite"
                .to_string()
        })?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let as_postgres = unsafe { libc::geteuid() } == 0;
        if dir.exists() {
            fs::remove_dir_all(dir)
                .map_err(|e| format!("cannot remove the old cluster {}: {e}", dir.display()))?;
        }
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let socket = PathBuf::from(format!("/tmp/peer-bench-pg-{}", std::process::id()));
        fs::create_dir_all(&socket).map_err(|e| format!("cannot create {}: {e}", socket.display()))?;
        if as_postgres {
            for folder in [dir, socket.as_path()] {
                run(Command::new("chown").arg("postgres:").arg(folder), "chown")?;
            }
        }
        let port = 55000 + (std::process::id() % 1000) as u16;
        let mut server =
            Server { bindir, data: dir.join("data"), socket, port, as_postgres, description: String::new() };
        server.watchdog();
        let data = path_str(&server.data)?;
        server.pg("initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"])?;
        let options = format!(
            "-k {} -p {port} -c listen_addresses='' -c fsync=on -c synchronous_commit=on \
             -c full_page_writes=on -c max_connections=50",
            path_str(&server.socket)?
        );
        let log = path_str(&dir.join("server.log"))?;
        if let Err(e) = server.pg("pg_ctl", &["-D", &data, "-l", &log, "-w", "-o", &options, "start"]) {
            let tail = fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("the PostgreSQL server did not start: {e}\nserver log:\n{tail}"));
        }
        let mut client = server.database("postgres").connect_postgres()?;
        let mut show = |what: &str| -> Result<String, String> {
            let row =
                client.query_one(&format!("SHOW {what}"), &[]).map_err(|e| format!("SHOW {what}: {e}"))?;
            Ok(row.get(0))
        };
        let version = show("server_version")?;
        let settings = ["fsync", "synchronous_commit", "full_page_writes", "wal_level", "shared_buffers"]
            .iter()
            .map(|s| Ok(format!("{s}={}", show(s)?)))
            .collect::<Result<Vec<String>, String>>()?;
        for (setting, want) in [("fsync", "on"), ("synchronous_commit", "on"), ("full_page_writes", "on")] {
            let have = show(setting)?;
            if have != want {
                return Err(format!("the server runs with {setting}={have}, not the default {want}"));
            }
        }
        server.description =
            format!("PostgreSQL {version} ({}), data in {}", settings.join(", "), dir.display());
        Ok(server)
    }

    /// A database on this server (over the socket).
    pub fn database(&self, name: &str) -> Db {
        let host: String = self
            .socket
            .to_string_lossy()
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        Db::Postgres { server: format!("postgres://postgres@{host}:{}", self.port), name: name.to_string() }
    }

    /// Runs one of the server programs (as `postgres` when we are root).
    fn pg(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let path = self.bindir.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        };
        // A folder the postgres user may enter.
        run(command.args(args).current_dir("/"), program)
    }

    /// The shell line that stops the server and removes the socket folder.
    fn stop_script(&self) -> String {
        let runner = if self.as_postgres { "runuser -u postgres -- " } else { "" };
        format!(
            "cd /; {runner}{} -D {} stop -m fast >/dev/null 2>&1; rm -rf {}",
            sh_quote(&self.bindir.join("pg_ctl").to_string_lossy()),
            sh_quote(&self.data.to_string_lossy()),
            sh_quote(&self.socket.to_string_lossy())
        )
    }

    /// Starts a shell that stops the server once this process is gone.
    fn watchdog(&self) {
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; {}",
            std::process::id(),
            self.stop_script()
        );
        let spawned = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Err(e) = spawned {
            eprintln!("peer-bench: cannot start the watchdog of the PostgreSQL server: {e}");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("sh").args(["-c", &self.stop_script()]).stdin(Stdio::null()).status();
    }
}

/// The folder of initdb and pg_ctl: `pg_config --bindir`, the highest
/// `/usr/lib/postgresql/<version>/bin` (Debian's layout), or PATH.
fn bindir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let debian = fs::read_dir("/usr/lib/postgresql").ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .filter_map(|e| Some((e.file_name().to_str()?.parse::<f64>().ok()?, e.path())))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, path)| path.join("bin"))
    });
    from_pg_config
        .filter(|d| has_tools(d))
        .or_else(|| debian.filter(|d| has_tools(d)))
        .or_else(|| std::env::split_paths(&std::env::var_os("PATH")?).find(|d| has_tools(d)))
}

fn path_str(path: &Path) -> Result<String, String> {
    path.to_str().map(str::to_string).ok_or_else(|| format!("{} is not UTF-8", path.display()))
}

fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn run(command: &mut Command, name: &str) -> Result<(), String> {
    let output = command.stdin(Stdio::null()).output().map_err(|e| format!("cannot run {name}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{name} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
