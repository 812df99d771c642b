//! A migration is a Rust module that declares itself with [`migration!`](crate::migration!): the macro
//! defines the module's [`Migration`] static, which a migrations crate's generated
//! `migrations()` lists (see [`crate::build::migrations`]) and which registers with
//! `inventory` anywhere else. Order never comes from the listing or from inventory (its
//! iteration order is unspecified) but from the parent links, checked by [`crate::graph`].

use crate::graph::{ChainError, Target, TargetError};
use crate::ops::{Op, Ops};
use crate::plan;
use std::collections::HashMap;

/// One registered migration. Fields are `'static` data and plain function pointers because
/// inventory needs const initialisers.
#[derive(Debug)]
pub struct Migration {
    /// The revision id, unique in the graph (hexadecimal by convention, as `create` makes them).
    pub revision: &'static str,
    /// The revisions it follows: none for the first migration, one usually, several for a
    /// merge revision (which joins two branches).
    pub parents: &'static [&'static str],
    /// What it does, shown in history, logs and errors.
    pub message: &'static str,
    /// Creation time, RFC 3339 (checked by the build script).
    pub created: &'static str,
    /// Records the ops that apply it.
    pub upgrade: fn(&mut Ops),
    /// Records the ops that revert it.
    pub downgrade: fn(&mut Ops),
    /// The source file, from `file!()`.
    pub file: &'static str,
    /// False for a migration that cannot run inside a transaction (PostgreSQL's
    /// `CREATE INDEX CONCURRENTLY`): it is marked started before it runs and completed after,
    /// and an interruption leaves a dirty state that `resolve` clears.
    pub transactional: bool,
    /// A squash checkpoint's squashed revisions, in ancestry order, the squash target last:
    /// a database that applied them is read as having applied the checkpoint (one at the
    /// target), and their history rows stay known. Empty for every other migration.
    pub replaces: &'static [&'static str],
}

/// What inventory collects: a migration declared outside a migrations crate built by
/// [`crate::build::migrations`] (whose generated `migrations()` lists its files' migrations
/// itself). Not public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct Registered(pub &'static Migration);

inventory::collect!(Registered);

impl Migration {
    /// The ops `upgrade` records.
    pub fn upgrade_ops(&self) -> Vec<Op> {
        let mut ops = Ops::new();
        (self.upgrade)(&mut ops);
        ops.into_ops()
    }
    /// What `upgrade` records: its ops and its acknowledgements ([`Ops::allow`]), from one
    /// call.
    pub fn upgrade_plan(&self) -> Ops {
        let mut ops = Ops::new();
        (self.upgrade)(&mut ops);
        ops
    }
    /// The lint acknowledgements of the upgrade ([`Ops::allow`]): code and reason, in order.
    pub fn acknowledgements(&self) -> Vec<crate::ops::Acknowledgement> {
        self.upgrade_plan().into_parts().1
    }
    /// The ops `downgrade` records.
    pub fn downgrade_ops(&self) -> Vec<Op> {
        let mut ops = Ops::new();
        (self.downgrade)(&mut ops);
        ops.into_ops()
    }
    /// The creation time, parsed.
    pub fn created_at(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        chrono::DateTime::parse_from_rfc3339(self.created).ok()
    }
    /// The first parent, for the one-parent form (`None` for the root).
    pub fn parent(&self) -> Option<&'static str> {
        self.parents.first().copied()
    }
}

