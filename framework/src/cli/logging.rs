//! The command line's log subscriber, built when the first record that can pass its filter
//! arrives, not at start-up. Building `tracing-subscriber`'s formatter and filter touches
//! about 40 pages of memory (its span registry among them), which measured 0.5 ms of a
//! 6 ms `current` on PostgreSQL; most commands log nothing at the default `warn` level, so
//! most never build it. What they log, when they do, is exactly what the formatter would have
//! written from the start.

use std::any::TypeId;
use std::sync::OnceLock;
use tracing::level_filters::LevelFilter;
use tracing::subscriber::{Interest, Subscriber};
use tracing::{span, Dispatch, Event, Metadata};
use tracing_subscriber::util::SubscriberInitExt;

/// What the deferred subscriber becomes when it is first needed.
type Make = Box<dyn Fn() -> Box<dyn Subscriber + Send + Sync> + Send + Sync>;

/// A subscriber that stands in for `make()`'s until a callsite or record at `max` or more
/// severe shows up (`max` being the most verbose level any directive of the filter lets
/// through), then hands everything to it.
pub(super) struct Deferred {
    max: LevelFilter,
    make: Make,
    inner: OnceLock<Box<dyn Subscriber + Send + Sync>>,
    /// The dispatcher this subscriber was registered with, handed to the inner one.
    dispatch: OnceLock<tracing::dispatcher::WeakDispatch>,
}

impl Deferred {
    pub(super) fn new(max: LevelFilter, make: Make) -> Self {
        Deferred { max, make, inner: OnceLock::new(), dispatch: OnceLock::new() }
    }

    fn inner(&self) -> &(dyn Subscriber + Send + Sync) {
        self.inner
            .get_or_init(|| {
                let inner = (self.make)();
                if let Some(dispatch) = self.dispatch.get().and_then(|d| d.upgrade()) {
                    inner.on_register_dispatch(&dispatch);
                }
                inner
            })
            .as_ref()
    }

    /// Whether `metadata` is more verbose than anything the filter can let through.
    fn filtered_out(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() > self.max
    }

    /// Sets it as the global default (and `log`'s records to it), unless the application has
    /// its own subscriber already.
    pub(super) fn install(self) {
        self.try_init().ok();
    }
}

impl Subscriber for Deferred {
    fn on_register_dispatch(&self, dispatch: &Dispatch) {
        self.dispatch.set(dispatch.downgrade()).ok();
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.filtered_out(metadata) {
            return Interest::never();
        }
        self.inner().register_callsite(metadata)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max)
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        !self.filtered_out(metadata) && self.inner().enabled(metadata)
    }

    fn new_span(&self, span: &span::Attributes<'_>) -> span::Id {
        self.inner().new_span(span)
    }

    fn record(&self, span: &span::Id, values: &span::Record<'_>) {
        self.inner().record(span, values)
    }

    fn record_follows_from(&self, span: &span::Id, follows: &span::Id) {
        self.inner().record_follows_from(span, follows)
    }

    fn event_enabled(&self, event: &Event<'_>) -> bool {
        self.inner().event_enabled(event)
    }

    fn event(&self, event: &Event<'_>) {
        self.inner().event(event)
    }

    fn enter(&self, span: &span::Id) {
        self.inner().enter(span)
    }

    fn exit(&self, span: &span::Id) {
        self.inner().exit(span)
    }

    fn clone_span(&self, id: &span::Id) -> span::Id {
        self.inner().clone_span(id)
    }

    fn try_close(&self, id: span::Id) -> bool {
        self.inner().try_close(id)
    }

    fn current_span(&self) -> tracing_core::span::Current {
        // No span exists before the real subscriber does.
        self.inner.get().map_or_else(tracing_core::span::Current::none, |inner| inner.current_span())
    }

    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        // SAFETY: the inner subscriber answers for its own type, as the trait requires.
        self.inner.get().and_then(|inner| unsafe { inner.downcast_raw(id) })
    }
}

