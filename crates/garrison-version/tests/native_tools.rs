//! Differential checks against the native tools: `dpkg --compare-versions`, rpm's own
//! `rpm.vercmp` (rpm 4.18, via `rpm --eval` Lua) and Python's `packaging` (Debian's
//! python3-packaging 23.0 under /usr/bin/python3) must agree with this crate on
//! deterministic pseudo-random version strings. The tools are required (CI installs
//! dpkg, rpm and python3-packaging); a missing tool fails the test.

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

/// PEP 440 against Python's own `packaging` (Debian's python3-packaging, 23.0): which
/// strings are valid versions, and how valid ones order. (packaging >= 22 has no
/// LegacyVersion; legacy ordering is covered by the shared vectors.)
#[test]
fn pep440_agrees_with_python_packaging() {
    let mut rng = Rng(0x5851_f42d_4c95_7f2d);
    let pieces = [
        "0", "1", "2", "10", "01", ".", ".", "-", "_", "a", "b", "c", "rc", "alpha", "pre",
        "preview", "post", "rev", "r", "dev", "!", "+", "local", "x", "V", "A", "RC", "DEV",
        "Post",
    ];
    let lead = ["0", "1", "2", "1!", "v1", "10", " 1", "a"];
    let mut pairs = Vec::new();
    for _ in 0..3000 {
        let a = gen(&mut rng, &pieces, &lead);
        let b = gen(&mut rng, &pieces, &lead);
        pairs.push((a, b));
    }
    // Mostly-valid strings: release, then optional pre/post/dev/local in varied spellings.
    let structured = |rng: &mut Rng| {
        let nums = ["0", "1", "2", "10", "00"];
        let mut s = String::from(rng.pick(&["", "", "", "1!", "v"]));
        s.push_str(rng.pick(&nums));
        for _ in 0..rng.next() % 3 {
            s.push('.');
            s.push_str(rng.pick(&nums));
        }
        let seps = ["", ".", "-", "_"];
        if rng.next().is_multiple_of(2) {
            s.push_str(rng.pick(&seps));
            s.push_str(rng.pick(&["a", "b", "c", "rc", "alpha", "beta", "pre", "preview", "RC"]));
            s.push_str(rng.pick(&["", "1", "2", ".1", "-0"]));
        }
        if rng.next().is_multiple_of(3) {
            s.push_str(rng.pick(&["-1", ".post", "post2", "-r1", "_rev", ".post.3"]));
        }
        if rng.next().is_multiple_of(3) {
            s.push_str(rng.pick(&[".dev", "dev1", "-dev-2", "_DEV"]));
        }
        if rng.next().is_multiple_of(4) {
            s.push_str(rng.pick(&["+1", "+abc", "+a.1", "+ubuntu-1", "+1.a_b"]));
        }
        s
    };
    for _ in 0..3000 {
        let a = structured(&mut rng);
        let b = structured(&mut rng);
        pairs.push((a, b));
    }
    let dir = tempfile_dir().join("pep440");
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let list = dir.join("pairs.txt");
    let mut f = std::fs::File::create(&list).expect("write pairs file");
    for (a, b) in &pairs {
        writeln!(f, "{a}\t{b}").expect("write pair");
    }
    drop(f);
    let script = r#"
import sys
from packaging.version import Version, InvalidVersion
def p(s):
    try:
        return Version(s)
    except InvalidVersion:
        return None
for line in open(sys.argv[1]):
    a, b = line.rstrip("\n").split("\t")
    va, vb = p(a), p(b)
    c = "-" if va is None or vb is None else str((va > vb) - (va < vb))
    print(int(va is not None), int(vb is not None), c)
"#;
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(&list)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run /usr/bin/python3 (apt-get install python3-packaging): {e}")
        });
    assert!(
        out.status.success(),
        "python packaging failed (apt-get install python3-packaging): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let answers: Vec<&str> = text.lines().collect();
    assert_eq!(
        answers.len(),
        pairs.len(),
        "python answered {} of {} pairs",
        answers.len(),
        pairs.len()
    );
    // A legacy (non-PEP 440) version sorts below the smallest PEP 440 version, 0.dev0.
    let floor = parse(Scheme::Pep440, "0.dev0").expect("0.dev0 parses");
    let is_pep = |v: &garrison_version::Version| *v >= floor;
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for ((a, b), ans) in pairs.iter().zip(answers) {
        let f: Vec<&str> = ans.split(' ').collect();
        let (Ok(va), Ok(vb)) = (parse(Scheme::Pep440, a), parse(Scheme::Pep440, b)) else {
            mismatches.push(format!("we reject {a:?} or {b:?}"));
            continue;
        };
        if (f[0] == "1") != is_pep(&va) || (f[1] == "1") != is_pep(&vb) {
            mismatches.push(format!("validity of {a:?}/{b:?}: python {} {}", f[0], f[1]));
            continue;
        }
        if f[2] != "-" {
            compared += 1;
            let theirs: i32 = f[2].parse().expect("python prints -1, 0 or 1");
            let ours = va.cmp(&vb);
            if ours != theirs.cmp(&0) {
                mismatches.push(format!("{a:?} vs {b:?}: python {theirs}, ours {ours:?}"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    eprintln!(
        "pep440: {} strings classified and {compared} valid pairs ordered as packaging does",
        pairs.len() * 2
    );
    assert!(
        compared > 100,
        "too few valid PEP 440 pairs generated ({compared})"
    );
}