/// Declares a migration and registers it. See the crate documentation for an example.
/// `transactional: false,` (before `upgrade:`) declares one that must run outside a
/// transaction.
///
/// The header fields are literals so the build script can read them without running any
/// code; `upgrade` and `downgrade` are non-capturing closures (or `fn`s) that record ops.
/// One `migration!` per module (a migrations crate has one per file): it defines the
/// module's migration static, named so that a second one in the same module fails to compile
/// with "the name `__STRATA_ONE_MIGRATION_PER_MODULE` is defined multiple times". In a
/// migrations crate built by [`crate::build::migrations`], the generated `migrations()` names
/// every file's static; anywhere else the migration registers through `inventory`
/// ([`registered`]). No list of migrations is kept by hand, and the order comes from the
/// `parent` links alone.
///
/// ```
/// use strata::prelude::*;
///
/// # mod migration_1 { use strata::prelude::*;
/// migration! {
///     revision: "a1b2c3d4e5f6",
///     parent: None,
///     message: "create users",
///     created: "2026-11-24T09:30:00Z",
///     upgrade: |op| {
///         op.create_table(
///             Table::new("users")
///                 .column(Column::new("id", Type::BigInt).autoincrement())
///                 .column(Column::new("email", Type::String(255))),
///         );
///     },
///     downgrade: |op| {
///         op.drop_table("users");
///     },
/// }
/// # }
///
/// // PostgreSQL cannot build an index CONCURRENTLY inside a transaction.
/// # mod migration_2 { use strata::prelude::*;
/// migration! {
///     revision: "b2c3d4e5f6a1",
///     parent: Some("a1b2c3d4e5f6"),
///     message: "index users by email without blocking writes",
///     created: "2026-11-25T10:00:00Z",
///     transactional: false,
///     upgrade: |op| {
///         op.execute_on(DialectKind::Postgres, "CREATE INDEX CONCURRENTLY ix_users_email ON users (email)");
///         op.execute_on(DialectKind::Sqlite, "CREATE INDEX ix_users_email ON users (email)");
///     },
///     downgrade: |op| {
///         op.drop_index("ix_users_email", "users");
///     },
/// }
/// # }
///
/// // A migrations crate's generated `migrations()` builds the set; here, by hand:
/// let set = strata::MigrationSet::new(strata::migration::registered())?;
/// assert_eq!(set.head().map(|m| m.revision), Some("b2c3d4e5f6a1"));
/// assert!(!set.get("b2c3d4e5f6a1").unwrap().transactional);
/// # Ok::<(), strata::RegistryError>(())
/// ```
///
/// Two in one module do not compile (E0428, naming `__STRATA_ONE_MIGRATION_PER_MODULE`):
///
/// ```compile_fail,E0428
/// use strata::prelude::*;
///
/// migration! {
///     revision: "a1b2c3d4e5f6",
///     parent: None,
///     message: "first",
///     created: "2026-11-24T09:30:00Z",
///     upgrade: |_op| {},
///     downgrade: |_op| {},
/// }
/// migration! {
///     revision: "b2c3d4e5f6a1",
///     parent: Some("a1b2c3d4e5f6"),
///     message: "second, in the same module",
///     created: "2026-11-25T09:30:00Z",
///     upgrade: |_op| {},
///     downgrade: |_op| {},
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! migration {
    // The usual form, closures with block bodies: each becomes a plain function (see
    // `__submit_migration`), then the general form below.
    (
        revision: $revision:literal,
        parent: $parent:expr,
        message: $message:literal,
        created: $created:literal,
        $(transactional: $transactional:expr,)?
        $(replaces: [$($replaced:literal),* $(,)?],)?
        upgrade: |$up:pat_param| $up_body:block,
        downgrade: |$down:pat_param| $down_body:block $(,)?
    ) => {
        $crate::migration! {
            revision: $revision,
            parent: $parent,
            message: $message,
            created: $created,
            $(transactional: $transactional,)?
            $(replaces: [$($replaced),*],)?
            upgrade: $crate::__migration_fn!(|$up| $up_body),
            downgrade: $crate::__migration_fn!(|$down| $down_body),
        }
    };
    (
        revision: $revision:literal,
        parents: [$($parents:literal),+ $(,)?],
        message: $message:literal,
        created: $created:literal,
        $(transactional: $transactional:expr,)?
        $(replaces: [$($replaced:literal),* $(,)?],)?
        upgrade: |$up:pat_param| $up_body:block,
        downgrade: |$down:pat_param| $down_body:block $(,)?
    ) => {
        $crate::migration! {
            revision: $revision,
            parents: [$($parents),+],
            message: $message,
            created: $created,
            $(transactional: $transactional,)?
            $(replaces: [$($replaced),*],)?
            upgrade: $crate::__migration_fn!(|$up| $up_body),
            downgrade: $crate::__migration_fn!(|$down| $down_body),
        }
    };
    (
        revision: $revision:literal,
        parent: $parent:expr,
        message: $message:literal,
        created: $created:literal,
        $(transactional: $transactional:expr,)?
        $(replaces: [$($replaced:literal),* $(,)?],)?
        upgrade: $upgrade:expr,
        downgrade: $downgrade:expr $(,)?
    ) => {
        $crate::__submit_migration! {
            $revision,
            match $parent {
                ::core::option::Option::Some(parent) => &[parent],
                ::core::option::Option::None => &[],
            },
            $message, $created, [$($transactional)?], [$($($replaced),*)?], $upgrade, $downgrade
        }
    };
    (
        revision: $revision:literal,
        parents: [$($parents:literal),+ $(,)?],
        message: $message:literal,
        created: $created:literal,
        $(transactional: $transactional:expr,)?
        $(replaces: [$($replaced:literal),* $(,)?],)?
        upgrade: $upgrade:expr,
        downgrade: $downgrade:expr $(,)?
    ) => {
        $crate::__submit_migration! {
            $revision, &[$($parents),+], $message, $created, [$($transactional)?], [$($($replaced),*)?],
            $upgrade, $downgrade
        }
    };
}

