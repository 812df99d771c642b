//! Raw SQL (`execute`) in PostgreSQL's grammar, parsed with `sqlparser`: split into
//! statements, each parsed on its own (one statement that does not parse leaves the others
//! checked), classified into lock claims, and followed by the [`Known`] model.
//!
//! `sqlparser` 0.64 has no `DROP INDEX CONCURRENTLY`; that form is recognised here and parsed
//! without the keyword, the flag kept apart.

use super::{Claim, Known, LockLevel, PgMajor};
use crate::types::Type;
use sqlparser::ast::{
    AlterColumnOperation, AlterTable, AlterTableOperation, AlterTypeOperation, ColumnDef, ColumnOption,
    DataType, Expr, FromTable, ObjectName, ObjectType, Statement, TableConstraint, TableFactor, TableObject,
    TableWithJoins,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

/// One statement of raw SQL.
#[derive(Debug, Clone)]
pub(crate) struct RawStatement {
    /// Its text, trimmed, without the `;`.
    pub(crate) text: String,
    /// The parsed statement, or the parser's message.
    pub(crate) parsed: Result<Statement, String>,
    /// `DROP INDEX CONCURRENTLY` (parsed without the keyword).
    pub(crate) concurrently: bool,
}

/// The byte offset of a 1-based (line, column) location in `text`.
fn offset(text: &str, line_starts: &[usize], line: u64, column: u64) -> usize {
    let Some(&start) =
        usize::try_from(line).ok().and_then(|l| l.checked_sub(1)).and_then(|l| line_starts.get(l))
    else {
        return text.len();
    };
    let skip = usize::try_from(column).unwrap_or(usize::MAX).saturating_sub(1);
    text[start..].char_indices().nth(skip).map_or(text.len(), |(i, _)| start + i)
}

fn tokens(sql: &str) -> Result<Vec<TokenWithSpan>, String> {
    Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().map_err(|e| e.to_string())
}

fn is_blank(token: &Token) -> bool {
    matches!(token, Token::Whitespace(_))
}

/// The statements of `sql`, split at top-level semicolons (the tokenizer keeps those inside
/// strings, dollar quotes and comments), empty ones left out.
pub(crate) fn statements(sql: &str) -> Vec<RawStatement> {
    let tokens = match tokens(sql) {
        Ok(tokens) => tokens,
        Err(e) => {
            return vec![RawStatement { text: sql.trim().to_string(), parsed: Err(e), concurrently: false }]
        }
    };
    let mut line_starts = vec![0];
    line_starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
    let mut out = Vec::new();
    let mut start = 0;
    let mut meaningful = false;
    for t in &tokens {
        match &t.token {
            Token::SemiColon => {
                let end = offset(sql, &line_starts, t.span.start.line, t.span.start.column);
                if meaningful {
                    out.push(parse_one(sql[start..end].trim()));
                }
                start = offset(sql, &line_starts, t.span.end.line, t.span.end.column);
                meaningful = false;
            }
            Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)) => {}
            token if is_blank(token) => {}
            Token::EOF => {}
            _ => meaningful = true,
        }
    }
    if meaningful {
        out.push(parse_one(sql[start..].trim()));
    }
    out
}

/// Parses one statement's text.
fn parse_one(text: &str) -> RawStatement {
    let dialect = PostgreSqlDialect {};
    let mut concurrently = false;
    let mut source = text.to_string();
    if let Ok(tokens) = tokens(text) {
        let words: Vec<&TokenWithSpan> = tokens.iter().filter(|t| !is_blank(&t.token)).take(3).collect();
        let is = |t: &TokenWithSpan, word: &str| matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word));
        if let [drop, index, conc] = words.as_slice() {
            if is(drop, "drop") && is(index, "index") && is(conc, "concurrently") {
                let mut line_starts = vec![0];
                line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
                let from = offset(text, &line_starts, conc.span.start.line, conc.span.start.column);
                let to = offset(text, &line_starts, conc.span.end.line, conc.span.end.column);
                source = format!("{}{}", &text[..from], &text[to..]);
                concurrently = true;
            }
        }
    }
    let parsed = match Parser::parse_sql(&dialect, &source) {
        Ok(mut list) if list.len() == 1 => Ok(list.remove(0)),
        Ok(list) => Err(format!("expected one statement, found {}", list.len())),
        Err(e) => Err(e.to_string()),
    };
    RawStatement { text: text.to_string(), parsed, concurrently }
}

