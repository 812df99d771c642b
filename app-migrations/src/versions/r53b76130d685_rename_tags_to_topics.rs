//! Product renamed tags to topics; the link table follows.
use strata::prelude::*;

migration! {
    revision: "53b76130d685",
    parent: Some("34400ee0d24b"),
    message: "rename tags to topics",
    created: "2026-10-15T13:40:00Z",
    upgrade: |op| {
        op.rename_table("tags", "topics");
        op.rename_table("post_tags", "post_topics");
        op.rename_column("post_topics", "tag_id", "topic_id");
    },
    downgrade: |op| {
        op.rename_column("post_topics", "topic_id", "tag_id");
        op.rename_table("post_topics", "post_tags");
        op.rename_table("topics", "tags");
    },
}
