//! Framework ids: the keys policies write under `compliance` (Wazuh's own
//! spellings vary: `pci_dss`, `pci_dss_v4.0`, `nist_sp_800-53`, `soc_2`, ...)
//! mapped onto Garrison's ids, kept as data.

/// Policy key (lower-cased, `-` and `_` alike) → Garrison framework id.
pub const FRAMEWORK_KEYS: &[(&str, &str)] = &[
    ("cis", "cis"),
    ("cis_csc", "cis-csc"),
    ("cis_csc_v7", "cis-csc-v7"),
    ("cis_csc_v8", "cis-csc-v8"),
    ("pci_dss", "pci-dss-4.0"),
    ("pci_dss_4.0", "pci-dss-4.0"),
    ("pci_dss_v4.0", "pci-dss-4.0"),
    ("pci_dss_v4", "pci-dss-4.0"),
    ("pci_dss_3.2.1", "pci-dss-3.2.1"),
    ("pci_dss_v3.2.1", "pci-dss-3.2.1"),
    ("hipaa", "hipaa"),
    ("soc2", "soc2"),
    ("soc_2", "soc2"),
    ("tsc", "soc2"),
    ("nist_800_53", "nist-800-53"),
    ("nist_sp_800_53", "nist-800-53"),
    ("nist_800_53_r5", "nist-800-53"),
    ("iso_27001_2013", "iso-27001-2013"),
    ("gdpr", "gdpr"),
    ("gdpr_iv", "gdpr"),
    ("mitre_techniques", "mitre-attack"),
    ("mitre_tactics", "mitre-attack-tactics"),
    ("mitre_mitigations", "mitre-attack-mitigations"),
];

/// The Garrison id of a policy's framework key; unknown keys keep their own
/// name, lower-cased with `_` as `-`.
pub fn framework_id(key: &str) -> String {
    let k = key.trim().to_ascii_lowercase().replace('-', "_");
    FRAMEWORK_KEYS
        .iter()
        .find(|(from, _)| *from == k)
        .map(|(_, to)| to.to_string())
        .unwrap_or_else(|| k.replace('_', "-"))
}

/// Whether framework id `id` is what the user asked for with `--framework
/// wanted`: the exact id, or an id starting with `wanted-` (`pci-dss` selects
/// `pci-dss-4.0`).
pub fn matches(id: &str, wanted: &str) -> bool {
    let w = wanted.trim().to_ascii_lowercase().replace('_', "-");
    id == w || id.starts_with(&format!("{w}-")) && !(w == "cis" && id.starts_with("cis-csc"))
}

/// The frameworks `--framework` accepts.
pub const SELECTABLE: &[&str] = &["cis", "pci-dss", "hipaa", "soc2", "nist-800-53"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_garrison_ids() {
        assert_eq!(framework_id("pci_dss_v4.0"), "pci-dss-4.0");
        assert_eq!(framework_id("PCI_DSS"), "pci-dss-4.0");
        assert_eq!(framework_id("nist_sp_800-53"), "nist-800-53");
        assert_eq!(framework_id("soc_2"), "soc2");
        assert_eq!(framework_id("cis"), "cis");
        assert_eq!(framework_id("fedramp_high"), "fedramp-high");
        assert!(matches("pci-dss-4.0", "pci-dss"));
        assert!(matches("cis", "cis"));
        assert!(!matches("cis-csc-v8", "cis"));
        assert!(matches("nist-800-53", "nist-800-53"));
        assert!(!matches("hipaa", "soc2"));
    }
}
