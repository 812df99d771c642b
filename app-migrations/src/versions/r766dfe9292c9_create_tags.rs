//! Tags and the many-to-many link between posts and tags.
use strata::prelude::*;

migration! {
    revision: "766dfe9292c9",
    parent: Some("ddcb1ae961ad"),
    message: "create tags and post_tags",
    created: "2026-09-12T16:45:00Z",
    upgrade: |op| {
        op.create_table(
            Table::new("tags")
                .column(Column::new("id", Type::Integer).autoincrement())
                .column(Column::new("name", Type::String(50))),
        );
        op.add_unique_constraint("tags", Unique::new(["name"]));
        op.create_table(
            Table::new("post_tags")
                .column(Column::new("post_id", Type::BigInt))
                .column(Column::new("tag_id", Type::Integer))
                .primary_key(["post_id", "tag_id"])
                .foreign_key(ForeignKey::new(["post_id"], "posts", ["id"]).on_delete(Action::Cascade))
                .foreign_key(
                    ForeignKey::new(["tag_id"], "tags", ["id"])
                        .on_delete(Action::Cascade)
                        .on_update(Action::Cascade),
                ),
        );
    },
    downgrade: |op| {
        op.drop_table("post_tags");
        op.drop_constraint("tags", "uq_tags_name");
        op.drop_table("tags");
    },
}
