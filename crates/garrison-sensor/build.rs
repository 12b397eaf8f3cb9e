//! Compiles the BPF programs in `bpf/` with clang (CO-RE, BTF) into OUT_DIR.
//! `vmlinux.h` comes from `bpftool btf dump` of this machine's kernel BTF (or
//! `$GARRISON_VMLINUX_H`); CO-RE relocations make the object portable to other kernels.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let bpf = manifest.join("bpf");
    println!("cargo:rerun-if-changed=bpf");
    println!("cargo:rerun-if-env-changed=GARRISON_VMLINUX_H");
    println!("cargo:rerun-if-env-changed=CLANG");
    println!("cargo:rerun-if-env-changed=BPFTOOL");

    let vmlinux = out.join("vmlinux.h");
    match std::env::var_os("GARRISON_VMLINUX_H") {
        Some(given) => {
            std::fs::copy(&given, &vmlinux).unwrap_or_else(|e| {
                panic!(
                    "copy GARRISON_VMLINUX_H={} to {}: {e}",
                    Path::new(&given).display(),
                    vmlinux.display()
                )
            });
        }
        None => {
            let bpftool = std::env::var("BPFTOOL").unwrap_or_else(|_| "bpftool".into());
            let btf = "/sys/kernel/btf/vmlinux";
            let output = Command::new(&bpftool)
                .args(["btf", "dump", "file", btf, "format", "c"])
                .output()
                .unwrap_or_else(|e| {
                    panic!("run `{bpftool} btf dump file {btf} format c`: {e}; install bpftool (scripts/setup) or set GARRISON_VMLINUX_H to a generated vmlinux.h")
                });
            if !output.status.success() {
                panic!(
                    "`{bpftool} btf dump file {btf} format c` failed: {}; this kernel needs BTF (CONFIG_DEBUG_INFO_BTF) or set GARRISON_VMLINUX_H",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            std::fs::write(&vmlinux, &output.stdout)
                .unwrap_or_else(|e| panic!("write {}: {e}", vmlinux.display()));
        }
    }

    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    for name in ["sensor", "probe"] {
        let src = bpf.join(format!("{name}.bpf.c"));
        let obj = out.join(format!("{name}.bpf.o"));
        let status = Command::new(&clang)
            .args([
                "-g",
                "-O2",
                "-target",
                "bpf",
                "-D__TARGET_ARCH_x86",
                "-Wall",
                "-Wno-unused-function",
            ])
            .arg(format!("-I{}", out.display()))
            .arg(format!("-I{}", bpf.display()))
            .arg("-c")
            .arg(&src)
            .arg("-o")
            .arg(&obj)
            .status()
            .unwrap_or_else(|e| {
                panic!(
                    "run {clang} on {}: {e}; install clang and libbpf-dev (scripts/setup)",
                    src.display()
                )
            });
        if !status.success() {
            panic!("{clang} failed to compile {} ({status})", src.display());
        }
    }
}
