//! The task core: the header, the handles, making a task on a loop, the current task, the
//! per-loop registry, and the interface a multi-thread scheduler links its worker loops'
//! registries through ([`SchedulerLink`]). It names nothing of the runtime (`runtime/`), which
//! builds on it.

mod current;
mod handle;
mod header;
mod layout;
mod loop_options;
mod make;
mod outcome;
mod registry;
mod scheduler_link;
#[cfg(not(loom))]
mod slots;
#[cfg(loom)]
pub mod slots;
mod state;
mod task_ref;
mod wrapper;

pub use current::{all_tasks, current_task};
pub use handle::Task;
pub use loop_options::{LoopTaskOptions, get_task_factory, set_task_factory};
pub use state::{TaskId, TaskState};
pub use task_ref::TaskRef;

pub(crate) use header::Header;
#[cfg(loom)]
pub use header::model as header_model;
pub(crate) use make::{schedule_home, spawn_in, spawn_on_loop};
pub(crate) use registry::{Registry, RegistrySet};
pub(crate) use registry::{also_list, own_registry};
pub(crate) use scheduler_link::{RemoteScheduler, SchedulerLink};
pub(crate) use wrapper::current_id_and_cancelling;

mod sleep;
pub use sleep::{Sleep, sleep, sleep_until};

mod run;
mod tree;
pub use run::run;
pub use tree::{TaskNode, TaskTree, install_task_tree_dump, task_tree, task_tree_of};
