//! Root filesystems, project directories and running containers (through `/proc/PID/root`).
