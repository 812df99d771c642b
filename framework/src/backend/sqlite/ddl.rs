//! Reads what SQLite keeps only in a table's `CREATE TABLE` text: constraint names, check
//! expressions and AUTOINCREMENT. The pragmas report columns, keys and foreign keys but not
//! these, so introspection parses the stored SQL with a small tokenizer that understands
//! SQLite's quoting (`"..."`, `` `...` ``, `[...]`, `'...'`) and comments.

use crate::ops::Action;
use std::ops::Range;

/// Why a stored definition could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DdlError {
    #[error("unterminated {0} starting at byte {1}")]
    Unterminated(&'static str, usize),
    #[error("unbalanced parentheses")]
    Unbalanced,
    #[error("not a CREATE TABLE statement")]
    NotCreateTable,
    #[error("unexpected {found:?} where {expected} was expected")]
    Unexpected { expected: &'static str, found: String },
}

/// What a token is; keywords are plain [`Kind::Word`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A bare identifier or keyword.
    Word,
    /// A quoted identifier: `"a""b"`, `` `a` ``, `[a]`.
    Quoted,
    /// A string literal `'...'`.
    Str,
    Number,
    Open,
    Close,
    Comma,
    /// Any other single character (operators, `;`, `.`).
    Other,
}

/// One token and where it sits in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: Kind,
    /// The token as written, quotes included.
    pub text: &'a str,
    pub span: Range<usize>,
}

impl Token<'_> {
    /// True for the bare keyword `kw` (case-insensitive); a quoted word never is a keyword.
    pub fn is(&self, kw: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(kw)
    }

    /// The name this token stands for: quotes removed and doubled quotes undone.
    pub fn ident(&self) -> String {
        match self.kind {
            Kind::Quoted | Kind::Str => {
                let inner = &self.text[1..self.text.len() - 1];
                match self.text.as_bytes()[0] {
                    b'"' => inner.replace("\"\"", "\""),
                    b'`' => inner.replace("``", "`"),
                    b'\'' => inner.replace("''", "'"),
                    _ => inner.to_string(),
                }
            }
            _ => self.text.to_string(),
        }
    }

    fn is_name(&self) -> bool {
        matches!(self.kind, Kind::Word | Kind::Quoted | Kind::Str)
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

/// Splits SQL into tokens, dropping whitespace and comments.
pub fn tokenize(sql: &str) -> Result<Vec<Token<'_>>, DdlError> {
    let mut tokens = Vec::new();
    let mut chars = sql.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let kind = match c {
            c if c.is_whitespace() => continue,
            '-' if chars.peek().is_some_and(|&(_, n)| n == '-') => {
                for (_, n) in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
                continue;
            }
            '/' if chars.peek().is_some_and(|&(_, n)| n == '*') => {
                chars.next();
                let mut prev = ' ';
                for (_, n) in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
                // SQLite accepts a comment left open at the end of the input.
                continue;
            }
            '\'' | '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                let mut closed = false;
                while let Some((_, n)) = chars.next() {
                    if n == close {
                        // A doubled closing quote is an escaped one (not for `[...]`).
                        if c != '[' && chars.peek().is_some_and(|&(_, m)| m == close) {
                            chars.next();
                            continue;
                        }
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    let what = if c == '\'' { "string literal" } else { "quoted identifier" };
                    return Err(DdlError::Unterminated(what, start));
                }
                if c == '\'' {
                    Kind::Str
                } else {
                    Kind::Quoted
                }
            }
            '(' => Kind::Open,
            ')' => Kind::Close,
            ',' => Kind::Comma,
            c if c.is_ascii_digit()
                || (c == '.' && chars.peek().is_some_and(|&(_, n)| n.is_ascii_digit())) =>
            {
                let mut prev = c;
                while let Some(&(_, n)) = chars.peek() {
                    let exponent_sign = (n == '+' || n == '-') && (prev == 'e' || prev == 'E');
                    if n.is_ascii_alphanumeric() || n == '.' || n == '_' || exponent_sign {
                        prev = n;
                        chars.next();
                    } else {
                        break;
                    }
                }
                Kind::Number
            }
            c if is_ident_start(c) => {
                while chars.peek().is_some_and(|&(_, n)| is_ident_continue(n)) {
                    chars.next();
                }
                Kind::Word
            }
            _ => Kind::Other,
        };
        let end = chars.peek().map_or(sql.len(), |&(i, _)| i);
        tokens.push(Token { kind, text: &sql[start..end], span: start..end });
    }
    Ok(tokens)
}

