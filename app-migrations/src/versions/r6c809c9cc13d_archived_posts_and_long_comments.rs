//! Posts can be archived and must have a title; comments may be any length.
use strata::prelude::*;

migration! {
    revision: "6c809c9cc13d",
    parent: Some("b02594172f4c"),
    message: "allow archived posts, require titles, unlimited comment length",
    created: "2026-11-02T15:30:00Z",
    upgrade: |op| {
        op.drop_constraint("posts", "ck_posts_status");
        op.add_check_constraint("posts", Check::new("ck_posts_status", "status IN ('draft', 'published', 'archived')"));
        op.add_check_constraint("posts", Check::new("ck_posts_title_not_blank", "length(title) > 0"));
        op.alter_column("comments", "body", AlterColumn::new().ty(Type::Text));
    },
    downgrade: |op| {
        op.alter_column("comments", "body", AlterColumn::new().ty(Type::String(2000)));
        op.drop_constraint("posts", "ck_posts_title_not_blank");
        op.execute("UPDATE posts SET status = 'published' WHERE status = 'archived'");
        op.drop_constraint("posts", "ck_posts_status");
        op.add_check_constraint("posts", Check::new("ck_posts_status", "status IN ('draft', 'published')"));
    },
}
