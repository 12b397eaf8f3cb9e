/* SPDX-License-Identifier: Apache-2.0 */
/* The kernel <-> user-space ABI of Garrison's eBPF sensor.
 * Mirrored by crates/garrison-sensor/src/abi.rs: change both together and bump ABI_VERSION. */
#ifndef GARRISON_SENSOR_H
#define GARRISON_SENSOR_H

#define ABI_VERSION 2

/* Event kinds (ev_hdr.kind); also indexes the per-source stats array. */
#define EV_EXEC 1
#define EV_FORK 2
#define EV_EXIT 3
#define EV_OPEN 4
#define EV_FILE 5
#define EV_NET 6
#define EV_DNS 7
#define EV_SYSCALL 8
/* Stats index: the schema's EventKind order (garrison_event::EventKind::ALL);
 * syscall_interest[nr] holds index + 1 for the syscalls traced. */
#define SK_EXEC 0
#define SK_FORK 1
#define SK_EXIT 2
#define SK_OPEN 3
#define SK_DNS 15
#define SK_MAX 32

/* config.flags */
#define CFG_EXEC (1u << 0)
#define CFG_FORK (1u << 1)
#define CFG_EXIT (1u << 2)
#define CFG_THREADS (1u << 3) /* also report thread creation (clone with CLONE_THREAD) */
#define CFG_DNS_GATE (1u << 4) /* the cgroup hooks mark DNS talkers: examine only their socket calls */

/* config.open_ro: what happens to read-only opens */
#define OPEN_RO_NONE 0
#define OPEN_RO_PREFIXES 1 /* only those whose canonical path has a prefix in open_prefixes */
#define OPEN_RO_ALL 2

/* Item tags (item.tag): variable-length data appended after the fixed part. */
#define IT_FILENAME 1   /* exec: bprm->filename (string as passed to execve) */
#define IT_EXE 2        /* exec: path of the executed file (path item) */
#define IT_ARGV 3       /* exec: argv, NUL-separated */
#define IT_CWD 4        /* path item: current working directory */
#define IT_ROOT 5       /* path item: the process's root directory */
#define IT_INTERP 7     /* exec: bprm->interp */
#define IT_PATH 8       /* path item: path of the file the syscall returned/used (from struct file) */
#define IT_STR_A 9      /* user string: first path argument */
#define IT_STR_B 10     /* user string: second path argument */
#define IT_BASE_A 11    /* path item: directory a relative STR_A is resolved against */
#define IT_BASE_B 12    /* path item: directory a relative STR_B is resolved against */
#define IT_UNIX 13      /* net: unix socket path (sun_path bytes) */
#define IT_PAYLOAD 14   /* dns: payload bytes */
#define IT_STR_C 15     /* user string: third string argument (mount fstype) */

/* path item flags (first u32 of a path item) */
#define PF_COMPLETE (1u << 0)  /* the walk reached the root of the mount namespace */
#define PF_TRUNCATED (1u << 1) /* too deep: leading components are missing */
#define PF_DETACHED (1u << 2)  /* a pseudo file's own name (memfd:x, pipe:[n]): no directory */

/* exec flags */
#define XF_FAILED (1u << 0)
#define XF_EXECVEAT (1u << 1)
#define XF_EXE_OVERLAY (1u << 2)   /* exe is on an overlayfs */
#define XF_EXE_UPPER (1u << 3)     /* exe has an upper dentry: written in the container */
#define XF_ARGV_TRUNC (1u << 4)

/* dns direction */
#define DNS_QUERY 1
#define DNS_ANSWER 2

/* ev_dns.flags */
#define DNSF_PACKET (1u << 0)       /* read from a packet (dns_xmit or cgroup_skb), not a syscall's buffer */
#define DNSF_UNATTRIBUTED (1u << 1) /* the socket has no owner record (opened before the
                                     * sensor): ev_hdr holds only cgroup_id and uid, sock_ino
                                     * names the socket for user space to look up */

