//! Tasks: the header, the handles, spawning, the current task, the per-loop registry.

mod current;
mod handle;
mod header;
mod layout;
mod loop_options;
mod registry;
#[cfg(not(loom))]
mod slots;
#[cfg(loom)]
pub mod slots;
mod spawn;
mod state;
mod task_ref;
mod threadsafe;
mod wrapper;

pub use current::{all_tasks, current_task};
pub use handle::Task;
pub use loop_options::{LoopTaskOptions, get_task_factory, set_task_factory};
pub use spawn::{TaskBuilder, create_task, spawn, spawn_local};
pub use state::{TaskId, TaskState};
pub use task_ref::TaskRef;
pub use threadsafe::{ConcurrentFuture, run_coroutine_threadsafe};

pub(crate) use header::Header;
#[cfg(loom)]
pub use header::model as header_model;
pub(crate) use registry::{Registry, RegistrySet};
pub(crate) use registry::{also_list, own_registry};
pub(crate) use spawn::{schedule_home, spawn_in};
pub(crate) use wrapper::current_id_and_cancelling;

mod sleep;
pub use sleep::{Sleep, sleep, sleep_until};

mod run;
mod tree;
pub use run::run;
pub use tree::{TaskNode, TaskTree, install_task_tree_dump, task_tree, task_tree_of};
