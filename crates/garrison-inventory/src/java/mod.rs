//! Java: Maven `pom.xml` declarations and the coordinates inside JAR, WAR and
//! EAR archives (nested ones too).

pub mod archive;
pub mod pom;

pub use archive::{ArchiveLimits, JavaArchiveParser};
pub use pom::PomParser;

use crate::Parser;

pub fn parsers() -> Vec<Box<dyn Parser>> {
    vec![Box::new(PomParser), Box::new(JavaArchiveParser::default())]
}
