//! A group child's handle, `ChildTask`: what awaiting it gives, the typed refusals of
//! `create_task`, and the group's errors going into a `Box<dyn Error + Send + Sync>` with `?`.

mod common;

use std::error::Error;

use tower_coro::pending;
use tower_task::error::{
    CreateTaskError, Failure, SpawnError, TaskError, TaskGroupError, TimeoutError,
};
use tower_task::{ChildTask, TaskBuilder, TaskGroup, catch_cancel, sleep};

use common::{paused, secs};

type BoxError = Box<dyn Error + Send + Sync>;

fn is_send_sync<T: Send + Sync>() {}
fn is_error<T: Error + Send + Sync + 'static>() {}

// No CPython counterpart: the handles and errors can cross threads, and the group's error is a
// std error whatever printable error its children return.
#[test]
fn handles_and_errors_are_send_sync_errors() {
    is_send_sync::<ChildTask<u8>>();
    is_error::<TaskError>();
    is_error::<CreateTaskError>();
    is_error::<TimeoutError>();
    is_error::<TaskGroupError<&'static str>>();
    is_error::<TaskGroupError<String>>();
    is_error::<TaskGroupError<BoxError>>();
    is_error::<Failure<BoxError>>();
}

// asyncio's `await tg.create_task(coro)` gives the coroutine's value: one `?` per step.
#[test]
fn awaiting_a_child_gives_its_value() {
    let lp = paused();
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            let a = tg.create_task(async {
                sleep(secs(1)).await;
                Ok::<_, BoxError>(40)
            })?;
            let b = tg.create_task_with(TaskBuilder::new().name("b"), async { Ok(2) })?;
            assert_eq!(&*b.get_name(), "b");
            Ok::<_, BoxError>(a.await? + b.await?)
        }))
        .unwrap();
    assert_eq!(r.unwrap(), 42);
}

// asyncio: a child cancelled through its handle raises CancelledError to its awaiter; the
// group itself goes on (a cancelled child is not a failure).
#[test]
fn a_cancelled_child_gives_cancelled_and_the_group_goes_on() {
    let lp = paused();
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            let t = tg.create_task(async {
                pending::<()>().await;
                Ok::<_, BoxError>(())
            })?;
            sleep(secs(1)).await;
            assert!(t.cancel_with("not needed"));
            match t.await {
                Err(TaskError::Cancelled(c)) => assert_eq!(c.message(), Some("not needed")),
                other => panic!("{other:?}"),
            }
            Ok::<_, BoxError>("done")
        }))
        .unwrap();
    assert_eq!(r.unwrap(), "done");
}

// No CPython counterpart: a child that returned Err gives its awaiter TaskError::Failed, and the
// error itself to the group (the body awaits it after catching the group's cancellation).
#[test]
fn a_failed_child_gives_failed_to_its_awaiter_and_its_error_to_the_group() {
    let lp = paused();
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            let bad = tg.create_task(async { Err::<u8, _>("bad") }).unwrap();
            assert!(catch_cancel(sleep(secs(10))).await.is_err());
            let e = bad.await.unwrap_err();
            assert!(matches!(e, TaskError::Failed), "{e:?}");
            assert_eq!(
                e.to_string(),
                "the task returned an error, which its TaskGroup reports in its TaskGroupError"
            );
            Ok(())
        }))
        .unwrap();
    assert_eq!(r.unwrap_err().errors, [Failure::Child("bad")]);
}

// asyncio's `TaskGroup.create_task` from a thread with no loop: the group is running, but the
// task cannot be spawned; the refusal says so and the group is not left waiting for it.
#[test]
fn create_task_without_a_loop_is_a_spawn_error() {
    let lp = paused();
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            let e = std::thread::spawn(move || tg.create_task(async { Ok::<_, ()>(()) }).map(drop))
                .join()
                .unwrap()
                .unwrap_err();
            assert_eq!(e, CreateTaskError::Spawn(SpawnError::NoRunningLoop));
            Ok(())
        }))
        .unwrap();
    assert_eq!(r, Ok(()));
}

// asyncio's "is shutting down": the body, after a child failed and the group's cancellation was
// caught, may not add a task; `create_task_local` and `create_task_with` are refused alike.
#[test]
fn every_create_task_variant_is_refused_while_shutting_down() {
    let lp = paused();
    let r = lp
        .run_until_complete(TaskGroup::run(|tg| async move {
            tg.create_task(async { Err::<(), _>("boom") }).unwrap();
            assert!(catch_cancel(sleep(secs(10))).await.is_err());
            assert!(tg.is_shutting_down());
            let a = tg.create_task(async { Ok(()) }).map(drop).unwrap_err();
            let b = tg
                .create_task_local(async { Ok(()) })
                .map(drop)
                .unwrap_err();
            let c = tg
                .create_task_with(TaskBuilder::new(), async { Ok(()) })
                .map(drop)
                .unwrap_err();
            assert_eq!(vec![a, b, c], vec![CreateTaskError::ShuttingDown; 3]);
            Ok(())
        }))
        .unwrap();
    assert_eq!(r.unwrap_err().errors, [Failure::Child("boom")]);
}

// No CPython counterpart: `?` takes a group's error (children returning `&str`) into a
// `Box<dyn Error + Send + Sync>`, with its message.
#[test]
fn question_mark_takes_a_group_error_into_a_box_dyn_error() {
    fn run() -> Result<(), BoxError> {
        let lp = paused();
        lp.run_until_complete(TaskGroup::run(|tg| async move {
            tg.create_task(async { Err::<(), _>("boom") }).unwrap();
            Ok(())
        }))??;
        Ok(())
    }
    let e = run().unwrap_err();
    assert_eq!(
        e.to_string(),
        "unhandled errors in a TaskGroup (1 sub-error): a task failed: boom"
    );
    assert!(e.source().is_some());
}
