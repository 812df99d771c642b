//! Organisations own users; a legacy sessions table that a later migration retires.
use strata::prelude::*;

migration! {
    revision: "8298645ff74b",
    parent: None,
    message: "create organisations and users",
    created: "2026-09-01T09:00:00Z",
    upgrade: |op| {
        op.create_table(
            Table::new("organisations")
                .column(Column::new("id", Type::BigInt).autoincrement())
                .column(Column::new("name", Type::String(200)))
                .column(Column::new("slug", Type::String(100)).unique())
                .column(Column::new("created_at", Type::TimestampTz).default_sql("CURRENT_TIMESTAMP")),
        );
        op.create_table(
            Table::new("users")
                .column(Column::new("id", Type::BigInt).autoincrement())
                .column(Column::new("organisation_id", Type::BigInt))
                .column(Column::new("email", Type::String(255)))
                .column(Column::new("display_name", Type::String(100)).nullable())
                .column(Column::new("is_admin", Type::Boolean).default(false))
                .column(Column::new("created_at", Type::TimestampTz).default_sql("CURRENT_TIMESTAMP"))
                .foreign_key(
                    ForeignKey::new(["organisation_id"], "organisations", ["id"]).on_delete(Action::Cascade),
                ),
        );
        op.create_index(Index::new("ix_users_email", "users", ["email"]));
        op.create_table(
            Table::new("sessions")
                .column(Column::new("token", Type::String(64)).primary_key())
                .column(Column::new("user_id", Type::BigInt))
                .column(Column::new("expires_at", Type::Timestamp))
                .foreign_key(ForeignKey::new(["user_id"], "users", ["id"]).on_delete(Action::Cascade)),
        );
    },
    downgrade: |op| {
        op.drop_table("sessions");
        op.drop_index("ix_users_email", "users");
        op.drop_table("users");
        op.drop_table("organisations");
    },
}
