// SPDX-License-Identifier: Apache-2.0
/* Garrison's runtime sensor: process, file, network, DNS and privilege events from
 * BTF tracepoints (sched_process_{exec,fork,exit}, raw_syscalls sys_enter/sys_exit)
 * and syscall tracepoints, paired per thread so every event carries its syscall's
 * result; DNS from port-53 packets (cgroup_skb egress/ingress, owners recorded by the
 * cgroup sock_addr hooks), or from send/recv syscalls where cgroup_skb is missing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "sensor.h"

char LICENSE[] SEC("license") = "GPL";

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* The layout src/abi.rs decodes. */
_Static_assert(sizeof(struct ev_hdr) == 96, "ev_hdr");
_Static_assert(sizeof(struct ev_exec) == 144 && __builtin_offsetof(struct ev_exec, argc) == 138, "ev_exec");
_Static_assert(sizeof(struct ev_fork) == 112, "ev_fork");
_Static_assert(sizeof(struct ev_exit) == 104, "ev_exit");
_Static_assert(sizeof(struct ev_open) == 128, "ev_open");
_Static_assert(sizeof(struct ev_file) == 144, "ev_file");
_Static_assert(sizeof(struct ev_net) == 152 && __builtin_offsetof(struct ev_net, raddr) == 128, "ev_net");
_Static_assert(sizeof(struct ev_dns) == 144 && __builtin_offsetof(struct ev_dns, sock_ino) == 136, "ev_dns");
_Static_assert(sizeof(struct ev_syscall) == 216 && __builtin_offsetof(struct ev_syscall, extra) == 184, "ev_syscall");

#define EVBUF 16384            /* largest event */
#define MASK (EVBUF - 1)
#define SLACK EVBUF            /* room for one bounded copy past MASK; 32 KiB in all */
#define MAXC 40                /* path components kept */
#define MAXWALK 56             /* walk steps (components + mount hops) */
#define ARGV_MAX 4095
#define STR_MAX 4095
#define PAYLOAD_MAX 1023
#define MAX_SYSCALL 512
#define WAKEUP_BYTES (256 << 10)
#define AT_FDCWD -100
#define TS_COMPAT 0x0002

#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000

#define S_IFMT 00170000
#define S_IFSOCK 0140000

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/* raw syscall numbers (x86-64) */
#define NR_read 0
#define NR_write 1
#define NR_readv 19
#define NR_writev 20
#define NR_open 2
#define NR_kill 62
#define NR_connect 42
#define NR_accept 43
#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47
#define NR_bind 49
#define NR_listen 50
#define NR_execve 59
#define NR_rename 82
#define NR_mkdir 83
#define NR_rmdir 84
#define NR_creat 85
#define NR_link 86
#define NR_unlink 87
#define NR_symlink 88
#define NR_chmod 90
#define NR_fchmod 91
#define NR_chown 92
#define NR_fchown 93
#define NR_lchown 94
#define NR_ptrace 101
#define NR_capset 126
#define NR_clone 56
#define NR_fork 57
#define NR_vfork 58
#define NR_clone3 435
#define NR_pivot_root 155
#define NR_chroot 161
#define NR_mount 165
#define NR_umount2 166
#define NR_init_module 175
#define NR_delete_module 176
#define NR_mkdirat 258
#define NR_fchownat 260
#define NR_unlinkat 263
#define NR_renameat 264
#define NR_linkat 265
#define NR_symlinkat 266
#define NR_fchmodat 268
#define NR_unshare 272
#define NR_accept4 288
#define NR_sendmmsg 307
#define NR_setns 308
#define NR_finit_module 313
#define NR_renameat2 316
#define NR_memfd_create 319
#define NR_bpf 321
#define NR_execveat 322
#define NR_openat 257
#define NR_openat2 437
#define NR_fchmodat2 452

struct g_scratch {
	__u8 buf[EVBUF + SLACK] __attribute__((aligned(8)));
};

struct g_walk {
	const unsigned char *name[MAXC];
	__u32 len[MAXC];
};

struct g_inflight {
	__u64 args[6];
	__u64 ts;
	__u64 cap_eff;
	__u32 nr;
	__u32 uid;
	__u32 euid;
	__u32 skind; /* stats index */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct g_scratch);
} scratch_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct g_walk);
} walk_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct g_prefix_key);
} key_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SK_MAX);
	__type(key, __u32);
	__type(value, struct g_stats);
} stats_map SEC(".maps");

/* Nonzero while the consumer sleeps and wants the next record to wake it (set by
 * user space before an idle wait, cleared by the record that wakes it). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} wake_map SEC(".maps");

/* Interest: programmed from user space (garrison_sensor::Interest). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct g_config);
} config_map SEC(".maps");

/* syscall number -> nonzero when that syscall is traced */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALL);
	__type(key, __u32);
	__type(value, __u32);
} syscall_interest SEC(".maps");

/* canonical path prefixes whose read-only opens are reported (config.open_ro == OPEN_RO_PREFIXES) */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__type(key, struct g_prefix_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} open_prefixes SEC(".maps");

/* canonical path prefixes whose write-intent opens are dropped (config.ignore_prefixes) */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__type(key, struct g_prefix_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} ignore_prefixes SEC(".maps");

/* thread-group ids whose events are dropped (the agent itself) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} ignore_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct g_inflight);
} inflight_map SEC(".maps");

/* &s->buf[pos & MASK], with the mask kept from the optimizer so the verifier sees it */
static __always_inline __u8 *at(struct g_scratch *s, __u64 pos)
{
	asm volatile("%0 &= %1" : "+r"(pos) : "i"(MASK));
	return &s->buf[pos];
}

/* v & m, with the mask kept from the optimizer so the verifier sees the bound */
#define MASKED(v, m) ({ __u64 __v = (v); asm volatile("%0 &= %1" : "+r"(__v) : "i"(m)); __v; })

static __always_inline void count(__u32 skind, int lost, int filtered)
{
	struct g_stats *st = bpf_map_lookup_elem(&stats_map, &skind);
	if (!st)
		return;
	if (lost)
		st->lost++;
	else if (filtered)
		st->filtered++;
	else
		st->events++;
}

static __always_inline struct g_config *cfg_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&config_map, &zero);
}

static __always_inline int ignored_pid(__u32 tgid)
{
	return bpf_map_lookup_elem(&ignore_pids, &tgid) != 0;
}

static __always_inline struct g_scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch_map, &zero);
}

static __always_inline void fill_hdr(struct ev_hdr *h, __u32 kind, __u32 nr, __s64 ret)
{
	/* direct BTF loads (verifier-checked, no helper call per field) */
	struct task_struct *task = bpf_get_current_task_btf();
	const struct cred *cred = task->cred;
	__u64 pt = bpf_get_current_pid_tgid();
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->ret = ret;
	h->start_ns = task->group_leader->start_boottime;
	h->kind = kind;
	h->size = 0;
	h->pid = pt >> 32;
	h->tid = (__u32)pt;
	h->ppid = task->real_parent->tgid;
	h->loginuid = task->loginuid.val;
	h->uid = cred->uid.val;
	h->euid = cred->euid.val;
	h->gid = cred->gid.val;
	h->egid = cred->egid.val;
	h->mntns = task->nsproxy->mnt_ns->ns.inum;
	h->nr = nr;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

static __always_inline void submit(struct g_scratch *s, __u32 off, __u32 skind)
{
	__u64 size = off;
	if (size > EVBUF)
		size = EVBUF;
	if (size < sizeof(struct ev_hdr))
		return;
	asm volatile("%0 &= %1" : "+r"(size) : "i"(EVBUF + SLACK - 1));
	((struct ev_hdr *)s->buf)->size = size;
	/* Wake the consumer when it sleeps idle (wake_map set: the first record after
	 * a quiet spell is delivered at once) or when a batch is waiting; otherwise
	 * not, as a wake-up per record costs more than the record: a busy consumer
	 * polls on a short tick. */
	__u32 zero = 0;
	__u32 *sleeping = bpf_map_lookup_elem(&wake_map, &zero);
	__u64 flags = BPF_RB_NO_WAKEUP;
	if (sleeping && *sleeping) {
		*sleeping = 0;
		flags = BPF_RB_FORCE_WAKEUP;
	} else if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= WAKEUP_BYTES) {
		flags = BPF_RB_FORCE_WAKEUP;
	}
	if (bpf_ringbuf_output(&events, s->buf, size, flags))
		count(skind, 1, 0);
	else
		count(skind, 0, 0);
}