/// The most verbose level `filter` (`EnvFilter` directives, comma-separated, each `LEVEL` or
/// `TARGET=LEVEL`) lets through, or `None` for a directive this reading does not know
/// (span and field filters): such a filter is built at once.
pub(super) fn max_level(filter: &str) -> Option<LevelFilter> {
    if filter.trim().is_empty() {
        return None;
    }
    filter
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|directive| {
            let level = match directive.rsplit_once('=') {
                Some((target, _)) if target.contains(['[', '{']) => return None,
                Some((_, level)) => level,
                // A bare word is a level, or a target at every level.
                None => directive,
            };
            // (`LevelFilter` reads an empty string as `error`.)
            level.parse::<LevelFilter>().ok().filter(|_| !level.is_empty())
        })
        .try_fold(LevelFilter::OFF, |max, level| level.map(|l| max.max(l)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    #[test]
    fn reads_the_most_verbose_level_of_a_filter() {
        assert_eq!(max_level("warn"), Some(LevelFilter::WARN));
        assert_eq!(max_level("warn,strata=info"), Some(LevelFilter::INFO));
        assert_eq!(max_level("error"), Some(LevelFilter::ERROR));
        assert_eq!(max_level("strata::runner=trace, warn"), Some(LevelFilter::TRACE));
        assert_eq!(max_level("off"), Some(LevelFilter::OFF));
        // Not a level, or a span filter: not read here.
        assert_eq!(max_level("loud"), None);
        assert_eq!(max_level(" "), None);
        assert_eq!(max_level("strata="), None);
        assert_eq!(max_level("strata"), None);
        assert_eq!(max_level("strata[apply{rev=1}]=debug"), None);
    }

    /// A subscriber made of the real formatter writing into a buffer, counting its builds.
    fn deferred(filter: &'static str, lines: Arc<Mutex<Vec<u8>>>, builds: Arc<AtomicUsize>) -> Deferred {
        #[derive(Clone)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let max = max_level(filter).unwrap_or(LevelFilter::TRACE);
        Deferred::new(
            max,
            Box::new(move || {
                builds.fetch_add(1, Ordering::SeqCst);
                let buffer = Buffer(lines.clone());
                Box::new(
                    tracing_subscriber::fmt()
                        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                        .with_ansi(false)
                        .without_time()
                        .with_writer(move || buffer.clone())
                        .finish(),
                )
            }),
        )
    }

    fn text(lines: &Mutex<Vec<u8>>) -> String {
        String::from_utf8_lossy(&lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
    }

    /// Metadata of a callsite that is never registered with tracing: handing it straight to
    /// the subscriber keeps other tests' threads, whose callsites reach every live
    /// dispatcher, out of the count.
    macro_rules! unregistered {
        ($level:expr, $target:literal) => {{
            struct Site;
            static META: Metadata<'static> = Metadata::new(
                "event",
                $target,
                $level,
                None,
                None,
                None,
                tracing_core::field::FieldSet::new(&[], tracing_core::callsite::Identifier(&SITE)),
                tracing_core::metadata::Kind::EVENT,
            );
            static SITE: Site = Site;
            impl tracing_core::callsite::Callsite for Site {
                fn set_interest(&self, _: Interest) {}
                fn metadata(&self) -> &Metadata<'_> {
                    &META
                }
            }
            &META
        }};
    }

    #[test]
    fn builds_nothing_until_a_record_can_pass_the_filter() {
        use tracing::Level;
        let builds = Arc::new(AtomicUsize::new(0));
        let subscriber = deferred("warn,strata=info", Arc::new(Mutex::new(Vec::new())), builds.clone());
        for quiet in [unregistered!(Level::DEBUG, "strata"), unregistered!(Level::TRACE, "other")] {
            assert!(subscriber.register_callsite(quiet).is_never());
            assert!(!subscriber.enabled(quiet));
        }
        assert_eq!(subscriber.current_span().id(), None);
        assert_eq!(builds.load(Ordering::SeqCst), 0, "nothing at the filter's level or above has been seen");
        // Info is within the filter's reach (for strata), so the real filter decides: not here.
        assert!(subscriber.register_callsite(unregistered!(Level::INFO, "other")).is_never());
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        assert!(subscriber.enabled(unregistered!(Level::INFO, "strata")));
        assert!(subscriber.enabled(unregistered!(Level::ERROR, "other")));
        assert_eq!(builds.load(Ordering::SeqCst), 1, "built once");
    }

    #[test]
    fn writes_what_the_filter_lets_through() {
        let (lines, builds) = (Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicUsize::new(0)));
        let dispatch = Dispatch::new(deferred("warn,strata=info", lines.clone(), builds.clone()));
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::debug!(target: "strata", "debug, filtered out");
            tracing::info!(target: "other", "info elsewhere, which the filter refuses");
            tracing::info!(target: "strata", "applied r1");
            tracing::warn!("a warning");
            tracing::debug!(target: "strata", "still filtered out");
        });
        assert_eq!(builds.load(Ordering::SeqCst), 1, "built once");
        let written = text(&lines);
        assert!(written.contains("INFO strata: applied r1"), "{written}");
        assert!(written.contains("WARN"), "{written}");
        assert!(written.contains("a warning"), "{written}");
        for absent in ["filtered out", "elsewhere"] {
            assert!(!written.contains(absent), "{absent}: {written}");
        }
    }

    #[test]
    fn spans_reach_the_real_subscriber() {
        let (lines, builds) = (Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicUsize::new(0)));
        let dispatch = Dispatch::new(deferred("info", lines.clone(), builds.clone()));
        tracing::dispatcher::with_default(&dispatch, || {
            let span = tracing::info_span!("upgrade", revision = "r7");
            let _entered = span.enter();
            tracing::info!("inside");
        });
        let written = text(&lines);
        assert!(written.contains("upgrade{revision=\"r7\"}: "), "{written}");
        assert!(written.contains("inside"), "{written}");
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }
}
