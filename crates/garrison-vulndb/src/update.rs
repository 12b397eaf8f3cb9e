//! `garrison db update`: conditional downloads of `<base>/<ecosystem>/all.zip`.

use crate::error::DbError;
use crate::import::{import_zip, ZipLimits};
use crate::store::{now_rfc3339, Builder, Db, ImportSummary, UpdateLock, DB_FILE};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// The public OSV export.
pub const DEFAULT_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// What happened to one ecosystem during an update.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum EcosystemUpdate {
    /// The server answered 304 Not Modified.
    Unchanged,
    /// Downloaded and imported.
    Updated { bytes: u64, summary: ImportSummary },
}

/// The result of [`update`], per ecosystem in the order asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct UpdateSummary {
    pub ecosystems: Vec<(String, EcosystemUpdate)>,
    /// Whether a new database file was written.
    pub rebuilt: bool,
}

/// Options for [`update_with`].
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    pub timeout: Duration,
    /// Largest download accepted.
    pub max_download_bytes: u64,
    pub zip_limits: ZipLimits,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            timeout: Duration::from_secs(600),
            max_download_bytes: 4 << 30,
            zip_limits: ZipLimits::default(),
        }
    }
}

fn url_for(base: &str, ecosystem: &str) -> String {
    let eco: String = ecosystem
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '/' => "%2F".to_string(),
            c => c.to_string(),
        })
        .collect();
    format!("{}/{eco}/all.zip", base.trim_end_matches('/'))
}

/// Updates the database in `dir` from `<base_url>/<ecosystem>/all.zip` for each
/// ecosystem. See [`update_with`].
pub fn update(dir: &Path, base_url: &str, ecosystems: &[String]) -> Result<UpdateSummary, DbError> {
    update_with(dir, base_url, ecosystems, &UpdateOptions::default())
}

/// Downloads each ecosystem's archive with a conditional request (the ETag and
/// Last-Modified stored from the previous download; 304 = unchanged), checks it
/// (length as announced, a valid zip, at least one record that parses), replaces
/// that ecosystem's advisories and swaps the new database in atomically. Any
/// failure (HTTP error, truncated body, full disk, corrupt archive) leaves the
/// previous database intact; only one update runs at a time per directory.
pub fn update_with(
    dir: &Path,
    base_url: &str,
    ecosystems: &[String],
    opts: &UpdateOptions,
) -> Result<UpdateSummary, DbError> {
    let _lock = UpdateLock::acquire(dir)?;
    let previous = if dir.join(DB_FILE).exists() {
        match Db::open(dir) {
            Ok(db) => Some(db),
            Err(e @ DbError::NewerSchema { .. }) => return Err(e),
            Err(e) => {
                tracing::warn!("rebuilding from scratch: {e}");
                None
            }
        }
    } else {
        None
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(opts.timeout))
        .build()
        .into();

    let mut downloads = Vec::new();
    let mut result = UpdateSummary::default();
    for eco in ecosystems {
        let url = url_for(base_url, eco);
        let derr = |detail: String| DbError::Download {
            url: url.clone(),
            detail,
        };
        let mut req = agent.get(&url);
        if let Some(db) = &previous {
            if let Some(etag) = db.meta(&format!("etag:{eco}")) {
                req = req.header("If-None-Match", etag);
            }
            if let Some(lm) = db.meta(&format!("last_modified:{eco}")) {
                req = req.header("If-Modified-Since", lm);
            }
        }
        let mut resp = req.call().map_err(|e| derr(e.to_string()))?;
        let status = resp.status().as_u16();
        if status == 304 {
            tracing::info!("{eco}: not modified");
            result
                .ecosystems
                .push((eco.clone(), EcosystemUpdate::Unchanged));
            continue;
        }
        if status != 200 {
            return Err(derr(format!("HTTP status {status}")));
        }
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = header("etag");
        let last_modified = header("last-modified");
        let announced: Option<u64> = header("content-length").and_then(|v| v.parse().ok());
        let mut tmp = tempfile::Builder::new()
            .prefix(".download-")
            .suffix(".zip")
            .tempfile_in(dir)
            .map_err(DbError::io("creating a temporary file in", dir))?;
        let mut body = resp
            .body_mut()
            .with_config()
            .limit(opts.max_download_bytes)
            .reader();
        let mut buf = vec![0u8; 1 << 16];
        let mut got = 0u64;
        loop {
            let n = body
                .read(&mut buf)
                .map_err(|e| derr(format!("after {got} bytes: {e}")))?;
            if n == 0 {
                break;
            }
            let chunk = buf.get(..n).unwrap_or_default();
            tmp.write_all(chunk)
                .map_err(DbError::io("writing the download to", tmp.path()))?;
            got += n as u64;
        }
        if let Some(len) = announced {
            if len != got {
                return Err(derr(format!(
                    "truncated: Content-Length is {len} but {got} bytes arrived"
                )));
            }
        }
        tmp.as_file()
            .sync_all()
            .map_err(DbError::io("syncing", tmp.path()))?;
        downloads.push((eco.clone(), url, tmp, got, etag, last_modified));
    }
    drop(previous);
    if downloads.is_empty() {
        return Ok(result);
    }

    let builder = Builder::begin(dir)?;
    for (eco, url, tmp, bytes, etag, last_modified) in downloads {
        let source = format!("osv:{eco}");
        builder.clear_source(&source)?;
        let summary = import_zip(&builder, tmp.path(), &source, opts.zip_limits)?;
        if summary.records == 0 {
            return Err(DbError::EmptyDownload {
                url,
                skipped: summary.skipped.len() as u64,
            });
        }
        for (key, value) in [("etag", etag), ("last_modified", last_modified)] {
            let k = format!("{key}:{eco}");
            match value {
                Some(v) => builder.set_meta(&k, &v)?,
                None => {
                    builder
                        .conn
                        .execute("DELETE FROM meta WHERE key = ?1", [&k])
                        .map_err(DbError::sql("writing meta", builder.path()))?;
                }
            }
        }
        builder.set_meta(&format!("fetched_at:{eco}"), &now_rfc3339())?;
        result
            .ecosystems
            .push((eco, EcosystemUpdate::Updated { bytes, summary }));
    }
    builder.commit()?;
    result.rebuilt = true;
    result
        .ecosystems
        .sort_by_key(|(e, _)| ecosystems.iter().position(|x| x == e));
    Ok(result)
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls() {
        assert_eq!(
            super::url_for("http://h/x/", "Rocky Linux:9"),
            "http://h/x/Rocky%20Linux:9/all.zip"
        );
    }
}
