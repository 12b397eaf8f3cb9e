//! What the agent asks of its source for `--events`: everything at once insists on
//! nothing costly; kinds named in a list are insisted on.
use garrison_event::{EventKind, Interest};

#[test]
fn all_kinds_insist_on_nothing_named_kinds_are_insisted_on() {
    let all = garrison_agent::interest_for(&EventKind::ALL);
    assert!(all.wants(EventKind::Module));
    assert!(all.costly_ok.is_empty(), "{:?}", all.costly_ok);
    assert!(all.ignore_pids.contains(&std::process::id()));

    let named = garrison_agent::interest_for(&[EventKind::Open, EventKind::Module]);
    assert!(named.costly_ok.contains(&EventKind::Module));
    assert!(named.costly_ok.contains(&EventKind::Open));
    // the process tree's kinds are asked for, but not insisted on
    assert!(named.wants(EventKind::Exec) && named.wants(EventKind::Fork));
    assert!(!named.costly_ok.contains(&EventKind::Exec));
    assert_eq!(
        named.read_prefixes,
        Interest::kinds([EventKind::Open]).read_prefixes
    );
}
