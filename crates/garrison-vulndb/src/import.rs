//! Importing OSV archives and trees, the CISA KEV catalog and EPSS scores.

use crate::error::DbError;
use crate::osv::{self, Format};
use crate::store::{Builder, ImportSummary, UpdateLock};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Bounds on what an archive may expand to (zip-bomb guard).
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    pub max_entries: usize,
    /// Largest uncompressed member.
    pub max_member_bytes: u64,
    /// Total uncompressed bytes.
    pub max_total_bytes: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_entries: 2_000_000,
            max_member_bytes: 32 << 20,
            max_total_bytes: 16 << 30,
        }
    }
}

fn parse_into(
    builder: &Builder,
    bytes: &[u8],
    format: Format,
    name: &str,
    source: &str,
    summary: &mut ImportSummary,
) -> Result<(), DbError> {
    match osv::parse_record(bytes, format) {
        Ok(record) => builder.insert(&record, source, summary),
        Err(e) => {
            tracing::warn!("skipping malformed advisory {name}: {e}");
            summary.skipped.push((name.to_string(), e));
            Ok(())
        }
    }
}

/// Reads every `*.json` / `*.yaml` member of an OSV zip into the builder.
pub(crate) fn import_zip(
    builder: &Builder,
    path: &Path,
    source: &str,
    limits: ZipLimits,
) -> Result<ImportSummary, DbError> {
    let file = File::open(path).map_err(DbError::io("opening", path))?;
    let archive_err = |detail: String| DbError::Archive {
        path: path.to_path_buf(),
        detail,
    };
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| archive_err(e.to_string()))?;
    if zip.len() > limits.max_entries {
        return Err(archive_err(format!(
            "{} members, more than the limit {}",
            zip.len(),
            limits.max_entries
        )));
    }
    let mut summary = ImportSummary::default();
    let mut total = 0u64;
    let mut buf = Vec::new();
    for i in 0..zip.len() {
        let mut member = zip
            .by_index(i)
            .map_err(|e| archive_err(format!("member {i}: {e}")))?;
        if !member.is_file() {
            continue;
        }
        let name = member
            .name()
            .map_err(|e| archive_err(format!("member {i}: {e}")))?
            .to_string();
        let Some(format) = Format::from_name(&name) else {
            continue;
        };
        if member.size() > limits.max_member_bytes {
            return Err(archive_err(format!(
                "member {name} expands to {} bytes, more than the limit {}",
                member.size(),
                limits.max_member_bytes
            )));
        }
        buf.clear();
        (&mut member)
            .take(limits.max_member_bytes + 1)
            .read_to_end(&mut buf)
            .map_err(|e| archive_err(format!("member {name}: {e}")))?;
        if buf.len() as u64 > limits.max_member_bytes {
            return Err(archive_err(format!(
                "member {name} expands past the limit {}",
                limits.max_member_bytes
            )));
        }
        total += buf.len() as u64;
        if total > limits.max_total_bytes {
            return Err(archive_err(format!(
                "expands past the limit of {} bytes",
                limits.max_total_bytes
            )));
        }
        let label = format!("{}!{name}", path.display());
        parse_into(builder, &buf, format, &label, source, &mut summary)?;
    }
    Ok(summary)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DbError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(DbError::io("listing", dir))?
        .collect::<Result<_, _>>()
        .map_err(DbError::io("listing", dir))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let ft = e
            .file_type()
            .map_err(DbError::io("reading the type of", e.path()))?;
        let p = e.path();
        if ft.is_dir() {
            walk(&p, out)?;
        } else if ft.is_file() && Format::from_name(&e.file_name().to_string_lossy()).is_some() {
            out.push(p);
        }
    }
    Ok(())
}

fn import_tree(builder: &Builder, dir: &Path, source: &str) -> Result<ImportSummary, DbError> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    let mut summary = ImportSummary::default();
    for f in files {
        let bytes = std::fs::read(&f).map_err(DbError::io("reading", &f))?;
        let format = Format::from_name(&f.to_string_lossy()).unwrap_or(Format::Json);
        parse_into(
            builder,
            &bytes,
            format,
            &f.display().to_string(),
            source,
            &mut summary,
        )?;
    }
    Ok(summary)
}

fn is_zip(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"PK\x03\x04"
}

/// Imports OSV records from an `all.zip` (records at the zip root, as osv.dev
/// publishes them), a directory tree (`*.json`, `*.yaml`, `*.yml`, recursively)
/// or a single record file into the database in `dir`. Records with an ID already
/// present replace it. Malformed records are skipped and listed in the summary;
/// any other failure leaves the previous database as it was.
pub fn import(dir: &Path, input: &Path) -> Result<ImportSummary, DbError> {
    import_with(dir, &[input], ZipLimits::default())
}

/// [`import`] of several inputs into one new database, with explicit archive limits.
pub fn import_with(
    dir: &Path,
    inputs: &[&Path],
    limits: ZipLimits,
) -> Result<ImportSummary, DbError> {
    let _lock = UpdateLock::acquire(dir)?;
    let builder = Builder::begin(dir)?;
    let mut summary = ImportSummary::default();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(DbError::io("reading", *input))?;
        let source = format!("import:{}", input.display());
        let part = if meta.is_dir() {
            import_tree(&builder, input, &source)?
        } else if is_zip(input) {
            import_zip(&builder, input, &source, limits)?
        } else {
            let format =
                Format::from_name(&input.to_string_lossy()).ok_or_else(|| DbError::BadInput {
                    what: "advisory input",
                    path: input.to_path_buf(),
                    detail: "not a zip archive, a directory, or a .json/.yaml/.yml record".into(),
                })?;
            let bytes = std::fs::read(input).map_err(DbError::io("reading", *input))?;
            let mut s = ImportSummary::default();
            parse_into(
                &builder,
                &bytes,
                format,
                &input.display().to_string(),
                &source,
                &mut s,
            )?;
            s
        };
        summary.merge(part);
    }
    builder.set_meta("imported_at", &crate::store::now_rfc3339())?;
    builder.commit()?;
    Ok(summary)
}

