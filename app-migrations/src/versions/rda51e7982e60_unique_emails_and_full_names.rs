//! Emails become unique, display_name becomes full_name, and logins are tracked.
use strata::prelude::*;

migration! {
    revision: "da51e7982e60",
    parent: Some("766dfe9292c9"),
    message: "make emails unique, rename display_name to full_name, track last login",
    created: "2026-09-20T08:30:00Z",
    upgrade: |op| {
        op.drop_index("ix_users_email", "users");
        op.create_index(Index::new("ux_users_email", "users", ["email"]).unique());
        op.rename_column("users", "display_name", "full_name");
        op.add_column("users", Column::new("last_login_at", Type::TimestampTz).nullable());
    },
    downgrade: |op| {
        op.drop_column("users", "last_login_at");
        op.rename_column("users", "full_name", "display_name");
        op.drop_index("ux_users_email", "users");
        op.create_index(Index::new("ix_users_email", "users", ["email"]));
    },
}
