//! Posts get URL slugs: added nullable, backfilled from titles by a data op, then made NOT NULL
//! (on SQLite that is a table rebuild, which keeps every row) and unique per author.
use strata::prelude::*;

/// `"Hello, World!"` → `"hello-world"`.
fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            slug.extend(c.to_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

fn backfill_slugs(db: &mut dyn DataConnection) -> Result<(), DataError> {
    let rows = db.query("SELECT id, title FROM posts WHERE slug IS NULL", &[])?;
    for row in rows {
        let id = row[0].as_i64().ok_or_else(|| DataError::failed("posts.id is not an integer"))?;
        let title = row[1].as_str().unwrap_or_default();
        // The id suffix keeps slugs unique per author even when titles repeat.
        let slug = format!("{}-{id}", slugify(title));
        db.execute("UPDATE posts SET slug = $1 WHERE id = $2", &[slug.into(), id.into()])?;
    }
    Ok(())
}

migration! {
    revision: "eda71479153d",
    parent: Some("da51e7982e60"),
    message: "add post slugs backfilled from titles",
    created: "2026-10-02T11:00:00Z",
    upgrade: |op| {
        op.add_column("posts", Column::new("slug", Type::String(220)).nullable());
        op.run_data("backfill posts.slug from titles", backfill_slugs);
        op.alter_column("posts", "slug", AlterColumn::new().nullable(false));
        op.create_index(Index::new("ux_posts_author_id_slug", "posts", ["author_id", "slug"]).unique());
    },
    downgrade: |op| {
        op.drop_index("ux_posts_author_id_slug", "posts");
        op.drop_column("posts", "slug");
    },
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugify_keeps_letters_and_digits() {
        assert_eq!(super::slugify("Hello, World! 2026"), "hello-world-2026");
        assert_eq!(super::slugify("  Ünïcode  title "), "ünïcode-title");
    }
}
