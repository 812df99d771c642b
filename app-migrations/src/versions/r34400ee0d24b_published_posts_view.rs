//! A read model for the public site, as raw SQL both engines accept.
use strata::prelude::*;

migration! {
    revision: "34400ee0d24b",
    parent: Some("eda71479153d"),
    message: "add published_posts view",
    created: "2026-10-08T09:15:00Z",
    upgrade: |op| {
        // A view neither drops nor rewrites data, so production may apply it at start-up.
        op.execute_safe(
            "CREATE VIEW published_posts AS \
             SELECT p.id, p.slug, p.title, p.published_at, u.full_name AS author \
             FROM posts p JOIN users u ON u.id = p.author_id \
             WHERE p.status = 'published'",
        );
    },
    downgrade: |op| {
        op.execute("DROP VIEW published_posts");
    },
}