/// An object's name as PostgreSQL resolves it, without its schema: unquoted identifiers fold
/// to lower case.
pub(crate) fn name(object: &ObjectName) -> String {
    object
        .0
        .last()
        .and_then(|part| part.as_ident())
        .map(|ident| ident_name(ident.quote_style, &ident.value))
        .unwrap_or_else(|| object.to_string())
}

pub(crate) fn ident_name(quote: Option<char>, value: &str) -> String {
    if quote.is_some() {
        value.to_string()
    } else {
        value.to_lowercase()
    }
}

fn ident(ident: &sqlparser::ast::Ident) -> String {
    ident_name(ident.quote_style, &ident.value)
}

/// A declared type in strata's vocabulary (`Other` for what it has no name for).
pub(crate) fn portable_type(data_type: &DataType) -> Type {
    let text = data_type.to_string().to_lowercase();
    let squeezed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let args = |t: &str| -> Option<Vec<u32>> {
        let inner = t.split_once('(')?.1.strip_suffix(')')?;
        inner.split(',').map(|n| n.trim().parse().ok()).collect()
    };
    let base = squeezed.split('(').next().unwrap_or("").trim();
    match base {
        "bigint" | "int8" => Type::BigInt,
        "integer" | "int" | "int4" => Type::Integer,
        "smallint" | "int2" => Type::SmallInt,
        "text" => Type::Text,
        "varchar" | "character varying" => match args(&squeezed).as_deref() {
            Some([n]) => Type::String(*n),
            _ => Type::Other(squeezed.clone()),
        },
        "boolean" | "bool" => Type::Boolean,
        "date" => Type::Date,
        "timestamp" | "timestamp without time zone" => Type::Timestamp,
        "timestamptz" | "timestamp with time zone" => Type::TimestampTz,
        "numeric" | "decimal" => match args(&squeezed).as_deref() {
            Some([p, s]) => match (u16::try_from(*p), u16::try_from(*s)) {
                (Ok(p), Ok(s)) => Type::Numeric(p, s),
                _ => Type::Other(squeezed.clone()),
            },
            _ => Type::Other(squeezed.clone()),
        },
        "real" | "float4" => Type::Float,
        "double precision" | "float8" => Type::Double,
        "bytea" => Type::Bytes,
        "jsonb" => Type::Json,
        "uuid" => Type::Uuid,
        _ => Type::Other(squeezed.clone()),
    }
}

/// `serial`, `bigserial`, `smallserial` (and their `serialN` spellings).
pub(crate) fn is_serial(data_type: &DataType) -> bool {
    matches!(
        data_type.to_string().to_lowercase().as_str(),
        "serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2"
    )
}

fn table_of(twj: &TableWithJoins) -> Option<String> {
    match &twj.relation {
        TableFactor::Table { name: table, .. } => Some(name(table)),
        _ => None,
    }
}

/// The tables a column definition's REFERENCES point at.
fn column_references(def: &ColumnDef) -> Vec<String> {
    def.options
        .iter()
        .filter_map(|o| match &o.option {
            ColumnOption::ForeignKey(fk) => Some(name(&fk.foreign_table)),
            _ => None,
        })
        .collect()
}

/// What adding the column does: (rewrites, scans, why uncertain).
fn add_column_claim(def: &ColumnDef) -> (bool, bool, Option<String>) {
    let mut rewrites = is_serial(&def.data_type);
    let mut doubt = None;
    let mut not_null = false;
    let mut default = false;
    let mut scans = false;
    for option in &def.options {
        match &option.option {
            ColumnOption::NotNull => not_null = true,
            ColumnOption::Default(expr) => {
                default = true;
                match super::volatility(&expr.to_string()) {
                    super::Volatility::Fixed => {}
                    super::Volatility::Volatile(_) => rewrites = true,
                    super::Volatility::Unknown(f) => {
                        rewrites = true;
                        doubt = Some(format!(
                            "the default calls {f}(), which strata does not know to be non-volatile"
                        ));
                    }
                }
            }
            ColumnOption::Generated { .. } => rewrites = true,
            ColumnOption::PrimaryKey(_) => {
                not_null = true;
                scans = true;
            }
            ColumnOption::Unique(_) | ColumnOption::Check(_) | ColumnOption::ForeignKey(_) => scans = true,
            _ => {}
        }
    }
    if not_null && (!default || rewrites) {
        scans = true;
    }
    (rewrites, scans || rewrites, doubt)
}

