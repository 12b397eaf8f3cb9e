//! The rpm header parser, and the Berkeley DB and ndb readers that hand it
//! blobs (the sqlite backend is SQLite's own code).
#![no_main]

use garrison_inventory::os::rpm::{bdb, ndb, package_from_header};
use garrison_inventory::os::{RpmBdb, RpmNdb};
use garrison_inventory::{FileRef, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = package_from_header(data, "/var/lib/rpm/rpmdb.sqlite");
    if let Ok(v) = bdb::values(data) {
        assert!(v.values.iter().map(|b| b.len()).sum::<usize>() <= data.len());
    }
    if let Ok(b) = ndb::blobs(data) {
        assert!(b.blobs.iter().all(|b| b.len() < data.len()));
    }
    let _ = RpmBdb.parse(&FileRef::new("/var/lib/rpm/Packages"), data);
    let _ = RpmNdb.parse(&FileRef::new("/var/lib/rpm/Packages.db"), data);
});