/* Appends an item header; returns the offset of the payload. */
static __always_inline __u32 item_start(struct g_scratch *s, __u32 off)
{
	return off + sizeof(struct g_item);
}

static __always_inline __u32 item_end(struct g_scratch *s, __u32 off, __u16 tag, __u32 len)
{
	struct g_item *it = (struct g_item *)at(s, off);
	if (len > 0xffff)
		len = 0xffff;
	it->tag = tag;
	it->len = len;
	return off + sizeof(struct g_item) + len;
}

static __always_inline __u32 put_user_str(struct g_scratch *s, __u32 off, __u16 tag, const void *p)
{
	if (!p || off > EVBUF - 64)
		return off;
	__u32 pos = item_start(s, off);
	long n = bpf_probe_read_user_str(at(s, pos), STR_MAX, p);
	if (n <= 0)
		return off;
	n -= 1; /* drop the NUL */
	return item_end(s, off, tag, n);
}

static __always_inline __u32 put_kernel_str(struct g_scratch *s, __u32 off, __u16 tag, const void *p, __u32 max)
{
	if (!p || off > EVBUF - 64)
		return off;
	__u32 pos = item_start(s, off);
	long n = bpf_probe_read_kernel_str(at(s, pos), max & STR_MAX, p);
	if (n <= 0)
		return off;
	n -= 1;
	return item_end(s, off, tag, n);
}

static __always_inline __u32 put_user_bytes(struct g_scratch *s, __u32 off, __u16 tag, const void *p, __u32 len, __u32 max)
{
	if (!p || off > EVBUF - 64)
		return off;
	if (len > max)
		len = max;
	len = MASKED(len, PAYLOAD_MAX | ARGV_MAX);
	__u32 pos = item_start(s, off);
	if (bpf_probe_read_user(at(s, pos), len, p))
		return off;
	return item_end(s, off, tag, len);
}

struct walk_ctx {
	struct dentry *d;
	struct mount *mnt;
	struct mount *top; /* the last mount left: the one mounted on the namespace's root */
	__u32 n;
	__u32 flags;
	__u64 pos;
};

static long walk_step(__u32 i, void *vctx)
{
	struct walk_ctx *c = vctx;
	__u32 zero = 0;
	struct g_walk *w = bpf_map_lookup_elem(&walk_map, &zero);
	if (!w)
		return 1;
	struct dentry *d = c->d;
	struct mount *mnt = c->mnt;
	struct dentry *mroot = BPF_CORE_READ(mnt, mnt.mnt_root);
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	if (d == mroot) {
		struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);
		if (mp == mnt || !mp) {
			c->flags = PF_COMPLETE;
			return 1;
		}
		c->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		c->top = mnt;
		c->mnt = mp;
		return 0;
	}
	__u32 n = c->n;
	if (d == parent || !parent) {
		/* a disconnected dentry: a pseudo file (memfd, pipe, socket) or one
		 * outside any mount tree; its own name is all there is */
		if (n == 0 && d) {
			w->name[0] = BPF_CORE_READ(d, d_name.name);
			w->len[0] = BPF_CORE_READ(d, d_name.len);
			c->n = 1;
			c->flags = PF_DETACHED;
			return 1;
		}
		c->flags = PF_COMPLETE;
		return 1;
	}
	if (n >= MAXC)
		return 1;
	w->name[n] = BPF_CORE_READ(d, d_name.name);
	w->len[n] = BPF_CORE_READ(d, d_name.len);
	c->n = n + 1;
	c->d = parent;
	return 0;
}

static long copy_step(__u32 i, void *vctx)
{
	struct walk_ctx *c = vctx;
	__u32 zero = 0;
	struct g_walk *w = bpf_map_lookup_elem(&walk_map, &zero);
	struct g_scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!w || !s)
		return 1;
	if (i >= c->n || c->pos > EVBUF - 300)
		return 1;
	__u32 j = c->n - 1 - i;
	if (j >= MAXC)
		return 1;
	__u64 pos = c->pos;
	*at(s, pos) = '/';
	pos++;
	__u32 len = MASKED(w->len[j], 255);
	bpf_probe_read_kernel(at(s, pos), len, w->name[j]);
	c->pos = pos + len;
	return 0;
}

/* Walks dentries and mounts from (dentry, vfsmount) up to the root of the mount
 * namespace and appends the forward path as a path item at off in the per-CPU
 * event buffer. A global function: verified once, not at every call site. */
__noinline __u32 put_dpath_at(__u32 off, __u32 tag, __u64 dentry, __u64 vfsmount)
{
	__u32 zero = 0;
	struct g_scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s || !dentry || !vfsmount || off > EVBUF - 1024)
		return off;
	struct walk_ctx c = {};
	c.d = (struct dentry *)dentry;
	c.mnt = container_of((struct vfsmount *)vfsmount, struct mount, mnt);
	c.flags = PF_TRUNCATED;
	bpf_loop(MAXWALK, walk_step, &c, 0);
	/* the filesystem the process sees as "/": the mount attached to the
	 * namespace's root mount (rootfs), or the root mount itself */
	struct mount *top = c.top ? c.top : c.mnt;
	__u32 dev = BPF_CORE_READ(top, mnt.mnt_sb, s_dev);
	__u64 pos = item_start(s, off);
	struct g_path_meta *pm = (struct g_path_meta *)at(s, pos);
	pm->flags = c.flags;
	pm->dev = dev;
	pos += sizeof(struct g_path_meta);
	if (c.n == 0) {
		*at(s, pos) = '/';
		pos++;
	}
	c.pos = pos;
	bpf_loop(MAXC, copy_step, &c, 0);
	return item_end(s, off, tag, c.pos - off - sizeof(struct g_item));
}

static __always_inline __u32 put_dpath(struct g_scratch *s, __u32 off, __u16 tag, struct dentry *d, struct vfsmount *vm)
{
	return put_dpath_at(off, tag, (__u64)d, (__u64)vm);
}

