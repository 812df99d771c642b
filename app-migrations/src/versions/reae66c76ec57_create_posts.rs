//! Posts written by users, with a status the database keeps honest.
use strata::prelude::*;

migration! {
    revision: "eae66c76ec57",
    parent: Some("8298645ff74b"),
    message: "create posts",
    created: "2026-09-03T14:20:00Z",
    upgrade: |op| {
        op.create_table(
            Table::new("posts")
                .column(Column::new("id", Type::BigInt).autoincrement())
                .column(Column::new("author_id", Type::BigInt))
                .column(Column::new("title", Type::String(200)))
                .column(Column::new("body", Type::Text).default(""))
                .column(Column::new("status", Type::String(20)).default("draft"))
                .column(Column::new("published_at", Type::TimestampTz).nullable())
                .column(Column::new("created_at", Type::TimestampTz).default_sql("CURRENT_TIMESTAMP"))
                .foreign_key(ForeignKey::new(["author_id"], "users", ["id"]))
                .check(Check::new("ck_posts_status", "status IN ('draft', 'published')")),
        );
        op.create_index(Index::new("ix_posts_author_id", "posts", ["author_id"]));
    },
    downgrade: |op| {
        op.drop_index("ix_posts_author_id", "posts");
        op.drop_table("posts");
    },
}