fn alter_table(at: &AlterTable, major: PgMajor, known: &Known, claim: &mut Claim) {
    use LockLevel::*;
    let table = name(&at.name);
    for operation in &at.operations {
        match operation {
            AlterTableOperation::AddColumn { column_def, .. } => {
                claim.lock(&table, AccessExclusive);
                let (rewrites, scans, doubt) = add_column_claim(column_def);
                claim.rewrites |= rewrites;
                claim.scans |= scans;
                for referenced in column_references(column_def) {
                    claim.lock(&referenced, ShareRowExclusive);
                }
                if let Some(why) = doubt {
                    claim.doubt(why);
                }
            }
            AlterTableOperation::AddConstraint { constraint, not_valid } => match constraint {
                TableConstraint::ForeignKey(fk) => {
                    claim.lock(&table, ShareRowExclusive).lock(&name(&fk.foreign_table), ShareRowExclusive);
                    claim.scans |= !not_valid;
                }
                TableConstraint::Check(_) => {
                    claim.lock(&table, AccessExclusive);
                    claim.scans |= !not_valid;
                }
                TableConstraint::Unique(_) | TableConstraint::PrimaryKey(_) => {
                    claim.lock(&table, AccessExclusive);
                    claim.scans = true;
                }
                TableConstraint::UniqueUsingIndex(_) => {
                    claim.lock(&table, AccessExclusive);
                }
                TableConstraint::PrimaryKeyUsingIndex(_) => {
                    claim.lock(&table, AccessExclusive);
                    claim.doubt("PRIMARY KEY USING INDEX scans to set NOT NULL on columns that allow NULL");
                }
                _ => {
                    claim.lock(&table, AccessExclusive);
                    claim.doubt("this kind of constraint is not classified");
                }
            },
            AlterTableOperation::ValidateConstraint { name: constraint } => {
                claim.lock(&table, ShareUpdateExclusive);
                claim.scans = true;
                if let Some(referenced) = known.foreign_key_target(&table, &ident(constraint)) {
                    claim.lock(referenced, RowShare);
                }
            }
            AlterTableOperation::DropConstraint { name: constraint, .. } => {
                claim.lock(&table, AccessExclusive);
                if let Some(referenced) = known.foreign_key_target(&table, &ident(constraint)) {
                    claim.lock(referenced, AccessExclusive);
                }
            }
            AlterTableOperation::AlterColumn { column_name, op } => {
                claim.lock(&table, AccessExclusive);
                let column = ident(column_name);
                match op {
                    AlterColumnOperation::SetNotNull => {
                        if !(major >= PgMajor(12) && known.proves_not_null(&table, &column)) {
                            claim.scans = true;
                        }
                    }
                    AlterColumnOperation::DropNotNull
                    | AlterColumnOperation::SetDefault { .. }
                    | AlterColumnOperation::DropDefault
                    | AlterColumnOperation::AddGenerated { .. } => {}
                    AlterColumnOperation::SetDataType { data_type, using, .. } => {
                        let new = portable_type(data_type);
                        let same_values = using
                            .as_ref()
                            .is_none_or(|e| matches!(e, Expr::Identifier(i) if ident(i) == column));
                        if !same_values {
                            claim.rewrites = true;
                            claim.doubt("a USING expression is assumed to change the values");
                        } else {
                            match known.column_type(&table, &column) {
                                Some(old) => match super::type_change_rewrites(old, &new, major) {
                                    Ok(rewrites) => claim.rewrites |= rewrites,
                                    Err(why) => {
                                        claim.rewrites = true;
                                        claim.doubt(why);
                                    }
                                },
                                None => {
                                    claim.rewrites = true;
                                    claim.doubt(format!("the current type of {table}.{column} is not known"));
                                }
                            }
                        }
                    }
                    _ => {
                        claim.doubt("this ALTER COLUMN form is not classified");
                    }
                }
            }
            AlterTableOperation::DropColumn { .. }
            | AlterTableOperation::RenameColumn { .. }
            | AlterTableOperation::RenameTable { .. }
            | AlterTableOperation::RenameConstraint { .. } => {
                claim.lock(&table, AccessExclusive);
            }
            AlterTableOperation::EnableTrigger { .. } | AlterTableOperation::DisableTrigger { .. } => {
                claim.lock(&table, ShareRowExclusive);
            }
            _ => {
                // "An ACCESS EXCLUSIVE lock is acquired unless explicitly noted."
                claim.lock(&table, AccessExclusive);
                claim.doubt(
                    "this ALTER TABLE form is not classified; ACCESS EXCLUSIVE is ALTER TABLE's default",
                );
            }
        }
    }
    claim.scans |= claim.rewrites;
}