static __always_inline __u32 put_file_path(struct g_scratch *s, __u32 off, __u16 tag, struct file *f)
{
	if (!f)
		return off;
	return put_dpath(s, off, tag, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
}

static __always_inline struct file *fd_file(struct task_struct *task, long fd)
{
	if (fd < 0 || fd > 1 << 20)
		return 0;
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt)
		return 0;
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline __u32 put_cwd(struct g_scratch *s, __u32 off, __u16 tag, struct task_struct *task)
{
	return put_dpath(s, off, tag, BPF_CORE_READ(task, fs, pwd.dentry), BPF_CORE_READ(task, fs, pwd.mnt));
}

static __always_inline __u32 put_root(struct g_scratch *s, __u32 off, struct task_struct *task)
{
	return put_dpath(s, off, IT_ROOT, BPF_CORE_READ(task, fs, root.dentry), BPF_CORE_READ(task, fs, root.mnt));
}

/* The directory a relative path argument is resolved against: cwd or dirfd. */
static __always_inline __u32 put_base(struct g_scratch *s, __u32 off, __u16 tag, struct task_struct *task, long dirfd, __u32 str_off)
{
	/* only for relative paths: the string item starts at str_off */
	if (str_off >= off)
		return off;
	__u8 first = *at(s, (str_off + sizeof(struct g_item)));
	if (first == '/')
		return off;
	if ((int)dirfd == AT_FDCWD)
		return put_cwd(s, off, tag, task);
	return put_file_path(s, off, tag, fd_file(task, dirfd));
}

/* ------------------------------------------------------------------ process */

/* Processes (tgid) that talk to port 53, marked by the cgroup connect4/6 and
 * sendmsg4/6 hooks below (and inherited across fork, dropped at exit). With
 * CFG_DNS_GATE set (the hooks are attached), the DNS syscalls of every other
 * process stop at one hash lookup: redis's or PostgreSQL's send/recv examine no
 * socket. LRU: bounded, the oldest talkers fall out first. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} dns_tgids SEC(".maps");

static __always_inline void dns_mark(__u32 tgid)
{
	__u8 one = 1;
	bpf_map_update_elem(&dns_tgids, &tgid, &one, BPF_ANY);
}

static __always_inline void dns_inherit(__u32 parent, __u32 child)
{
	if (bpf_map_lookup_elem(&dns_tgids, &parent))
		dns_mark(child);
}

static __always_inline void dns_forget(__u32 tgid)
{
	bpf_map_delete_elem(&dns_tgids, &tgid);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct g_config *cfg = cfg_get();
	if (!cfg || !(cfg->flags & CFG_EXEC))
		return 0;
	if (ignored_pid(bpf_get_current_pid_tgid() >> 32))
		return 0;
	struct g_scratch *s = get_scratch();
	if (!s)
		return 0;
	struct ev_exec *e = (struct ev_exec *)s->buf;
	fill_hdr(&e->h, EV_EXEC, NR_execve, 0);
	__u32 flags = 0;
	__u32 tid = old_pid;
	struct g_inflight *in = bpf_map_lookup_elem(&inflight_map, &tid);
	if (in) {
		if (in->nr == NR_execveat)
			flags |= XF_EXECVEAT;
		e->h.nr = in->nr;
		bpf_map_delete_elem(&inflight_map, &tid);
	}
	e->sessionid = BPF_CORE_READ(task, sessionid);
	e->tty_major = 0;
	e->tty_minor = 0;
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	if (tty) {
		e->tty_major = BPF_CORE_READ(tty, driver, major);
		e->tty_minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
	}
	struct file *exe = BPF_CORE_READ(bprm, file);
	struct inode *ino = BPF_CORE_READ(exe, f_inode);
	e->exe_ino = BPF_CORE_READ(ino, i_ino);
	e->exe_dev = BPF_CORE_READ(ino, i_sb, s_dev);
	e->exe_nlink = BPF_CORE_READ(ino, __i_nlink);
	unsigned long magic = BPF_CORE_READ(ino, i_sb, s_magic);
	e->exe_magic = magic;
	if (magic == 0x794c7630) { /* OVERLAYFS_SUPER_MAGIC */
		flags |= XF_EXE_OVERLAY;
		if (bpf_core_type_exists(struct ovl_inode)) {
			struct ovl_inode *oi = (void *)ino - bpf_core_field_offset(struct ovl_inode, vfs_inode);
			if (BPF_CORE_READ(oi, __upperdentry))
				flags |= XF_EXE_UPPER;
		}
	}
	for (int i = 0; i < 3; i++) {
		struct file *f = fd_file(task, i);
		e->fd_mode[i] = f ? BPF_CORE_READ(f, f_inode, i_mode) : 0;
	}
	e->argc = BPF_CORE_READ(bprm, argc);
	__u32 off = sizeof(*e);
	off = put_kernel_str(s, off, IT_FILENAME, BPF_CORE_READ(bprm, filename), STR_MAX);
	const char *interp = BPF_CORE_READ(bprm, interp);
	const char *fname = BPF_CORE_READ(bprm, filename);
	if (interp != fname)
		off = put_kernel_str(s, off, IT_INTERP, interp, STR_MAX);
	off = put_file_path(s, off, IT_EXE, exe);
	unsigned long as = BPF_CORE_READ(task, mm, arg_start);
	unsigned long ae = BPF_CORE_READ(task, mm, arg_end);
	__u32 alen = ae > as ? ae - as : 0;
	if (alen > ARGV_MAX) {
		alen = ARGV_MAX;
		flags |= XF_ARGV_TRUNC;
	}
	if (off < EVBUF - ARGV_MAX - 64) {
		__u32 pos = item_start(s, off);
		if (!bpf_probe_read_user(at(s, pos), MASKED(alen, ARGV_MAX), (void *)as))
			off = item_end(s, off, IT_ARGV, alen & ARGV_MAX);
	}
	off = put_cwd(s, off, IT_CWD, task);
	off = put_root(s, off, task);
	e->flags = flags;
	submit(s, off, SK_EXEC);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 cpid = BPF_CORE_READ(child, pid), ctgid = BPF_CORE_READ(child, tgid);
	int thread = cpid != ctgid;
	/* a child of a DNS talker holds its sockets: it is one too */
	if (!thread)
		dns_inherit(BPF_CORE_READ(parent, tgid), ctgid);
	struct g_config *cfg = cfg_get();
	if (!cfg || !(cfg->flags & CFG_FORK))
		return 0;
	if (thread && !(cfg->flags & CFG_THREADS))
		return 0;
	if (ignored_pid(bpf_get_current_pid_tgid() >> 32))
		return 0;
	struct g_scratch *s = get_scratch();
	if (!s)
		return 0;
	struct ev_fork *e = (struct ev_fork *)s->buf;
	__u32 tid = bpf_get_current_pid_tgid();
	struct g_inflight *in = bpf_map_lookup_elem(&inflight_map, &tid);
	fill_hdr(&e->h, EV_FORK, in ? in->nr : ~0u, thread ? cpid : ctgid);
	e->child_pid = ctgid;
	e->child_tid = cpid;
	e->flags = thread;
	e->pad = 0;
	submit(s, sizeof(*e), SK_FORK);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task, bool group_dead)
{
	if (group_dead)
		dns_forget(bpf_get_current_pid_tgid() >> 32);
	struct g_config *cfg = cfg_get();
	if (!cfg || !(cfg->flags & CFG_EXIT))
		return 0;
	if (!group_dead) /* a thread's end: the process lives on */
		return 0;
	__u64 pt = bpf_get_current_pid_tgid();
	if (ignored_pid(pt >> 32))
		return 0;
	__u32 tid = (__u32)pt;
	bpf_map_delete_elem(&inflight_map, &tid);
	struct g_scratch *s = get_scratch();
	if (!s)
		return 0;
	struct ev_exit *e = (struct ev_exit *)s->buf;
	int code = BPF_CORE_READ(task, exit_code);
	fill_hdr(&e->h, EV_EXIT, ~0u, code);
	e->exit_code = code;
	e->flags = group_dead;
	submit(s, sizeof(*e), SK_EXIT);
	return 0;
}

/* ------------------------------------------------------------------ syscalls */

/* syscall_interest[nr]: stats index + 1 in the low byte; VIA_RAW when the
 * syscall has no tracepoint of its own and comes through raw_syscalls. */
#define VIA_RAW 0x100

/* The stats index + 1 when nr is traced through this path (raw or not), else 0. */
static __always_inline __u32 wanted(__u32 nr, int raw)
{
	if (nr >= MAX_SYSCALL)
		return 0;
	__u32 *want = bpf_map_lookup_elem(&syscall_interest, &nr);
	if (!want || !*want)
		return 0;
	if (!!(*want & VIA_RAW) != raw)
		return 0;
	return *want & 0xff;
}

static __always_inline struct sock *fd_sock(struct task_struct *task, long fd);

/* The DNS syscalls, decided at entry so that other traffic stores nothing:
 * read/write/readv/writev (`rw`, traced only when DNS is asked for by name) only
 * on an inet socket connected to port 53; sendto/recvfrom/sendmsg/recvmsg/
 * sendmmsg also on an unconnected datagram socket (each call may name port 53) */
