//! mi-sim: runs simulated phones (and later Xiaomi's account service) for tests and demos.

fn main() {
    eprintln!("mi-sim: not built yet");
    std::process::exit(1);
}
