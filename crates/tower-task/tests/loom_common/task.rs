//! A task around a real header ([`ModelHeader`]) for the header's loom models: the executor's
//! side of a task (async-task's "scheduled" bit and the runs it causes) and of `cancel`'s
//! wake-up, and tokens that log when the callback holding them is handed out.

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Mutex};
use tower_loop::EventLoop;
use tower_task::header_model::ModelHeader;

/// A task as its executor sees it, around a real header.
pub(crate) struct ModelTask {
    /// The task's header: the code under test.
    pub(crate) header: ModelHeader,
    /// async-task's `SCHEDULED` bit: set by a wake-up (an acquire-release read-modify-write,
    /// as async-task's), cleared as a run begins; a run is due while it is set.
    scheduled: AtomicBool,
    /// The messages of the requests the task's polls delivered, in order.
    delivered: Mutex<Vec<Option<String>>>,
}

impl ModelTask {
    /// A pending task whose header's registry is `lp`'s.
    pub(crate) fn new(lp: &EventLoop) -> Arc<ModelTask> {
        Arc::new(ModelTask {
            header: ModelHeader::new(lp),
            scheduled: AtomicBool::new(false),
            delivered: Mutex::new(Vec::new()),
        })
    }

    /// `TaskRef::cancel`: the header's request, then, once it returned, the wake-up.
    pub(crate) fn cancel(&self, msg: Option<&str>) -> bool {
        if !self.header.request_cancel(msg) {
            return false;
        }
        self.scheduled.swap(true, Ordering::AcqRel);
        true
    }

    /// `TaskRef::uncancel` (the task is not delivering a request, or does not care).
    pub(crate) fn uncancel(&self) -> u32 {
        self.header.withdraw_cancel(|| {})
    }

    /// The executor: runs the task for as long as it is scheduled. Each run is the wrapper's
    /// poll as far as cancellation goes: if a request waits, its delivery begins (its message
    /// is recorded) and then `after_delivery` runs (what the task's future does with it).
    pub(crate) fn run(&self, mut after_delivery: impl FnMut(&ModelTask)) {
        while self.scheduled.swap(false, Ordering::AcqRel) {
            if self.header.cancel_pending() {
                let c = self.header.begin_delivery();
                let msg = c.message().map(str::to_owned);
                self.delivered.lock().unwrap().push(msg);
                after_delivery(self);
            }
        }
    }

    /// The messages delivered so far.
    pub(crate) fn delivered(&self) -> Vec<Option<String>> {
        self.delivered.lock().unwrap().clone()
    }

    /// Whether a run is due (a wake-up not yet consumed).
    pub(crate) fn scheduled(&self) -> bool {
        self.scheduled.load(Ordering::SeqCst)
    }
}

/// `Some(s)` for each message.
pub(crate) fn msgs(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some((*s).to_owned())).collect()
}

/// A record of the tokens dropped (the callbacks holding them handed out), in order.
pub(crate) type Log = Arc<Mutex<Vec<u32>>>;

/// A token that logs its tag when dropped: given to a done callback, it logs when the header
/// hands that callback out to be scheduled.
pub(crate) struct Logged {
    /// Its tag.
    tag: u32,
    /// Where it logs.
    log: Log,
}

impl Logged {
    /// A token tagged `tag`, logging to `log`.
    pub(crate) fn new(tag: u32, log: &Log) -> Logged {
        Logged {
            tag,
            log: log.clone(),
        }
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        self.log.lock().unwrap().push(self.tag);
    }
}
