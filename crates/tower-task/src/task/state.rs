//! A task's identity and life stage: [`TaskId`] and [`TaskState`], and the state byte the
//! header keeps.

use std::fmt;

/// A task's id: unique within the process, increasing in spawn order on each thread (asyncio
/// numbers its default names the same way: `Task-1`, `Task-2`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// Spawned, not polled yet.
    Pending,
    /// Being polled right now.
    Running,
    /// Polled, waiting to be woken.
    Suspended,
    /// Completed with a value.
    Finished,
    /// Cancelled: the cancellation reached the task itself (nothing in it caught it), or the
    /// task was dropped with its loop.
    Cancelled,
    /// Its future panicked.
    Panicked,
}

impl TaskState {
    /// Whether the task is done (finished, cancelled or panicked).
    pub fn is_done(self) -> bool {
        matches!(
            self,
            TaskState::Finished | TaskState::Cancelled | TaskState::Panicked
        )
    }

    /// Decodes the header's state byte.
    pub(crate) fn from_u8(v: u8) -> TaskState {
        match v & !ST_TAKEN {
            ST_PENDING => TaskState::Pending,
            ST_RUNNING => TaskState::Running,
            ST_SUSPENDED | ST_SUSPENDED_AWARE => TaskState::Suspended,
            ST_FINISHED => TaskState::Finished,
            ST_CANCELLED => TaskState::Cancelled,
            _ => TaskState::Panicked,
        }
    }

    /// The lowercase name used in the task tree.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Running => "running",
            TaskState::Suspended => "suspended",
            TaskState::Finished => "finished",
            TaskState::Cancelled => "cancelled",
            TaskState::Panicked => "panicked",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// State byte: spawned, not yet polled.
pub(crate) const ST_PENDING: u8 = 0;
/// State byte: inside a poll.
pub(crate) const ST_RUNNING: u8 = 1;
/// State byte: returned `Pending`, with nothing cancellation-aware suspended in the future (a
/// cancellation request drops the future without polling it).
pub(crate) const ST_SUSPENDED: u8 = 2;
/// State byte: returned `Pending` with a cancellation-aware await suspended in the future (a
/// cancellation request is delivered through a poll; `tower_coro::cancel`). Always
/// `ST_SUSPENDED + 1`.
pub(crate) const ST_SUSPENDED_AWARE: u8 = 3;
/// State byte: completed with a value (this and the following are "done").
pub(crate) const ST_FINISHED: u8 = 4;
/// State byte: cancelled (a cancellation ended it, or it was dropped unfinished).
pub(crate) const ST_CANCELLED: u8 = 5;
/// State byte: panicked.
pub(crate) const ST_PANICKED: u8 = 6;
/// A flag on the state byte: the task's `Task` handle took its outcome. Set once, by the handle,
/// after the task is done (when nothing else writes the byte any more); it keeps the handle one
/// word smaller than a field of its own would.
pub(crate) const ST_TAKEN: u8 = 0x80;