static __noinline int dns_candidate(long fd, int rw)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct sock *sk = fd_sock(task, fd);
	if (!sk)
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	__u16 dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	if (dport == bpf_htons(53))
		return 1;
	if (rw || dport)
		return 0;
	return BPF_CORE_READ(sk, sk_type) == 2; /* SOCK_DGRAM */
}

/* The owner of each port-53 client socket: a header filled in process context by
 * the sock_addr hooks below, for the cgroup_skb programs, which run where there is
 * no meaningful current task (softirq, on ingress). Lives and dies with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ev_hdr);
} dns_socks SEC(".maps");

/* connect() to port 53 (UDP or TCP), or a datagram sent to it: later
 * send/recv/read/write of this process are examined (the syscall path's gate), and
 * the socket records who owns it (the packet path's attribution; the last sender
 * wins when a socket is shared). Always allows the call. */
static __always_inline int dns_hook(struct bpf_sock_addr *ctx)
{
	if (ctx->user_port != bpf_htons(53))
		return 1;
	dns_mark(bpf_get_current_pid_tgid() >> 32);
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return 1;
	struct ev_hdr *owner = bpf_sk_storage_get(&dns_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (owner)
		fill_hdr(owner, EV_DNS, ~0u, 0);
	return 1;
}

SEC("cgroup/connect4")
int dns_connect4(struct bpf_sock_addr *ctx)
{
	return dns_hook(ctx);
}

SEC("cgroup/connect6")
int dns_connect6(struct bpf_sock_addr *ctx)
{
	return dns_hook(ctx);
}

/* an unconnected UDP datagram to port 53 (sendto/sendmsg naming the address) */
SEC("cgroup/sendmsg4")
int dns_sendmsg4(struct bpf_sock_addr *ctx)
{
	return dns_hook(ctx);
}

SEC("cgroup/sendmsg6")
int dns_sendmsg6(struct bpf_sock_addr *ctx)
{
	return dns_hook(ctx);
}

/* ------------------------------------------------------------------ DNS from packets */

/* Fills a packet's ev_dns record: the header from the socket's owner record, or
 * (a socket opened before the sensor or its hooks started) what the socket itself
 * says, for user space to look its inode up among the processes' fds. 0: the
 * owner is an ignored pid. */
static __always_inline int dns_fill(struct ev_dns *e, struct ev_hdr *owner, struct sock *ks,
				    __u64 cgroup_id, __u32 family, __u8 proto, __u16 lport,
				    __u16 rport, const __u8 *raddr, __u32 direction, __u32 plen)
{
	e->flags = DNSF_PACKET;
	if (owner) {
		if (ignored_pid(owner->pid))
			return 0;
		e->h = *owner;
	} else {
		__builtin_memset(&e->h, 0, sizeof(e->h));
		e->h.cgroup_id = cgroup_id;
		e->h.uid = e->h.euid = ks->sk_uid.val;
		e->h.loginuid = ~0u;
		e->flags |= DNSF_UNATTRIBUTED;
	}
	struct socket *so = ks->sk_socket;
	e->sock_ino = so ? so->file->f_inode->i_ino : 0;
	e->h.ts_ns = bpf_ktime_get_boot_ns();
	e->h.kind = EV_DNS;
	e->h.nr = ~0u;
	e->h.ret = 0;
	e->family = family;
	e->type = proto == IPPROTO_TCP ? 1 : 2; /* SOCK_STREAM, SOCK_DGRAM */
	e->lport = lport;
	e->rport = rport;
	__builtin_memcpy(e->raddr, raddr, 16);
	e->direction = direction;
	e->len = plen;
	e->pad = 0;
	return 1;
}

/* A port-53 segment or datagram of a client socket (not a server's: a socket bound to
 * port 53 is skipped, so loopback traffic is seen once, from the client's side):
 * egress to port 53 is a query, ingress from port 53 an answer. The payload (bounded)
 * goes out as an ev_dns record attributed from the socket's owner record. */
static __noinline int dns_packet(struct __sk_buff *skb, int egress)
{
	__u8 ip[40];
	__u8 l4[16];
	__u32 off4, family;
	__u8 proto;
	__u8 raddr[16] = {};
	if (bpf_skb_load_bytes(skb, 0, ip, 20))
		return 1;
	__u8 version = ip[0] >> 4;
	if (version == 4) {
		/* a fragment after the first carries no header */
		if (((ip[6] & 0x1f) << 8 | ip[7]) != 0)
			return 1;
		off4 = (ip[0] & 0xf) * 4;
		proto = ip[9];
		family = AF_INET;
		__builtin_memcpy(raddr, egress ? &ip[16] : &ip[12], 4);
	} else if (version == 6) {
		if (bpf_skb_load_bytes(skb, 0, ip, 40))
			return 1;
		off4 = 40; /* extension headers: not followed */
		proto = ip[6];
		family = AF_INET6;
		__builtin_memcpy(raddr, egress ? &ip[24] : &ip[8], 16);
	} else {
		return 1;
	}
	__u32 payload;
	if (proto == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(skb, off4, l4, 8))
			return 1;
		payload = off4 + 8;
	} else if (proto == IPPROTO_TCP) {
		if (bpf_skb_load_bytes(skb, off4, l4, 16))
			return 1;
		payload = off4 + (l4[12] >> 4) * 4;
	} else {
		return 1;
	}
	__u16 sport = (__u16)l4[0] << 8 | l4[1];
	__u16 dport = (__u16)l4[2] << 8 | l4[3];
	__u16 rport = egress ? dport : sport;
	if (rport != 53 || skb->len <= payload)
		return 1;
	__u32 plen = skb->len - payload;
	struct g_scratch *s = get_scratch();
	struct bpf_sock *sk = skb->sk;
	if (!s || !sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	struct ev_dns *e = (struct ev_dns *)s->buf;
	struct ev_hdr *owner = bpf_sk_storage_get(&dns_socks, sk, 0, 0);
	/* the socket as the kernel's struct sock, read-only (loads are probed reads) */
	struct sock *ks = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct sock));
	if (!dns_fill(e, owner, ks, bpf_skb_cgroup_id(skb), family, proto, egress ? sport : dport,
		      rport, raddr, egress ? DNS_QUERY : DNS_ANSWER, plen))
		return 1;
	/* plen > 0 here: 1..PAYLOAD_MAX bytes, in a form the verifier sees as nonzero */
	__u32 len = plen > PAYLOAD_MAX ? PAYLOAD_MAX : plen;
	len = MASKED(len - 1, PAYLOAD_MAX) + 1;
	__u32 off = sizeof(*e);
	__u32 pos = item_start(s, off);
	if (bpf_skb_load_bytes(skb, payload, at(s, pos), len))
		return 1;
	off = item_end(s, off, IT_PAYLOAD, len);
	submit(s, off, SK_DNS);
	return 1;
}

/* Every packet of every inet socket passes here (only while DNS is asked for by name:
 * these run for every packet the host sends and receives): the common case (a connected socket
 * whose peer is not port 53, or a DNS server's socket) leaves after three loads from
 * the socket, with no helper call. Unconnected datagram sockets have their headers
 * read. Never drops: always returns 1. */
static __always_inline int dns_skb(struct __sk_buff *skb, int egress)
{
	struct bpf_sock *sk = skb->sk;
	if (!sk)
		return 1;
	if (sk->src_port == 53)
		return 1;
	__u32 dport = sk->dst_port;
	if (dport != 0 && dport != bpf_htons(53))
		return 1;
	return dns_packet(skb, egress);
}

SEC("cgroup_skb/egress")
int dns_egress(struct __sk_buff *skb)
{
	return dns_skb(skb, 1);
}

SEC("cgroup_skb/ingress")
int dns_ingress(struct __sk_buff *skb)
{
	return dns_skb(skb, 0);
}

/* The DNS gate at syscall entry: a marked process, or a datagram that names port
 * 53 in this very call (the sendmsg hooks run inside it, too late for its entry;
 * they mark the process for the recv of the answer). */