/// The claims for one raw statement on `major`.
pub(crate) fn claim(statement: &RawStatement, major: PgMajor, known: &Known) -> Claim {
    use LockLevel::*;
    let mut claim = Claim::none();
    let parsed = match &statement.parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            claim.doubt(format!("the statement cannot be parsed ({e})"));
            return claim;
        }
    };
    match parsed {
        Statement::CreateTable(ct) => {
            let table = name(&ct.name);
            claim.lock(&table, AccessExclusive);
            let mut referenced: Vec<String> = ct.columns.iter().flat_map(column_references).collect();
            referenced.extend(ct.constraints.iter().filter_map(|c| match c {
                TableConstraint::ForeignKey(fk) => Some(name(&fk.foreign_table)),
                _ => None,
            }));
            for r in referenced.iter().filter(|r| **r != table) {
                claim.lock(r, ShareRowExclusive);
            }
            if ct.query.is_some() || ct.like.is_some() {
                claim.doubt("CREATE TABLE ... AS / LIKE reads other tables");
            }
        }
        Statement::AlterTable(at) => alter_table(at, major, known, &mut claim),
        Statement::CreateIndex(ci) => {
            let table = name(&ci.table_name);
            if ci.concurrently {
                claim.lock(&table, ShareUpdateExclusive);
                claim.transactional = false;
            } else {
                claim.lock(&table, Share);
            }
            claim.scans = true;
        }
        Statement::Drop { object_type: ObjectType::Table, names, .. } => {
            for n in names {
                let table = name(n);
                claim.lock(&table, AccessExclusive);
                for referenced in known.referenced_by(&table) {
                    claim.lock(referenced, AccessExclusive);
                }
            }
        }
        Statement::Drop { object_type: ObjectType::Index, names, .. } => {
            let level = if statement.concurrently { ShareUpdateExclusive } else { AccessExclusive };
            claim.transactional = !statement.concurrently;
            for n in names {
                let index = name(n);
                match known.index_table(&index) {
                    Some(table) => {
                        claim.lock(table, level);
                    }
                    None => {
                        claim
                            .doubt(format!("the table of index {index} is not known (it is locked {level})"));
                    }
                }
            }
        }
        Statement::Drop { object_type: ObjectType::View | ObjectType::MaterializedView, names, .. } => {
            for n in names {
                claim.lock(&name(n), AccessExclusive);
            }
        }
        Statement::CreateView(view) => {
            claim.lock(&name(&view.name), AccessExclusive);
            claim.doubt("it also takes ACCESS SHARE on the tables the view reads");
        }
        Statement::Truncate(t) => {
            for target in &t.table_names {
                claim.lock(&name(&target.name), AccessExclusive);
            }
        }
        Statement::Insert(insert) => match &insert.table {
            TableObject::TableName(n) => {
                claim.lock(&name(n), RowExclusive);
            }
            _ => {
                claim.doubt("the table written is not classified");
            }
        },
        Statement::Update(update) => match table_of(&update.table) {
            Some(table) => {
                claim.lock(&table, RowExclusive);
            }
            None => {
                claim.doubt("the table written is not classified");
            }
        },
        Statement::Delete(delete) => {
            let from = match &delete.from {
                FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
            };
            match from.first().and_then(table_of) {
                Some(table) => {
                    claim.lock(&table, RowExclusive);
                }
                None => {
                    claim.doubt("the table written is not classified");
                }
            }
        }
        Statement::Set(_) => {}
        Statement::AlterType(at) => {
            if let AlterTypeOperation::AddValue(_) = at.operation {
                // Inside a transaction block since PostgreSQL 12.
                claim.transactional = major >= PgMajor(12);
            }
        }
        Statement::CreateTrigger(trigger) => {
            claim.lock(&name(&trigger.table_name), ShareRowExclusive);
        }
        other => {
            let kind = other.to_string().split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            claim.doubt(format!("strata does not classify {kind} statements"));
        }
    }
    claim
}