/// The registration both forms of [`migration!`](crate::migration!) expand to.
#[doc(hidden)]
#[macro_export]
macro_rules! __submit_migration {
    (
        $revision:literal, $parents:expr, $message:literal, $created:literal,
        [$($transactional:expr)?], [$($replaced:literal),*], $upgrade:expr, $downgrade:expr
    ) => {
        /// The migration this module declares: the generated `migrations()` of a migrations
        /// crate lists it; anywhere else it registers with inventory (below).
        // (A closure coerced to a `fn` pointer gets a shim, and rustc puts every shim of the
        // crate in one codegen unit, compiled again whole when a migration is added: 2,000
        // shims for 1,000 migrations. So `migration!` turns a closure with a block body into a
        // plain function, `__migration_fn!`, whose code stays in its file's group; any other
        // expression, a closure without braces or a function's name, is used as given.)
        #[doc(hidden)]
        pub(crate) static __STRATA_ONE_MIGRATION_PER_MODULE: $crate::Migration = $crate::Migration {
            revision: $revision,
            parents: $parents,
            message: $message,
            created: $created,
            upgrade: $upgrade,
            downgrade: $downgrade,
            file: file!(),
            transactional: $crate::__transactional!($($transactional)?),
            replaces: &[$($replaced),*],
        };
        // A migrations crate whose build script is `strata::build::migrations` is built with
        // `--cfg strata_glue` (declared there for the cfg check): its generated code names
        // every file's migration, so nothing goes through inventory. Everywhere else the cfg is
        // unknown, which the `allow` on this block keeps quiet.
        #[allow(unexpected_cfgs)]
        const _: () = {
            #[cfg(not(strata_glue))]
            $crate::inventory::submit! {
                $crate::migration::Registered(&__STRATA_ONE_MIGRATION_PER_MODULE)
            }
        };
    };
}

/// `|op| { ... }` as a plain function of `&mut Ops`, declared inside a block that evaluates to
/// it: nested in the migration's static, so it needs no name of its own in the module and its
/// code goes to the module's codegen unit (a closure's `fn` shim would not).
#[doc(hidden)]
#[macro_export]
macro_rules! __migration_fn {
    (|$op:pat_param| $body:block) => {{
        fn ops_of_this_migration($op: &mut $crate::ops::Ops) $body
        ops_of_this_migration
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __transactional {
    () => {
        true
    };
    ($value:expr) => {
        $value
    };
}

/// The first 16 bytes of `text` as a big-endian integer, zero-padded: integers in the
/// strings' order wherever they differ in those bytes (equal integers need the strings).
fn leading_bytes(text: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let n = text.len().min(16);
    bytes[..n].copy_from_slice(&text.as_bytes()[..n]);
    u128::from_be_bytes(bytes)
}

/// Every migration registered through inventory in this binary, in no particular order: the
/// `migration!`s outside a migrations crate built by [`crate::build::migrations`] (that
/// crate's `migrations()` lists its own).
pub fn registered() -> Vec<&'static Migration> {
    inventory::iter::<Registered>.into_iter().map(|registered| registered.0).collect()
}

/// Why a set of migrations cannot be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The build script saw revisions that are not registered in this binary: the linker
    /// dropped the migrations crate because nothing names it (inventory issue 7).
    #[error(
        "{} of {expected} migrations the build saw are not registered in this binary (missing: {}). \
         The linker drops a crate nothing names: get the set from `{crate_name}::migrations()` (or add \
         `use {crate_name} as _;` to the binary or test that runs migrations)",
        missing.len(), abbreviate(missing)
    )]
    Missing {
        /// The revisions not registered.
        missing: Vec<String>,
        /// How many the build saw.
        expected: usize,
        /// The migrations crate, as a Rust path.
        crate_name: String,
    },
    /// Registered migrations that the build script did not see: the build is stale.
    #[error("migrations registered but not seen by the build script: {}; rebuild (cargo clean -p the migrations crate)", abbreviate(.0))]
    Unexpected(Vec<String>),
    /// The registered migrations do not form one chain.
    #[error("the revision chain is broken: {}", join_errors(.0))]
    Chain(Vec<ChainError>),
}