static __always_inline int dns_gate(__u32 nr, __u64 a1, __u64 a4)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (bpf_map_lookup_elem(&dns_tgids, &tgid))
		return 1;
	const void *name = 0;
	if (nr == NR_sendto)
		name = (const void *)a4;
	else if ((nr == NR_sendmsg || nr == NR_sendmmsg) &&
		 bpf_probe_read_user(&name, sizeof(name), (const void *)a1)) /* msg_name comes first */
		return 0;
	if (!name)
		return 0;
	struct {
		__u16 family;
		__u16 port;
	} sa = {};
	if (bpf_probe_read_user(&sa, sizeof(sa), name))
		return 0;
	if ((sa.family != AF_INET && sa.family != AF_INET6) || sa.port != bpf_htons(53))
		return 0;
	dns_mark(tgid);
	return 1;
}

static __always_inline int enter(__u32 nr, __u32 want, __u64 a0, __u64 a1, __u64 a2, __u64 a3, __u64 a4, __u64 a5)
{
	int dns_rw = nr == NR_read || nr == NR_write || nr == NR_readv || nr == NR_writev;
	int dns_msg = nr == NR_sendto || nr == NR_recvfrom || nr == NR_sendmsg || nr == NR_recvmsg || nr == NR_sendmmsg;
	struct g_config *cfg = cfg_get();
	if (!cfg)
		return 0;
	if ((dns_rw || dns_msg) && (cfg->flags & CFG_DNS_GATE) && !dns_gate(nr, a1, a4))
		return 0;
	if (dns_rw) {
		if (!dns_candidate(a0, 1))
			return 0;
	} else if (dns_msg) {
		if (!dns_candidate(a0, 0))
			return 0;
	}
	__u64 pt = bpf_get_current_pid_tgid();
	if (ignored_pid(pt >> 32))
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	/* 32-bit (ia32) tasks use other syscall numbers: not decoded as x86-64 ones */
	if (bpf_core_field_exists(task->thread_info.status) && (task->thread_info.status & TS_COMPAT))
		return 0;
	struct g_inflight in = {};
	in.args[0] = a0;
	in.args[1] = a1;
	in.args[2] = a2;
	in.args[3] = a3;
	in.args[4] = a4;
	in.args[5] = a5;
	in.nr = nr;
	in.ts = bpf_ktime_get_boot_ns();
	const struct cred *cred = task->cred;
	in.uid = cred->uid.val;
	in.euid = cred->euid.val;
	in.cap_eff = cred->cap_effective.val;
	in.skind = want - 1;
	__u32 tid = (__u32)pt;
	bpf_map_update_elem(&inflight_map, &tid, &in, BPF_ANY);
	return 0;
}

/* Syscalls without their own tracepoint (module syscalls here), or every traced
 * syscall when tracefs is unavailable: raw_syscalls, filtered by number. */
SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	__u32 want = wanted(id, 1);
	if (!want)
		return 0;
	return enter(id, want, PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs),
		     PT_REGS_PARM3_CORE_SYSCALL(regs), PT_REGS_PARM4_CORE_SYSCALL(regs),
		     PT_REGS_PARM5_CORE_SYSCALL(regs), BPF_CORE_READ(regs, r9));
}

/* The DNS gate's early exit at a tracepoint entry: a socket call of a process not
 * marked as a DNS talker, which names no address to check (a recv, or a send
 * without one), is done with before its arguments are copied. */
static __always_inline int dns_gated_out(int nr, void *ctx)
{
	int msg = nr == NR_sendto || nr == NR_recvfrom || nr == NR_sendmsg || nr == NR_recvmsg || nr == NR_sendmmsg;
	int rw = nr == NR_read || nr == NR_write || nr == NR_readv || nr == NR_writev;
	if (!msg && !rw)
		return 0;
	struct g_config *cfg = cfg_get();
	if (!cfg || !(cfg->flags & CFG_DNS_GATE))
		return 0;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (bpf_map_lookup_elem(&dns_tgids, &tgid))
		return 0;
	if (nr == NR_sendto) {
		/* args[4], the destination address */
		__u64 addr = 0;
		bpf_probe_read_kernel(&addr, sizeof(addr), (void *)((unsigned long)ctx + 16 + 4 * 8));
		return addr == 0;
	}
	/* sendmsg/sendmmsg may name port 53 in their message: enter() reads it */
	return nr != NR_sendmsg && nr != NR_sendmmsg;
}

/* Attached by user space to syscalls/sys_enter_<name> of each traced syscall:
 * untraced syscalls run no BPF at all. */
SEC("tracepoint")
int tp_sys_enter(void *ctx)
{
	/* syscalls/sys_enter_<name> records are (trace_entry, int nr, the syscall's
	 * own arguments): the kernel refuses programs that load past a record, and a
	 * zero-argument record is shorter than six slots, so everything is copied
	 * with a helper (slots past the syscall's arity are unused) */
	struct {
		int nr;
		int pad;
		unsigned long args[6];
	} r = {};
	/* the number alone first (a direct load: every record has it), so that a DNS
	 * call of a process the gate does not know costs no argument copy */
	int nr = *(int *)((unsigned long)ctx + 8);
	__u32 want = wanted(nr, 0);
	if (!want)
		return 0;
	if (dns_gated_out(nr, ctx))
		return 0;
	bpf_probe_read_kernel(&r, sizeof(r), (void *)((unsigned long)ctx + 8));
	return enter(nr, want, r.args[0], r.args[1], r.args[2], r.args[3], r.args[4], r.args[5]);
}

static __always_inline int prefix_match(struct g_scratch *s, __u32 path_off, void *trie)
{
	__u32 zero = 0;
	struct g_prefix_key *k = bpf_map_lookup_elem(&key_map, &zero);
	if (!k)
		return 0;
	struct g_item *it = (struct g_item *)at(s, path_off);
	__u32 len = it->len;
	__u32 start = path_off + sizeof(struct g_item) + sizeof(struct g_path_meta);
	len = len > sizeof(struct g_path_meta) ? len - sizeof(struct g_path_meta) : 0;
	if (len > PREFIX_MAX - 1)
		len = PREFIX_MAX - 1;
	len = MASKED(len, PREFIX_MAX - 1);
	bpf_probe_read_kernel(k->data, len, at(s, start));
	k->prefixlen = len * 8;
	return bpf_map_lookup_elem(trie, k) != 0;
}

