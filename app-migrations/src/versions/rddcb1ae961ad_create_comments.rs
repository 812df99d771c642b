//! Comments on posts; a comment outlives its author (author set to NULL) but not its post.
use strata::prelude::*;

migration! {
    revision: "ddcb1ae961ad",
    parent: Some("eae66c76ec57"),
    message: "create comments",
    created: "2026-09-05T10:05:00Z",
    upgrade: |op| {
        op.create_table(
            Table::new("comments")
                .column(Column::new("id", Type::BigInt).autoincrement())
                .column(Column::new("post_id", Type::BigInt))
                .column(Column::new("author_id", Type::BigInt).nullable())
                .column(Column::new("body", Type::String(2000)))
                .column(Column::new("created_at", Type::TimestampTz).default_sql("CURRENT_TIMESTAMP"))
                .foreign_key(ForeignKey::new(["post_id"], "posts", ["id"]).on_delete(Action::Cascade))
                .foreign_key(ForeignKey::new(["author_id"], "users", ["id"]).on_delete(Action::SetNull)),
        );
        op.create_index(Index::new("ix_comments_post_id_created_at", "comments", ["post_id", "created_at"]));
    },
    downgrade: |op| {
        op.drop_index("ix_comments_post_id_created_at", "comments");
        op.drop_table("comments");
    },
}
