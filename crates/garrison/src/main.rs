//! The garrison command: parses the command line and wires the library crates together.

fn main() {
    eprintln!("garrison: the command line is being wired up");
    std::process::exit(2);
}