static __noinline int do_open(struct g_scratch *s, struct g_inflight *in, __s64 ret, __u32 open_ro, __u32 ignore)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	__u32 nr = in->nr;
	__u64 flags = 0, mode = 0;
	long dirfd = AT_FDCWD;
	const void *path = 0;
	if (nr == NR_open) {
		path = (void *)in->args[0];
		flags = in->args[1];
		mode = in->args[2];
	} else if (nr == NR_creat) {
		path = (void *)in->args[0];
		flags = O_CREAT | O_WRONLY | O_TRUNC;
		mode = in->args[1];
	} else if (nr == NR_openat) {
		dirfd = in->args[0];
		path = (void *)in->args[1];
		flags = in->args[2];
		mode = in->args[3];
	} else { /* openat2: struct open_how { u64 flags, mode, resolve } */
		dirfd = in->args[0];
		path = (void *)in->args[1];
		bpf_probe_read_user(&flags, sizeof(flags), (void *)in->args[2]);
		bpf_probe_read_user(&mode, sizeof(mode), (void *)(in->args[2] + 8));
	}
	int write = (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
	if (!write && open_ro == OPEN_RO_NONE) {
		count(in->skind, 0, 1);
		return 0;
	}
	struct ev_open *e = (struct ev_open *)s->buf;
	fill_hdr(&e->h, EV_OPEN, nr, ret);
	e->flags = flags;
	e->mode = mode;
	e->dirfd = dirfd;
	e->ino = 0;
	e->dev = 0;
	__u32 off = sizeof(*e);
	if (ret >= 0) {
		struct file *f = fd_file(task, ret);
		if (f) {
			e->ino = BPF_CORE_READ(f, f_inode, i_ino);
			e->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
		}
		__u32 poff = off;
		off = put_file_path(s, off, IT_PATH, f);
		if (!write && open_ro == OPEN_RO_PREFIXES && (off == poff || !prefix_match(s, poff, &open_prefixes))) {
			count(in->skind, 0, 1);
			return 0;
		}
		if (write && ignore && off != poff && prefix_match(s, poff, &ignore_prefixes)) {
			count(in->skind, 0, 1);
			return 0;
		}
		off = put_user_str(s, off, IT_STR_A, path);
	} else {
		__u32 soff = off;
		off = put_user_str(s, off, IT_STR_A, path);
		if (!write && open_ro == OPEN_RO_PREFIXES) {
			/* a failed read-only open: match the string itself when it is absolute */
			if (off == soff || *at(s, (soff + sizeof(struct g_item))) != '/') {
				count(in->skind, 0, 1);
				return 0;
			}
			__u32 zero = 0;
			struct g_prefix_key *k = bpf_map_lookup_elem(&key_map, &zero);
			if (!k)
				return 0;
			__u32 len = ((struct g_item *)at(s, soff))->len;
			if (len > PREFIX_MAX - 1)
				len = PREFIX_MAX - 1;
			len = MASKED(len, PREFIX_MAX - 1);
			bpf_probe_read_kernel(k->data, len, at(s, (soff + sizeof(struct g_item))));
			k->prefixlen = len * 8;
			if (!bpf_map_lookup_elem(&open_prefixes, k)) {
				count(in->skind, 0, 1);
				return 0;
			}
		}
		off = put_base(s, off, IT_BASE_A, task, dirfd, soff);
		off = put_root(s, off, task);
	}
	submit(s, off, in->skind);
	return 0;
}

static __noinline int do_file(struct g_scratch *s, struct g_inflight *in, __s64 ret)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	__u32 nr = in->nr;
	struct ev_file *e = (struct ev_file *)s->buf;
	fill_hdr(&e->h, EV_FILE, nr, ret);
	for (int i = 0; i < 6; i++)
		e->args[i] = in->args[i];
	__u32 off = sizeof(*e);
	long dfa = AT_FDCWD, dfb = AT_FDCWD;
	const void *a = 0, *b = 0;
	long fd = -1;
	int b_is_path = 1;
	switch (nr) {
	case NR_unlink:
	case NR_rmdir:
	case NR_chmod:
	case NR_chown:
	case NR_lchown:
	case NR_mkdir:
		a = (void *)in->args[0];
		break;
	case NR_unlinkat:
	case NR_fchmodat:
	case NR_fchmodat2:
	case NR_fchownat:
	case NR_mkdirat:
		dfa = in->args[0];
		a = (void *)in->args[1];
		break;
	case NR_rename:
	case NR_link:
		a = (void *)in->args[0];
		b = (void *)in->args[1];
		break;
	case NR_renameat:
	case NR_renameat2:
	case NR_linkat:
		dfa = in->args[0];
		a = (void *)in->args[1];
		dfb = in->args[2];
		b = (void *)in->args[3];
		break;
	case NR_symlink: /* target is a string stored in the link, B is the new link */
		a = (void *)in->args[1];
		b = (void *)in->args[0];
		b_is_path = 0;
		break;
	case NR_symlinkat:
		a = (void *)in->args[2];
		dfa = in->args[1];
		b = (void *)in->args[0];
		b_is_path = 0;
		break;
	case NR_fchmod:
	case NR_fchown:
		fd = in->args[0];
		break;
	}
	if (fd >= 0) {
		off = put_file_path(s, off, IT_PATH, fd_file(task, fd));
	} else {
		__u32 aoff = off;
		off = put_user_str(s, off, IT_STR_A, a);
		off = put_base(s, off, IT_BASE_A, task, dfa, aoff);
		if (b) {
			__u32 boff = off;
			off = put_user_str(s, off, IT_STR_B, b);
			if (b_is_path)
				off = put_base(s, off, IT_BASE_B, task, dfb, boff);
		}
		off = put_root(s, off, task);
	}
	submit(s, off, in->skind);
	return 0;
}

struct g_sa {
	__u16 family;
	__u16 port;
	union {
		__u32 v4;
		struct {
			__u32 flowinfo;
			__u8 v6[16];
		};
	};
};

static __always_inline __u16 sa_read(const void *uaddr, __u8 *addr16)
{
	struct g_sa sa = {};
	if (!uaddr)
		return 0;
	if (bpf_probe_read_user(&sa, sizeof(sa), uaddr) && bpf_probe_read_user(&sa, 8, uaddr))
		return 0;
	if (sa.family == AF_INET)
		__builtin_memcpy(addr16, &sa.v4, 4);
	else if (sa.family == AF_INET6)
		__builtin_memcpy(addr16, sa.v6, 16);
	return bpf_ntohs(sa.port);
}

static __always_inline struct sock *fd_sock(struct task_struct *task, long fd)
{
	struct file *f = fd_file(task, fd);
	if (!f)
		return 0;
	umode_t m = BPF_CORE_READ(f, f_inode, i_mode);
	if ((m & S_IFMT) != S_IFSOCK)
		return 0;
	struct socket *so = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(so, sk);
}

static __always_inline void sk_addrs(struct sock *sk, __u16 family, __u8 *laddr, __u16 *lport, __u8 *raddr, __u16 *rport)
{
	*lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	*rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(laddr, &l, 4);
		__builtin_memcpy(raddr, &r, 4);
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(laddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
}

static __noinline int do_net(struct g_scratch *s, struct g_inflight *in, __s64 ret)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	__u32 nr = in->nr;
	struct ev_net *e = (struct ev_net *)s->buf;
	fill_hdr(&e->h, EV_NET, nr, ret);
	long fd = (nr == NR_accept || nr == NR_accept4) ? ret : (long)in->args[0];
	e->fd = fd;
	__builtin_memset(e->laddr, 0, 16);
	__builtin_memset(e->raddr, 0, 16);
	e->lport = e->rport = 0;
	e->family = e->type = e->proto = 0;
	e->backlog_pad = 0;
	e->backlog = nr == NR_listen ? in->args[1] : 0;
	__u32 off = sizeof(*e);
	struct sock *sk = fd >= 0 ? fd_sock(task, fd) : 0;
	if (sk) {
		e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
		e->type = BPF_CORE_READ(sk, sk_type);
		e->proto = BPF_CORE_READ(sk, sk_protocol);
		sk_addrs(sk, e->family, e->laddr, &e->lport, e->raddr, &e->rport);
	}
	const void *ua = (nr == NR_connect || nr == NR_bind) ? (void *)in->args[1] : 0;
	if (ua) {
		__u16 fam = 0;
		bpf_probe_read_user(&fam, sizeof(fam), ua);
		if (!e->family)
			e->family = fam;
		if (fam == AF_UNIX) {
			off = put_user_str(s, off, IT_UNIX, ua + 2);
		} else if (fam == AF_INET || fam == AF_INET6) {
			if (nr == NR_connect)
				e->rport = sa_read(ua, e->raddr);
			else
				e->lport = sa_read(ua, e->laddr);
		}
	} else if (sk && e->family == AF_UNIX) {
		struct unix_sock *us = (struct unix_sock *)sk;
		struct unix_address *ad = BPF_CORE_READ(us, addr);
		if (ad)
			off = put_kernel_str(s, off, IT_UNIX, (void *)ad + bpf_core_field_offset(struct unix_address, name) + 2, 108);
	}
	submit(s, off, in->skind);
	return 0;
}