/// Follows one raw statement in the model.
pub(crate) fn follow_statement(known: &mut Known, statement: &RawStatement) {
    let Ok(parsed) = &statement.parsed else {
        known.forget_weakening_facts();
        return;
    };
    match parsed {
        Statement::CreateTable(ct) => {
            let table = name(&ct.name);
            known.drop_table(&table);
            for def in &ct.columns {
                let column = ident(&def.name);
                known.set_column_type(&table, &column, Some(portable_type(&def.data_type)));
                for option in &def.options {
                    match &option.option {
                        ColumnOption::Check(check) => {
                            let constraint = option.name.as_ref().map(ident).unwrap_or_default();
                            known.add_check(&table, &constraint, &check.expr.to_string(), true);
                        }
                        ColumnOption::ForeignKey(fk) => {
                            let constraint = option.name.as_ref().map(ident).unwrap_or_default();
                            known.add_foreign_key(&table, &constraint, &name(&fk.foreign_table));
                        }
                        _ => {}
                    }
                }
            }
            for constraint in &ct.constraints {
                follow_constraint(known, &table, constraint, true);
            }
        }
        Statement::AlterTable(at) => {
            let table = name(&at.name);
            for operation in &at.operations {
                match operation {
                    AlterTableOperation::AddColumn { column_def, .. } => {
                        known.set_column_type(
                            &table,
                            &ident(&column_def.name),
                            Some(portable_type(&column_def.data_type)),
                        );
                    }
                    AlterTableOperation::AddConstraint { constraint, not_valid } => {
                        follow_constraint(known, &table, constraint, !not_valid);
                    }
                    AlterTableOperation::ValidateConstraint { name: constraint } => {
                        known.validate_constraint(&table, &ident(constraint));
                    }
                    AlterTableOperation::DropConstraint { name: constraint, .. } => {
                        known.drop_constraint(&table, &ident(constraint));
                    }
                    AlterTableOperation::DropColumn { column_names, .. } => {
                        for c in column_names {
                            known.drop_column(&table, &ident(c));
                        }
                    }
                    AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                        known.rename_column(&table, &ident(old_column_name), &ident(new_column_name));
                    }
                    AlterTableOperation::RenameTable { table_name } => {
                        let to = match table_name {
                            sqlparser::ast::RenameTableNameKind::As(n)
                            | sqlparser::ast::RenameTableNameKind::To(n) => name(n),
                        };
                        known.rename_table(&table, &to);
                    }
                    AlterTableOperation::AlterColumn { column_name, op } => match op {
                        AlterColumnOperation::SetDataType { data_type, .. } => {
                            known.set_column_type(
                                &table,
                                &ident(column_name),
                                Some(portable_type(data_type)),
                            );
                        }
                        AlterColumnOperation::SetNotNull
                        | AlterColumnOperation::DropNotNull
                        | AlterColumnOperation::SetDefault { .. }
                        | AlterColumnOperation::DropDefault => {}
                        _ => known.forget_table(&table),
                    },
                    _ => known.forget_table(&table),
                }
            }
        }
        Statement::CreateIndex(ci) => {
            if let Some(index) = &ci.name {
                known.add_index(&name(index), &name(&ci.table_name));
            }
        }
        Statement::Drop { object_type: ObjectType::Table, names, .. } => {
            for n in names {
                known.drop_table(&name(n));
            }
        }
        Statement::Drop { object_type: ObjectType::Index, names, .. } => {
            for n in names {
                known.drop_index(&name(n));
            }
        }
        // Rows, settings, types and other objects: the tables' structure is unchanged.
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Truncate(_)
        | Statement::Set(_)
        | Statement::AlterType(_)
        | Statement::CreateTrigger(_)
        | Statement::Query(_)
        | Statement::CreateView(_)
        | Statement::CreateFunction(_)
        | Statement::CreateExtension(_)
        | Statement::Comment { .. }
        | Statement::Grant(_) => {}
        _ => known.forget_weakening_facts(),
    }
}

fn follow_constraint(known: &mut Known, table: &str, constraint: &TableConstraint, valid: bool) {
    match constraint {
        TableConstraint::ForeignKey(fk) => {
            let constraint = fk.name.as_ref().map(ident).unwrap_or_default();
            known.add_foreign_key(table, &constraint, &name(&fk.foreign_table));
        }
        TableConstraint::Check(check) => {
            let constraint = check.name.as_ref().map(ident).unwrap_or_default();
            known.add_check(table, &constraint, &check.expr.to_string(), valid);
        }
        _ => {}
    }
}

/// Follows every statement of `sql`.
pub(crate) fn follow(known: &mut Known, sql: &str) {
    for statement in statements(sql) {
        follow_statement(known, &statement);
    }
}