#[derive(serde::Deserialize)]
struct KevCatalog {
    #[serde(rename = "catalogVersion", default)]
    catalog_version: Option<String>,
    #[serde(rename = "dateReleased", default)]
    date_released: Option<String>,
    vulnerabilities: Vec<KevItem>,
}

#[derive(serde::Deserialize)]
struct KevItem {
    #[serde(rename = "cveID")]
    cve_id: String,
    #[serde(rename = "dateAdded", default)]
    date_added: Option<String>,
    #[serde(rename = "knownRansomwareCampaignUse", default)]
    ransomware: Option<String>,
}

/// Replaces the KEV table with CISA's `known_exploited_vulnerabilities.json`. Returns the entry count.
pub fn import_kev(dir: &Path, path: &Path) -> Result<u64, DbError> {
    let bytes = std::fs::read(path).map_err(DbError::io("reading", path))?;
    let catalog: KevCatalog = serde_json::from_slice(&bytes).map_err(|e| DbError::BadInput {
        what: "KEV catalog",
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let _lock = UpdateLock::acquire(dir)?;
    let builder = Builder::begin(dir)?;
    let p = builder.path();
    builder
        .conn
        .execute("DELETE FROM kev", [])
        .map_err(DbError::sql("clearing KEV in", &p))?;
    let mut n = 0u64;
    {
        let mut stmt = builder
            .conn
            .prepare("INSERT OR REPLACE INTO kev(cve, date_added, ransomware) VALUES (?1, ?2, ?3)")
            .map_err(DbError::sql("writing KEV", &p))?;
        for v in &catalog.vulnerabilities {
            let cve = v.cve_id.trim();
            if !cve.starts_with("CVE-") {
                tracing::warn!("{}: skipping KEV entry with cveID {cve:?}", path.display());
                continue;
            }
            stmt.execute(rusqlite::params![cve, v.date_added, v.ransomware])
                .map_err(DbError::sql("writing KEV", &p))?;
            n += 1;
        }
    }
    let date = catalog
        .date_released
        .or(catalog.catalog_version)
        .unwrap_or_default();
    builder.set_meta("kev_date", &date)?;
    builder.commit()?;
    Ok(n)
}

/// Replaces the EPSS table with an EPSS CSV (`epss_scores-YYYY-MM-DD.csv`, plain or
/// gzip): an optional `#model_version:...,score_date:...` line, then
/// `cve,epss,percentile`. Returns the row count.
pub fn import_epss(dir: &Path, path: &Path) -> Result<u64, DbError> {
    let bad = |detail: String| DbError::BadInput {
        what: "EPSS CSV",
        path: path.to_path_buf(),
        detail,
    };
    let mut file = File::open(path).map_err(DbError::io("opening", path))?;
    let mut magic = [0u8; 2];
    let gz = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let file = File::open(path).map_err(DbError::io("opening", path))?;
    let reader: Box<dyn BufRead> = if gz {
        Box::new(BufReader::new(flate2::read::GzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut rows = Vec::new();
    let mut model = None;
    let mut header_seen = false;
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| bad(format!("line {}: {e}", i + 1)))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            model = Some(c.to_string());
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        if !header_seen {
            if cols.len() < 3 || cols[..3] != ["cve", "epss", "percentile"] {
                return Err(bad(format!(
                    "line {}: expected the header `cve,epss,percentile`, found {line:?}",
                    i + 1
                )));
            }
            header_seen = true;
            continue;
        }
        let (Some(cve), Some(e), Some(p)) = (cols.first(), cols.get(1), cols.get(2)) else {
            return Err(bad(format!(
                "line {}: expected 3 columns, found {line:?}",
                i + 1
            )));
        };
        let e: f64 = e
            .parse()
            .map_err(|_| bad(format!("line {}: bad epss {e:?}", i + 1)))?;
        let p: f64 = p
            .parse()
            .map_err(|_| bad(format!("line {}: bad percentile {p:?}", i + 1)))?;
        if !(0.0..=1.0).contains(&e) || !(0.0..=1.0).contains(&p) {
            return Err(bad(format!("line {}: scores must be within 0..1", i + 1)));
        }
        rows.push((cve.to_string(), e, p));
    }
    if !header_seen {
        return Err(bad("no `cve,epss,percentile` header".into()));
    }
    let _lock = UpdateLock::acquire(dir)?;
    let builder = Builder::begin(dir)?;
    let p = builder.path();
    builder
        .conn
        .execute("DELETE FROM epss", [])
        .map_err(DbError::sql("clearing EPSS in", &p))?;
    {
        let mut stmt = builder
            .conn
            .prepare("INSERT OR REPLACE INTO epss(cve, epss, percentile) VALUES (?1, ?2, ?3)")
            .map_err(DbError::sql("writing EPSS", &p))?;
        for (cve, e, pct) in &rows {
            stmt.execute(rusqlite::params![cve, e, pct])
                .map_err(DbError::sql("writing EPSS", &p))?;
        }
    }
    builder.set_meta("epss_model", model.as_deref().unwrap_or(""))?;
    builder.commit()?;
    Ok(rows.len() as u64)
}
