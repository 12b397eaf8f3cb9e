//! The SQLite and PostgreSQL migrations make one logical schema: the same
//! tables, columns (logical type, nullability), primary keys, indexes
//! (columns, uniqueness) and foreign keys (columns, referenced table and
//! columns, action on delete), read back from each live database's catalog.

mod common;
use common::postgres_admin_url;
use garrison_server::Store;
use sqlx::Row;
use std::collections::BTreeMap;

#[derive(Debug, PartialEq, Eq, Default)]
struct Table {
    columns: BTreeMap<String, (String, bool)>, // name -> (logical type, not null)
    primary_key: Vec<String>,
    indexes: Vec<(Vec<String>, bool)>, // (columns, unique), primary key excluded
    foreign_keys: Vec<ForeignKey>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct ForeignKey {
    columns: Vec<String>,
    references: String,
    referenced_columns: Vec<String>,
    on_delete: String, // lower case: "cascade", "no action", ...
}

type Schema = BTreeMap<String, Table>;

fn logical(t: &str) -> String {
    match t.to_ascii_lowercase().as_str() {
        "integer" | "bigint" => "integer",
        "text" => "text",
        "real" | "double precision" => "real",
        other => panic!("type {other} has no logical mapping: add it here and to both migrations"),
    }
    .to_string()
}

async fn sqlite_schema(s: &Store) -> Schema {
    let p = s.pool();
    let mut out = Schema::new();
    let tables = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .fetch_all(p).await.unwrap();
    for t in tables {
        let name: String = t.get("name");
        let mut tab = Table::default();
        let cols = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name, type, \"notnull\" AS nn, pk FROM pragma_table_info('{name}') ORDER BY pk"
        )))
        .fetch_all(p)
        .await
        .unwrap();
        let mut pk = Vec::new();
        for c in cols {
            let cname: String = c.get("name");
            let ty: String = c.get("type");
            let nn: i64 = c.get("nn");
            let pkpos: i64 = c.get("pk");
            if pkpos > 0 {
                pk.push((pkpos, cname.clone()));
            }
            tab.columns
                .insert(cname, (logical(&ty), nn == 1 || pkpos > 0));
        }
        pk.sort();
        tab.primary_key = pk.into_iter().map(|(_, c)| c).collect();
        let idx = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name, \"unique\" AS u, origin FROM pragma_index_list('{name}')"
        )))
        .fetch_all(p)
        .await
        .unwrap();
        for i in idx {
            let origin: String = i.get("origin");
            if origin == "pk" {
                continue;
            }
            let iname: String = i.get("name");
            let u: i64 = i.get("u");
            let cols = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT name FROM pragma_index_info('{iname}') ORDER BY seqno"
            )))
            .fetch_all(p)
            .await
            .unwrap();
            tab.indexes.push((
                cols.iter().map(|r| r.get::<String, _>("name")).collect(),
                u == 1,
            ));
        }
        tab.indexes.sort();
        let fks = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, \"table\" AS rt, \"from\" AS f, \"to\" AS tc, on_delete FROM pragma_foreign_key_list('{name}') ORDER BY id, seq"
        )))
        .fetch_all(p)
        .await
        .unwrap();
        let mut by_id: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for f in fks {
            let id: i64 = f.get("id");
            let fk = by_id.entry(id).or_insert_with(|| ForeignKey {
                columns: vec![],
                references: f.get("rt"),
                referenced_columns: vec![],
                on_delete: f.get::<String, _>("on_delete").to_lowercase(),
            });
            fk.columns.push(f.get("f"));
            fk.referenced_columns.push(f.get("tc"));
        }
        tab.foreign_keys = by_id.into_values().collect();
        tab.foreign_keys.sort();
        out.insert(name, tab);
    }
    out
}

