// SPDX-License-Identifier: Apache-2.0
/* Tiny programs the feature probe loads one at a time to learn what this kernel allows. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} probe_rb SEC(".maps");

SEC("tp_btf/sched_process_exec")
int BPF_PROG(probe_tp_btf, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 *v = bpf_ringbuf_reserve(&probe_rb, sizeof(__u32), 0);
	if (v) {
		*v = old_pid;
		bpf_ringbuf_discard(v, 0);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int probe_tracepoint(void *ctx)
{
	return 0;
}

SEC("fentry/do_exit")
int BPF_PROG(probe_fentry, long code)
{
	return 0;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(probe_lsm, struct linux_binprm *bprm, int ret)
{
	return ret;
}

SEC("cgroup/connect4")
int probe_cgroup_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} probe_sk SEC(".maps");

/* what the DNS packet path needs: cgroup_skb with socket storage and packet reads */
SEC("cgroup_skb/egress")
int probe_cgroup_skb(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	__u8 b[4];
	if (!sk || bpf_skb_load_bytes(skb, 0, b, sizeof(b)))
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	__u64 *v = bpf_sk_storage_get(&probe_sk, sk, 0, 0);
	if (v)
		*v += b[0];
	return 1;
}