/// A primary key or unique constraint as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDdl {
    pub name: Option<String>,
    pub columns: Vec<String>,
}

/// A check constraint; `expr` is the text inside `CHECK (...)`, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckDdl {
    pub name: Option<String>,
    pub expr: String,
}

/// A foreign key as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyDdl {
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub ref_table: String,
    /// Empty when the clause names no columns (it then means the parent's primary key).
    pub ref_columns: Vec<String>,
    pub on_delete: Action,
    pub on_update: Action,
}

/// A column definition: only what the pragmas do not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDdl {
    pub name: String,
    pub autoincrement: bool,
    /// `PRIMARY KEY DESC` on the column: an INTEGER column declared so is not a rowid alias.
    pub descending_key: bool,
}

/// The facts of a `CREATE TABLE` statement that introspection needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableDdl {
    pub columns: Vec<ColumnDdl>,
    pub primary_key: Option<KeyDdl>,
    pub uniques: Vec<KeyDdl>,
    pub checks: Vec<CheckDdl>,
    pub foreign_keys: Vec<ForeignKeyDdl>,
    pub without_rowid: bool,
}

/// Parses a `CREATE TABLE` statement as stored in `sqlite_master`.
pub fn parse_create_table(sql: &str) -> Result<TableDdl, DdlError> {
    let tokens = tokenize(sql)?;
    let p = Parser { sql, tokens: &tokens };
    let create = tokens.iter().position(|t| t.is("TABLE")).ok_or(DdlError::NotCreateTable)?;
    if !tokens.first().is_some_and(|t| t.is("CREATE")) || tokens[..create].iter().any(|t| t.is("VIRTUAL")) {
        return Err(DdlError::NotCreateTable);
    }
    let mut table = TableDdl::default();
    let Some(open) = (create..tokens.len()).find(|&i| tokens[i].kind == Kind::Open || tokens[i].is("AS"))
    else {
        return Err(DdlError::NotCreateTable);
    };
    if tokens[open].is("AS") {
        return Ok(table);
    }
    let close = p.matching(open)?;
    for item in p.split(open + 1..close) {
        p.item(&item, &mut table)?;
    }
    let tail = &tokens[close + 1..];
    table.without_rowid = tail.windows(2).any(|w| w[0].is("WITHOUT") && w[1].is("ROWID"));
    Ok(table)
}

/// The parts of a `CREATE INDEX` column list, as text: a column's name, or an expression's
/// SQL without its COLLATE/ASC/DESC suffix.
pub fn parse_index_columns(sql: &str) -> Result<Vec<String>, DdlError> {
    let tokens = tokenize(sql)?;
    let p = Parser { sql, tokens: &tokens };
    let on = tokens.iter().position(|t| t.is("ON")).ok_or(DdlError::Unexpected {
        expected: "ON in CREATE INDEX",
        found: sql.chars().take(40).collect(),
    })?;
    let open = (on..tokens.len()).find(|&i| tokens[i].kind == Kind::Open).ok_or(DdlError::Unbalanced)?;
    let close = p.matching(open)?;
    Ok(p.split(open + 1..close).iter().map(|part| p.indexed_column(part)).collect())
}

/// A cursor-free parser: every method works on token index ranges of one statement.
struct Parser<'s, 't> {
    sql: &'s str,
    tokens: &'t [Token<'s>],
}

