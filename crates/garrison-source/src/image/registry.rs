//! Pulling images from registries that speak the OCI distribution API (v2).
