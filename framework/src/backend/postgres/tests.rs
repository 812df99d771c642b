//! Tests against a real server: each test gets its own database from the testkit.

use super::PostgresBackend;
use crate::backend::{Backend, BackendError, DatabaseUrl, Direction, Record, VersionTables};
use crate::ops::{Action, Check, Column, DialectKind, ForeignKey, Index, Ops, Table, Unique};
use crate::schema;
use crate::testkit::{self, TestDatabase};
use crate::types::Type;
use crate::value::Value;
use chrono::{TimeZone, Utc};
use std::time::Duration;

/// A fresh database, or `None` when PostgreSQL tests are explicitly skipped.
fn fresh() -> Option<TestDatabase> {
    testkit::postgres_available().then(|| testkit::fresh_database(DialectKind::Postgres))
}

fn connect(db: &TestDatabase) -> PostgresBackend {
    PostgresBackend::connect(&db.url, VersionTables::default()).expect("connect to the test database")
}

/// Renders `build`'s ops with the PostgreSQL dialect and runs them.
fn apply(backend: &mut PostgresBackend, build: impl FnOnce(&mut Ops)) {
    let mut ops = Ops::new();
    build(&mut ops);
    let dialect = crate::dialect::for_kind(DialectKind::Postgres);
    for op in ops.ops() {
        for sql in dialect.render(op, None).expect("render") {
            Backend::execute(backend, &sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
        }
    }
}

fn connect_error(url: &str) -> String {
    let url: DatabaseUrl = url.parse().expect("a postgres URL");
    match PostgresBackend::connect(&url, VersionTables::default()) {
        Ok(_) => panic!("connecting to {url} should fail"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn connect_errors_never_show_the_password() {
    for url in [
        "postgres://u:sekret@127.0.0.1:1/db",
        "postgres://u:sekret@127.0.0.1:notaport/db",
        "postgres://u@127.0.0.1:1/db?password=sekret&connect_timeout=2",
        "postgres://u:sek%72et@127.0.0.1:1/db",
    ] {
        let message = connect_error(url);
        assert!(!message.contains("sekret"), "{message}");
        assert!(message.contains("127.0.0.1"), "the error should name the target: {message}");
    }
    // The real server, as a role that does not exist, with a password.
    let Some(db) = fresh() else { return };
    let DatabaseUrl::Postgres { url } = &db.url else { unreachable!() };
    let message = connect_error(&url.replacen("postgres@", "ghost:sekret@", 1));
    assert!(message.contains("ghost") && !message.contains("sekret"), "{message}");
}

/// Connects to the TLS test server with extra URL parameters.
fn over_tls(params: &str) -> Result<PostgresBackend, BackendError> {
    let server = testkit::tls_server().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("{}?{params}", server.url);
    PostgresBackend::connect(&DatabaseUrl::Postgres { url }, VersionTables::default())
}

fn encrypted(backend: &mut PostgresBackend) -> bool {
    let rows = backend.simple_rows("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()").unwrap();
    rows.first().and_then(|r| r.first().cloned().flatten()).as_deref() == Some("true")
}

#[test]
fn sslmodes_behave_like_libpq() {
    if fresh().is_none() {
        return;
    }
    let root = testkit::tls_server().unwrap().root_cert.display().to_string().replace('/', "%2F");
    // require: encrypted, certificate not checked (it is self-signed).
    assert!(encrypted(&mut over_tls("sslmode=require").expect("require")));
    // prefer, the default: the server offers TLS, so it is used.
    assert!(encrypted(&mut over_tls("").expect("prefer")));
    // disable: this server refuses unencrypted TCP.
    let err = over_tls("sslmode=disable").expect_err("refused").to_string();
    assert!(err.contains("no encryption") || err.contains("pg_hba.conf"), "{err}");
    // verify-full: the chain and the host name, against the given root.
    assert!(encrypted(
        &mut over_tls(&format!("sslmode=verify-full&sslrootcert={root}")).expect("verify-full")
    ));
    assert!(encrypted(&mut over_tls(&format!("sslmode=verify-ca&sslrootcert={root}")).expect("verify-ca")));
    // verify-full without a root that knows this certificate: refused, and says why.
    let err = over_tls("sslmode=verify-full").expect_err("refused").to_string();
    assert!(
        err.contains(
            "the server's certificate is not trusted (sslmode=verify-full): it is self-signed, and \
             not in the system's root certificates"
        ),
        "{err}"
    );
    // The certificate names localhost: by address, verify-ca accepts it, verify-full does not.
    let server = testkit::tls_server().unwrap();
    let by_address = |params: &str| {
        let url = format!("{}?{params}", server.url.replacen("@localhost:", "@127.0.0.1:", 1));
        PostgresBackend::connect(&DatabaseUrl::Postgres { url }, VersionTables::default())
    };
    assert!(encrypted(&mut by_address(&format!("sslmode=verify-ca&sslrootcert={root}")).expect("verify-ca")));
    let err =
        by_address(&format!("sslmode=verify-full&sslrootcert={root}")).expect_err("refused").to_string();
    assert!(err.contains("it is not issued for the host name 127.0.0.1 (it is for localhost)"), "{err}");
    // The run lock's own connection uses the same TLS settings.
    let mut backend = over_tls("sslmode=require").unwrap();
    assert!(backend.lock_for_run(Duration::from_secs(5)).unwrap().is_some());
}

#[test]
fn scram_over_tls_binds_the_channel_to_the_certificate() {
    if fresh().is_none() {
        return;
    }
    let mut admin = over_tls("sslmode=require").expect("require");
    admin
        .execute(
            "DO $$ BEGIN CREATE ROLE strata_scram LOGIN PASSWORD 'bound-secret'; \
             EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        )
        .unwrap();
    let server = testkit::tls_server().unwrap();
    let as_scram = |password: &str| {
        let url = server.url.replacen("postgres@", &format!("strata_scram:{password}@"), 1);
        let url = format!("{url}?sslmode=require&channel_binding=require");
        PostgresBackend::connect(&DatabaseUrl::Postgres { url }, VersionTables::default())
    };
    // SCRAM-SHA-256-PLUS: the server checks the hash of its certificate that the client sends.
    assert!(encrypted(&mut as_scram("bound-secret").expect("channel binding")));
    let err = as_scram("wrong-secret").expect_err("refused").to_string();
    assert!(err.contains("password authentication failed") && !err.contains("wrong-secret"), "{err}");
}

#[test]
fn a_client_certificate_logs_in_where_the_server_asks_for_one() {
    if fresh().is_none() {
        return;
    }
    let mut admin = over_tls("sslmode=require").expect("require");
    admin
        .execute(
            "DO $$ BEGIN CREATE ROLE strata_cert LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        )
        .unwrap();
    let server = testkit::tls_server().unwrap();
    let encoded = |path: &std::path::Path| path.display().to_string().replace('/', "%2F");
    let as_cert = |params: &str| {
        let url = server.url.replacen("postgres@", "strata_cert@", 1);
        PostgresBackend::connect(
            &DatabaseUrl::Postgres { url: format!("{url}?{params}") },
            VersionTables::default(),
        )
    };
    let identity = format!("sslcert={}&sslkey={}", encoded(&server.client_cert), encoded(&server.client_key));
    // `cert` authentication: the certificate's common name is the role, no password.
    for mode in ["sslmode=require", "sslmode=prefer", "sslmode=verify-full&sslrootcert="] {
        let params = match mode {
            "sslmode=verify-full&sslrootcert=" => format!("{mode}{}&{identity}", encoded(&server.root_cert)),
            _ => format!("{mode}&{identity}"),
        };
        let mut backend = as_cert(&params).unwrap_or_else(|e| panic!("{mode}: {e}"));
        assert!(encrypted(&mut backend), "{mode}");
        let user = backend.simple_rows("SELECT current_user::text").unwrap();
        assert_eq!(user[0][0].as_deref(), Some("strata_cert"), "{mode}");
    }
    // Without it the server refuses the role, and says why.
    let err = as_cert("sslmode=require").expect_err("refused").to_string();
    assert!(err.contains("certificate"), "{err}");
    // A role the certificate does not name is not logged in by it (trust, for the postgres role,
    // still does: the certificate is only presented).
    let url = format!("{}?sslmode=require&{identity}", server.url);
    let mut postgres =
        PostgresBackend::connect(&DatabaseUrl::Postgres { url }, VersionTables::default()).unwrap();
    assert_eq!(postgres.simple_rows("SELECT current_user::text").unwrap()[0][0].as_deref(), Some("postgres"));
}

#[test]
fn tls_is_set_up_only_for_a_server_that_offers_it() {
    // Setting up TLS loads the system's root certificates (tens of milliseconds): a
    // connection to a server without TLS under the default sslmode=prefer must not pay it.
    let Some(db) = fresh() else { return };
    let mut backend = connect(&db);
    assert!(!encrypted(&mut backend), "the plain test server has no TLS");
    assert!(!backend.tls.is_built(), "connecting without TLS built a TLS connector");
    // The TLS server does offer it: built once, shared with the run lock's connection.
    let mut backend = over_tls("").expect("prefer");
    assert!(encrypted(&mut backend) && backend.tls.is_built());
    assert!(backend.lock_for_run(Duration::from_secs(5)).unwrap().is_some());
}

/// libpq never negotiates TLS over a Unix socket, whatever sslmode says; the driver would
/// send an SSLRequest first (a round trip for prefer, a failure for require).
#[cfg(unix)]
#[test]
fn no_tls_is_asked_for_over_a_unix_socket() {
    use std::io::Read;
    use std::os::unix::net::UnixListener;
    let dir = tempfile::Builder::new().prefix("strata-sock-").tempdir_in("/tmp").unwrap();
    let listener = UnixListener::bind(dir.path().join(".s.PGSQL.5432")).unwrap();
    let host = dir.path().display().to_string().replace('/', "%2F");
    for mode in ["prefer", "require", "verify-full"] {
        let listener = listener.try_clone().unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut first = [0u8; 8];
            stream.read_exact(&mut first).map(|()| first)
        });
        let _ = connect_error(&format!("postgres://u@{host}:5432/db?sslmode={mode}&connect_timeout=5"));
        let first = server.join().unwrap().unwrap();
        // A startup message for protocol 3.0, not an SSLRequest (code 80877103).
        assert_eq!(first[4..], [0, 3, 0, 0], "sslmode={mode}: {first:?}");
    }
}

#[test]
fn sslmode_require_over_a_unix_socket_connects_without_tls() {
    let Some(db) = fresh() else { return };
    let DatabaseUrl::Postgres { url } = &db.url else { unreachable!() };
    if !url.contains("@%2F") {
        return; // TEST_DATABASE_URL names a server over TCP
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}sslmode=require");
    let mut backend = PostgresBackend::connect(&DatabaseUrl::Postgres { url }, VersionTables::default())
        .expect("libpq connects without TLS over a socket");
    assert!(!encrypted(&mut backend) && !backend.tls.is_built());
    assert!(backend.lock_for_run(Duration::from_secs(5)).unwrap().is_some());
}

#[test]
fn tls_errors_never_show_the_password() {
    let message = connect_error("postgres://u:sekret@127.0.0.1:1/db?sslmode=require&connect_timeout=2");
    assert!(!message.contains("sekret"), "{message}");
}

#[test]
fn statement_errors_carry_the_server_message_and_detail() {
    let Some(db) = fresh() else { return };
    let mut backend = connect(&db);
    backend.execute("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)").unwrap();
    let err = backend.execute("INSERT INTO t VALUES (1)").unwrap_err();
    let BackendError::Statement { statement, message } = &err else { panic!("{err:?}") };
    assert_eq!(statement, "INSERT INTO t VALUES (1)");
    assert!(message.starts_with("duplicate key value violates unique constraint"), "{message}");
    assert!(message.contains("detail: Key (id)=(1) already exists."), "{message}");
}

#[test]
fn introspects_every_portable_type() {
    let Some(db) = fresh() else { return };
    let mut backend = connect(&db);
    let types = [
        Type::SmallInt,
        Type::Integer,
        Type::BigInt,
        Type::Text,
        Type::String(40),
        Type::Boolean,
        Type::Date,
        Type::Timestamp,
        Type::TimestampTz,
        Type::Numeric(10, 2),
        Type::Float,
        Type::Double,
        Type::Bytes,
        Type::Json,
        Type::Uuid,
        Type::Other("integer[]".into()),
    ];
    apply(&mut backend, |op| {
        let mut table = Table::new("everything").column(Column::new("id", Type::BigInt).autoincrement());
        for (i, ty) in types.iter().enumerate() {
            table = table.column(Column::new(format!("c{i}"), ty.clone()).nullable());
        }
        op.create_table(
            table
                .column(Column::new("active", Type::Boolean).default(true))
                .column(Column::new("label", Type::String(10)).default("it's"))
                .column(Column::new("created", Type::TimestampTz).default_sql("CURRENT_TIMESTAMP")),
        );
    });
    backend.execute("CREATE TABLE legacy (id SERIAL PRIMARY KEY)").unwrap();
    let schema = backend.introspect().unwrap();
    let table = schema.table("everything").expect("the table");
    let id = table.column("id").unwrap();
    assert!(id.autoincrement && !id.nullable && id.default.is_none(), "{id:?}");
    for (i, ty) in types.iter().enumerate() {
        let column = table.column(&format!("c{i}")).unwrap();
        assert_eq!(&column.ty, ty, "c{i}");
        assert!(column.nullable && !column.autoincrement && column.default.is_none());
    }
    assert_eq!(table.column("active").unwrap().default.as_deref(), Some("true"));
    assert_eq!(table.column("label").unwrap().default.as_deref(), Some("'it''s'::character varying"));
    assert_eq!(table.column("created").unwrap().default.as_deref(), Some("CURRENT_TIMESTAMP"));
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names[..3], ["id", "c0", "c1"], "columns in table order");
    let serial = schema.table("legacy").unwrap().column("id").unwrap();
    assert!(serial.autoincrement && serial.default.is_none(), "{serial:?}");
}

#[test]
fn introspects_constraints_and_indexes() {
    let Some(db) = fresh() else { return };
    let mut backend = connect(&db);
    apply(&mut backend, |op| {
        op.create_table(
            Table::new("parents")
                .column(Column::new("a", Type::Integer))
                .column(Column::new("b", Type::Text))
                .column(Column::new("email", Type::String(100)).unique())
                .primary_key(["b", "a"])
                .primary_key_named("parents_key"),
        );
        op.create_table(
            Table::new("children")
                .column(Column::new("id", Type::BigInt).autoincrement())
                .column(Column::new("pa", Type::Integer).nullable())
                .column(Column::new("pb", Type::Text).nullable())
                .column(Column::new("qty", Type::Integer).check("qty >= 0"))
                .column(Column::new("x", Type::Integer))
                .column(Column::new("y", Type::Integer))
                .unique(Unique::new(["y", "x"]).named("uq_yx"))
                .foreign_key(
                    ForeignKey::new(["pb", "pa"], "parents", ["b", "a"])
                        .named("fk_child_parent")
                        .on_delete(Action::Cascade)
                        .on_update(Action::SetNull),
                )
                .check(Check::new("ck_xy", "x < y AND x > 0")),
        );
        op.create_index(Index::new("ix_children_x", "children", ["x"]));
        op.create_index(Index::new("ix_children_yx", "children", ["y", "x"]).unique());
        op.execute("CREATE INDEX ix_children_expr ON children (lower(pb), x)");
        op.execute("ALTER TABLE children ADD CONSTRAINT ck_late CHECK (y < 1000) NOT VALID");
    });
    let schema = backend.introspect().unwrap();
    let expected = "\
table children
  column id bigint not null autoincrement
  column pa integer null
  column pb text null
  column qty integer not null
  column x integer not null
  column y integer not null
  primary key pk_children (id)
  unique uq_yx (y, x)
  foreign key fk_child_parent (pb, pa) references parents (b, a) on delete CASCADE on update SET NULL
  check ck_children_qty (qty >= 0)
  check ck_late (y < 1000)
  check ck_xy (x < y AND x > 0)
  index ix_children_expr (lower(pb), x)
  index ix_children_x (x)
  unique index ix_children_yx (y, x)

table parents
  column a integer not null
  column b text not null
  column email string(100) not null
  primary key parents_key (b, a)
  unique uq_parents_email (email)
";
    assert_eq!(schema.to_string(), expected);
    let child = schema.table("children").unwrap();
    assert_eq!(child.foreign_key("fk_child_parent").unwrap().on_update, Action::SetNull);
    // Reading twice gives the same model.
    assert_eq!(backend.introspect().unwrap(), schema);
    let snapshot = backend.snapshot_table("children").unwrap().unwrap();
    assert_eq!(&snapshot.table, child);
    assert!(snapshot.indexes_sql.is_empty() && snapshot.triggers_sql.is_empty());
    assert!(backend.snapshot_table("nope").unwrap().is_none());
}

#[test]
fn hostile_identifiers_survive_rendering_and_introspection() {
    let Some(db) = fresh() else { return };
    let mut backend = connect(&db);
    let names = ["we\"ird", "semi;colon", "with space", "Ünïcode", "--x", "it's", "back\\slash"];
    apply(&mut backend, |op| {
        for name in names {
            op.create_table(
                Table::new(name).column(Column::new(name, Type::Integer).primary_key()).column(
                    Column::new(format!("{name}2"), Type::Text)
                        .default(name)
                        .check(format!("length(\"{}2\") > 0", name.replace('"', "\"\""))),
                ),
            );
            op.create_index(Index::new(format!("ix {name}"), name, [format!("{name}2")]));
        }
    });
    let schema = backend.introspect().unwrap();
    assert_eq!(schema.tables.len(), names.len());
    for name in names {
        let table = schema.table(name).unwrap_or_else(|| panic!("table {name:?}"));
        assert_eq!(table.columns[0].name, name);
        assert_eq!(table.primary_key.as_ref().unwrap().columns, [name]);
        assert_eq!(table.index(&format!("ix {name}")).unwrap().columns, [format!("{name}2")]);
        assert_eq!(table.checks.len(), 1);
        let default = table.columns[1].default.as_deref().unwrap();
        assert_eq!(default, format!("{}::text", crate::dialect::quote_str(name)));
    }
}

#[test]
fn data_connection_binds_and_reads_values() {
    let Some(db) = fresh() else { return };
    let mut backend = connect(&db);
    backend
        .execute(
            "CREATE TABLE v (i2 SMALLINT, i4 INTEGER, i8 BIGINT, f4 REAL, f8 DOUBLE PRECISION, t TEXT, \
             s VARCHAR(10), c CHAR(3), b BOOLEAN, y BYTEA, n NUMERIC(5, 2), d INTERVAL)",
        )
        .unwrap();
    let data = backend.data();
    let row = [
        Value::Int(7),
        Value::Int(70_000),
        Value::Int(1 << 40),
        Value::Float(1.5),
        Value::Float(2.25),
        Value::from("a'b\\c"),
        Value::from("short"),
        Value::from("abc"),
        Value::Bool(true),
        Value::Bytes(vec![0, 255, 39]),
    ];
    let changed = data
        .execute("INSERT INTO v (i2, i4, i8, f4, f8, t, s, c, b, y) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", &row)
        .unwrap();
    assert_eq!(changed, 1);
    let nulls = vec![Value::Null; 10];
    data.execute(
        "INSERT INTO v (i2, i4, i8, f4, f8, t, s, c, b, y) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &nulls,
    )
    .unwrap();
    let rows =
        data.query("SELECT i2, i4, i8, f4, f8, t, s, c, b, y FROM v ORDER BY i2 NULLS LAST", &[]).unwrap();
    assert_eq!(rows, [row.to_vec(), nulls]);
    // An int parameter into int4 and int8 columns, compared in a WHERE clause.
    let found = data
        .query("SELECT i8 FROM v WHERE i4 = $1 AND i8 = $2", &[Value::Int(70_000), Value::Int(1 << 40)])
        .unwrap();
    assert_eq!(found, [vec![Value::Int(1 << 40)]]);

    let err = data.execute("UPDATE v SET i4 = $1", &[Value::Int(1 << 40)]).unwrap_err().to_string();
    assert!(err.contains("does not fit in int4"), "{err}");
    // A decimal is text: bound to numeric as is, read back as PostgreSQL prints it.
    data.execute("UPDATE v SET n = $1", &[Value::from("1.5")]).unwrap();
    assert_eq!(data.query("SELECT DISTINCT n FROM v", &[]).unwrap(), [vec![Value::from("1.50")]]);
    let err = data.execute("UPDATE v SET n = $1", &[Value::from("1.5e3")]).unwrap_err().to_string();
    assert!(err.contains("not a decimal number"), "{err}");
    let err = data.execute("UPDATE v SET d = $1", &[Value::from("1 day")]).unwrap_err().to_string();
    assert!(err.contains("$1::text::interval"), "{err}");
    // Unreadable columns fail before any row is read, so an empty table fails the same way.
    let err = data.query("SELECT d FROM v WHERE false", &[]).unwrap_err().to_string();
    assert!(err.contains("cast it to text"), "{err}");
    let err = data.execute("UPDATE v SET i4 = $1", &[]).unwrap_err().to_string();
    assert!(err.contains("1 placeholders but 0 values"), "{err}");
    let ok = data.query("SELECT d::text FROM v WHERE d IS NULL", &[]).unwrap();
    assert_eq!(ok, [vec![Value::Null], vec![Value::Null]]);
}

fn record(revision: &str, new_version: Option<&str>, direction: Direction) -> Record {
    Record {
        revision: revision.into(),
        message: "it's a \\ 'test'".into(),
        direction,
        new_version: new_version.map(str::to_string),
        applied_at: Utc.with_ymd_and_hms(2026, 11, 24, 9, 30, 0).unwrap()
            + chrono::Duration::microseconds(123_456),
        duration: Duration::from_micros(1_500),
        checksum: Some("abc".into()),
        acknowledged: None,
    }
}

/// The statements a session has prepared, by name.
fn prepared_statements(backend: &mut PostgresBackend) -> Vec<String> {
    let rows = backend.simple_rows("SELECT name FROM pg_prepared_statements ORDER BY name").unwrap();
    rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect()
}

#[test]
fn bookkeeping_records_versions_and_history() {
    bookkeeping_records_versions_and_history_on(false);
}

#[test]
fn prepared_bookkeeping_records_the_same_and_only_on_the_client_s_own_session() {
    bookkeeping_records_versions_and_history_on(true);
}

/// With `own_session` a run lock is taken first, so the bookkeeping is prepared; without it
/// (transaction-pooling PgBouncer) nothing is left on the session.
fn bookkeeping_records_versions_and_history_on(own_session: bool) {
    let Some(db) = fresh() else { return };
    let mut backend = connect(&db);
    let _lock = own_session.then(|| backend.lock_for_run(Duration::from_secs(5)).unwrap());
    assert_eq!(backend.current_revision().unwrap(), None);
    assert!(backend.history().unwrap().is_empty());
    backend.ensure_version_tables().unwrap();
    backend.ensure_version_tables().unwrap();
    assert_eq!(backend.current_revision().unwrap(), None);
    assert_eq!(prepared_statements(&mut backend).len(), usize::from(own_session));

    backend.begin().unwrap();
    backend.execute("CREATE TABLE app (id INTEGER)").unwrap();
    // A group (several rows at once) and a lone migration, whose last statement travels
    // with its bookkeeping.
    backend
        .record_and_commit(&[
            record("r1", Some("r1"), Direction::Up),
            record("r2", Some("r1"), Direction::Up),
        ])
        .unwrap();
    backend.begin().unwrap();
    backend
        .execute_record_and_commit("SELECT pg_sleep(0.01)", &[record("r2", Some("r2"), Direction::Up)])
        .unwrap();
    assert_eq!(backend.current_revision().unwrap().as_deref(), Some("r2"));

    backend.begin().unwrap();
    backend.record_and_commit(&[record("r2", None, Direction::Down)]).unwrap();
    assert_eq!(backend.current_revision().unwrap(), None);

    let history = backend.history().unwrap();
    let summary: Vec<(i64, &str, Direction)> =
        history.iter().map(|h| (h.id, h.revision.as_str(), h.direction)).collect();
    assert_eq!(
        summary,
        [
            (1, "r1", Direction::Up),
            (2, "r2", Direction::Up),
            (3, "r2", Direction::Up),
            (4, "r2", Direction::Down)
        ]
    );
    for row in [&history[0], &history[3]] {
        assert_eq!(row.message, "it's a \\ 'test'");
        assert_eq!(row.applied_at, record("r1", None, Direction::Up).applied_at);
        assert_eq!(row.duration_ms, 1.5);
        assert_eq!(row.checksum.as_deref(), Some("abc"));
    }
    // The sleep sent with the bookkeeping counts.
    assert!(history[2].duration_ms >= 11.5, "{:?}", history[2]);
    // The version tables are not part of the schema.
    let schema = backend.introspect().unwrap();
    assert_eq!(schema.tables.keys().collect::<Vec<_>>(), ["app"]);
}

#[test]
fn custom_version_table_names_are_quoted() {
    let Some(db) = fresh() else { return };
    let tables = VersionTables { version: "My \"Version\"".into(), history: "hist;ory".into() };
    let mut backend = PostgresBackend::connect(&db.url, tables).unwrap();
    backend.ensure_version_tables().unwrap();
    backend.begin().unwrap();
    backend.record_and_commit(&[record("r1", Some("r1"), Direction::Up)]).unwrap();
    assert_eq!(backend.current_revision().unwrap().as_deref(), Some("r1"));
    assert_eq!(backend.history().unwrap().len(), 1);
    assert!(backend.introspect().unwrap().tables.is_empty());
}

#[test]
fn rollback_leaves_nothing() {
    let Some(db) = fresh() else { return };
    let mut backend = connect(&db);
    backend.ensure_version_tables().unwrap();
    backend.begin().unwrap();
    apply(&mut backend, |op| {
        op.create_table(Table::new("t").column(Column::new("id", Type::Integer).primary_key()));
    });
    backend.execute("INSERT INTO strata_version VALUES ('r1')").unwrap();
    backend.rollback().unwrap();
    assert!(backend.introspect().unwrap().tables.is_empty());
    assert_eq!(backend.current_revision().unwrap(), None);
}

#[test]
fn a_failed_bookkeeping_batch_can_be_rolled_back() {
    let Some(db) = fresh() else { return };
    let mut backend = connect(&db);
    // No version tables: the batch fails, and the runner's ROLLBACK must work afterwards.
    backend.begin().unwrap();
    backend.execute("CREATE TABLE t (id INTEGER)").unwrap();
    assert!(backend.record_and_commit(&[record("r1", Some("r1"), Direction::Up)]).is_err());
    backend.rollback().unwrap();
    assert!(backend.introspect().unwrap().tables.is_empty());
}

#[test]
fn reading_missing_version_tables_inside_a_transaction_does_not_abort_it() {
    let Some(db) = fresh() else { return };
    let mut backend = connect(&db);
    backend.begin().unwrap();
    assert_eq!(backend.current_revision().unwrap(), None);
    assert!(backend.history().unwrap().is_empty());
    backend.execute("CREATE TABLE t (id INTEGER)").unwrap();
    backend.commit().unwrap();
    assert!(backend.introspect().unwrap().table("t").is_some());
}

#[test]
fn two_version_rows_are_corrupt() {
    let Some(db) = fresh() else { return };
    let mut backend = connect(&db);
    backend.ensure_version_tables().unwrap();
    // An older strata made the table without its one-row index.
    backend.execute("DROP INDEX strata_version_one_row").unwrap();
    backend.execute("INSERT INTO strata_version VALUES ('a'), ('b')").unwrap();
    match backend.current_revision() {
        Err(BackendError::CorruptVersionTable { table, detail }) => {
            assert_eq!(table, "strata_version");
            assert!(detail.contains("2 rows"), "{detail}");
        }
        other => panic!("expected a corrupt version table, got {other:?}"),
    }
}

#[test]
fn many_databases_in_parallel() {
    if !testkit::postgres_available() {
        return;
    }
    let threads: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let db = testkit::fresh_database(DialectKind::Postgres);
                let mut backend = connect(&db);
                backend.execute(&format!("CREATE TABLE only_in_{i} (id INTEGER)")).unwrap();
                let schema = backend.introspect().unwrap();
                assert_eq!(schema.tables.keys().collect::<Vec<_>>(), [&format!("only_in_{i}")]);
                db.url.to_string()
            })
        })
        .collect();
    let mut urls: Vec<String> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
    urls.sort();
    urls.dedup();
    assert_eq!(urls.len(), 8, "every test database is distinct");
}