struct ev_hdr {
	__u64 ts_ns;      /* bpf_ktime_get_boot_ns() at emission */
	__u64 cgroup_id;  /* cgroup2 id */
	__s64 ret;        /* syscall result (-errno on failure) */
	__u64 start_ns;   /* thread group leader's start_boottime */
	__u32 kind;
	__u32 size;       /* total bytes including this header */
	__u32 pid;        /* tgid */
	__u32 tid;
	__u32 ppid;
	__u32 loginuid;
	__u32 uid, euid, gid, egid;
	__u32 mntns;      /* mount namespace inode */
	__u32 nr;         /* syscall number, or ~0 */
	char comm[16];
};

struct ev_exec {
	struct ev_hdr h;
	__u32 tty_major;   /* controlling tty (0/0: none) */
	__u32 tty_minor;
	__u32 sessionid;
	__u32 flags;
	__u64 exe_ino;
	__u32 exe_dev;
	__u32 exe_nlink;
	__u32 exe_magic;   /* s_magic of the exe's filesystem */
	__u16 fd_mode[3];  /* i_mode of fds 0,1,2 (0: closed) */
	__u16 argc;
};

struct ev_fork {
	struct ev_hdr h;
	__u32 child_pid;
	__u32 child_tid;
	__u32 flags; /* 1: thread */
	__u32 pad;
};

struct ev_exit {
	struct ev_hdr h;
	__u32 exit_code; /* raw wait status */
	__u32 flags;     /* 1: whole thread group exited */
};

struct ev_open {
	struct ev_hdr h;
	__u64 flags;
	__u64 mode;
	__u64 ino;
	__u32 dev;
	__s32 dirfd;
};

/* file operations taking path strings (unlink, rename, chmod, chown, link, symlink, mkdir...) */
struct ev_file {
	struct ev_hdr h;
	__u64 args[6];
};

struct ev_net {
	struct ev_hdr h;
	__s32 fd;
	__u16 family;
	__u16 type;
	__u16 proto;
	__u16 lport;
	__u16 rport;
	__u16 backlog_pad;
	__u8 laddr[16];
	__u8 raddr[16];
	__u64 backlog;
};

struct ev_dns {
	struct ev_hdr h;
	__u16 family;
	__u16 type;
	__u16 lport;
	__u16 rport;
	__u8 raddr[16];
	__u32 direction;
	__u32 len; /* payload bytes the call or the segment carried (may exceed what was copied) */
	/* ABI 2 */
	__u32 flags; /* DNSF_* */
	__u32 pad;
	__u64 sock_ino; /* the socket's inode (packets; 0 when unknown) */
};

struct ev_syscall {
	struct ev_hdr h;
	__u64 args[6];
	__u32 uid_before;
	__u32 euid_before;
	__u32 suid;
	__u32 fsuid;
	__u64 cap_eff_before;
	__u64 cap_eff;
	__u32 sgid;
	__u32 fsgid;
	/* capset: header pid, then effective/permitted/inheritable of both u32 halves
	 * (struct __user_cap_data_struct[2]); bpf(): extra[0] = prog/map type */
	__u32 extra[8];
};

struct g_item {
	__u16 tag;
	__u16 len; /* bytes after this header */
};

/* A path item's payload: struct g_path_meta then the path string (no NUL). */
struct g_path_meta {
	__u32 flags;
	__u32 dev; /* s_dev of the filesystem mounted on the namespace's root (the process's "/") */
};

struct g_config {
	__u32 flags;
	__u32 open_ro;
	__u32 ignore_prefixes; /* nonzero: drop write opens under the ignore_prefixes trie */
	__u32 pad;
};

struct g_stats {
	__u64 events;
	__u64 lost;
	__u64 filtered;
};

#define PREFIX_MAX 128
struct g_prefix_key {
	__u32 prefixlen; /* bits */
	__u8 data[PREFIX_MAX];
};

#endif