async fn postgres_schema(s: &Store) -> Schema {
    let p = s.pool();
    let mut out = Schema::new();
    let cols = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, is_nullable::text AS n \
         FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position")
        .fetch_all(p).await.unwrap();
    for c in cols {
        let t: String = c.get("t");
        let n: String = c.get("n");
        out.entry(t)
            .or_default()
            .columns
            .insert(c.get("c"), (logical(&c.get::<String, _>("ty")), n == "NO"));
    }
    let idx = sqlx::query(
        "SELECT t.relname::text AS t, i.indisunique AS u, i.indisprimary AS pk, \
         array_to_string(ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(n, o) \
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o), ',') AS cols \
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace ns ON ns.oid = t.relnamespace \
         WHERE ns.nspname = 'public'")
        .fetch_all(p).await.unwrap();
    for i in idx {
        let t: String = i.get("t");
        let cols: String = i.get("cols");
        let cols: Vec<String> = cols.split(',').map(str::to_string).collect();
        let u: bool = i.get("u");
        let pk: bool = i.get("pk");
        let tab = out.entry(t).or_default();
        if pk {
            tab.primary_key = cols;
        } else {
            tab.indexes.push((cols, u));
        }
    }
    let fks = sqlx::query(
        "SELECT c.conrelid::regclass::text AS t, c.confrelid::regclass::text AS rt, c.confdeltype::text AS del, \
         array_to_string(ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o) \
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o), ',') AS cols, \
         array_to_string(ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o) \
           JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o), ',') AS rcols \
         FROM pg_constraint c JOIN pg_namespace ns ON ns.oid = c.connamespace \
         WHERE c.contype = 'f' AND ns.nspname = 'public'")
        .fetch_all(p).await.unwrap();
    for f in fks {
        let t: String = f.get("t");
        let split = |s: String| s.split(',').map(str::to_string).collect::<Vec<_>>();
        let on_delete = match f.get::<String, _>("del").as_str() {
            "a" => "no action",
            "r" => "restrict",
            "c" => "cascade",
            "n" => "set null",
            "d" => "set default",
            other => panic!("unknown confdeltype {other}"),
        };
        out.entry(t).or_default().foreign_keys.push(ForeignKey {
            columns: split(f.get("cols")),
            references: f.get("rt"),
            referenced_columns: split(f.get("rcols")),
            on_delete: on_delete.into(),
        });
    }
    for t in out.values_mut() {
        t.indexes.sort();
        t.foreign_keys.sort();
    }
    out
}

#[test]
fn sqlite_and_postgres_schemas_are_equivalent() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lite = rt.block_on(Store::open_sqlite(dir.path())).unwrap();
    let ls = rt.block_on(sqlite_schema(&lite));
    assert!(ls.len() >= 14, "{:?}", ls.keys());
    // Foreign keys are read (and so compared below).
    assert!(ls["notification_deliveries"]
        .foreign_keys
        .contains(&ForeignKey {
            columns: vec!["alert_id".into()],
            references: "alerts".into(),
            referenced_columns: vec!["id".into()],
            on_delete: "cascade".into(),
        }));
    // Unique indexes are read as unique (and so compared below).
    assert!(ls["workloads"]
        .indexes
        .contains(&(vec!["agent_id".into(), "kind".into(), "name".into()], true)));
    // Schema 5 dropped the alerts' batch-item index (the batch claim covers it).
    assert!(!ls["alerts"]
        .indexes
        .iter()
        .any(|(cols, _)| cols.iter().any(|c| c == "batch_index")));
    let Some(admin) = postgres_admin_url() else {
        return;
    };
    let name = format!("garrison_schema_{}", uuid::Uuid::new_v4().simple());
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut c)
            .await
            .unwrap();
    });
    let url = format!("{}/{name}", &admin[..admin.rfind('/').unwrap()]);
    let pg = rt.block_on(Store::open_url(&url)).unwrap();
    let ps = rt.block_on(postgres_schema(&pg));
    // Opening again migrates nothing twice.
    let pg2 = rt.block_on(Store::open_url(&url)).unwrap();
    rt.block_on(async {
        pg.pool().close().await;
        pg2.pool().close().await;
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {name} WITH (FORCE)"
        )))
        .execute(&mut c)
        .await
        .unwrap();
    });
    assert_eq!(
        ls.keys().collect::<Vec<_>>(),
        ps.keys().collect::<Vec<_>>(),
        "tables differ"
    );
    for (t, l) in &ls {
        assert_eq!(
            l, &ps[t],
            "table {t} differs (left SQLite, right PostgreSQL)"
        );
    }
}
