//! One I/O echo workload on one runtime, for counting its syscalls (`cargo xtask syscalls` runs
//! it under `strace -c -f`).
//!
//! `echo <tower|tokio|smol> <st|mt> <tcp|udp> <conns> <trips>`: one warm-up round of 10 trips,
//! then one round of `trips` round trips (per connection, for TCP).

#[path = "../benches/io_work/mod.rs"]
mod io_work;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 5 {
        eprintln!("usage: echo <tower|tokio|smol> <st|mt> <tcp|udp> <conns> <trips>");
        std::process::exit(2);
    }
    let conns: usize = args[3].parse().expect("conns: a number");
    let trips: usize = args[4].parse().expect("trips: a number");
    let mut r = io_work::Runner::new();
    r.run(&args[0], &args[1], &args[2], conns, 10);
    r.run(&args[0], &args[1], &args[2], conns, trips);
}