#[test]
fn a_dropped_test_database_is_gone() {
    let Some(db) = fresh() else { return };
    let url = db.url.clone();
    drop(db);
    let message = match PostgresBackend::connect(&url, VersionTables::default()) {
        Ok(_) => panic!("the database should be gone"),
        Err(e) => e.to_string(),
    };
    assert!(message.contains("does not exist"), "{message}");
}

#[test]
fn schema_model_types_round_trip_through_display() {
    // Guards the expected text above against changes in the schema module's format.
    let column = schema::Column {
        name: "c".into(),
        ty: Type::String(3),
        nullable: true,
        default: None,
        autoincrement: false,
    };
    assert_eq!(column.ty.to_string(), "string(3)");
}

#[test]
fn a_migration_that_drops_the_prepared_bookkeeping_fails_alone() {
    let Some(db) = fresh() else { return };
    let mut backend = connect(&db);
    let _lock = backend.lock_for_run(Duration::from_secs(5)).unwrap();
    backend.ensure_version_tables().unwrap();
    backend.begin().unwrap();
    let err = backend
        .execute_record_and_commit("DEALLOCATE ALL", &[record("r1", Some("r1"), Direction::Up)])
        .unwrap_err();
    assert!(matches!(err, super::Finish::Bookkeeping(_)), "{err:?}");
    assert_eq!(backend.current_revision().unwrap(), None, "rolled back");
    // The next migration records with plain SQL.
    backend.begin().unwrap();
    backend.record_and_commit(&[record("r1", Some("r1"), Direction::Up)]).unwrap();
    assert_eq!(backend.current_revision().unwrap().as_deref(), Some("r1"));
}