static __noinline int do_dns(struct g_scratch *s, struct g_inflight *in, __s64 ret)
{
	if (ret <= 0)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	__u32 nr = in->nr;
	struct sock *sk = fd_sock(task, in->args[0]);
	if (!sk)
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	struct ev_dns *e = (struct ev_dns *)s->buf;
	__u8 laddr[16] = {};
	__builtin_memset(e->raddr, 0, 16);
	__u16 lport = 0, rport = 0;
	sk_addrs(sk, family, laddr, &lport, e->raddr, &rport);
	const void *buf = 0;
	__u64 len = ret;
	const void *name = 0;
	if (nr == NR_sendto || nr == NR_recvfrom) {
		buf = (void *)in->args[1];
		name = (void *)in->args[4];
	} else if (nr == NR_read || nr == NR_write) {
		buf = (void *)in->args[1];
	} else if (nr == NR_readv || nr == NR_writev) {
		/* first iovec; a 2-byte first one is TCP's length prefix on its own
		 * (glibc's resolver writes it so): the message is in the second */
		struct iovec iov[2] = {};
		if (bpf_probe_read_user(&iov[0], sizeof(iov[0]), (void *)in->args[1]))
			return 0;
		buf = iov[0].iov_base;
		if (iov[0].iov_len == 2 && in->args[2] >= 2 && len > 2 &&
		    !bpf_probe_read_user(&iov[1], sizeof(iov[1]), (void *)in->args[1] + sizeof(struct iovec))) {
			buf = iov[1].iov_base;
			len -= 2;
			if (len > iov[1].iov_len)
				len = iov[1].iov_len;
		} else if (len > iov[0].iov_len) {
			len = iov[0].iov_len;
		}
	} else { /* sendmsg, recvmsg, sendmmsg: first message, first iovec */
		struct user_msghdr mh = {};
		if (bpf_probe_read_user(&mh, sizeof(mh), (void *)in->args[1]))
			return 0;
		name = mh.msg_name;
		struct iovec iov = {};
		if (mh.msg_iovlen < 1 || bpf_probe_read_user(&iov, sizeof(iov), mh.msg_iov))
			return 0;
		buf = iov.iov_base;
		if (nr == NR_sendmmsg) {
			unsigned int ml = 0;
			bpf_probe_read_user(&ml, sizeof(ml), (void *)in->args[1] + sizeof(struct user_msghdr));
			len = ml;
		}
		if (len > iov.iov_len)
			len = iov.iov_len;
	}
	if (name) {
		__u8 a[16] = {};
		__u16 p = sa_read(name, a);
		if (p) {
			rport = p;
			__builtin_memcpy(e->raddr, a, 16);
		}
	}
	if (rport != 53)
		return 0;
	fill_hdr(&e->h, EV_DNS, nr, ret);
	e->family = family;
	e->type = BPF_CORE_READ(sk, sk_type);
	e->lport = lport;
	e->rport = rport;
	e->direction = (nr == NR_recvfrom || nr == NR_recvmsg || nr == NR_read || nr == NR_readv) ? DNS_ANSWER : DNS_QUERY;
	e->len = len;
	e->flags = 0;
	e->pad = 0;
	e->sock_ino = 0;
	__u32 off = put_user_bytes(s, sizeof(*e), IT_PAYLOAD, buf, len, PAYLOAD_MAX);
	submit(s, off, in->skind);
	return 0;
}

static __noinline int do_syscall(struct g_scratch *s, struct g_inflight *in, __s64 ret)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	__u32 nr = in->nr;
	struct ev_syscall *e = (struct ev_syscall *)s->buf;
	fill_hdr(&e->h, EV_SYSCALL, nr, ret);
	for (int i = 0; i < 6; i++)
		e->args[i] = in->args[i];
	e->uid_before = in->uid;
	e->euid_before = in->euid;
	e->cap_eff_before = in->cap_eff;
	e->suid = BPF_CORE_READ(task, cred, suid.val);
	e->fsuid = BPF_CORE_READ(task, cred, fsuid.val);
	e->sgid = BPF_CORE_READ(task, cred, sgid.val);
	e->cap_eff = BPF_CORE_READ(task, cred, cap_effective.val);
	e->fsgid = BPF_CORE_READ(task, cred, fsgid.val);
	for (int i = 0; i < 8; i++)
		e->extra[i] = 0;
	__u32 off = sizeof(*e);
	switch (nr) {
	case NR_mount: {
		off = put_user_str(s, off, IT_STR_A, (void *)in->args[0]);
		__u32 boff = off;
		off = put_user_str(s, off, IT_STR_B, (void *)in->args[1]);
		off = put_user_str(s, off, IT_STR_C, (void *)in->args[2]);
		off = put_base(s, off, IT_BASE_B, task, AT_FDCWD, boff);
		off = put_root(s, off, task);
		break;
	}
	case NR_umount2: {
		__u32 aoff = off;
		off = put_user_str(s, off, IT_STR_A, (void *)in->args[0]);
		off = put_base(s, off, IT_BASE_A, task, AT_FDCWD, aoff);
		off = put_root(s, off, task);
		break;
	}
	case NR_delete_module:
	case NR_memfd_create:
	case NR_chroot:
		off = put_user_str(s, off, IT_STR_A, (void *)in->args[0]);
		break;
	case NR_pivot_root:
		off = put_user_str(s, off, IT_STR_A, (void *)in->args[0]);
		off = put_user_str(s, off, IT_STR_B, (void *)in->args[1]);
		break;
	case NR_init_module:
		off = put_user_str(s, off, IT_STR_B, (void *)in->args[2]);
		break;
	case NR_finit_module:
		off = put_file_path(s, off, IT_PATH, fd_file(task, in->args[0]));
		off = put_user_str(s, off, IT_STR_B, (void *)in->args[1]);
		break;
	case NR_setns:
		off = put_file_path(s, off, IT_PATH, fd_file(task, in->args[0]));
		break;
	case NR_bpf:
		if (in->args[0] == 0 || in->args[0] == 5) /* BPF_MAP_CREATE, BPF_PROG_LOAD: first u32 of attr */
			bpf_probe_read_user(&e->extra[0], sizeof(__u32), (void *)in->args[1]);
		break;
	case NR_capset:
		bpf_probe_read_user(&e->extra[0], sizeof(__u32), (void *)(in->args[0] + 4));
		bpf_probe_read_user(&e->extra[1], 6 * sizeof(__u32), (void *)in->args[1]);
		break;
	}
	submit(s, off, in->skind);
	return 0;
}

static __noinline int do_exec_failed(struct g_scratch *s, struct g_inflight *in, __s64 ret)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct ev_exec *e = (struct ev_exec *)s->buf;
	fill_hdr(&e->h, EV_EXEC, in->nr, ret);
	__u32 flags = XF_FAILED;
	int is_at = in->nr == NR_execveat;
	if (is_at)
		flags |= XF_EXECVEAT;
	e->sessionid = BPF_CORE_READ(task, sessionid);
	e->tty_major = 0;
	e->tty_minor = 0;
	e->exe_ino = 0;
	e->exe_dev = 0;
	e->exe_nlink = 0;
	e->exe_magic = 0;
	for (int i = 0; i < 3; i++) {
		struct file *f = fd_file(task, i);
		e->fd_mode[i] = f ? BPF_CORE_READ(f, f_inode, i_mode) : 0;
	}
	__u32 off = sizeof(*e);
	__u32 soff = off;
	off = put_user_str(s, off, IT_FILENAME, (void *)in->args[is_at ? 1 : 0]);
	off = put_base(s, off, IT_BASE_A, task, is_at ? (long)in->args[0] : AT_FDCWD, soff);
	/* argv from the user pointer array, NUL-separated like mm->arg_start */
	const char *const *argv = (void *)in->args[is_at ? 2 : 1];
	__u32 argc = 0;
	if (argv && off < EVBUF - 2048) {
		__u32 start = off;
		__u32 pos = item_start(s, off);
		for (int i = 0; i < 16; i++) {
			const char *p = 0;
			if (bpf_probe_read_user(&p, sizeof(p), &argv[i]) || !p)
				break;
			if (pos > start + 1700) {
				flags |= XF_ARGV_TRUNC;
				break;
			}
			long n = bpf_probe_read_user_str(at(s, pos), 128, p);
			if (n <= 0)
				break;
			pos += n;
			argc++;
		}
		off = item_end(s, start, IT_ARGV, pos - start - sizeof(struct g_item));
	}
	e->argc = argc;
	off = put_cwd(s, off, IT_CWD, task);
	off = put_root(s, off, task);
	e->flags = flags;
	submit(s, off, in->skind);
	return 0;
}

