//! A printed walk through the tower, tier by tier: `cargo run --release --example tour`.
//!
//! Each section runs something real from one tier and prints what happened, in asyncio's words.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tower_asyncio::{coro, event_loop, exec, future, sync, task};

/// The error type a program that does not care which error it got uses.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    println!("tower: the Tower of Asyncio, built in Rust\n");
    tier1_coroutines();
    tier2_event_loop();
    let started = Instant::now();
    let summary = tower_asyncio::run(async_tiers()).expect("the tour's loop runs");
    println!(
        "\n{summary} (tiers 3-9 took {:.1?} of wall time)",
        started.elapsed()
    );
}

/// Tier 1: futures driven with no event loop at all.
fn tier1_coroutines() {
    println!("== tier 1: coroutines (tower-coro) ==");
    let (a, b) = coro::block_on(coro::join(
        async {
            coro::yield_now().await;
            "joined"
        },
        async { 2 },
    ));
    println!("block_on(join(..)) -> ({a:?}, {b})");
    let winner = coro::block_on(coro::race(coro::pending(), async { "the ready one" }));
    println!("race(pending, ready) -> {winner:?}; the loser was dropped");
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // the panic below is the point: keep stderr quiet
    let caught = coro::block_on(coro::catch_unwind(async { panic!("inside a future") }));
    std::panic::set_hook(default_hook);
    let message = caught.as_ref().map_err(coro::panic_message).err();
    println!("catch_unwind -> Err({message:?})\n");
}

/// Tier 2: callbacks, timers and virtual time on one loop.
fn tier2_event_loop() {
    println!("== tier 2: the event loop (tower-loop) ==");
    let lp = event_loop::EventLoop::builder()
        .paused_clock()
        .build()
        .expect("a loop");
    let log = Rc::new(RefCell::new(Vec::new()));
    for (delay, name) in [(30, "call_later(30 ms)"), (10, "call_later(10 ms)")] {
        let log = log.clone();
        lp.call_later(Duration::from_millis(delay), move || {
            log.borrow_mut().push(name)
        });
    }
    let cancelled = {
        let log = log.clone();
        lp.call_later(Duration::from_millis(20), move || {
            log.borrow_mut().push("a cancelled timer (never printed)")
        })
    };
    cancelled.cancel();
    {
        let log = log.clone();
        lp.call_soon(move || log.borrow_mut().push("call_soon"));
    }
    let handle = lp.handle();
    let loop_thread = std::thread::current().id();
    std::thread::spawn(move || {
        handle.call_soon_threadsafe(move || {
            let here = std::thread::current().id() == loop_thread;
            println!("call_soon_threadsafe, sent from another thread, ran on the loop's: {here}");
        });
    })
    .join()
    .expect("the helper thread");
    let start = lp.time();
    lp.run_until_complete(event_loop::Timer::after(Duration::from_secs(3600)))
        .expect("the loop runs");
    println!("callbacks ran in this order: {:?}", log.borrow());
    println!(
        "a one-hour Timer finished at loop time +{:?}, in no real time (paused clock)\n",
        lp.time() - start
    );
    lp.close().expect("close");
}

