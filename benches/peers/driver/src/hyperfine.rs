//! Running hyperfine: one invocation times one tool in one cell, without a shell (`-N`), with
//! the driver's `prepare` before every run, and its per-run times read back from
//! `--export-json`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How to reach hyperfine, or the sentence that says how to get it.
pub fn version() -> Result<String, String> {
    let missing = |detail: String| {
        format!(
            "hyperfine is needed to time the runs ({detail}). Install it: apt-get install hyperfine \
             (Debian/Ubuntu), brew install hyperfine (macOS), or cargo install hyperfine"
        )
    };
    let output = Command::new("hyperfine")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| missing(format!("cannot run it: {e}")))?;
    if !output.status.success() {
        return Err(missing(format!("`hyperfine --version` failed: {}", output.status)));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// One hyperfine invocation.
pub struct Invocation<'a> {
    /// The timed command: program and arguments.
    pub command: Vec<String>,
    /// The untimed command before each run.
    pub prepare: Vec<String>,
    pub warmup: u32,
    pub runs: u32,
    /// The working folder of every command (no `.env` or `strata.toml` there).
    pub cwd: &'a Path,
    /// The whole environment of the commands: nothing else is inherited.
    pub env: Vec<(String, String)>,
    /// Where hyperfine writes its JSON; its console output goes beside it (`.log`).
    pub json: PathBuf,
}

impl Invocation<'_> {
    /// Runs hyperfine; returns the timed runs' wall-clock times in seconds (warm-up runs are
    /// not among them). The error holds the end of hyperfine's output.
    pub fn run(&self) -> Result<Vec<f64>, String> {
        let log = self.json.with_extension("log");
        let log_file =
            std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let log_err = log_file.try_clone().map_err(|e| format!("cannot write {}: {e}", log.display()))?;
        let _ = std::fs::remove_file(&self.json);
        let status = Command::new("hyperfine")
            .args(["-N", "--style", "basic", "--warmup"])
            .arg(self.warmup.to_string())
            .arg("--runs")
            .arg(self.runs.to_string())
            .arg("--export-json")
            .arg(&self.json)
            .arg("--prepare")
            .arg(words(&self.prepare))
            .arg(words(&self.command))
            .current_dir(self.cwd)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .status()
            .map_err(|e| format!("cannot run hyperfine: {e}"))?;
        if !status.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
            return Err(format!(
                "hyperfine failed ({status}); its output ends:\n    {}",
                tail.join("\n    ")
            ));
        }
        let json = std::fs::read_to_string(&self.json)
            .map_err(|e| format!("cannot read hyperfine's results {}: {e}", self.json.display()))?;
        let value: serde_json::Value = serde_json::from_str(&json)
            .map_err(|e| format!("hyperfine's results {} are not JSON: {e}", self.json.display()))?;
        let times = value["results"][0]["times"]
            .as_array()
            .ok_or_else(|| format!("hyperfine's results {} have no times", self.json.display()))?;
        let times: Vec<f64> = times.iter().filter_map(serde_json::Value::as_f64).collect();
        if times.len() != self.runs as usize {
            return Err(format!("hyperfine reported {} runs, not {}", times.len(), self.runs));
        }
        Ok(times)
    }
}

/// `words` as one command line that hyperfine splits back (POSIX quoting).
pub fn words(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

fn quote(word: &str) -> String {
    let plain =
        !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-./:=@%+,".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        let line = words(&[
            "/a/b".into(),
            "--db".into(),
            "postgres://p@%2Ftmp:5/x".into(),
            "it's".into(),
            "".into(),
        ]);
        assert_eq!(line, "/a/b --db postgres://p@%2Ftmp:5/x 'it'\\''s' ''");
    }
}