impl<'s> Parser<'s, '_> {
    fn tok(&self, i: usize) -> Option<&Token<'s>> {
        self.tokens.get(i)
    }

    /// The index of the `)` that closes the `(` at `open`.
    fn matching(&self, open: usize) -> Result<usize, DdlError> {
        let mut depth = 0usize;
        for (i, t) in self.tokens.iter().enumerate().skip(open) {
            match t.kind {
                Kind::Open => depth += 1,
                Kind::Close => {
                    depth = depth.checked_sub(1).ok_or(DdlError::Unbalanced)?;
                    if depth == 0 {
                        return Ok(i);
                    }
                }
                _ => {}
            }
        }
        Err(DdlError::Unbalanced)
    }

    /// Splits a token range at top-level commas.
    fn split(&self, range: Range<usize>) -> Vec<Range<usize>> {
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0usize, range.start);
        for i in range.clone() {
            match self.tokens[i].kind {
                Kind::Open => depth += 1,
                Kind::Close => depth = depth.saturating_sub(1),
                Kind::Comma if depth == 0 => {
                    parts.push(start..i);
                    start = i + 1;
                }
                _ => {}
            }
        }
        if start < range.end {
            parts.push(start..range.end);
        }
        parts
    }

    /// The source text between two token indexes (inclusive), trimmed.
    fn text(&self, first: usize, last: usize) -> String {
        self.sql[self.tokens[first].span.start..self.tokens[last].span.end].trim().to_string()
    }

    /// The text inside the parentheses at `open`; returns it and the index after `)`.
    fn group_text(&self, open: usize) -> Result<(String, usize), DdlError> {
        let close = self.matching(open)?;
        let inner = &self.sql[self.tokens[open].span.end..self.tokens[close].span.start];
        Ok((inner.trim().to_string(), close + 1))
    }

    fn expect_open(&self, i: usize, expected: &'static str) -> Result<usize, DdlError> {
        match self.tok(i) {
            Some(t) if t.kind == Kind::Open => Ok(i),
            other => Err(DdlError::Unexpected { expected, found: found(other) }),
        }
    }

    fn name_at(&self, i: usize, expected: &'static str) -> Result<String, DdlError> {
        match self.tok(i) {
            Some(t) if t.is_name() => Ok(t.ident()),
            other => Err(DdlError::Unexpected { expected, found: found(other) }),
        }
    }

    /// A column list `(a, "b" COLLATE x DESC)`; returns the names and the index after `)`.
    fn column_list(&self, open: usize) -> Result<(Vec<String>, usize), DdlError> {
        let close = self.matching(open)?;
        let names = self.split(open + 1..close).iter().map(|part| self.indexed_column(part)).collect();
        Ok((names, close + 1))
    }

    /// One part of an indexed column list: a lone name, or an expression's text.
    fn indexed_column(&self, part: &Range<usize>) -> String {
        let mut end = part.end;
        let mut depth = 0usize;
        for i in part.clone() {
            let t = &self.tokens[i];
            match t.kind {
                Kind::Open => depth += 1,
                Kind::Close => depth = depth.saturating_sub(1),
                _ if depth == 0 && (t.is("COLLATE") || t.is("ASC") || t.is("DESC")) && i > part.start => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        if end == part.start + 1 && self.tokens[part.start].is_name() {
            self.tokens[part.start].ident()
        } else if end > part.start {
            self.text(part.start, end - 1)
        } else {
            String::new()
        }
    }

    /// One top-level item of the table body: a column definition or a table constraint.
    fn item(&self, range: &Range<usize>, table: &mut TableDdl) -> Result<(), DdlError> {
        let Some(first) = self.tok(range.start).filter(|_| !range.is_empty()) else {
            return Ok(());
        };
        if ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"].iter().any(|kw| first.is(kw)) {
            self.table_constraint(range, table)
        } else {
            self.column(range, table)
        }
    }

    fn table_constraint(&self, range: &Range<usize>, table: &mut TableDdl) -> Result<(), DdlError> {
        let mut i = range.start;
        let mut name = None;
        if self.tokens[i].is("CONSTRAINT") {
            name = Some(self.name_at(i + 1, "a constraint name")?);
            i += 2;
        }
        let keyword = self.tok(i).filter(|_| i < range.end);
        match keyword {
            Some(t) if t.is("PRIMARY") || t.is("UNIQUE") => {
                let open = if t.is("PRIMARY") { i + 2 } else { i + 1 };
                let (columns, _) = self.column_list(self.expect_open(open, "a column list")?)?;
                let key = KeyDdl { name, columns };
                if t.is("PRIMARY") {
                    table.primary_key = Some(key);
                } else {
                    table.uniques.push(key);
                }
            }
            Some(t) if t.is("CHECK") => {
                let (expr, _) = self.group_text(self.expect_open(i + 1, "( after CHECK")?)?;
                table.checks.push(CheckDdl { name, expr });
            }
            Some(t) if t.is("FOREIGN") => {
                let (columns, next) = self.column_list(self.expect_open(i + 2, "a column list")?)?;
                match self.tok(next) {
                    Some(r) if r.is("REFERENCES") => {}
                    other => {
                        return Err(DdlError::Unexpected { expected: "REFERENCES", found: found(other) })
                    }
                }
                let (fk, _) = self.references(next + 1, range.end, name, columns)?;
                table.foreign_keys.push(fk);
            }
            other => {
                return Err(DdlError::Unexpected {
                    expected: "PRIMARY KEY, UNIQUE, CHECK or FOREIGN KEY",
                    found: found(other),
                })
            }
        }
        Ok(())
    }

    /// The clause after REFERENCES: `parent [(cols)]`, then `ON DELETE|UPDATE action`,
    /// `MATCH x` and deferrability; returns the key and the index after the clause.
    fn references(
        &self,
        mut i: usize,
        end: usize,
        name: Option<String>,
        columns: Vec<String>,
    ) -> Result<(ForeignKeyDdl, usize), DdlError> {
        let ref_table = self.name_at(i, "a table name after REFERENCES")?;
        let mut ref_columns = Vec::new();
        i += 1;
        if self.tok(i).is_some_and(|t| t.kind == Kind::Open) {
            (ref_columns, i) = self.column_list(i)?;
        }
        let mut fk = ForeignKeyDdl {
            name,
            columns,
            ref_table,
            ref_columns,
            on_delete: Action::NoAction,
            on_update: Action::NoAction,
        };
        while i < end {
            let t = &self.tokens[i];
            let next_is = |k: usize, kw: &str| self.tok(i + k).is_some_and(|t| t.is(kw));
            if t.is("ON") && (next_is(1, "DELETE") || next_is(1, "UPDATE")) {
                let (action, len) = match self.tok(i + 2) {
                    Some(a) if a.is("SET") && next_is(3, "NULL") => (Action::SetNull, 4),
                    Some(a) if a.is("SET") => (Action::SetDefault, 4),
                    Some(a) if a.is("NO") => (Action::NoAction, 4),
                    Some(a) if a.is("CASCADE") => (Action::Cascade, 3),
                    Some(a) if a.is("RESTRICT") => (Action::Restrict, 3),
                    other => {
                        return Err(DdlError::Unexpected {
                            expected: "a foreign key action",
                            found: found(other),
                        })
                    }
                };
                if next_is(1, "DELETE") {
                    fk.on_delete = action;
                } else {
                    fk.on_update = action;
                }
                i += len;
            } else if t.is("MATCH") || t.is("INITIALLY") || (t.is("NOT") && next_is(1, "DEFERRABLE")) {
                i += 2;
            } else if t.is("DEFERRABLE") {
                i += 1;
            } else {
                break;
            }
        }
        Ok((fk, i.min(end)))
    }

    /// Skips one token, or a whole parenthesized group.
    fn skip_one(&self, i: usize) -> Result<usize, DdlError> {
        if self.tokens[i].kind == Kind::Open {
            Ok(self.matching(i)? + 1)
        } else {
            Ok(i + 1)
        }
    }

    fn column(&self, range: &Range<usize>, table: &mut TableDdl) -> Result<(), DdlError> {
        let name = self.name_at(range.start, "a column name")?;
        let mut column = ColumnDdl { name: name.clone(), autoincrement: false, descending_key: false };
        let end = range.end;
        let mut i = range.start + 1;
        let mut pending: Option<String> = None;
        while i < end {
            let t = &self.tokens[i];
            if t.is("CONSTRAINT") {
                pending = Some(self.name_at(i + 1, "a constraint name")?);
                i += 2;
            } else if t.is("PRIMARY") {
                i += 2; // PRIMARY KEY
                while i < end {
                    let t = &self.tokens[i];
                    if t.is("ASC") {
                        i += 1;
                    } else if t.is("DESC") {
                        column.descending_key = true;
                        i += 1;
                    } else if t.is("ON") && self.tok(i + 1).is_some_and(|n| n.is("CONFLICT")) {
                        i += 3;
                    } else if t.is("AUTOINCREMENT") {
                        column.autoincrement = true;
                        i += 1;
                    } else {
                        break;
                    }
                }
                table.primary_key = Some(KeyDdl { name: pending.take(), columns: vec![name.clone()] });
            } else if t.is("UNIQUE") {
                table.uniques.push(KeyDdl { name: pending.take(), columns: vec![name.clone()] });
                i += 1;
            } else if t.is("CHECK") {
                let (expr, next) = self.group_text(self.expect_open(i + 1, "( after CHECK")?)?;
                table.checks.push(CheckDdl { name: pending.take(), expr });
                i = next;
            } else if t.is("REFERENCES") {
                let (fk, next) = self.references(i + 1, end, pending.take(), vec![name.clone()])?;
                table.foreign_keys.push(fk);
                i = next;
            } else if t.is("DEFAULT") {
                pending = None;
                i += 1;
                if self.tok(i).is_some_and(|t| t.kind == Kind::Other && (t.text == "-" || t.text == "+")) {
                    i += 1;
                }
                if i < end {
                    i = self.skip_one(i)?;
                }
            } else if t.is("COLLATE") {
                pending = None;
                i += 2;
            } else {
                if ["NOT", "NULL", "GENERATED", "AS"].iter().any(|kw| t.is(kw)) {
                    pending = None;
                }
                i = self.skip_one(i)?;
            }
        }
        table.columns.push(column);
        Ok(())
    }
}

