//! What a task's allocation stores as its output ([`Outcome`]): the value, or a [`TaskError`]
//! behind one pointer ([`ThinError`]), so that the output slot of a task whose value is small
//! stays small — it is part of every task's allocation, idle or not (`header.rs`, "Sizes").
//!
//! The `Task` handle turns it back into the public `Result<T, TaskError>` as it hands it out;
//! an error costs one small allocation, made only when a task ends cancelled or panicked.

use crate::error::TaskError;

/// A task's output as async-task stores it: for `T = ()` one word (the box's null niche is
/// `Ok(())`), where `Result<(), TaskError>` is two; async-task's own
/// `Result<Outcome<T>, panic payload>` around it is then two words instead of three.
pub(crate) type Outcome<T> = Result<T, ThinError>;

/// A [`TaskError`] behind one (non-null) pointer.
pub(crate) struct ThinError(Box<TaskError>);

impl ThinError {
    /// Boxes `e` (out of line: the error path of a task's last poll).
    #[cold]
    #[inline(never)]
    pub(crate) fn new(e: TaskError) -> ThinError {
        ThinError(Box::new(e))
    }

    /// The error.
    #[inline]
    pub(crate) fn into_inner(self) -> TaskError {
        *self.0
    }
}

/// The public form of an [`Outcome`].
#[inline]
pub(crate) fn widen<T>(out: Outcome<T>) -> Result<T, TaskError> {
    out.map_err(ThinError::into_inner)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Outcome;

    /// async-task stores `Result<Outcome<T>, Box<dyn Any + Send>>` in the task's allocation
    /// (sharing the room with the future): two words for a `()` task.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_outcome_of_unit_is_one_word() {
        type Stored<T> = Result<Outcome<T>, Box<dyn std::any::Any + Send>>;
        assert_eq!(size_of::<Outcome<()>>(), 8);
        assert_eq!(size_of::<Stored<()>>(), 16);
        assert_eq!(size_of::<Stored<u64>>(), 24);
    }
}
