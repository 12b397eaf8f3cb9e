//! Group commit of alert batches, on SQLite and PostgreSQL: many batches at
//! once (replays among them, some racing their own original) store each batch
//! exactly once, and a batch the database refuses fails alone.

mod common;
use common::*;
use garrison_server::store::{AlertRow, Ingested};

fn rows(n: usize, tag: &str) -> Vec<AlertRow> {
    (0..n)
        .map(|i| AlertRow {
            time_ms: 1_000 + i as i64,
            agent_time_ms: 1_000 + i as i64,
            rule: "r".into(),
            priority: "WARNING".into(),
            severity: "HIGH".into(),
            severity_rank: 4,
            output: format!("{tag} {i}"),
            process_name: "sh".into(),
            container_id: None,
            body: "{}".into(),
        })
        .collect()
}

#[test]
fn concurrent_batches_are_stored_once_and_a_refused_batch_fails_alone() {
    for b in backends() {
        let h = Harness::start(b);
        let ids: Vec<String> = (0..4).map(|i| h.agent(&format!("g{i}")).0).collect();
        let store = h.store();
        let results = h.rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for round in 0..3 {
                for (a, id) in ids.iter().enumerate() {
                    for batch in 0..10 {
                        let (store, id) = (store.clone(), id.clone());
                        // Every batch three times, concurrently: one store, two duplicates.
                        set.spawn(async move {
                            let r = store
                                .ingest_alerts(
                                    &id,
                                    &format!("b{batch}"),
                                    rows(25, &format!("{a}-{batch}-{round}")),
                                )
                                .await;
                            (id, batch, r)
                        });
                    }
                }
            }
            // An agent that does not exist: the database refuses its batch (foreign key).
            let s = store.clone();
            set.spawn(async move {
                let r = s
                    .ingest_alerts("no-such-agent", "x", rows(5, "ghost"))
                    .await;
                ("no-such-agent".to_string(), 99, r)
            });
            let mut out = Vec::new();
            while let Some(r) = set.join_next().await {
                out.push(r.unwrap());
            }
            out
        });
        let mut stored = std::collections::BTreeMap::new();
        for (id, batch, r) in &results {
            if id == "no-such-agent" {
                assert!(r.is_err(), "{b}: the ghost batch was stored: {r:?}");
                continue;
            }
            match r {
                Ok(Ingested::Stored(n)) => {
                    assert_eq!(*n, 25);
                    *stored.entry((id.clone(), *batch)).or_insert(0) += 1;
                }
                Ok(Ingested::Duplicate) => {}
                Err(e) => panic!("{b}: {id} b{batch}: {e}"),
            }
        }
        assert_eq!(stored.len(), 40, "{b}: every batch stored");
        assert!(stored.values().all(|&n| n == 1), "{b}: {stored:?}");
        assert_eq!(h.rt.block_on(store.count_alerts()).unwrap(), 40 * 25);
    }
}