fn found(token: Option<&Token<'_>>) -> String {
    token.map_or_else(|| "the end of the statement".to_string(), |t| t.text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: Option<&str>, columns: &[&str]) -> KeyDdl {
        KeyDdl { name: name.map(str::to_string), columns: columns.iter().map(|c| c.to_string()).collect() }
    }

    #[test]
    fn tokenizer_handles_quotes_comments_and_numbers() {
        let sql = "a \"b\"\"c\" `d``e` [f g] 'h''i' -- comment ( \n 1.5e-3 /* ( */ , x$y";
        let tokens = tokenize(sql).unwrap();
        let kinds: Vec<Kind> = tokens.iter().map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::Word,
                Kind::Quoted,
                Kind::Quoted,
                Kind::Quoted,
                Kind::Str,
                Kind::Number,
                Kind::Comma,
                Kind::Word
            ]
        );
        let idents: Vec<String> = tokens.iter().map(Token::ident).collect();
        assert_eq!(idents, ["a", "b\"c", "d`e", "f g", "h'i", "1.5e-3", ",", "x$y"]);
    }

    #[test]
    fn tokenizer_reports_unterminated_quotes() {
        assert_eq!(tokenize("a 'b"), Err(DdlError::Unterminated("string literal", 2)));
        assert_eq!(tokenize("\"a\"\""), Err(DdlError::Unterminated("quoted identifier", 0)));
        assert!(tokenize("a /* open comment").is_ok());
    }

    #[test]
    fn parses_column_and_table_constraints() {
        let sql = r#"CREATE TABLE IF NOT EXISTS "t" (
            "id" INTEGER CONSTRAINT "pk" PRIMARY KEY AUTOINCREMENT NOT NULL,
            name VARCHAR(10) CONSTRAINT nn NOT NULL DEFAULT 'a,b' UNIQUE,
            price NUMERIC(10, 2) DEFAULT -1 CHECK (price > 0),
            parent INTEGER REFERENCES "t" ("id") ON DELETE SET NULL ON UPDATE NO ACTION DEFERRABLE INITIALLY DEFERRED,
            -- a comment, with a comma
            CONSTRAINT "uq" UNIQUE (name COLLATE NOCASE DESC, price),
            CONSTRAINT ck CHECK (name IN ('a', 'b)')),
            FOREIGN KEY (parent, name) REFERENCES other
        ) WITHOUT ROWID"#;
        let t = parse_create_table(sql).unwrap();
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "name", "price", "parent"]);
        assert!(t.columns[0].autoincrement && !t.columns[1].autoincrement);
        assert_eq!(t.primary_key, Some(key(Some("pk"), &["id"])));
        assert_eq!(t.uniques, [key(None, &["name"]), key(Some("uq"), &["name", "price"])]);
        assert_eq!(
            t.checks,
            [
                CheckDdl { name: None, expr: "price > 0".into() },
                CheckDdl { name: Some("ck".into()), expr: "name IN ('a', 'b)')".into() }
            ]
        );
        assert_eq!(t.foreign_keys.len(), 2);
        assert_eq!(t.foreign_keys[0].ref_columns, ["id"]);
        assert_eq!(
            (t.foreign_keys[0].on_delete, t.foreign_keys[0].on_update),
            (Action::SetNull, Action::NoAction)
        );
        assert_eq!(t.foreign_keys[1].columns, ["parent", "name"]);
        assert!(t.foreign_keys[1].ref_columns.is_empty());
        assert!(t.without_rowid);
    }

    #[test]
    fn constraint_name_binds_to_the_next_constraint_only() {
        let sql =
            "CREATE TABLE t (a INT CONSTRAINT n1 NOT NULL UNIQUE, b INT CONSTRAINT n2 DEFAULT 1 CHECK (b))";
        let t = parse_create_table(sql).unwrap();
        assert_eq!(t.uniques, [key(None, &["a"])]);
        assert_eq!(t.checks, [CheckDdl { name: None, expr: "b".into() }]);
    }

    #[test]
    fn hostile_names_round_trip() {
        let sql = r#"CREATE TABLE "we""ird" ("semi;colon" TEXT, [with space] TEXT, `Ünïcode` TEXT, "--x" TEXT,
            CONSTRAINT "c""k;--" CHECK ("--x" <> '/*'), CONSTRAINT [u q] UNIQUE ("semi;colon", `Ünïcode`))"#;
        let t = parse_create_table(sql).unwrap();
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["semi;colon", "with space", "Ünïcode", "--x"]);
        assert_eq!(t.checks, [CheckDdl { name: Some("c\"k;--".into()), expr: "\"--x\" <> '/*'".into() }]);
        assert_eq!(t.uniques, [key(Some("u q"), &["semi;colon", "Ünïcode"])]);
    }

    #[test]
    fn generated_and_default_expressions_are_skipped() {
        let sql = "CREATE TABLE t (a INT DEFAULT (1 + (2)), b INT GENERATED ALWAYS AS (a * 2) STORED, \
                   c TEXT DEFAULT NULL COLLATE NOCASE PRIMARY KEY DESC ON CONFLICT REPLACE)";
        let t = parse_create_table(sql).unwrap();
        assert_eq!(t.columns.len(), 3);
        assert_eq!(t.primary_key, Some(key(None, &["c"])));
        assert!(t.columns[2].descending_key);
        assert!(t.checks.is_empty() && t.uniques.is_empty());
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert_eq!(parse_create_table("CREATE TABLE t (a INT"), Err(DdlError::Unbalanced));
        assert_eq!(parse_create_table("CREATE VIRTUAL TABLE t USING fts5(a)"), Err(DdlError::NotCreateTable));
        assert!(matches!(
            parse_create_table("CREATE TABLE t (a INT, CONSTRAINT x BOGUS (a))"),
            Err(DdlError::Unexpected { .. })
        ));
        assert_eq!(parse_create_table("CREATE TABLE t AS SELECT 1"), Ok(TableDdl::default()));
    }

    #[test]
    fn index_columns_keep_expressions() {
        let cols = parse_index_columns(
            "CREATE UNIQUE INDEX \"ix\" ON \"t\" (\"a\" DESC, lower(b) COLLATE NOCASE, c) WHERE c > 0",
        )
        .unwrap();
        assert_eq!(cols, ["a", "lower(b)", "c"]);
    }
}
