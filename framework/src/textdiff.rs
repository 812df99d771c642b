//! A small line diff for messages: when two schema text forms differ, show which lines went
//! and which came, like `diff -u` without the headers. Pure; sized for schema dumps (hundreds
//! of lines), not for large files.

/// The lines of `old` and `new` marked `-` (only in old), `+` (only in new) or ` ` (both),
/// with at most `context` unchanged lines kept around each change (`...` marks a gap).
/// Returns an empty string when the texts are equal.
pub fn line_diff(old: &str, new: &str, context: usize) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Longest common subsequence table, filled from the end.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut lines: Vec<(char, &str)> = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals before additions, as `diff` prints them.
            lines.push(('-', a[i]));
            i += 1;
        } else {
            lines.push(('+', b[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = lines.iter().enumerate().filter(|(_, l)| l.0 != ' ').map(|(k, _)| k).collect();
    let keep = |k: usize| changed.iter().any(|&c| k + context >= c && k <= c + context);
    let mut out = String::new();
    let mut skipped = false;
    for (k, (mark, line)) in lines.iter().enumerate() {
        if keep(k) {
            if skipped {
                out.push_str("  ...\n");
                skipped = false;
            }
            out.push(*mark);
            out.push(' ');
            out.push_str(line);
            out.push('\n');
        } else {
            skipped = true;
        }
    }
    if skipped {
        out.push_str("  ...\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::line_diff;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(line_diff("a\nb\n", "a\nb\n", 2), "");
    }

    #[test]
    fn marks_removed_and_added_lines_with_context() {
        let old = "t\n  a\n  b\n  c\n  d\n  e\n";
        let new = "t\n  a\n  b\n  c\n  D\n  e\n";
        assert_eq!(line_diff(old, new, 1), "  ...\n    c\n-   d\n+   D\n    e\n");
    }

    #[test]
    fn handles_one_side_empty() {
        assert_eq!(line_diff("", "x\n", 3), "+ x\n");
        assert_eq!(line_diff("x\n", "", 3), "- x\n");
    }
}