#[test]
fn acknowledgements_are_recorded_and_an_older_history_table_gets_the_column() {
    for own_session in [false, true] {
        let Some(db) = fresh() else { return };
        let mut backend = connect(&db);
        let _lock = own_session.then(|| backend.lock_for_run(Duration::from_secs(5)).unwrap());
        backend.ensure_version_tables().unwrap();
        let has_column = |b: &mut PostgresBackend| {
            let rows = b
                .simple_rows("SELECT 1 FROM information_schema.columns WHERE table_name = 'strata_history' AND column_name = 'acknowledged'")
                .unwrap();
            !rows.is_empty()
        };
        backend.begin().unwrap();
        backend.record_and_commit(&[record("r1", Some("r1"), Direction::Up)]).unwrap();
        assert!(
            !has_column(&mut backend),
            "no acknowledgement: the table made by an older strata stays as it is"
        );
        assert_eq!(backend.history().unwrap()[0].acknowledged, None);

        let acknowledged = Record {
            acknowledged: Some("S013: it's tiny".into()),
            ..record("r2", Some("r2"), Direction::Up)
        };
        // With the migration's last statement, in one batch (prepared bookkeeping or not).
        backend.begin().unwrap();
        backend.execute_record_and_commit("SELECT 1", std::slice::from_ref(&acknowledged)).unwrap();
        assert!(has_column(&mut backend));
        // A group, once the column exists.
        let again = Record { revision: "r3".into(), new_version: Some("r3".into()), ..acknowledged };
        backend.begin().unwrap();
        backend.record_and_commit(&[record("r4", Some("r2"), Direction::Up), again]).unwrap();
        let history = backend.history().unwrap();
        let got: Vec<(&str, Option<&str>)> =
            history.iter().map(|h| (h.revision.as_str(), h.acknowledged.as_deref())).collect();
        assert_eq!(
            got,
            [("r1", None), ("r2", Some("S013: it's tiny")), ("r4", None), ("r3", Some("S013: it's tiny"))]
        );
        assert_eq!(backend.history_of(&["r2"]).unwrap()[0].acknowledgements(), [("S013", "it's tiny")]);
        assert_eq!(backend.current_revision().unwrap().as_deref(), Some("r3"));
    }
}
