//! The multi-threaded runtime: N worker threads, each running its own `tower_loop::EventLoop`,
//! with `Send` tasks balanced between them by work stealing.