fn abbreviate(items: &[String]) -> String {
    let mut text = items.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > 5 {
        text.push_str(&format!(" and {} more", items.len() - 5));
    }
    text
}

fn join_errors(errors: &[ChainError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// A checked set of migrations in chain order: one root, one head, no cycle, every parent
/// known. Everything that runs migrations takes one, so an unchecked list never reaches a
/// database. An application gets it from its migrations crate (`app_migrations::migrations()`,
/// generated by [`crate::build::migrations`]), which also proves every migration the build saw
/// is linked in.
///
/// ```
/// use strata::prelude::*;
///
/// # mod migration_3 { use strata::prelude::*;
/// migration! {
///     revision: "0001aaaa",
///     parent: None,
///     message: "create posts",
///     created: "2026-11-24T09:30:00Z",
///     upgrade: |op| { op.create_table(Table::new("posts").column(Column::new("id", Type::BigInt).autoincrement())); },
///     downgrade: |op| { op.drop_table("posts"); },
/// }
/// # }
/// # mod migration_4 { use strata::prelude::*;
/// migration! {
///     revision: "0002bbbb",
///     parent: Some("0001aaaa"),
///     message: "add titles",
///     created: "2026-11-25T09:30:00Z",
///     upgrade: |op| { op.add_column("posts", Column::new("title", Type::Text).nullable()); },
///     downgrade: |op| { op.drop_column("posts", "title"); },
/// }
/// # }
///
/// let all = strata::migration::registered();
/// let set = strata::MigrationSet::new(all.clone())?;
/// let order: Vec<&str> = set.migrations().iter().map(|m| m.revision).collect();
/// assert_eq!(order, ["0001aaaa", "0002bbbb"]); // chain order, whatever the registration order
///
/// // A set missing the root is refused: 0002bbbb's parent is unknown.
/// let broken: Vec<_> = all.into_iter().filter(|m| m.revision == "0002bbbb").collect();
/// assert!(matches!(strata::MigrationSet::new(broken), Err(strata::RegistryError::Chain(_))));
/// # Ok::<(), strata::RegistryError>(())
/// ```
///
/// Cloning is cheap (shared, immutable parts): every runner a command makes holds one.
#[derive(Debug, Clone)]
pub struct MigrationSet {
    /// In the graph's canonical order (parents before children).
    ordered: std::sync::Arc<Vec<&'static Migration>>,
    /// The revisions as a DAG, for the planner ([`crate::plan`]).
    graph: std::sync::Arc<plan::Graph<'static>>,
    /// The one head's place in `ordered` (`None`: no migrations), found once.
    head: Option<usize>,
    /// Squashed revision -> the checkpoint that replaces it, with whether it was the squash
    /// target (the one revision a database may stand at and be read as the checkpoint).
    replaced: std::sync::Arc<HashMap<&'static str, (&'static str, bool)>>,
}

impl MigrationSet {
    /// The set of a migrations crate, from the lists its generated `migrations()` names (one
    /// per group of files; see [`crate::build::migrations_module`]): exactly the migrations of
    /// the files the build script saw, checked as one chain. `order` is the canonical order
    /// the build script worked out: `order[k]` is the index, in the groups' concatenation, of
    /// the k-th migration. It spares the sort at every start-up; it is checked, never trusted:
    /// an order that is not a permutation of the files is ignored, and one that is not
    /// canonical is sorted as usual. Not public API.
    #[doc(hidden)]
    pub fn __from_files_in_order(
        groups: &[&[&'static Migration]],
        order: &[u32],
    ) -> Result<Self, RegistryError> {
        // Where each group starts in the concatenation: the migrations are taken from the
        // groups directly, without a flattened copy of them (every byte allocated at start-up
        // is a page to fault in).
        let mut starts = Vec::with_capacity(groups.len());
        let mut total = 0usize;
        for group in groups {
            starts.push(total);
            total += group.len();
        }
        let flattened = || groups.iter().flat_map(|group| group.iter().copied()).collect();
        if order.len() != total {
            return Self::new(flattened());
        }
        let file = |i: usize| {
            let g = starts.partition_point(|&start| start <= i).checked_sub(1)?;
            groups.get(g)?.get(i - starts[g]).copied()
        };
        let mut taken = vec![false; total];
        let mut ordered = Vec::with_capacity(total);
        for &i in order {
            let i = i as usize;
            match (file(i), taken.get_mut(i)) {
                (Some(m), Some(taken)) if !*taken => {
                    *taken = true;
                    ordered.push(m);
                }
                _ => return Self::new(flattened()),
            }
        }
        Self::new(ordered)
    }
    /// The registered migrations, refused unless they are exactly the `expected` revisions the
    /// build script recorded. `crate_name` is the migrations crate, named in the remedy.
    pub fn from_registry(expected: &[&str], crate_name: &str) -> Result<Self, RegistryError> {
        let registered = registered();
        let known: crate::plan::IdMap<'_, ()> = registered.iter().map(|m| (m.revision, ())).collect();
        let missing: Vec<String> =
            expected.iter().filter(|r| !known.contains_key(**r)).map(|r| r.to_string()).collect();
        if !missing.is_empty() {
            return Err(RegistryError::Missing {
                missing,
                expected: expected.len(),
                crate_name: crate_name.replace('-', "_"),
            });
        }
        if registered.len() != expected.len() {
            let expected: std::collections::HashSet<&str> = expected.iter().copied().collect();
            let extra: Vec<String> = registered
                .iter()
                .filter(|m| !expected.contains(m.revision))
                .map(|m| m.revision.to_string())
                .collect();
            if !extra.is_empty() {
                return Err(RegistryError::Unexpected(extra));
            }
        }
        Self::new(registered)
    }

    /// An explicit list (tests, benchmarks), checked as a revision graph with one head (two
    /// branches must be joined by a merge revision or rebased first).
    pub fn new(migrations: Vec<&'static Migration>) -> Result<Self, RegistryError> {
        // Registration order is unspecified (inventory's), so the canonical order breaks ties
        // between branches by creation time, then revision id: every binary built from the
        // same files plans the same steps in the same order.
        // A total order (the file too: duplicates keep one order), compared first on the
        // creation time's first 16 bytes as one integer: sorting a thousand migrations by
        // their strings was a quarter of a nothing-pending start-up's instructions.
        let key = |m: &Migration| leading_bytes(m.created);
        let tie = |a: &Migration, b: &Migration| {
            (a.created, a.revision, a.file).cmp(&(b.created, b.revision, b.file))
        };
        let canonical = |a: &&Migration, b: &&Migration| key(a).cmp(&key(b)).then_with(|| tie(a, b));
        // A migrations crate's build script gives them in this order already: one pass, and
        // no keys kept.
        let mut migrations = migrations;
        if !migrations.is_sorted_by(|a, b| canonical(a, b).is_le()) {
            let mut keyed: Vec<(u128, &'static Migration)> =
                migrations.iter().map(|m| (key(m), *m)).collect();
            keyed.sort_unstable_by(|(ka, a), (kb, b)| ka.cmp(kb).then_with(|| tie(a, b)));
            migrations = keyed.into_iter().map(|(_, m)| m).collect();
        }
        let graph = plan::Graph::build(migrations.len(), |i| {
            let m = migrations[i];
            plan::Revision { id: m.revision, parents: m.parents, source: m.file }
        })
        .map_err(RegistryError::Chain)?;
        let heads = graph.heads();
        if heads.len() > 1 {
            let heads = heads.iter().map(|h| (h.to_string(), graph.source_of(h).unwrap_or("").to_string()));
            return Err(RegistryError::Chain(vec![ChainError::MultipleHeads { heads: heads.collect() }]));
        }
        // In the graph's order, by the indices it was given: no id looked up again (and
        // nothing to do when that is the order given, as a build script gives it).
        let ordered: Vec<&'static Migration> = match graph.given_order() {
            None => migrations,
            Some(order) => order.iter().map(|&i| migrations[i]).collect(),
        };
        let mut replaced = HashMap::new();
        for m in &ordered {
            let last = m.replaces.len().saturating_sub(1);
            for (i, r) in m.replaces.iter().enumerate() {
                replaced.insert(*r, (m.revision, i == last));
            }
        }
        let head = heads.first().and_then(|h| graph.position(h));
        // An `Arc` of the `Vec` itself: `Arc<[_]>` would copy it into a new allocation.
        Ok(MigrationSet { ordered: ordered.into(), graph: graph.into(), head, replaced: replaced.into() })
    }

    /// The revisions as a DAG: what [`crate::plan::plan`] plans on.
    pub fn graph(&self) -> &plan::Graph<'static> {
        &self.graph
    }

    /// The applied state of a database whose version row reads `version` (its heads joined
    /// by spaces, [`plan::encode_heads`]; `None` = base). A head that a squash checkpoint
    /// replaced reads as the checkpoint when it was the squash target; every other problem
    /// (an unknown or squashed-over revision, a repeated head, a head that is an ancestor of
    /// another) is refused: strata never writes such a row.
    pub fn state_at(&self, version: Option<&str>) -> Result<plan::State, TargetError> {
        let Some(version) = version else { return Ok(self.graph.base()) };
        let mut heads: Vec<&str> = Vec::new();
        for head in version.split(' ') {
            let head = match self.replaced.get(head) {
                Some((checkpoint, true)) => *checkpoint,
                Some((checkpoint, false)) => {
                    return Err(TargetError::Squashed {
                        revision: head.to_string(),
                        checkpoint: checkpoint.to_string(),
                        target: self
                            .get(checkpoint)
                            .and_then(|c| c.replaces.last())
                            .unwrap_or(&"")
                            .to_string(),
                    })
                }
                None => head,
            };
            if heads.contains(&head) {
                return Err(TargetError::CorruptVersion(format!("{version:?} names {head} twice")));
            }
            heads.push(head);
        }
        let state = self.graph.state_from_heads(&heads).map_err(|e| match e {
            plan::StateError::Unknown(rev) | plan::StateError::ParentMissing { revision: rev, .. } => {
                TargetError::UnknownCurrent(rev)
            }
        })?;
        if self.graph.heads_of(&state).len() != heads.len() {
            return Err(TargetError::CorruptVersion(format!(
                "{version:?} names a revision together with one of its descendants"
            )));
        }
        Ok(state)
    }

    /// The state whose heads are `heads`, migrations of this set (as [`crate::runner::Runner::current`]
    /// returns them).
    pub fn state_with_heads(&self, heads: &[&'static Migration]) -> plan::State {
        let ids: Vec<&str> = heads.iter().map(|m| m.revision).collect();
        // Migrations of this set are in its graph, so this cannot fail; base if it did.
        self.graph.state_from_heads(&ids).unwrap_or_else(|_| self.graph.base())
    }

    /// The version row for `state`: its heads, sorted and joined by spaces (`None` = base).
    pub fn version_of(&self, state: &plan::State) -> Option<String> {
        plan::encode_heads(&self.graph.heads_of(state))
    }

    /// The checkpoint that replaced `revision` in a squash, if one did: history rows of such
    /// revisions are known, not strangers.
    pub fn replaced_by(&self, revision: &str) -> Option<&'static Migration> {
        self.replaced.get(revision).and_then(|(checkpoint, _)| self.get(checkpoint))
    }

    /// The migrations that take a database at `version` (`None` = base) to `target`, in run
    /// order, and which way: the one planner's answer ([`crate::plan::plan`]).
    pub fn plan(
        &self,
        version: Option<&str>,
        target: &Target,
    ) -> Result<(Option<plan::Direction>, Vec<&'static Migration>), TargetError> {
        let state = self.state_at(version)?;
        let plan = plan::plan(&self.graph, &state, target)?;
        let migrations = plan.steps.iter().filter_map(|s| self.get(s.revision)).collect();
        Ok((plan.direction, migrations))
    }

    /// The migration a revision id or unique prefix names.
    pub fn find(&self, prefix: &str) -> Result<&'static Migration, TargetError> {
        let id = self.graph.find(prefix)?;
        self.get(id).ok_or_else(|| TargetError::unknown(prefix, self.graph.revisions().iter().copied()))
    }

    /// Migrations in apply order: the graph's canonical topological order.
    pub fn migrations(&self) -> &[&'static Migration] {
        &self.ordered
    }
    /// The migration with exactly this revision id.
    pub fn get(&self, revision: &str) -> Option<&'static Migration> {
        self.graph.position(revision).map(|i| self.ordered[i])
    }
    /// The head: the one migration no other follows (`None` for an empty set).
    pub fn head(&self) -> Option<&'static Migration> {
        self.head.map(|i| self.ordered[i])
    }
}

