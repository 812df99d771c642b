//! The example application's target schema: what the tables should look like at head,
//! declared with the same builders the migrations use. `check` compares it with the
//! migrations; `create --auto` writes the migration that closes any gap.
//!
//! Tables renamed by a migration keep the constraint names they were created with
//! (`topics` still has `pk_tags`), so those names are spelled out here.

use strata::models::Models;
use strata::prelude::*;

/// The schema the application expects.
pub fn models() -> Models {
    let now = "CURRENT_TIMESTAMP";
    Models::new()
        .table(
            Table::new("organisations")
                .column(Column::new("id", Type::BigInt).autoincrement())
                .column(Column::new("name", Type::String(200)))
                .column(Column::new("slug", Type::String(100)).unique())
                .column(Column::new("created_at", Type::TimestampTz).default_sql(now)),
        )
        .table(
            Table::new("users")
                .column(Column::new("id", Type::BigInt).autoincrement())
                .column(Column::new("organisation_id", Type::BigInt))
                .column(Column::new("email", Type::String(255)))
                .column(Column::new("full_name", Type::String(100)).nullable())
                .column(Column::new("created_at", Type::TimestampTz).default_sql(now))
                .column(Column::new("last_login_at", Type::TimestampTz).nullable())
                .column(Column::new("invited_by_id", Type::BigInt).nullable())
                .column(
                    Column::new("role", Type::String(20))
                        .default("member")
                        .check("role IN ('member', 'admin')"),
                )
                .foreign_key(
                    ForeignKey::new(["organisation_id"], "organisations", ["id"]).on_delete(Action::Cascade),
                )
                .foreign_key(
                    ForeignKey::new(["invited_by_id"], "users", ["id"])
                        .named("fk_users_invited_by")
                        .on_delete(Action::SetNull),
                ),
        )
        .index(Index::new("ux_users_email", "users", ["email"]).unique())
        .table(
            Table::new("posts")
                .column(Column::new("id", Type::BigInt).autoincrement())
                .column(Column::new("author_id", Type::BigInt))
                .column(Column::new("title", Type::String(200)))
                .column(Column::new("body", Type::Text).default(""))
                .column(Column::new("status", Type::String(20)).default("draft"))
                .column(Column::new("published_at", Type::TimestampTz).nullable())
                .column(Column::new("created_at", Type::TimestampTz).default_sql(now))
                .column(Column::new("slug", Type::String(220)))
                .foreign_key(ForeignKey::new(["author_id"], "users", ["id"]))
                .check(Check::new("ck_posts_status", "status IN ('draft', 'published', 'archived')"))
                .check(Check::new("ck_posts_title_not_blank", "length(title) > 0")),
        )
        .index(Index::new("ix_posts_author_id", "posts", ["author_id"]))
        .index(Index::new("ux_posts_author_id_slug", "posts", ["author_id", "slug"]).unique())
        .table(
            Table::new("comments")
                .column(Column::new("id", Type::BigInt).autoincrement())
                .column(Column::new("post_id", Type::BigInt))
                .column(Column::new("author_id", Type::BigInt).nullable())
                .column(Column::new("body", Type::Text))
                .column(Column::new("created_at", Type::TimestampTz).default_sql(now))
                .foreign_key(ForeignKey::new(["post_id"], "posts", ["id"]).on_delete(Action::Cascade))
                .foreign_key(ForeignKey::new(["author_id"], "users", ["id"]).on_delete(Action::SetNull)),
        )
        .index(Index::new("ix_comments_post_id_created_at", "comments", ["post_id", "created_at"]))
        .table(
            Table::new("topics")
                .column(Column::new("id", Type::Integer).autoincrement())
                .column(Column::new("name", Type::String(50)))
                .primary_key_named("pk_tags")
                .unique(Unique::new(["name"]).named("uq_tags_name")),
        )
        .table(
            Table::new("post_topics")
                .column(Column::new("post_id", Type::BigInt))
                .column(Column::new("topic_id", Type::Integer))
                .primary_key(["post_id", "topic_id"])
                .primary_key_named("pk_post_tags")
                .foreign_key(
                    ForeignKey::new(["post_id"], "posts", ["id"])
                        .named("fk_post_tags_post_id_posts")
                        .on_delete(Action::Cascade),
                )
                .foreign_key(
                    ForeignKey::new(["topic_id"], "topics", ["id"])
                        .named("fk_post_tags_tag_id_tags")
                        .on_delete(Action::Cascade)
                        .on_update(Action::Cascade),
                ),
        )
}
