//! Every system call the sources make, in one place.