#[cfg(test)]
mod tests {
    use super::{leading_bytes, Migration, MigrationSet};
    use proptest::prelude::*;

    const fn at(
        revision: &'static str,
        parents: &'static [&'static str],
        created: &'static str,
    ) -> Migration {
        Migration {
            revision,
            parents,
            message: "m",
            created,
            upgrade: |_| {},
            downgrade: |_| {},
            file: "versions.rs",
            transactional: true,
            replaces: &[],
        }
    }
    static A: Migration = at("a", &[], "2026-01-01T00:00:00Z");
    static B: Migration = at("b", &["a"], "2026-01-02T00:00:00Z");
    static C: Migration = at("c", &["a"], "2026-01-03T00:00:00Z");
    static D: Migration = at("d", &["b", "c"], "2026-01-04T00:00:00Z");

    /// The build script's order spares the sort; any other order, even one that is not a
    /// permutation of the files, gives the same set.
    #[test]
    fn the_build_scripts_order_is_checked_never_trusted() {
        let groups: &[&[&'static Migration]] = &[&[&C, &A], &[&D, &B]];
        let ids = |set: MigrationSet| set.migrations().iter().map(|m| m.revision).collect::<Vec<_>>();
        let expected = ids(MigrationSet::new(groups.concat()).unwrap());
        assert_eq!(expected, ["a", "b", "c", "d"]);
        // Empty groups anywhere (a group whose files were all removed) index the same way.
        let with_empty: &[&[&'static Migration]] = &[&[], &[&C, &A], &[], &[&D, &B], &[]];
        for order in [
            &[1, 3, 0, 2][..],
            &[3, 2, 1, 0],
            &[1, 1, 0, 2],
            &[1, 3, 0],
            &[1, 3, 0, 2, 2],
            &[9, 3, 0, 2],
            &[4, 3, 0, 2],
            &[],
        ] {
            for groups in [groups, with_empty] {
                assert_eq!(
                    ids(MigrationSet::__from_files_in_order(groups, order).unwrap()),
                    expected,
                    "{order:?}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(crate::proptest_config())]
        /// Where the integers differ they order as the strings do (the sort falls back to the
        /// strings only on a tie).
        #[test]
        fn leading_bytes_order_as_the_strings(a in "[\\x00-\\x7f0-9:TZ-]{0,24}", b in "[\\x00-\\x7f0-9:TZ-]{0,24}") {
            let (ka, kb) = (leading_bytes(&a), leading_bytes(&b));
            if ka != kb {
                prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
            }
        }
    }

    #[test]
    fn leading_bytes_of_timestamps() {
        assert!(leading_bytes("2026-01-01T00:00:00Z") < leading_bytes("2026-01-01T00:01:00Z"));
        assert_eq!(leading_bytes("2026-01-01T00:00:00Z"), leading_bytes("2026-01-01T00:00:59Z"));
        assert!(leading_bytes("") < leading_bytes("\u{1}"));
        assert!(leading_bytes("ab") <= leading_bytes("ab\u{0}x"));
    }
}