/// Tiers 3 to 6 inside `tower_asyncio::run`.
async fn async_tiers() -> String {
    println!("== tier 3: futures (tower-future) ==");
    let fut = future::create_future::<&str>().expect("inside a running loop");
    let setter = fut.clone();
    event_loop::get_running_loop()
        .expect("running")
        .call_soon(move || {
            setter.set_result("set from a callback").expect("first set");
        });
    println!("awaited a loop future -> {:?}\n", fut.await);

    println!("== tier 4: tasks (tower-task) ==");
    // Children and body return `Result<_, BoxError>`: each step is one `?`.
    let outcome = task::TaskGroup::run(|tg| async move {
        let total = tg.create_task(async { Ok::<_, BoxError>(6 * 7) })?;
        for (name, ms) in [("fetch-a", 3u64), ("fetch-b", 1), ("fetch-c", 2)] {
            // The group awaits its children: the handle may be dropped.
            tg.create_task_with(task::TaskBuilder::new().name(name), async move {
                task::sleep(Duration::from_millis(ms)).await;
                Ok(())
            })?;
        }
        println!("a child's handle, awaited -> {}", total.await?);
        print!("{}", task::task_tree());
        tg.create_task(async { Err::<(), BoxError>("fetch-d failed".into()) })?;
        Ok(())
    })
    .await;
    match outcome {
        Ok(()) => println!("TaskGroup finished without errors"),
        Err(e) => println!("TaskGroup -> {e}"),
    }
    // Cancellation is delivered into the task: it catches it, awaits its cleanup, re-raises.
    let worker = task::spawn(async {
        match task::catch_cancel(task::sleep(Duration::from_secs(3600))).await {
            Ok(()) => "slept an hour",
            Err(cancelled) => {
                println!("worker caught \"{cancelled}\", flushing before it goes...");
                task::sleep(Duration::from_millis(2)).await; // cleanup that awaits
                println!("worker flushed; re-raising");
                task::reraise(cancelled).await
            }
        }
    });
    task::sleep(Duration::from_millis(1)).await;
    worker.cancel_with("shutting down");
    let requests = worker.cancelling();
    println!(
        "the cancelled worker ended with {:?} (cancelling() = {requests})",
        worker.await.map_err(|e| e.to_string()),
    );
    // A group's child fails while a sibling runs an async cleanup: the group waits for it.
    let flushed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = flushed.clone();
    let outcome = task::TaskGroup::run(|tg| async move {
        tg.create_task(async move {
            match task::catch_cancel(task::sleep(Duration::from_secs(3600))).await {
                Ok(()) => Ok(()),
                Err(cancelled) => {
                    task::sleep(Duration::from_millis(2)).await; // closing a connection, say
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                    task::reraise(cancelled).await
                }
            }
        })?;
        tg.create_task(async {
            task::sleep(Duration::from_millis(1)).await;
            Err::<(), BoxError>("upload failed".into())
        })?;
        Ok(())
    })
    .await;
    println!(
        "TaskGroup -> {}; the sibling's cleanup finished first: {}",
        outcome
            .err()
            .map_or_else(|| "ok".to_string(), |e| e.to_string()),
        flushed.load(std::sync::atomic::Ordering::SeqCst)
    );
    let slow = task::timeout(
        Duration::from_millis(5),
        task::sleep(Duration::from_secs(60)),
    )
    .await;
    println!("timeout(5 ms, sleep(60 s)) -> {slow:?}");
    let quick = task::wait_for(Duration::from_secs(1), async { "in time" }).await;
    println!("wait_for(1 s, ready) -> {quick:?}\n");

    println!("== tier 5: executors and subprocesses (tower-exec) ==");
    let sum = exec::to_thread(|| (1..=1_000_000u64).sum::<u64>()).await;
    println!("to_thread(sum 1..=10^6) -> {sum:?}");
    match exec::Command::new("sh")
        .arg("-c")
        .arg("echo hello from a child; exit 3")
        .stdout(exec::Stdio::Pipe)
        .spawn()
    {
        Ok(mut child) => match child.communicate(None).await {
            Ok(out) => println!(
                "child said {:?} and exited with {}\n",
                String::from_utf8_lossy(&out.stdout).trim(),
                out.returncode
            ),
            Err(e) => println!("communicate failed: {e}\n"),
        },
        Err(e) => println!("could not start sh: {e}\n"),
    }

    println!("== tier 6: sync (tower-sync) ==");
    let queue = sync::Queue::new(2);
    let consumer = {
        let queue = queue.clone();
        task::spawn(async move {
            let mut got = Vec::new();
            while let Ok(item) = queue.get().await {
                got.push(item);
                queue.task_done().expect("one task_done per get");
            }
            got
        })
    };
    for i in 0..5 {
        queue.put(i).await.expect("queue open");
    }
    queue.join().await;
    println!("Queue(maxsize=2): 5 items put, join() returned once all were task_done()");
    queue.shutdown(false);
    println!("after shutdown the consumer saw {:?}", consumer.await);
    let lock = std::sync::Arc::new(sync::Lock::new(0u32));
    let mut workers = Vec::new();
    for _ in 0..10 {
        let lock = lock.clone();
        workers.push(task::spawn(async move {
            let mut guard = lock.lock().await;
            *guard += 1;
        }));
    }
    for w in workers {
        w.await.expect("worker");
    }
    println!(
        "10 tasks took a Lock in turn -> counter = {}",
        *lock.lock().await
    );

    tiers7_to_9_network().await;
    "tiers 1-9 toured".to_string()
}

/// Tiers 7-9: a streams echo server (tier 9) on tier 8's `create_server`, whose connections
/// are tier 7's socket transports, and a client from `open_connection`.
async fn tiers7_to_9_network() {
    use tower_asyncio::stream::{StreamReader, StreamWriter, open_connection, start_server};
    use tower_asyncio::transport::SocketAddress;

    println!("\n== tiers 7-9: transports, protocols, streams ==");
    // Each client gets a reader and a writer; its future runs as a task, as asyncio's does.
    let echo = |reader: StreamReader, writer: StreamWriter| async move {
        while let Ok(line) = reader.readline().await {
            if line.is_empty() {
                break; // end of stream
            }
            writer.write(&line)?;
            writer.drain().await?;
        }
        Ok::<_, std::io::Error>(())
    };
    let server = start_server(echo, "127.0.0.1", 0)
        .await
        .expect("listen on loopback");
    let Some(SocketAddress::Inet(addr)) = server.sockets().first().map(|s| s.address.clone())
    else {
        panic!("a TCP server listens on an Internet address");
    };
    let (reader, writer) = open_connection(addr.ip(), addr.port())
        .await
        .expect("connect to the echo server");
    writer.write(b"hello, tower\n").expect("write");
    let line = reader.readline().await.expect("the echo");
    println!(
        "start_server on {addr}; open_connection wrote a line and read back {:?}",
        String::from_utf8_lossy(&line)
    );
    writer.close();
    writer.wait_closed().await.expect("closed");
    server.close();
    server.wait_closed().await;
    println!("closed the client, then the server; wait_closed returned");
}
