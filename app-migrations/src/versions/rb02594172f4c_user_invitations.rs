//! Users record who invited them; deleting the inviter keeps the user.
use strata::prelude::*;

migration! {
    revision: "b02594172f4c",
    parent: Some("53b76130d685"),
    message: "track which user invited whom",
    created: "2026-10-22T10:10:00Z",
    upgrade: |op| {
        op.add_column("users", Column::new("invited_by_id", Type::BigInt).nullable());
        op.add_foreign_key(
            "users",
            ForeignKey::new(["invited_by_id"], "users", ["id"]).named("fk_users_invited_by").on_delete(Action::SetNull),
        );
    },
    downgrade: |op| {
        op.drop_constraint("users", "fk_users_invited_by");
        op.drop_column("users", "invited_by_id");
    },
}