static __always_inline int leave(long ret)
{
	__u64 pt = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pt;
	struct g_inflight *inp = bpf_map_lookup_elem(&inflight_map, &tid);
	if (!inp)
		return 0;
	struct g_inflight in = *inp;
	bpf_map_delete_elem(&inflight_map, &tid);
	struct g_config *cfg = cfg_get();
	struct g_scratch *s = get_scratch();
	if (!cfg || !s)
		return 0;
	switch (in.nr) {
	case NR_open:
	case NR_openat:
	case NR_openat2:
	case NR_creat:
		return do_open(s, &in, ret, cfg->open_ro, cfg->ignore_prefixes);
	case NR_unlink:
	case NR_unlinkat:
	case NR_rmdir:
	case NR_rename:
	case NR_renameat:
	case NR_renameat2:
	case NR_chmod:
	case NR_fchmod:
	case NR_fchmodat:
	case NR_fchmodat2:
	case NR_chown:
	case NR_fchown:
	case NR_lchown:
	case NR_fchownat:
	case NR_link:
	case NR_linkat:
	case NR_symlink:
	case NR_symlinkat:
	case NR_mkdir:
	case NR_mkdirat:
		return do_file(s, &in, ret);
	case NR_connect:
	case NR_accept:
	case NR_accept4:
	case NR_bind:
	case NR_listen:
		return do_net(s, &in, ret);
	case NR_sendto:
	case NR_recvfrom:
	case NR_sendmsg:
	case NR_recvmsg:
	case NR_sendmmsg:
	case NR_read:
	case NR_write:
	case NR_readv:
	case NR_writev:
		return do_dns(s, &in, ret);
	case NR_clone:
	case NR_fork:
	case NR_vfork:
	case NR_clone3:
		if (ret < 0 && (cfg->flags & CFG_FORK)) {
			struct ev_fork *e = (struct ev_fork *)s->buf;
			fill_hdr(&e->h, EV_FORK, in.nr, ret);
			e->child_pid = 0;
			e->child_tid = 0;
			e->flags = (in.nr == NR_clone && (in.args[0] & 0x10000)) ? 1 : 0; /* CLONE_THREAD */
			e->pad = 0;
			submit(s, sizeof(*e), in.skind);
		}
		return 0;
	case NR_execve:
	case NR_execveat:
		if (ret < 0 && (cfg->flags & CFG_EXEC))
			return do_exec_failed(s, &in, ret);
		return 0;
	default:
		return do_syscall(s, &in, ret);
	}
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	/* untraced syscalls (nearly all) leave before the hash lookup */
	if (!wanted(regs->orig_ax, 1))
		return 0;
	return leave(ret);
}

SEC("tracepoint")
int tp_sys_exit(void *ctx)
{
	/* syscalls/sys_exit_<name>: (trace_entry, int nr, long ret) */
	struct {
		int nr;
		int pad;
		long ret;
	} r = {};
	bpf_probe_read_kernel(&r, sizeof(r), (void *)((unsigned long)ctx + 8));
	if (!wanted(r.nr, 0))
		return 0;
	return leave(r.ret);
}

/* ------------------------------------------------------- DNS queries from the transmit queue */

/* DNS queries by default: a port-53 message a client socket sends, read from the skb
 * as it is queued to a device. A tracing program costs each sent packet a few
 * nanoseconds, where the cgroup_skb programs cost every packet sent or received over
 * a hundred, so those serve only DNS asked for by name (queries and answers). Only
 * the skb's linear area is read: UDP datagrams are there; TCP puts the payload in
 * page fragments, so a TCP query is seen only when its payload is linear. */
static __noinline int dns_xmit_packet(struct sk_buff *skb, struct sock *ks)
{
	__u8 st = ks->__sk_common.skc_state;
	if (st == TCP_TIME_WAIT || st == TCP_NEW_SYN_RECV)
		return 0; /* not a full socket */
	unsigned char *head = skb->head;
	__u32 nh = skb->network_header;
	__u32 data_off = skb->data - head;
	__u32 linear_end = data_off + (skb->len - skb->data_len);
	__u8 ip[40];
	__u8 l4[16];
	__u8 raddr[16] = {};
	__u32 off4, family;
	__u8 proto;
	if (bpf_probe_read_kernel(ip, 20, head + nh))
		return 0;
	__u8 version = ip[0] >> 4;
	if (version == 4) {
		if (((ip[6] & 0x1f) << 8 | ip[7]) != 0)
			return 0;
		off4 = nh + (ip[0] & 0xf) * 4;
		proto = ip[9];
		family = AF_INET;
		__builtin_memcpy(raddr, &ip[16], 4);
	} else if (version == 6) {
		if (bpf_probe_read_kernel(ip, 40, head + nh))
			return 0;
		off4 = nh + 40; /* extension headers: not followed */
		proto = ip[6];
		family = AF_INET6;
		__builtin_memcpy(raddr, &ip[24], 16);
	} else {
		return 0;
	}
	__u32 payload;
	if (proto == IPPROTO_UDP) {
		if (bpf_probe_read_kernel(l4, 8, head + off4))
			return 0;
		payload = off4 + 8;
	} else if (proto == IPPROTO_TCP) {
		if (bpf_probe_read_kernel(l4, 16, head + off4))
			return 0;
		payload = off4 + (l4[12] >> 4) * 4;
	} else {
		return 0;
	}
	__u16 sport = (__u16)l4[0] << 8 | l4[1];
	__u16 dport = (__u16)l4[2] << 8 | l4[3];
	if (dport != 53 || linear_end <= payload || data_off + skb->len <= payload)
		return 0;
	__u32 plen = data_off + skb->len - payload;
	__u32 avail = linear_end - payload;
	struct g_scratch *s = get_scratch();
	if (!s)
		return 0;
	struct ev_dns *e = (struct ev_dns *)s->buf;
	struct ev_hdr *owner = bpf_sk_storage_get(&dns_socks, ks, 0, 0);
	if (!dns_fill(e, owner, ks, ks->sk_cgrp_data.cgroup->kn->id, family, proto, sport, dport,
		      raddr, DNS_QUERY, plen))
		return 0;
	/* 1..PAYLOAD_MAX bytes (avail > 0 here), in a form the verifier sees as nonzero */
	__u32 len = avail < plen ? avail : plen;
	len = len > PAYLOAD_MAX ? PAYLOAD_MAX : len;
	len = MASKED(len - 1, PAYLOAD_MAX) + 1;
	__u32 off = sizeof(*e);
	__u32 pos = item_start(s, off);
	if (bpf_probe_read_kernel(at(s, pos), len, head + payload))
		return 0;
	off = item_end(s, off, IT_PAYLOAD, len);
	submit(s, off, SK_DNS);
	return 0;
}

/* Every packet queued to a device passes here: the common case (a connected socket
 * whose peer is not port 53, a DNS server's socket, a forwarded packet with no
 * socket) leaves after three loads. */
SEC("tp_btf/net_dev_queue")
int BPF_PROG(dns_xmit, struct sk_buff *skb)
{
	struct sock *sk = skb->sk;
	if (!sk)
		return 0;
	if (sk->__sk_common.skc_num == 53)
		return 0;
	__u16 dport = sk->__sk_common.skc_dport;
	if (dport != 0 && dport != bpf_htons(53))
		return 0;
	__u16 family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	return dns_xmit_packet(skb, sk);
}
