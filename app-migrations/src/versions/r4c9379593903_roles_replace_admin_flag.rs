//! A role column replaces the is_admin flag (data carried over both ways), and the legacy
//! sessions table goes.
use strata::prelude::*;

migration! {
    revision: "4c9379593903",
    parent: Some("6c809c9cc13d"),
    message: "replace users.is_admin with a role, drop legacy sessions",
    created: "2026-11-20T09:45:00Z",
    upgrade: |op| {
        op.add_column(
            "users",
            Column::new("role", Type::String(20)).default("member").check("role IN ('member', 'admin')"),
        );
        op.run_data("carry is_admin over to role", |db| {
            db.execute("UPDATE users SET role = 'admin' WHERE is_admin = $1", &[true.into()])?;
            Ok(())
        });
        op.drop_column("users", "is_admin");
        op.drop_table("sessions");
    },
    downgrade: |op| {
        op.create_table(
            Table::new("sessions")
                .column(Column::new("token", Type::String(64)).primary_key())
                .column(Column::new("user_id", Type::BigInt))
                .column(Column::new("expires_at", Type::Timestamp))
                .foreign_key(ForeignKey::new(["user_id"], "users", ["id"]).on_delete(Action::Cascade)),
        );
        op.add_column("users", Column::new("is_admin", Type::Boolean).default(false));
        op.run_data("carry role back to is_admin", |db| {
            db.execute("UPDATE users SET is_admin = $1 WHERE role = 'admin'", &[true.into()])?;
            Ok(())
        });
        op.drop_column("users", "role");
    },
}
