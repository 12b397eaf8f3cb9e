//! Differential checks against the native tools on this machine: `dpkg --compare-versions`
//! and rpm's own `rpm.vercmp` (rpm 4.18, via `rpm --eval` Lua) must agree with this crate
//! on deterministic pseudo-random version strings. Both tools are required (Debian CI
//! installs dpkg by default and rpm per the brief's package list); a missing tool fails.

use std::cmp::Ordering;
use std::io::Write;
use std::process::Command;

use garrison_version::{parse, Scheme};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn gen(rng: &mut Rng, pieces: &[&str], lead: &[&str]) -> String {
    let n = 1 + rng.next() % 6;
    let mut s = rng.pick(lead).to_owned();
    for _ in 0..n {
        s.push_str(rng.pick(pieces));
    }
    s
}

#[test]
fn dpkg_agrees_with_dpkg_compare_versions() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let pieces = [
        "0", "1", "2", "10", "09", "a", "b", "z", "~", "+", ".", "-", "A",
    ];
    let lead = ["0", "1", "2", "1:", "2:1", "10"];
    let mut checked = 0;
    for _ in 0..400 {
        let a = gen(&mut rng, &pieces, &lead);
        let b = gen(&mut rng, &pieces, &lead);
        let (Ok(va), Ok(vb)) = (parse(Scheme::Dpkg, &a), parse(Scheme::Dpkg, &b)) else {
            continue;
        };
        let ours = va.cmp(&vb);
        let run = |op: &str| {
            Command::new("dpkg")
                .args(["--compare-versions", &a, op, &b])
                .output()
                .unwrap_or_else(|e| panic!("cannot run dpkg (apt-get install dpkg): {e}"))
        };
        let lt = run("lt");
        let gt = run("gt");
        let code = |o: &std::process::Output| o.status.code();
        assert!(
            matches!(code(&lt), Some(0 | 1)) && matches!(code(&gt), Some(0 | 1)),
            "dpkg rejected {a:?} or {b:?} which we accept: {}",
            String::from_utf8_lossy(&lt.stderr)
        );
        let theirs = match (code(&lt), code(&gt)) {
            (Some(0), _) => Ordering::Less,
            (_, Some(0)) => Ordering::Greater,
            _ => Ordering::Equal,
        };
        assert_eq!(
            ours, theirs,
            "dpkg orders {a:?} vs {b:?} as {theirs:?}, we say {ours:?}"
        );
        checked += 1;
    }
    eprintln!("dpkg: {checked} pairs agree with dpkg --compare-versions");
    assert!(
        checked > 100,
        "too few valid dpkg pairs generated ({checked})"
    );
}

#[test]
fn rpm_agrees_with_rpm_vercmp() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let pieces = [
        "0", "1", "2", "10", "007", "a", "b", "rc", "~", "^", ".", "_", "+", "-",
    ];
    let lead = ["0", "1", "2", "1:", "2:1", "10", "a"];
    let mut pairs = Vec::new();
    for _ in 0..2000 {
        let a = gen(&mut rng, &pieces, &lead);
        let b = gen(&mut rng, &pieces, &lead);
        pairs.push((a, b));
    }
    let dir = tempfile_dir();
    let list = dir.join("pairs.txt");
    let mut f = std::fs::File::create(&list).expect("write pairs file");
    for (a, b) in &pairs {
        writeln!(f, "{a} {b}").expect("write pair");
    }
    drop(f);
    let script = format!(
        "%{{lua: for l in io.lines(\"{}\") do local a, b = l:match(\"^(%S+) (%S+)$\"); print(rpm.vercmp(a, b) .. \",\") end}}",
        list.display()
    );
    let out = Command::new("rpm")
        .args(["--eval", &script])
        .output()
        .unwrap_or_else(|e| panic!("cannot run rpm (apt-get install rpm): {e}"));
    assert!(
        out.status.success(),
        "rpm --eval failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Vec<i32> = String::from_utf8_lossy(&out.stdout)
        .split(',')
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().parse().expect("rpm.vercmp prints an integer"))
        .collect();
    assert_eq!(
        answers.len(),
        pairs.len(),
        "rpm answered {} of {} pairs",
        answers.len(),
        pairs.len()
    );
    let mut mismatches = Vec::new();
    for ((a, b), theirs) in pairs.iter().zip(answers) {
        let ours = match (parse(Scheme::Rpm, a), parse(Scheme::Rpm, b)) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => panic!("we reject {a:?} or {b:?}"),
        };
        if ours != theirs.cmp(&0) {
            mismatches.push(format!("{a} vs {b}: rpm {theirs}, ours {ours:?}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    eprintln!("rpm: {} pairs agree with rpm.vercmp", pairs.len());
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("garrison-version-rpm-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}
