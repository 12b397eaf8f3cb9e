use crate::Parser;

pub fn parsers() -> Vec<Box<dyn Parser>> {
    Vec::new()
}
