"""The Debian CIS Level 1 checks Garrison ships, as data.

Each entry: key (stable name), cis12 / cis11 (the section in the CIS Debian
Linux 12 v1.1.0 / Debian Linux 11 v1.0.0 benchmarks, None when the benchmark
has no such control), family (frameworks.FAMILIES), severity, title,
description, rationale, remediation (commands), rule (condition, rules) and
optionally impact and per-version overrides (`d11`: a dict of fields that
replace the entry's in the Debian 11 policy).
"""

from rules import (SSHD, SSHD_D, esc, in_tree, fstab_option, fstab_option_if_present, host_module_not_loaded,
                   host_stat, host_sysctl, in_file_or_dropins, module_disabled, nowhere, package_present,
                   packages_absent, sshd_num, sshd_set, sysctl_set)

C = []


def add(**kw):
    C.append(kw)


# ---------------------------------------------------------------- 1.1 filesystems
MODULES = [
    ("cramfs", "1.1.1.1", "1.1.1.1", "a compressed read-only filesystem used on small embedded devices"),
    ("freevxfs", "1.1.1.2", "1.1.1.2", "the Veritas filesystem driver (HP-UX)"),
    ("hfs", "1.1.1.3", "1.1.1.4", "the Apple HFS filesystem driver"),
    ("hfsplus", "1.1.1.4", "1.1.1.5", "the Apple HFS+ filesystem driver"),
    ("jffs2", "1.1.1.5", "1.1.1.3", "the flash-memory journalling filesystem driver"),
    ("usb-storage", "1.1.1.9", "1.1.10", "the USB mass-storage driver"),
]
for mod, c12, c11, what in MODULES:
    add(key=f"module-{mod}", cis12=c12, cis11=c11, family="fs_modules", severity="LOW",
        title=f"The {mod} kernel module cannot be loaded",
        description=f"{mod} is {what}. A modprobe.d file must both blacklist it and redirect "
                    f"its loading to /bin/false.",
        rationale="Every filesystem or device driver the kernel will load on demand is attack surface: "
                  "a crafted image or device can reach kernel code nobody on this host needs.",
        remediation=f"printf 'install {mod} /bin/false\\nblacklist {mod}\\n' > /etc/modprobe.d/{mod}.conf && "
                    f"modprobe -r {mod} 2>/dev/null; true",
        rule=module_disabled(mod))
    add(key=f"module-{mod}-loaded", cis12=c12, cis11=c11, family="fs_modules", severity="LOW", host=True,
        title=f"The {mod} kernel module is not loaded (running kernel)",
        description=f"Reads the live /proc/modules: {mod} must not be loaded now.",
        rationale="A blacklist in /etc/modprobe.d only stops future loads; a module loaded before it "
                  "was written stays in the kernel until removed or reboot.",
        remediation=f"modprobe -r {mod}",
        rule=host_module_not_loaded(mod))

# /tmp must be its own filesystem with options (1.1.2.1.x)
add(key="tmp-separate", cis12="1.1.2.1.1", cis11="1.1.2.1", family="mounts", severity="LOW",
    title="/tmp is a separate filesystem",
    description="/etc/fstab mounts a filesystem (tmpfs or a partition) on /tmp, or a tmp.mount unit is enabled.",
    rationale="A separate /tmp lets it carry nodev, nosuid and noexec and keeps a user filling it from "
              "filling the root filesystem.",
    remediation="printf 'tmpfs /tmp tmpfs defaults,rw,nosuid,nodev,noexec,relatime,size=2G 0 0\\n' >> /etc/fstab && mount /tmp",
    rule=("any", [r"f:/etc/fstab -> r:^\s*[^#\s]\S*\s+/tmp\s",
                  "f:/etc/systemd/system/local-fs.target.wants/tmp.mount"]))
for opt, c12, c11, why in [
    ("nodev", "1.1.2.1.2", "1.1.2.2", "device files on /tmp would bypass the access control of /dev"),
    ("nosuid", "1.1.2.1.3", "1.1.2.4", "a setuid program dropped in /tmp would run with its owner's rights"),
    ("noexec", "1.1.2.1.4", "1.1.2.3", "programs written to /tmp by an attacker could be run from there"),
]:
    add(key=f"tmp-{opt}", cis12=c12, cis11=c11, family="mounts", severity="MEDIUM",
        title=f"/tmp is mounted {opt}",
        description=f"The /etc/fstab entry of /tmp carries the {opt} option.",
        rationale=f"Without {opt}, {why}.",
        remediation=f"Add {opt} to the options (4th field) of the /tmp line in /etc/fstab, then run: mount -o remount,{opt} /tmp",
        rule=fstab_option("/tmp", opt))
for opt, c12, c11 in [("nodev", "1.1.2.2.2", "1.1.8.1"), ("nosuid", "1.1.2.2.3", "1.1.8.3"),
                      ("noexec", "1.1.2.2.4", "1.1.8.2")]:
    add(key=f"devshm-{opt}", cis12=c12, cis11=c11, family="mounts", severity="MEDIUM",
        title=f"/dev/shm is mounted {opt}",
        description=f"/etc/fstab has a /dev/shm entry carrying {opt} (systemd mounts /dev/shm nosuid,nodev "
                    f"without one, but not noexec; the host check reads the live mount table).",
        rationale="/dev/shm is world-writable shared memory; it must not hold device files, setuid programs or "
                  "executables.",
        remediation=f"printf 'tmpfs /dev/shm tmpfs defaults,rw,nosuid,nodev,noexec,relatime 0 0\\n' >> /etc/fstab && mount -o remount /dev/shm",
        rule=fstab_option("/dev/shm", opt))
add(key="mounts-live", cis12="1.1.2.1.2", cis11="1.1.2.2", family="mounts", severity="MEDIUM", host=True,
    extra_cis12=["1.1.2.1.3", "1.1.2.1.4", "1.1.2.2.2", "1.1.2.2.3", "1.1.2.2.4"],
    extra_cis11=["1.1.2.3", "1.1.2.4", "1.1.8.1", "1.1.8.2", "1.1.8.3"],
    title="/tmp and /dev/shm are mounted nodev,nosuid,noexec (running system)",
    description="Reads the live mount table (/proc/self/mounts).",
    rationale="fstab only says what the next boot mounts; this is what is mounted now.",
    remediation="mount -o remount,nodev,nosuid,noexec /tmp && mount -o remount,nodev,nosuid,noexec /dev/shm",
    rule=("all", [r"f:/proc/self/mounts -> r:^\S+\s/tmp\s\S+\s\S*\bnodev\b && r:\bnosuid\b && r:\bnoexec\b",
                  r"f:/proc/self/mounts -> r:^\S+\s/dev/shm\s\S+\s\S*\bnodev\b && r:\bnosuid\b && r:\bnoexec\b"]))
for mp, opts, sec12, sec11 in [
    ("/home", ["nodev", "nosuid"], "1.1.2.3", "1.1.7"),
    ("/var", ["nodev", "nosuid"], "1.1.2.4", "1.1.3"),
    ("/var/tmp", ["nodev", "nosuid", "noexec"], "1.1.2.5", "1.1.4"),
    ("/var/log", ["nodev", "nosuid", "noexec"], "1.1.2.6", "1.1.5"),
    ("/var/log/audit", ["nodev", "nosuid", "noexec"], "1.1.2.7", "1.1.6"),
]:
    for i, opt in enumerate(opts):
        slug = mp.strip("/").replace("/", "-")
        add(key=f"{slug}-{opt}", cis12=f"{sec12}.{i + 2}", cis11=f"{sec11}.{i + 2}", family="mounts",
            severity="LOW",
            title=f"{mp}, when a separate filesystem, is mounted {opt}",
            description=f"Every /etc/fstab entry for {mp} carries {opt}; passes when {mp} has no entry.",
            rationale=f"{opt} on {mp} removes a way to plant device files, setuid programs or executables "
                      f"where users or services can write.",
            remediation=f"Add {opt} to the options (4th field) of the {mp} line in /etc/fstab, then run: mount -o remount,{opt} {mp}",
            rule=fstab_option_if_present(mp, opt))

# ---------------------------------------------------------------- 1.2 packages
add(key="apt-keyring", cis12="1.2.1.1", cis11="1.2.2", family="packages", severity="HIGH",
    title="APT has the Debian archive signing keys",
    description="The debian-archive-keyring keyring, or keys in /etc/apt/trusted.gpg.d, are present.",
    rationale="Without signing keys APT cannot verify that packages come from the archive they claim.",
    remediation="apt-get install --reinstall debian-archive-keyring",
    rule=("any", ["f:/usr/share/keyrings/debian-archive-keyring.gpg",
                  r"d:/etc/apt/trusted.gpg.d -> r:\.(gpg|asc)$"]))
add(key="apt-no-trusted-yes", cis12="1.2.1.1", cis11="1.2.2", family="packages", severity="HIGH",
    title="No APT source disables signature checking",
    description="No line in sources.list or sources.list.d sets [trusted=yes] / Trusted: yes.",
    rationale="A source marked trusted is installed from without any signature check: whoever controls the "
              "network path controls the packages.",
    remediation="Remove trusted=yes / 'Trusted: yes' from /etc/apt/sources.list and /etc/apt/sources.list.d/*, "
                "import the repository's key into /etc/apt/keyrings and reference it with signed-by=.",
    rule=("all", [r"not d:/etc/apt -> r:^sources\.list$|\.(list|sources)$ -> r:(?i)trusted\s*[=:]\s*yes"]))
add(key="apt-no-unauthenticated", cis12="1.2.1.1", cis11="1.2.2", family="packages", severity="HIGH",
    title="APT does not allow unauthenticated or insecure repositories",
    description="No apt.conf.d file sets APT::Get::AllowUnauthenticated or Acquire::AllowInsecureRepositories to true.",
    rationale="These options let unsigned or downgraded repositories feed packages to the host.",
    remediation="grep -rlE 'AllowUnauthenticated|AllowInsecureRepositories|AllowDowngradeToInsecureRepositories' /etc/apt/apt.conf.d | xargs -r sed -i -E '/AllowUnauthenticated|AllowInsecureRepositories|AllowDowngradeToInsecureRepositories/d'",
    rule=("all", [r'not d:/etc/apt/apt.conf.d -> r:. -> r:^\s*[^/#]*(AllowUnauthenticated|AllowInsecureRepositories|AllowDowngradeToInsecureRepositories)\s+"?(true|yes|1)']))
add(key="apt-security-source", cis12="1.2.1.2", cis11="1.2.1", family="packages", severity="HIGH",
    title="The Debian security archive is an APT source",
    description="sources.list or a sources.list.d file names the security archive (debian-security / security.debian.org).",
    rationale="Security fixes for Debian stable are published in the security archive only; without it the host "
              "never receives them.",
    remediation="printf 'deb http://security.debian.org/debian-security CODENAME-security main\\n' >> /etc/apt/sources.list && apt-get update  # CODENAME: bookworm, bullseye",
    rule=in_tree("/etc/apt", r"r:^sources\.list$|\.(list|sources)$",
                 r"r:^\s*(deb\s|URIs:).*(debian-security|security\.debian\.org)|^\s*Suites:.*-security"))
add(key="apt-unattended-upgrades", cis12="1.2.2.1", cis11="1.9", family="packages", severity="MEDIUM",
    title="Security updates are installed automatically",
    description="unattended-upgrades is installed and APT::Periodic::Unattended-Upgrade is \"1\".",
    rationale="Patches that wait for a person to install them leave known vulnerabilities open for days or weeks.",
    remediation="apt-get install -y unattended-upgrades && printf 'APT::Periodic::Update-Package-Lists \"1\";\\nAPT::Periodic::Unattended-Upgrade \"1\";\\n' > /etc/apt/apt.conf.d/20auto-upgrades",
    rule=("all", [r"d:/var/lib/dpkg/info -> r:^unattended-upgrades\.list$",
                  r'd:/etc/apt/apt.conf.d -> r:. -> r:^\s*APT::Periodic::Unattended-Upgrade\s+"1"']))

# ---------------------------------------------------------------- 1.3 AppArmor
add(key="apparmor-installed", cis12="1.3.1.1", cis11="1.6.1.1", family="mac", severity="MEDIUM",
    title="AppArmor is installed",
    description="The apparmor package (parser and profiles loader) is installed.",
    rationale="Mandatory access control confines services beyond Unix permissions; it needs its userspace.",
    remediation="apt-get install -y apparmor apparmor-utils",
    rule=package_present("apparmor"))
add(key="apparmor-bootloader", cis12="1.3.1.2", cis11="1.6.1.2", family="mac", severity="MEDIUM",
    title="AppArmor is enabled on the kernel command line",
    description="GRUB_CMDLINE_LINUX in /etc/default/grub has apparmor=1 and security=apparmor "
                "(not applicable without GRUB).",
    rationale="The kernel parameters make sure AppArmor is the active LSM from boot.",
    remediation="sed -i -E 's/^(GRUB_CMDLINE_LINUX=\")/\\1apparmor=1 security=apparmor /' /etc/default/grub && update-grub",
    rule=("all", [r"f:/etc/default/grub -> r:^\s*GRUB_CMDLINE_LINUX=.*\bapparmor=1\b",
                  r"f:/etc/default/grub -> r:^\s*GRUB_CMDLINE_LINUX=.*\bsecurity=apparmor\b"]))
add(key="apparmor-live", cis12="1.3.1.3", cis11="1.6.1.3", family="mac", severity="MEDIUM", host=True,
    title="AppArmor is enabled in the running kernel",
    description="Reads /sys/module/apparmor/parameters/enabled.",
    rationale="Profiles only confine anything when the LSM is active.",
    remediation="Add apparmor=1 security=apparmor to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub and reboot.",
    rule=("all", [r"f:/sys/module/apparmor/parameters/enabled -> r:^Y$"]))

# ---------------------------------------------------------------- 1.4 bootloader
add(key="grub-cfg-perms", cis12="1.4.2", cis11="1.4.2", family="boot", severity="MEDIUM", host=True,
    title="/boot/grub/grub.cfg is owned by root and mode 0600",
    description="find on /boot/grub/grub.cfg (needs a command: host only; passes when the file is absent).",
    rationale="The boot configuration can hold a password hash and decides the kernel's parameters.",
    remediation="chown root:root /boot/grub/grub.cfg && chmod u-x,go-rwx /boot/grub/grub.cfg",
    rule=host_stat("/boot/grub/grub.cfg", "600"))

# ---------------------------------------------------------------- 1.5 process hardening
for key, val, c12, c11, title, why, sev in [
    ("kernel.randomize_va_space", "2", "1.5.1", "1.5.1", "Address space layout randomization is full",
     "ASLR makes memory-corruption exploits depend on guessing addresses.", "MEDIUM"),
    ("kernel.yama.ptrace_scope", "1", "1.5.2", None, "ptrace is restricted to descendants",
     "An unrestricted ptrace lets any process of a user read and alter that user's other processes' memory.", "MEDIUM"),
    ("fs.suid_dumpable", "0", "1.5.3", "1.5.4", "Setuid programs do not dump core",
     "A core dump of a privileged process can contain secrets readable by its invoker.", "MEDIUM"),
]:
    slug = key.split(".")[-1]
    add(key=f"sysctl-{slug}", cis12=c12, cis11=c11, family="process", severity=sev,
        title=f"{title} ({key} = {val} is configured)",
        description=f"/etc/sysctl.conf or a /etc/sysctl.d/*.conf file sets {key} = {val}.",
        rationale=why,
        remediation=f"printf '{key} = {val}\\n' > /etc/sysctl.d/60-{slug}.conf && sysctl -w {key}={val}",
        rule=sysctl_set(key, val))
    add(key=f"sysctl-{slug}-live", cis12=c12, cis11=c11, family="process", severity=sev, host=True,
        title=f"{title} (running kernel: {key} = {val})",
        description=f"Reads /proc/sys for {key}.",
        rationale=why,
        remediation=f"sysctl -w {key}={val}",
        rule=host_sysctl([(key, val)]))
add(key="core-hard-limit", cis12="1.5.3", cis11="1.5.4", family="process", severity="MEDIUM",
    title="Core dumps are limited to zero for all users",
    description="/etc/security/limits.conf or limits.d sets '* hard core 0'.",
    rationale="Core files of any process can hold passwords, keys and session data.",
    remediation="printf '* hard core 0\\n' > /etc/security/limits.d/60-core.conf",
    rule=in_file_or_dropins("/etc/security/limits.conf", "/etc/security/limits.d",
                            r"r:^\s*\*\s+hard\s+core\s+0\s*$"))
add(key="prelink-absent", cis12="1.5.4", cis11="1.5.2", family="process", severity="LOW",
    title="prelink is not installed",
    description="The prelink package is absent.",
    rationale="prelink rewrites binaries, which defeats integrity checking and weakens ASLR.",
    remediation="prelink -ua; apt-get purge -y prelink",
    rule=packages_absent("prelink"))
add(key="apport-disabled", cis12="1.5.5", cis11="1.5.3", family="process", severity="LOW",
    title="Automatic error reporting (apport) is not enabled",
    description="apport is not installed, or /etc/default/apport sets enabled=0.",
    rationale="Crash reports can carry memory contents off the host.",
    remediation="apt-get purge -y apport",
    rule=("any", [r"not d:/var/lib/dpkg/info -> r:^apport\.list$", r"f:/etc/default/apport -> r:^\s*enabled\s*=\s*0"]))

# ---------------------------------------------------------------- 1.6 banners
for f, c12, c11, pc12, pc11 in [("/etc/motd", "1.6.1", "1.7.1", "1.6.4", "1.7.4"),
                                ("/etc/issue", "1.6.2", "1.7.2", "1.6.5", "1.7.5"),
                                ("/etc/issue.net", "1.6.3", "1.7.3", "1.6.6", "1.7.6")]:
    slug = f.split("/")[-1].replace(".", "-")
    add(key=f"banner-{slug}", cis12=c12, cis11=c11, family="banners", severity="LOW",
        title=f"{f} reveals no system information",
        description=f"{f} has no \\m, \\r, \\s or \\v escape and does not name the OS (not applicable when absent).",
        rationale="Banners that name the OS and kernel tell an attacker which exploits to try.",
        remediation=f"printf 'Authorized use only. All activity may be monitored and reported.\\n' > {f}",
        rule=("all", [f"not f:{f} -> r:(?i)\\\\[mrsv]|debian|gnu/linux"]))
    add(key=f"banner-{slug}-perms", cis12=pc12, cis11=pc11, family="banners", severity="LOW", host=True,
        title=f"{f} is owned by root and not writable by others",
        description=f"find on {f} (mode 0644 or stricter; needs a command: host only; passes when the file is absent).",
        rationale="A banner others can write can be used to mislead users.",
        remediation=f"chown root:root {f} && chmod u-x,go-wx {f}",
        rule=host_stat(f, "644"))

# ---------------------------------------------------------------- 2.1 server services
SERVICES = [
    ("autofs", ["autofs"], "2.1.1", "1.1.9", "the automounter"),
    ("avahi", ["avahi-daemon"], "2.1.2", "2.2.2", "the Avahi mDNS/DNS-SD daemon"),
    ("dhcp-server", ["isc-dhcp-server", "kea-dhcp4-server"], "2.1.3", "2.2.4", "a DHCP server"),
    ("dns-server", ["bind9"], "2.1.4", "2.2.7", "a DNS server (bind9)"),
    ("dnsmasq", ["dnsmasq"], "2.1.5", None, "dnsmasq"),
    ("ftp-server", ["vsftpd", "proftpd-basic", "pure-ftpd"], "2.1.6", "2.2.8", "an FTP server"),
    ("ldap-server", ["slapd"], "2.1.7", "2.2.5", "an LDAP server (slapd)"),
    ("mail-access", ["dovecot-imapd", "dovecot-pop3d"], "2.1.8", "2.2.10", "an IMAP/POP3 server"),
    ("nfs-server", ["nfs-kernel-server"], "2.1.9", "2.2.6", "an NFS server"),
    ("nis-server", ["ypserv"], "2.1.10", "2.2.14", "a NIS server"),
    ("print-server", ["cups", "cups-daemon"], "2.1.11", "2.2.3", "the CUPS print server"),
    ("rpcbind", ["rpcbind"], "2.1.12", "2.3.6", "rpcbind"),
    ("rsync-server", ["rsync"], "2.1.13", "2.2.16", "rsync (its daemon mode)"),
    ("samba", ["samba"], "2.1.14", "2.2.11", "the Samba file server"),
    ("snmp", ["snmpd"], "2.1.15", "2.2.13", "an SNMP agent"),
    ("tftp", ["tftpd-hpa", "atftpd"], "2.1.16", None, "a TFTP server"),
    ("web-proxy", ["squid"], "2.1.17", "2.2.12", "a web proxy (squid)"),
    ("web-server", ["apache2", "nginx", "nginx-common", "lighttpd"], "2.1.18", "2.2.9", "a web server"),
    ("xinetd", ["xinetd", "openbsd-inetd", "inetutils-inetd"], "2.1.19", None, "an inetd super-server"),
]
for slug, pkgs, c12, c11, what in SERVICES:
    add(key=f"service-{slug}", cis12=c12, cis11=c11, family="services", severity="MEDIUM",
        title=f"{what[0].upper() + what[1:]} is not installed",
        description=f"None of these packages is installed: {', '.join(pkgs)}.",
        rationale=f"A host that does not need {what} should not run it: each listening service is attack surface.",
        remediation=f"apt-get purge -y {' '.join(pkgs)}",
        impact="Removes the service; keep it only if this host's role needs it, and document that.",
        rule=packages_absent(*pkgs))
add(key="service-telnet-server", cis12=None, cis11=None, family="services", severity="HIGH",
    title="A telnet server is not installed",
    description="None of these packages is installed: telnetd, inetutils-telnetd, telnetd-ssl. (No CIS section of its own: "
                "the benchmarks cover it through the inetd control; OpenSCAP's profiles check it directly.)",
    rationale="telnet sends passwords and sessions in clear text.",
    remediation="apt-get purge -y telnetd inetutils-telnetd telnetd-ssl",
    rule=packages_absent("telnetd", "inetutils-telnetd", "telnetd-ssl"))
add(key="mta-local-only-exim", cis12="2.1.21", cis11="2.2.15", family="services", severity="MEDIUM",
    title="Exim listens on the loopback interface only",
    description="dc_local_interfaces in /etc/exim4/update-exim4.conf.conf lists only 127.0.0.1 and ::1 "
                "(not applicable without exim4).",
    rationale="A mail transfer agent listening on the network can be abused as a relay or attacked.",
    remediation="sed -i \"s/^dc_local_interfaces=.*/dc_local_interfaces='127.0.0.1 ; ::1'/\" /etc/exim4/update-exim4.conf.conf && update-exim4.conf && systemctl restart exim4",
    rule=("all", [r"f:/etc/exim4/update-exim4.conf.conf -> r:^dc_local_interfaces='(127\.0\.0\.1|::1)(\s*;\s*(127\.0\.0\.1|::1))*'$"]))
add(key="mta-local-only-postfix", cis12="2.1.21", cis11="2.2.15", family="services", severity="MEDIUM",
    title="Postfix listens on the loopback interface only",
    description="inet_interfaces in /etc/postfix/main.cf is loopback-only (not applicable without postfix).",
    rationale="A mail transfer agent listening on the network can be abused as a relay or attacked.",
    remediation="postconf -e 'inet_interfaces = loopback-only' && systemctl restart postfix",
    rule=("all", [r"f:/etc/postfix/main.cf -> r:^\s*inet_interfaces\s*=\s*(loopback-only|localhost|127\.0\.0\.1)\s*$"]))

# ---------------------------------------------------------------- 2.2 clients
CLIENTS = [
    ("nis", ["nis"], "2.2.1", "2.3.1", "The NIS client"),
    ("rsh", ["rsh-client", "rsh-redone-client"], "2.2.2", "2.3.2", "The rsh client"),
    ("talk", ["talk", "ntalk"], "2.2.3", "2.3.3", "The talk client"),
    ("telnet", ["telnet", "inetutils-telnet"], "2.2.4", "2.3.4", "The telnet client"),
    ("ldap", ["ldap-utils"], "2.2.5", "2.3.5", "The LDAP client utilities"),
    ("ftp", ["ftp", "tnftp"], "2.2.6", None, "The FTP client"),
]
for slug, pkgs, c12, c11, what in CLIENTS:
    add(key=f"client-{slug}", cis12=c12, cis11=c11, family="clients", severity="LOW",
        title=f"{what} is not installed",
        description=f"None of these packages is installed: {', '.join(pkgs)}.",
        rationale="Clients of clear-text or obsolete protocols invite credentials sent in the clear.",
        remediation=f"apt-get purge -y {' '.join(pkgs)}",
        rule=packages_absent(*pkgs))

# ---------------------------------------------------------------- 2.3 time
add(key="time-sync", cis12="2.3.1.1", cis11="2.1.1.1", family="time", severity="LOW",
    title="A time synchronization daemon is installed",
    description="systemd-timesyncd, chrony or ntpsec/ntp is installed.",
    rationale="Logs from several hosts can only be correlated when their clocks agree.",
    remediation="apt-get install -y systemd-timesyncd",
    rule=package_present("systemd-timesyncd", "chrony", "ntpsec", "ntp"))

# ---------------------------------------------------------------- 2.4 cron
add(key="cron-enabled", cis12="2.4.1.1", cis11="5.1.1", family="cron", severity="LOW",
    title="The cron daemon is enabled",
    description="cron.service is installed and wanted by multi-user.target (a symlink under /etc/systemd/system); "
                "fails without cron, as CIS's `systemctl is-enabled cron` would.",
    rationale="Scheduled maintenance (log rotation, integrity checks) depends on cron running.",
    remediation="systemctl --now enable cron",
    rule=("all", ["f:/lib/systemd/system/cron.service",
                  "f:/etc/systemd/system/multi-user.target.wants/cron.service"]))
for path, mode, c12, c11 in [("/etc/crontab", "600", "2.4.1.2", "5.1.2"),
                             ("/etc/cron.hourly", "700", "2.4.1.3", "5.1.3"),
                             ("/etc/cron.daily", "700", "2.4.1.4", "5.1.4"),
                             ("/etc/cron.weekly", "700", "2.4.1.5", "5.1.5"),
                             ("/etc/cron.monthly", "700", "2.4.1.6", "5.1.6"),
                             ("/etc/cron.d", "700", "2.4.1.7", "5.1.7")]:
    slug = path.split("/")[-1].replace(".", "-")
    add(key=f"perms-{slug}", cis12=c12, cis11=c11, family="cron", severity="MEDIUM", host=True,
        title=f"{path} is owned by root and mode 0{mode}",
        description=f"find on {path} (needs a command: host only; passes when the path is absent).",
        rationale="Whoever can write or read the system crontabs can run commands as root or learn what runs when.",
        remediation=f"chown root:root {path} && chmod og-rwx {path}",
        rule=host_stat(path, mode))
add(key="cron-allow", cis12="2.4.1.8", cis11="5.1.8", family="cron", severity="LOW",
    title="crontab is restricted to authorized users",
    description="/etc/cron.allow exists.",
    rationale="With an allow list only named users may schedule jobs.",
    remediation="touch /etc/cron.allow && chown root:crontab /etc/cron.allow && chmod 640 /etc/cron.allow",
    rule=("all", ["f:/etc/cron.allow"]))
add(key="at-allow", cis12="2.4.2.1", cis11="5.1.9", family="cron", severity="LOW",
    title="at is restricted to authorized users",
    description="at is not installed, or /etc/at.allow exists.",
    rationale="With an allow list only named users may schedule jobs.",
    remediation="touch /etc/at.allow && chown root:daemon /etc/at.allow && chmod 640 /etc/at.allow",
    rule=("any", [r"not d:/var/lib/dpkg/info -> r:^at\.list$", "f:/etc/at.allow"]))

# ---------------------------------------------------------------- 3 network
add(key="bluetooth-absent", cis12="3.1.3", cis11=None, family="services", severity="LOW",
    title="Bluetooth services are not installed",
    description="The bluez package is absent.",
    rationale="Bluetooth is a radio attack surface servers do not need.",
    remediation="apt-get purge -y bluez",
    rule=packages_absent("bluez"))
SYSCTLS = [
    ("3.3.1", "3.2.2", "IP forwarding is disabled", [("net.ipv4.ip_forward", "0"), ("net.ipv6.conf.all.forwarding", "0")],
     "A host that forwards packets acts as a router and can bridge networks meant to be separate."),
    ("3.3.2", "3.2.1", "Packet redirect sending is disabled",
     [("net.ipv4.conf.all.send_redirects", "0"), ("net.ipv4.conf.default.send_redirects", "0")],
     "Only routers send ICMP redirects; a host that does can be used to reroute traffic."),
    ("3.3.3", "3.3.6", "Bogus ICMP responses are ignored", [("net.ipv4.icmp_ignore_bogus_error_responses", "1")],
     "Bogus error responses otherwise fill the logs and hide real events."),
    ("3.3.4", "3.3.5", "Broadcast ICMP requests are ignored", [("net.ipv4.icmp_echo_ignore_broadcasts", "1")],
     "Answering broadcast pings makes the host a Smurf amplifier."),
    ("3.3.5", "3.3.2", "ICMP redirects are not accepted",
     [("net.ipv4.conf.all.accept_redirects", "0"), ("net.ipv4.conf.default.accept_redirects", "0"),
      ("net.ipv6.conf.all.accept_redirects", "0"), ("net.ipv6.conf.default.accept_redirects", "0")],
     "Accepted redirects let an attacker on the link change the host's routes."),
    ("3.3.6", "3.3.3", "Secure ICMP redirects are not accepted",
     [("net.ipv4.conf.all.secure_redirects", "0"), ("net.ipv4.conf.default.secure_redirects", "0")],
     "Redirects from gateways are still redirects: a compromised gateway can reroute traffic."),
    ("3.3.7", "3.3.7", "Reverse path filtering is enabled",
     [("net.ipv4.conf.all.rp_filter", "1"), ("net.ipv4.conf.default.rp_filter", "1")],
     "Reverse path filtering drops packets with spoofed source addresses."),
    ("3.3.8", "3.3.1", "Source routed packets are not accepted",
     [("net.ipv4.conf.all.accept_source_route", "0"), ("net.ipv4.conf.default.accept_source_route", "0"),
      ("net.ipv6.conf.all.accept_source_route", "0"), ("net.ipv6.conf.default.accept_source_route", "0")],
     "Source routing lets a sender choose the path and reach networks it should not."),
    ("3.3.9", "3.3.4", "Suspicious packets are logged",
     [("net.ipv4.conf.all.log_martians", "1"), ("net.ipv4.conf.default.log_martians", "1")],
     "Logging martian packets reveals spoofing attempts."),
    ("3.3.10", "3.3.8", "TCP SYN cookies are enabled", [("net.ipv4.tcp_syncookies", "1")],
     "SYN cookies keep the host answering during a SYN flood."),
    ("3.3.11", "3.3.9", "IPv6 router advertisements are not accepted",
     [("net.ipv6.conf.all.accept_ra", "0"), ("net.ipv6.conf.default.accept_ra", "0")],
     "Accepted router advertisements let anyone on the link become the host's default router."),
]
for c12, c11, title, pairs, why in SYSCTLS:
    for key, val in pairs:
        slug = key.replace("net.", "").replace(".conf.", ".").replace(".", "-").replace("_", "-")
        add(key=f"sysctl-{slug}", cis12=c12, cis11=c11, family="network", severity="MEDIUM",
            title=f"{title}: {key} = {val} is configured",
            description=f"/etc/sysctl.conf or a /etc/sysctl.d/*.conf file sets {key} = {val}.",
            rationale=why,
            remediation=f"printf '{key} = {val}\\n' >> /etc/sysctl.d/60-netipv{'6' if 'ipv6' in key else '4'}.conf && sysctl -w {key}={val} && sysctl -w net.ipv{'6' if 'ipv6' in key else '4'}.route.flush=1",
            rule=sysctl_set(key, val))
    add(key=f"sysctl-live-{c12}", cis12=c12, cis11=c11, family="network", severity="MEDIUM", host=True,
        title=f"{title} (running kernel)",
        description="Reads /proc/sys: " + ", ".join(f"{k} = {v}" for k, v in pairs) + ".",
        rationale=why,
        remediation=" && ".join(f"sysctl -w {k}={v}" for k, v in pairs),
        rule=host_sysctl(pairs))

add(key="firewall-installed", cis12="4.1", cis11="3.5.1.1", family="firewall", severity="MEDIUM",
    title="A host firewall utility is installed",
    description="nftables, ufw or iptables is installed.",
    rationale="A host firewall limits which services are reachable even when one is started by mistake.",
    remediation="apt-get install -y nftables && systemctl enable --now nftables",
    rule=package_present("nftables", "ufw", "iptables"))

# ---------------------------------------------------------------- 5.1 SSH
add(key="perms-sshd-config", cis12="5.1.1", cis11="5.2.1", family="file_perms", severity="MEDIUM", host=True,
    title="/etc/ssh/sshd_config is owned by root and mode 0600",
    description="find on /etc/ssh/sshd_config (needs a command: host only; passes when the file is absent).",
    rationale="The SSH server configuration decides who can log in and how.",
    remediation="chown root:root /etc/ssh/sshd_config && chmod u-x,og-rwx /etc/ssh/sshd_config",
    rule=host_stat("/etc/ssh/sshd_config", "600"))
add(key="perms-ssh-private-keys", cis12="5.1.2", cis11="5.2.2", family="secrets_perms", severity="HIGH", host=True,
    title="SSH private host keys are readable by root only",
    description="No /etc/ssh/ssh_host_*_key file has group or other permissions (find; host only).",
    rationale="A readable host private key lets anyone impersonate this server.",
    remediation="chmod u-x,go-rwx /etc/ssh/ssh_host_*_key && chown root:root /etc/ssh/ssh_host_*_key",
    rule=("all", [r"not c:find /etc/ssh -xdev -type f -name ssh_host_*_key -perm /077 -> r:^/"]))
add(key="perms-ssh-public-keys", cis12="5.1.3", cis11="5.2.3", family="file_perms", severity="LOW", host=True,
    title="SSH public host keys are not writable by others",
    description="No /etc/ssh/ssh_host_*_key.pub file is group- or other-writable or executable (find; host only).",
    rationale="A replaced public key breaks host verification for clients.",
    remediation="chmod u-x,go-wx /etc/ssh/ssh_host_*_key.pub && chown root:root /etc/ssh/ssh_host_*_key.pub",
    rule=("all", [r"not c:find /etc/ssh -xdev -type f -name ssh_host_*_key.pub -perm /133 -> r:^/"]))

SSH_SETTINGS = [
    # key, cis12, cis11, family, severity, title, rule, remediation line, why
    ("ssh-access", "5.1.4", "5.2.4", "ssh_auth", "MEDIUM", "SSH access is limited to named users or groups",
     sshd_set("(AllowUsers|AllowGroups|DenyUsers|DenyGroups)", r"\S+.*"), "AllowGroups sshusers",
     "Limiting who may log in over SSH keeps service and forgotten accounts out."),
    ("ssh-banner", "5.1.5", "5.2.17", "banners", "LOW", "The SSH server shows a warning banner",
     sshd_set("Banner", r"/\S+"), "Banner /etc/issue.net",
     "A warning banner states that use is monitored, which some jurisdictions need for prosecution."),
    ("ssh-ciphers", "5.1.6", "5.2.13", "ssh_crypto", "HIGH", "SSH uses strong ciphers only",
     ("any", [r"f:/etc/ssh/sshd_config -> r:^\s*(?i:Ciphers)\s+\S && !r:(?i)-cbc|arcfour|blowfish|cast128|rijndael|3des",
              r"d:/etc/ssh/sshd_config.d -> r:\.conf$ -> r:^\s*(?i:Ciphers)\s+\S && !r:(?i)-cbc|arcfour|blowfish|cast128|rijndael|3des"]),
     "Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr",
     "CBC-mode and legacy ciphers have practical attacks against SSH sessions."),
    ("ssh-client-alive-interval", "5.1.7", "5.2.22", "ssh_session", "MEDIUM", "SSH drops idle sessions (ClientAliveInterval 1..900)",
     sshd_num("ClientAliveInterval", "<=", 900, r"([1-9]\d*)"), "ClientAliveInterval 300",
     "Unattended sessions left open can be hijacked from an unlocked terminal."),
    ("ssh-client-alive-count", "5.1.7", "5.2.22", "ssh_session", "MEDIUM", "SSH drops unresponsive sessions (ClientAliveCountMax 1..3)",
     sshd_num("ClientAliveCountMax", "<=", 3, r"([1-9]\d*)"), "ClientAliveCountMax 3",
     "Dead connections should be closed promptly."),
    ("ssh-disable-forwarding", "5.1.8", None, "ssh_forwarding", "MEDIUM", "SSH forwarding is disabled (DisableForwarding yes)",
     sshd_set("DisableForwarding", "yes"), "DisableForwarding yes",
     "Forwarded ports, agents and X11 let an SSH session tunnel past network controls."),
    ("ssh-hostbased", "5.1.10", "5.2.8", "ssh_auth", "MEDIUM", "SSH host-based authentication is disabled",
     sshd_set("HostbasedAuthentication", "no"), "HostbasedAuthentication no",
     "Host-based trust lets a compromise of one host open every host that trusts it."),
    ("ssh-ignore-rhosts", "5.1.11", "5.2.11", "ssh_auth", "MEDIUM", "SSH ignores .rhosts files (IgnoreRhosts yes)",
     sshd_set("IgnoreRhosts", "yes"), "IgnoreRhosts yes",
     ".rhosts files grant password-less access chosen by users."),
    ("ssh-kex", "5.1.12", "5.2.15", "ssh_crypto", "HIGH", "SSH uses strong key exchange algorithms only",
     ("any", [r"f:/etc/ssh/sshd_config -> r:^\s*(?i:KexAlgorithms)\s+\S && !r:(?i)diffie-hellman-group1-sha1|diffie-hellman-group14-sha1|diffie-hellman-group-exchange-sha1",
              r"d:/etc/ssh/sshd_config.d -> r:\.conf$ -> r:^\s*(?i:KexAlgorithms)\s+\S && !r:(?i)diffie-hellman-group1-sha1|diffie-hellman-group14-sha1|diffie-hellman-group-exchange-sha1"]),
     "KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp521,ecdh-sha2-nistp384,ecdh-sha2-nistp256,diffie-hellman-group-exchange-sha256",
     "SHA-1 based key exchanges are weak against well-funded attackers."),
    ("ssh-login-grace", "5.1.13", "5.2.21", "ssh_session", "LOW", "SSH login grace time is at most 60 seconds",
     sshd_num("LoginGraceTime", "<=", 60, r"([1-9]\d*)s?"), "LoginGraceTime 60",
     "Long grace times let unauthenticated connections pile up (a denial of service)."),
    ("ssh-loglevel", "5.1.14", "5.2.5", "logging", "LOW", "SSH logs at INFO or VERBOSE",
     sshd_set("LogLevel", "(?i:INFO|VERBOSE)"), "LogLevel VERBOSE",
     "Login activity must be recorded to investigate incidents."),
    ("ssh-macs", "5.1.15", "5.2.14", "ssh_crypto", "HIGH", "SSH uses strong MACs only",
     ("any", [r"f:/etc/ssh/sshd_config -> r:^\s*(?i:MACs)\s+\S && !r:(?i)hmac-md5|hmac-sha1|umac-64|hmac-ripemd160",
              r"d:/etc/ssh/sshd_config.d -> r:\.conf$ -> r:^\s*(?i:MACs)\s+\S && !r:(?i)hmac-md5|hmac-sha1|umac-64|hmac-ripemd160"]),
     "MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512,hmac-sha2-256",
     "MD5, SHA-1 and 64-bit MACs are too weak to protect session integrity."),
    ("ssh-max-auth-tries", "5.1.16", "5.2.18", "ssh_auth", "MEDIUM", "SSH allows at most 4 authentication attempts",
     sshd_num("MaxAuthTries", "<=", 4), "MaxAuthTries 4",
     "Fewer attempts per connection slow password guessing."),
    ("ssh-max-sessions", "5.1.17", "5.2.20", "ssh_session", "LOW", "SSH allows at most 10 sessions per connection",
     sshd_num("MaxSessions", "<=", 10), "MaxSessions 10",
     "Limits the resources one connection can hold."),
    ("ssh-max-startups", "5.1.18", "5.2.19", "ssh_session", "LOW", "SSH limits concurrent unauthenticated connections (MaxStartups 10:30:60 or stricter)",
     sshd_set("MaxStartups", r"([1-9]|10):([1-9]|[12]\d|30):([1-9]|[1-5]\d|60)"), "MaxStartups 10:30:60",
     "Caps the unauthenticated connections an attacker can hold open."),
    ("ssh-permit-empty-passwords", "5.1.19", "5.2.9", "ssh_auth", "HIGH", "SSH refuses empty passwords",
     sshd_set("PermitEmptyPasswords", "no"), "PermitEmptyPasswords no",
     "An account with an empty password would be open to anyone over the network."),
    ("ssh-permit-root-login", "5.1.20", "5.2.7", "ssh_auth", "HIGH", "SSH root login is disabled (PermitRootLogin no)",
     sshd_set("PermitRootLogin", "no"), "PermitRootLogin no",
     "Direct root logins leave no trace of who acted and make root the target of every guess."),
    ("ssh-permit-user-environment", "5.1.21", "5.2.10", "ssh_auth", "MEDIUM", "SSH ignores user environment files",
     sshd_set("PermitUserEnvironment", "no"), "PermitUserEnvironment no",
     "User-set environment (LD_PRELOAD, PATH) can subvert what sshd runs for the session."),
    ("ssh-use-pam", "5.1.22", "5.2.6", "ssh_auth", "MEDIUM", "SSH uses PAM (UsePAM yes)",
     sshd_set("UsePAM", "yes"), "UsePAM yes",
     "Without PAM, account lockout and password policy do not apply to SSH logins."),
    ("ssh-x11-forwarding", "5.1.8", "5.2.12", "ssh_forwarding", "MEDIUM", "SSH X11 forwarding is disabled",
     ("all", [r"not f:/etc/ssh/sshd_config -> r:^\s*(?i:X11Forwarding)\s+yes",
              r"not d:/etc/ssh/sshd_config.d -> r:\.conf$ -> r:^\s*(?i:X11Forwarding)\s+yes"]),
     "X11Forwarding no  (and remove any 'X11Forwarding yes' line, e.g. Debian's default in sshd_config)",
     "X11 forwarding exposes the client's display to the server and its other users."),
    ("ssh-tcp-forwarding", "5.1.8", None, "ssh_forwarding", "MEDIUM", "SSH TCP forwarding is disabled",
     sshd_set("AllowTcpForwarding", "no"), "AllowTcpForwarding no",
     "TCP forwarding turns an SSH login into a tunnel past the network's filters."),
    ("ssh-protocol", None, None, "ssh_crypto", "HIGH", "SSH protocol 1 is not enabled",
     ("all", [r"not f:/etc/ssh/sshd_config -> r:^\s*(?i:Protocol)\s+.*1",
              r"not d:/etc/ssh/sshd_config.d -> r:\.conf$ -> r:^\s*(?i:Protocol)\s+.*1"]),
     "Protocol 2  (or delete the Protocol line: OpenSSH 7.4 and later speak only protocol 2)",
     "SSH protocol 1 is broken; OpenSSH 7.4 and later ignore the option, older servers honour it."),
]
for key, c12, c11, fam, sev, title, rule, line, why in SSH_SETTINGS:
    add(key=key, cis12=c12, cis11=c11, family=fam, severity=sev, title=title,
        description="Set in /etc/ssh/sshd_config or a /etc/ssh/sshd_config.d/*.conf drop-in "
                    "(not applicable when sshd_config is absent). sshd keeps the first value it reads, "
                    "and Debian's sshd_config includes the drop-ins first.",
        rationale=why,
        remediation=f"printf '%s\\n' '{line.split('  (')[0]}' >> /etc/ssh/sshd_config.d/50-hardening.conf && sshd -t && systemctl reload ssh"
        + (f"  # {line.split('  (')[1].rstrip(')')}" if "  (" in line else ""),
        rule=rule)
add(key="ssh-effective", cis12="5.1.20", cis11="5.2.7", family="ssh_auth", severity="HIGH", host=True,
    extra_cis12=["5.1.10", "5.1.11", "5.1.16", "5.1.19", "5.1.21", "5.1.22"],
    extra_cis11=["5.2.6", "5.2.8", "5.2.9", "5.2.10", "5.2.11", "5.2.18"],
    title="The running SSH server's effective configuration is hardened (sshd -T)",
    description="sshd -T prints the configuration sshd actually uses, after includes and defaults "
                "(needs a command: host only).",
    rationale="File checks cannot see precedence between files or built-in defaults; sshd -T can.",
    remediation="Fix the values sshd -T reports in /etc/ssh/sshd_config.d/50-hardening.conf, then: sshd -t && systemctl reload ssh",
    rule=("all", [r"c:sshd -T -> r:^permitrootlogin no$", r"c:sshd -T -> r:^permitemptypasswords no$",
                  r"c:sshd -T -> r:^hostbasedauthentication no$", r"c:sshd -T -> r:^ignorerhosts yes$",
                  r"c:sshd -T -> n:^maxauthtries (\d+)$ compare <= 4", r"c:sshd -T -> r:^permituserenvironment no$",
                  r"c:sshd -T -> r:^usepam yes$"]))

# ---------------------------------------------------------------- 5.2 sudo
SUDO_FILES = ("/etc/sudoers", "/etc/sudoers.d")
add(key="sudo-installed", cis12="5.2.1", cis11="5.3.1", family="sudo", severity="MEDIUM",
    title="sudo is installed",
    description="The sudo package is installed.",
    rationale="sudo gives administrators root rights per command, with a log of who ran what.",
    remediation="apt-get install -y sudo",
    rule=package_present("sudo", "sudo-ldap"))
add(key="sudo-use-pty", cis12="5.2.2", cis11="5.3.2", family="sudo", severity="MEDIUM",
    title="sudo runs commands in a pseudo-terminal (Defaults use_pty)",
    description="/etc/sudoers or a file in /etc/sudoers.d sets Defaults use_pty (not applicable without sudo).",
    rationale="A command run without its own pty can keep running after sudo ends and inject input into the terminal.",
    remediation="printf 'Defaults use_pty\\n' > /etc/sudoers.d/60-use-pty && chmod 440 /etc/sudoers.d/60-use-pty && visudo -c",
    rule=in_file_or_dropins(*SUDO_FILES, r"r:^\s*Defaults\s+(.*,\s*)?use_pty\b", dropin_name=r"r:^[^.~]+$"))
add(key="sudo-logfile", cis12="5.2.3", cis11="5.3.3", family="sudo", severity="MEDIUM",
    title="sudo writes its own log file (Defaults logfile=)",
    description="/etc/sudoers or a file in /etc/sudoers.d sets Defaults logfile.",
    rationale="A dedicated log of privileged commands is easier to protect and review.",
    remediation="printf 'Defaults logfile=\"/var/log/sudo.log\"\\n' > /etc/sudoers.d/60-logfile && chmod 440 /etc/sudoers.d/60-logfile && visudo -c",
    rule=in_file_or_dropins(*SUDO_FILES, r"r:^\s*Defaults\s+(.*,\s*)?logfile\s*=", dropin_name=r"r:^[^.~]+$"))
add(key="sudo-nopasswd", cis12="5.2.4", cis11="5.3.4", family="sudo", severity="MEDIUM",
    title="sudo asks for a password (no NOPASSWD)",
    description="No sudoers rule carries NOPASSWD (not applicable without sudo).",
    rationale="Without a password, any code running as an administrator's account becomes root.",
    remediation="Remove NOPASSWD: from /etc/sudoers and /etc/sudoers.d/* with visudo.",
    rule=nowhere(*SUDO_FILES, r"r:^\s*[^#].*NOPASSWD", dropin_name=r"r:^[^.~]+$"))
add(key="sudo-reauth", cis12="5.2.5", cis11="5.3.5", family="sudo", severity="MEDIUM",
    title="sudo re-authentication is not disabled (!authenticate)",
    description="No sudoers line sets !authenticate.",
    rationale="!authenticate turns sudo into password-less root.",
    remediation="Remove !authenticate from /etc/sudoers and /etc/sudoers.d/* with visudo.",
    rule=nowhere(*SUDO_FILES, r"r:^\s*[^#].*!authenticate", dropin_name=r"r:^[^.~]+$"))
add(key="sudo-timeout", cis12="5.2.6", cis11="5.3.6", family="sudo", severity="LOW",
    title="sudo's credential cache lasts at most 15 minutes",
    description="No sudoers line sets timestamp_timeout above 15 or to a negative value (the default is 15).",
    rationale="A long-lived sudo ticket lets anyone at an unlocked terminal act as root.",
    remediation="Set 'Defaults timestamp_timeout=15' in /etc/sudoers.d/60-timeout (visudo -c afterwards).",
    rule=nowhere(*SUDO_FILES, r"r:^\s*Defaults.*timestamp_timeout\s*=\s*(-|1[6-9]|[2-9]\d|\d{3,})",
                 dropin_name=r"r:^[^.~]+$"))
add(key="su-restricted", cis12="5.2.7", cis11="5.3.7", family="sudo", severity="MEDIUM",
    title="su is restricted to a named group (pam_wheel)",
    description="/etc/pam.d/su requires pam_wheel.so use_uid with a group.",
    rationale="Restricting su to an (empty) group forces privileged work through sudo and its log.",
    remediation="groupadd sugroup && printf 'auth required pam_wheel.so use_uid group=sugroup\\n' >> /etc/pam.d/su",
    rule=("all", [r"f:/etc/pam.d/su -> r:^\s*auth\s+(required|requisite)\s+pam_wheel\.so\s+.*\buse_uid\b && r:\bgroup=\S+"]))

# ---------------------------------------------------------------- 5.3 PAM
PAM_PW = "/etc/pam.d/common-password"
PAM_AUTH = "/etc/pam.d/common-auth"
add(key="pam-pwquality-installed", cis12="5.3.1.3", cis11="5.4.1", family="pw_quality", severity="MEDIUM",
    title="libpam-pwquality is installed",
    description="The pam_pwquality module's package is installed.",
    rationale="Password strength rules need pam_pwquality.",
    remediation="apt-get install -y libpam-pwquality",
    rule=package_present("libpam-pwquality"))
add(key="pam-unix-enabled", cis12="5.3.2.1", cis11=None, family="pam", severity="MEDIUM",
    title="pam_unix is enabled in every common PAM stack",
    description="common-auth, common-account, common-password and common-session all call pam_unix.so.",
    rationale="pam_unix checks /etc/shadow; a stack without it may authenticate nothing or everyone.",
    remediation="pam-auth-update --enable unix",
    rule=("all", [f"f:/etc/pam.d/common-{s} -> r:^\\s*{s}\\s+\\S.*\\bpam_unix\\.so\\b" for s in
                  ("auth", "account", "password", "session")]))
add(key="pam-faillock-enabled", cis12="5.3.2.2", cis11="5.4.2", family="lockout", severity="MEDIUM",
    title="pam_faillock is enabled",
    description="common-auth calls pam_faillock.so preauth and authfail, common-account calls pam_faillock.so.",
    rationale="Locking an account after repeated failures stops online password guessing.",
    remediation="Create /usr/share/pam-configs/faillock and faillock_notify profiles (see the CIS benchmark) and run: pam-auth-update --enable faillock --enable faillock_notify",
    rule=("all", [r"f:/etc/pam.d/common-auth -> r:^\s*auth\s+\S.*\bpam_faillock\.so\b.*\bpreauth\b",
                  r"f:/etc/pam.d/common-auth -> r:^\s*auth\s+\S.*\bpam_faillock\.so\b.*\bauthfail\b",
                  r"f:/etc/pam.d/common-account -> r:^\s*account\s+\S.*\bpam_faillock\.so\b"]))
add(key="pam-pwquality-enabled", cis12="5.3.2.3", cis11="5.4.1", family="pw_quality", severity="MEDIUM",
    title="pam_pwquality is enabled for password changes",
    description="common-password calls pam_pwquality.so.",
    rationale="Without it, password changes are not checked for strength.",
    remediation="pam-auth-update --enable pwquality",
    rule=("all", [r"f:/etc/pam.d/common-password -> r:^\s*password\s+\S.*\bpam_pwquality\.so\b"]))
add(key="pam-pwhistory-enabled", cis12="5.3.2.4", cis11="5.4.3", family="pw_history", severity="MEDIUM",
    title="pam_pwhistory is enabled for password changes",
    description="common-password calls pam_pwhistory.so.",
    rationale="Without a history, users can cycle back to a compromised password.",
    remediation="Create a /usr/share/pam-configs/pwhistory profile (see the CIS benchmark) and run: pam-auth-update --enable pwhistory",
    rule=("all", [r"f:/etc/pam.d/common-password -> r:^\s*password\s+\S.*\bpam_pwhistory\.so\b"]))
add(key="faillock-deny", cis12="5.3.3.1.1", cis11="5.4.2", family="lockout", severity="MEDIUM",
    title="Accounts lock after at most 5 failed logins (faillock deny)",
    description="/etc/security/faillock.conf sets deny between 1 and 5.",
    rationale="Bounds the number of guesses against any account.",
    remediation="sed -i -E 's/^\\s*#?\\s*deny\\s*=.*/deny = 5/' /etc/security/faillock.conf",
    rule=("all", [r"f:/etc/security/faillock.conf -> n:^\s*deny\s*=\s*([1-9]\d*)\s*$ compare <= 5"]))
add(key="faillock-unlock-time", cis12="5.3.3.1.2", cis11="5.4.2", family="lockout", severity="LOW",
    title="Locked accounts stay locked at least 15 minutes (faillock unlock_time)",
    description="/etc/security/faillock.conf sets unlock_time to 0 (never) or at least 900 seconds.",
    rationale="A short lockout lets guessing continue at nearly full speed.",
    remediation="sed -i -E 's/^\\s*#?\\s*unlock_time\\s*=.*/unlock_time = 900/' /etc/security/faillock.conf",
    rule=("all", [r"f:/etc/security/faillock.conf -> r:^\s*unlock_time\s*=\s*(0|9\d\d|[1-9]\d{3,})\s*$"]))
PWQ = ("/etc/security/pwquality.conf", "/etc/security/pwquality.conf.d")


def pwq_set(content):
    """pwquality.conf or a pwquality.conf.d/*.conf sets it. Searched from
    /etc/security, which every PAM system has, so that a missing pwquality
    fails the check instead of making it not applicable."""
    return "all", [f"d:/etc/security -> r:\\.conf$ -> {content}"]

add(key="pwquality-difok", cis12="5.3.3.2.1", cis11=None, family="pw_quality", severity="LOW",
    title="New passwords differ from the old in at least 2 characters (difok)",
    description="pwquality.conf or pwquality.conf.d sets difok >= 2.",
    rationale="A new password that is the old one with a digit changed is no new password.",
    remediation="printf 'difok = 2\\n' >> /etc/security/pwquality.conf.d/50-cis.conf",
    rule=pwq_set(r"n:^\s*difok\s*=\s*(\d+)\s*$ compare >= 2"))
add(key="pwquality-minlen", cis12="5.3.3.2.2", cis11="5.4.1", family="pw_quality", severity="MEDIUM",
    title="Passwords have at least 14 characters (minlen)",
    description="pwquality.conf or pwquality.conf.d sets minlen >= 14.",
    rationale="Length is the strongest factor against guessing.",
    remediation="printf 'minlen = 14\\n' >> /etc/security/pwquality.conf.d/50-cis.conf",
    rule=pwq_set(r"n:^\s*minlen\s*=\s*(\d+)\s*$ compare >= 14"))
add(key="pwquality-minclass", cis12=None, cis11="5.4.1", family="pw_quality", severity="LOW",
    title="Passwords use all four character classes (minclass 4)",
    description="pwquality.conf or pwquality.conf.d sets minclass = 4.",
    rationale="The Debian 11 benchmark asks for complexity by character classes.",
    remediation="printf 'minclass = 4\\n' >> /etc/security/pwquality.conf.d/50-cis.conf",
    rule=pwq_set(r"n:^\s*minclass\s*=\s*(\d+)\s*$ compare >= 4"))
add(key="pwquality-maxrepeat", cis12="5.3.3.2.4", cis11=None, family="pw_quality", severity="LOW",
    title="Passwords repeat a character at most 3 times (maxrepeat)",
    description="pwquality.conf or pwquality.conf.d sets maxrepeat between 1 and 3.",
    rationale="Runs of one character add length without strength.",
    remediation="printf 'maxrepeat = 3\\n' >> /etc/security/pwquality.conf.d/50-cis.conf",
    rule=pwq_set(r"n:^\s*maxrepeat\s*=\s*([1-9]\d*)\s*$ compare <= 3"))
add(key="pwquality-maxsequence", cis12="5.3.3.2.5", cis11=None, family="pw_quality", severity="LOW",
    title="Passwords hold sequences of at most 3 characters (maxsequence)",
    description="pwquality.conf or pwquality.conf.d sets maxsequence between 1 and 3.",
    rationale="Sequences like 12345 or abcde are guessed first.",
    remediation="printf 'maxsequence = 3\\n' >> /etc/security/pwquality.conf.d/50-cis.conf",
    rule=pwq_set(r"n:^\s*maxsequence\s*=\s*([1-9]\d*)\s*$ compare <= 3"))
add(key="pwquality-dictcheck", cis12="5.3.3.2.6", cis11=None, family="pw_quality", severity="LOW",
    title="The password dictionary check is not disabled",
    description="No pwquality file sets dictcheck = 0 (not applicable without pwquality.conf).",
    rationale="Dictionary words are the first guesses of any attack.",
    remediation="sed -ri 's/^\\s*dictcheck\\s*=/# &/' /etc/security/pwquality.conf /etc/security/pwquality.conf.d/*.conf",
    rule=nowhere(*PWQ, r"r:^\s*dictcheck\s*=\s*0\b"))
add(key="pwquality-enforcing", cis12="5.3.3.2.7", cis11=None, family="pw_quality", severity="MEDIUM",
    title="Password quality is enforced, not just advised",
    description="No pwquality file sets enforcing = 0 (not applicable without pwquality.conf).",
    rationale="With enforcing = 0 weak passwords are only warned about.",
    remediation="sed -ri 's/^\\s*enforcing\\s*=\\s*0/# &/' /etc/security/pwquality.conf /etc/security/pwquality.conf.d/*.conf",
    rule=nowhere(*PWQ, r"r:^\s*enforcing\s*=\s*0\b"))
add(key="pwquality-root", cis12="5.3.3.2.8", cis11=None, family="pw_quality", severity="LOW",
    title="Password quality applies to root (enforce_for_root)",
    description="pwquality.conf or pwquality.conf.d has enforce_for_root.",
    rationale="root's password is the most valuable one.",
    remediation="printf 'enforce_for_root\\n' >> /etc/security/pwquality.conf.d/50-cis.conf",
    rule=pwq_set(r"r:^\s*enforce_for_root\b"))
add(key="pwhistory-remember", cis12="5.3.3.3.1", cis11="5.4.3", family="pw_history", severity="MEDIUM",
    title="The last 24 passwords cannot be reused (pam_pwhistory remember)",
    description="common-password calls pam_pwhistory.so with remember >= 24.",
    rationale="Reusing old passwords brings back credentials that may have leaked.",
    remediation="Set remember=24 on the pam_pwhistory.so line of /usr/share/pam-configs/pwhistory and run pam-auth-update --enable pwhistory",
    rule=("all", [r"f:/etc/pam.d/common-password -> n:^\s*password\s+\S.*\bpam_pwhistory\.so\b.*\bremember=(\d+) compare >= 24"]),
    d11=dict(title="The last 5 passwords cannot be reused (pam_pwhistory remember)",
             description="common-password calls pam_pwhistory.so with remember >= 5.",
             rule=("all", [r"f:/etc/pam.d/common-password -> n:^\s*password\s+\S.*\bpam_pwhistory\.so\b.*\bremember=(\d+) compare >= 5"])))
add(key="pwhistory-root", cis12="5.3.3.3.2", cis11=None, family="pw_history", severity="LOW",
    title="Password history applies to root (enforce_for_root)",
    description="The pam_pwhistory.so line of common-password has enforce_for_root.",
    rationale="root's password is the most valuable one.",
    remediation="Add enforce_for_root to the pam_pwhistory.so line of /usr/share/pam-configs/pwhistory and run pam-auth-update --enable pwhistory",
    rule=("all", [r"f:/etc/pam.d/common-password -> r:^\s*password\s+\S.*\bpam_pwhistory\.so\b.*\benforce_for_root\b"]))
add(key="pam-unix-nullok", cis12="5.3.3.4.1", cis11=None, family="passwords_set", severity="HIGH",
    title="pam_unix does not accept empty passwords (no nullok)",
    description="No common-* PAM file calls pam_unix.so with nullok.",
    rationale="nullok lets accounts with an empty password field log in without a password.",
    remediation="sed -i -E '/pam_unix\\.so/s/\\s+nullok\\b//' /usr/share/pam-configs/unix && pam-auth-update --force --enable unix",
    rule=("all", [r"not f:/etc/pam.d/common-auth,/etc/pam.d/common-account,/etc/pam.d/common-password,/etc/pam.d/common-session -> r:^\s*[^#\s].*\bpam_unix\.so\b.*\bnullok\b"]))
add(key="pam-unix-remember", cis12="5.3.3.4.2", cis11=None, family="pw_history", severity="LOW",
    title="pam_unix does not keep password history (remember)",
    description="No common-* PAM file calls pam_unix.so with remember= (pam_pwhistory does that).",
    rationale="pam_unix's history in /etc/security/opasswd uses weaker handling than pam_pwhistory.",
    remediation="sed -i -E '/pam_unix\\.so/s/\\s+remember=[0-9]+//' /usr/share/pam-configs/unix && pam-auth-update --force --enable unix",
    rule=("all", [r"not f:/etc/pam.d/common-auth,/etc/pam.d/common-account,/etc/pam.d/common-password,/etc/pam.d/common-session -> r:^\s*[^#\s].*\bpam_unix\.so\b.*\bremember="]))
add(key="pam-unix-hash", cis12="5.3.3.4.3", cis11="5.4.4", family="pw_hash", severity="HIGH",
    title="pam_unix hashes new passwords with yescrypt or SHA-512",
    description="The pam_unix.so password line of common-password has yescrypt or sha512.",
    rationale="Older hashes (MD5, DES) are cracked quickly once /etc/shadow leaks.",
    remediation="sed -i -E '/^password.*pam_unix\\.so/s/\\b(md5|bigcrypt|sha256|blowfish)\\b/yescrypt/' /usr/share/pam-configs/unix && pam-auth-update --force --enable unix",
    rule=("all", [r"f:/etc/pam.d/common-password -> r:^\s*password\s+\S.*\bpam_unix\.so\b.*\b(yescrypt|sha512)\b"]),
    d11=dict(rule=("all", [r"f:/etc/pam.d/common-password -> r:^\s*password\s+\S.*\bpam_unix\.so\b.*\b(yescrypt|sha512)\b"])))
add(key="pam-unix-authtok", cis12="5.3.3.4.4", cis11=None, family="pw_quality", severity="LOW",
    title="pam_unix uses the password the quality checks accepted (use_authtok)",
    description="The pam_unix.so password line of common-password has use_authtok.",
    rationale="Without use_authtok pam_unix may prompt again and bypass the checks of pam_pwquality.",
    remediation="pam-auth-update --enable pwquality  (its profile adds use_authtok to pam_unix)",
    rule=("all", [r"f:/etc/pam.d/common-password -> r:^\s*password\s+\S.*\bpam_unix\.so\b.*\buse_authtok\b"]))

# ---------------------------------------------------------------- 5.4 accounts
LD = "/etc/login.defs"
add(key="login-defs-max-days", cis12="5.4.1.1", cis11="5.5.1.2", family="pw_age", severity="MEDIUM",
    title="Passwords expire within 365 days (PASS_MAX_DAYS)",
    description="/etc/login.defs sets PASS_MAX_DAYS between 1 and 365.",
    rationale="Expiry bounds how long a leaked password stays useful.",
    remediation="sed -i -E 's/^\\s*PASS_MAX_DAYS\\s+.*/PASS_MAX_DAYS\\t365/' /etc/login.defs && for u in $(awk -F: '$2 ~ /^\\$/ {print $1}' /etc/shadow); do chage --maxdays 365 \"$u\"; done",
    rule=("all", [r"f:/etc/login.defs -> n:^\s*PASS_MAX_DAYS\s+([1-9]\d*)\s*$ compare <= 365"]))
add(key="shadow-max-days", cis12="5.4.1.1", cis11="5.5.1.2", family="pw_age", severity="MEDIUM",
    title="No user with a password has an expiry beyond 365 days in /etc/shadow",
    description="For every /etc/shadow entry with a password hash, the maximum age (5th field) is 1..365.",
    rationale="login.defs only applies to accounts created after it was set.",
    remediation="for u in $(awk -F: '$2 ~ /^\\$/ && ($5 == \"\" || $5 > 365) {print $1}' /etc/shadow); do chage --maxdays 365 \"$u\"; done",
    rule=("all", [r"not f:/etc/shadow -> r:^[^:]+:\$[^:]*:[^:]*:[^:]*:(|0|36[6-9]|3[7-9]\d|[4-9]\d\d|\d{4,}):"]))
add(key="login-defs-min-days", cis12="5.4.1.2", cis11="5.5.1.1", family="pw_age", severity="LOW",
    title="Passwords cannot be changed again within a day (PASS_MIN_DAYS >= 1)",
    description="/etc/login.defs sets PASS_MIN_DAYS to 1 or more.",
    rationale="A minimum age stops users from cycling through the history to reuse a password.",
    remediation="sed -i -E 's/^\\s*PASS_MIN_DAYS\\s+.*/PASS_MIN_DAYS\\t1/' /etc/login.defs",
    rule=("all", [r"f:/etc/login.defs -> n:^\s*PASS_MIN_DAYS\s+(\d+)\s*$ compare >= 1"]))
add(key="login-defs-warn-age", cis12="5.4.1.3", cis11="5.5.1.3", family="pw_age", severity="LOW",
    title="Users are warned 7 days before their password expires (PASS_WARN_AGE)",
    description="/etc/login.defs sets PASS_WARN_AGE to 7 or more.",
    rationale="Warned users choose a new password calmly instead of under lockout pressure.",
    remediation="sed -i -E 's/^\\s*PASS_WARN_AGE\\s+.*/PASS_WARN_AGE\\t7/' /etc/login.defs",
    rule=("all", [r"f:/etc/login.defs -> n:^\s*PASS_WARN_AGE\s+(\d+)\s*$ compare >= 7"]))
add(key="login-defs-encrypt", cis12="5.4.1.4", cis11="5.4.4", family="pw_hash", severity="HIGH",
    title="New passwords are hashed with SHA-512 or yescrypt (ENCRYPT_METHOD)",
    description="/etc/login.defs sets ENCRYPT_METHOD to SHA512 or YESCRYPT.",
    rationale="Tools that use login.defs (chpasswd, newusers) must not fall back to weak hashes.",
    remediation="sed -i -E 's/^\\s*ENCRYPT_METHOD\\s+.*/ENCRYPT_METHOD YESCRYPT/' /etc/login.defs",
    rule=("all", [r"f:/etc/login.defs -> r:^\s*ENCRYPT_METHOD\s+(SHA512|YESCRYPT)\s*$"]))
add(key="useradd-inactive", cis12="5.4.1.5", cis11="5.5.1.4", family="pw_age", severity="LOW",
    title="Accounts lock 45 days after their password expires (INACTIVE)",
    description="/etc/default/useradd sets INACTIVE between 0 and 45.",
    rationale="Abandoned accounts with expired passwords should not stay usable.",
    remediation="useradd -D -f 45",
    rule=("all", [r"f:/etc/default/useradd -> n:^\s*INACTIVE\s*=\s*(\d+)\s*$ compare <= 45"]))
add(key="uid0-only-root", cis12="5.4.2.1", cis11="6.2.9", family="accounts", severity="CRITICAL",
    title="root is the only account with UID 0",
    description="No /etc/passwd entry other than root has UID 0.",
    rationale="A second UID 0 account is root under another name, often a backdoor.",
    remediation="Remove the account (userdel NAME) or give it a unique non-zero UID (usermod -u NEWUID NAME).",
    rule=("all", [r"not f:/etc/passwd -> r:^[^:#]+:[^:]*:0: && !r:^root:"]))
add(key="gid0-only-root", cis12="5.4.2.2", cis11="5.5.3", family="accounts", severity="MEDIUM",
    title="root is the only account whose primary group is GID 0",
    description="No /etc/passwd entry other than root, sync, shutdown, halt and operator has GID 0.",
    rationale="Members of the root group can read and write files meant for root only.",
    remediation="usermod -g NEWGROUP NAME for each account listed",
    rule=("all", [r"not f:/etc/passwd -> r:^[^:#]+:[^:]*:\d+:0: && !r:^(root|sync|shutdown|halt|operator):"]))
add(key="group0-only-root", cis12="5.4.2.3", cis11=None, family="accounts", severity="MEDIUM",
    title="The root group is the only group with GID 0",
    description="No /etc/group entry other than root has GID 0.",
    rationale="A second GID 0 group shares root's group rights.",
    remediation="groupmod -g NEWGID NAME for each group listed",
    rule=("all", [r"not f:/etc/group -> r:^[^:#]+:[^:]*:0: && !r:^root:"]))
add(key="root-access-controlled", cis12="5.4.2.4", cis11=None, family="accounts", severity="HIGH",
    title="The root account has a password hash or is locked",
    description="root's /etc/shadow password field is a hash ($...) or locked (! or *).",
    rationale="An empty root password field means anyone can become root.",
    remediation="passwd root  (or lock it: usermod -L root)",
    rule=("all", [r"f:/etc/shadow -> r:^root:(\$|!|\*)"]))
add(key="root-path", cis12="5.4.2.5", cis11="6.2.10", family="environment", severity="MEDIUM",
    title="root's PATH has no empty or relative entries",
    description="No PATH= assignment in /etc/environment, /etc/profile, /root/.profile, /root/.bashrc or "
                "ENV_SUPATH in /etc/login.defs has an empty entry or '.'.",
    rationale="An empty or '.' entry makes root run programs from the current directory.",
    remediation="Edit the listed files so every PATH entry is an absolute directory.",
    rule=("all", [r"not f:/etc/environment,/etc/profile,/root/.profile,/root/.bashrc,/root/.bash_profile -> r:^\s*(export\s+)?PATH=.*(::|:\x22?\s*$|=\x22?:|[=:]\x22?\.\x22?(:|\s*$))",
                  r"not f:/etc/login.defs -> r:^\s*ENV_SUPATH\s+PATH=.*(::|:\s*$|=:|[=:]\.(:|\s*$))"]))
add(key="root-umask", cis12="5.4.2.6", cis11=None, family="environment", severity="LOW",
    title="root's umask is 027 or stricter where it is set",
    description="No umask line in /root/.bash_profile, /root/.bashrc or /root/.profile leaves group write or any other bit.",
    rationale="Files root creates should not be writable by its group or readable by everyone.",
    remediation="printf 'umask 0027\\n' >> /root/.bashrc and remove weaker umask lines",
    rule=("all", [r"not f:/root/.bash_profile,/root/.bashrc,/root/.profile -> r:^\s*umask\s+0?[0-7]([0145][0-7]|[0-7][0-6])\b"]))
add(key="system-accounts-nologin", cis12="5.4.2.7", cis11="5.5.2", family="accounts", severity="MEDIUM",
    title="System accounts have no login shell",
    description="Every /etc/passwd entry with a UID below 1000 other than root, sync, shutdown, halt and nobody "
                "has nologin or false as its shell.",
    rationale="Service accounts with a shell can be logged into if their password or keys leak.",
    remediation="usermod -s /usr/sbin/nologin NAME for each account listed",
    rule=("all", [r"not f:/etc/passwd -> r:^[^:#]+:[^:]*:\d{1,3}:[^:]*:[^:]*:[^:]*:(?!/usr/sbin/nologin$|/sbin/nologin$|/bin/false$|/usr/bin/false$)[^:]*$ && !r:^(root|sync|shutdown|halt|nobody):"]))
add(key="shells-no-nologin", cis12="5.4.3.1", cis11=None, family="environment", severity="LOW",
    title="nologin is not listed in /etc/shells",
    description="/etc/shells has no nologin line.",
    rationale="Programs treat shells listed in /etc/shells as valid login shells.",
    remediation="sed -i '/nologin/d' /etc/shells",
    rule=("all", [r"not f:/etc/shells -> r:nologin"]))
add(key="shell-timeout", cis12="5.4.3.2", cis11="5.5.5", family="session_timeout", severity="LOW",
    title="Interactive shells time out after at most 900 seconds (TMOUT)",
    description="/etc/profile, /etc/bash.bashrc or a /etc/profile.d/*.sh file sets TMOUT between 1 and 900.",
    rationale="An idle root shell at an unattended terminal is an open door.",
    remediation="printf 'TMOUT=900\\nreadonly TMOUT\\nexport TMOUT\\n' > /etc/profile.d/50-tmout.sh",
    rule=("any", [r"f:/etc/profile,/etc/bash.bashrc -> n:^\s*(readonly\s+|export\s+|typeset\s+-xr\s+)*TMOUT=([1-9]\d*)\b compare <= 900",
                  r"d:/etc/profile.d -> r:\.sh$ -> n:^\s*(readonly\s+|export\s+|typeset\s+-xr\s+)*TMOUT=([1-9]\d*)\b compare <= 900"]))
add(key="default-umask", cis12="5.4.3.3", cis11="5.5.4", family="environment", severity="LOW",
    title="The default umask is 027 or stricter",
    description="UMASK in /etc/login.defs, or a umask line in /etc/profile.d/*.sh, is 027 or stricter.",
    rationale="Files users create should not be readable by everyone by default.",
    remediation="sed -i -E 's/^\\s*UMASK\\s+.*/UMASK\\t\\t027/' /etc/login.defs",
    rule=("any", [r"f:/etc/login.defs -> r:^\s*UMASK\s+0?[0-7][2367]7\s*$",
                  r"d:/etc/profile.d -> r:\.sh$ -> r:^\s*umask\s+0?[0-7][2367]7\b"]))

# ---------------------------------------------------------------- 6 logging and audit
add(key="journald-compress", cis12="6.1.2.3", cis11="4.2.1.3", family="log_storage", severity="LOW",
    title="journald compresses large log files (Compress=yes)",
    description="/etc/systemd/journald.conf or a journald.conf.d drop-in sets Compress=yes (files under "
                "/etc/systemd are searched; coredump.conf's Compress= would also count).",
    rationale="Uncompressed journals fill the disk sooner, and a full disk stops logging.",
    remediation="mkdir -p /etc/systemd/journald.conf.d && printf '[Journal]\\nCompress=yes\\n' > /etc/systemd/journald.conf.d/60-compress.conf && systemctl restart systemd-journald",
    rule=in_tree("/etc/systemd", r"r:^journald\.conf$|\.conf$", r"r:^\s*Compress\s*=\s*yes\s*$"))
add(key="journald-storage", cis12="6.1.2.4", cis11="4.2.1.4", family="log_storage", severity="MEDIUM",
    title="journald writes logs to persistent storage (Storage=persistent)",
    description="/etc/systemd/journald.conf or a journald.conf.d drop-in sets Storage=persistent "
                "(files under /etc/systemd are searched; only journald accepts 'persistent').",
    rationale="Logs kept only in memory are lost at reboot, with the evidence they hold.",
    remediation="mkdir -p /etc/systemd/journald.conf.d && printf '[Journal]\\nStorage=persistent\\n' > /etc/systemd/journald.conf.d/60-storage.conf && systemctl restart systemd-journald",
    rule=in_tree("/etc/systemd", r"r:^journald\.conf$|\.conf$", r"r:^\s*Storage\s*=\s*persistent\s*$"))
add(key="rsyslog-installed", cis12="6.1.3.1", cis11="4.2.2.1", family="logging", severity="MEDIUM",
    title="rsyslog is installed",
    description="The rsyslog package is installed.",
    rationale="rsyslog writes logs to files and can ship them to a central server.",
    remediation="apt-get install -y rsyslog",
    rule=package_present("rsyslog"))
add(key="rsyslog-enabled", cis12="6.1.3.2", cis11="4.2.2.2", family="logging", severity="MEDIUM",
    title="rsyslog is enabled",
    description="rsyslog.service is installed and wanted by multi-user.target (fails without rsyslog, as CIS's `systemctl is-enabled` would).",
    rationale="An installed logger that does not start logs nothing.",
    remediation="systemctl --now enable rsyslog",
    rule=("all", ["f:/lib/systemd/system/rsyslog.service",
                  "f:/etc/systemd/system/multi-user.target.wants/rsyslog.service"]))
add(key="rsyslog-file-mode", cis12="6.1.3.4", cis11="4.2.2.4", family="log_protect", severity="MEDIUM",
    title="rsyslog creates log files with mode 0640 or stricter",
    description="/etc/rsyslog.conf or a /etc/rsyslog.d/*.conf file sets $FileCreateMode 0640 or stricter.",
    rationale="World-readable logs leak user names, addresses and sometimes secrets.",
    remediation="printf '$FileCreateMode 0640\\n' > /etc/rsyslog.d/50-filemode.conf && systemctl restart rsyslog",
    rule=in_file_or_dropins("/etc/rsyslog.conf", "/etc/rsyslog.d", r"r:^\s*\$FileCreateMode\s+0[0246][04]0\s*$"))
add(key="rsyslog-no-remote-input", cis12="6.1.3.7", cis11="4.2.2.7", family="logging", severity="LOW",
    title="rsyslog does not accept logs from the network",
    description="No rsyslog configuration loads imtcp or imudp (not applicable without rsyslog.conf).",
    rationale="Only designated log servers should accept remote messages.",
    remediation="Comment out module(load=\"imtcp\"/\"imudp\") and input(...) lines in /etc/rsyslog.conf and /etc/rsyslog.d/*.conf; systemctl restart rsyslog",
    rule=nowhere("/etc/rsyslog.conf", "/etc/rsyslog.d", r"r:^\s*(\$ModLoad\s+im(tcp|udp)|module\(\s*load\s*=\s*\x22im(tcp|udp)\x22)"))
add(key="logrotate-installed", cis12=None, cis11="4.3", family="log_storage", severity="LOW",
    title="logrotate is installed",
    description="The logrotate package is installed.",
    rationale="Rotation keeps logs from filling the disk.",
    remediation="apt-get install -y logrotate",
    rule=package_present("logrotate"))
add(key="auditd-installed", cis12="6.2.1.1", cis11="4.1.1.1", family="audit", severity="MEDIUM",
    title="auditd is installed",
    description="The auditd package is installed (a Level 2 control in both benchmarks; kept here because "
                "audit trails are what PCI DSS 10 and HIPAA 164.312(b) ask for).",
    rationale="The kernel audit system records security-relevant events auditors ask for.",
    remediation="apt-get install -y auditd audispd-plugins",
    rule=package_present("auditd"))
add(key="auditd-enabled", cis12="6.2.1.2", cis11="4.1.1.2", family="audit", severity="MEDIUM",
    title="auditd is enabled",
    description="auditd.service is installed and wanted by multi-user.target (fails without auditd, as CIS's `systemctl is-enabled` would).",
    rationale="An installed audit daemon that does not start records nothing.",
    remediation="systemctl --now enable auditd",
    rule=("all", ["f:/lib/systemd/system/auditd.service",
                  "f:/etc/systemd/system/multi-user.target.wants/auditd.service"]))
add(key="auditd-max-log-file-action", cis12="6.2.2.2", cis11="4.1.2.2", family="audit", severity="LOW",
    title="Audit logs are kept, not rotated away (max_log_file_action = keep_logs)",
    description="/etc/audit/auditd.conf sets max_log_file_action = keep_logs (not applicable without auditd).",
    rationale="Rotating away old audit logs destroys the trail an investigation needs.",
    remediation="sed -i -E 's/^\\s*max_log_file_action\\s*=.*/max_log_file_action = keep_logs/' /etc/audit/auditd.conf",
    rule=("all", [r"f:/etc/audit/auditd.conf -> r:^\s*max_log_file_action\s*=\s*(?i:keep_logs)\s*$"]))
AUDIT_RULES = [
    ("audit-sudoers", "6.2.3.1", "4.1.3.1", "Changes to sudoers are audited", [r"-w\s+/etc/sudoers\s+-p\s+wa", r"-w\s+/etc/sudoers\.d/?\s+-p\s+wa"],
     "-w /etc/sudoers -p wa -k scope\\n-w /etc/sudoers.d -p wa -k scope"),
    ("audit-time-change", "6.2.3.4", "4.1.3.4", "Changes to the system time are audited", [r"-a\s+.*-S\s+\S*\b(adjtimex|settimeofday|clock_settime)\b", r"-w\s+/etc/localtime\s+-p\s+wa"],
     "-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -k time-change\\n-w /etc/localtime -p wa -k time-change"),
    ("audit-network-env", "6.2.3.5", "4.1.3.5", "Changes to the network environment are audited", [r"-a\s+.*-S\s+\S*\b(sethostname|setdomainname)\b", r"-w\s+/etc/hosts\s+-p\s+wa"],
     "-a always,exit -F arch=b64 -S sethostname,setdomainname -k system-locale\\n-w /etc/hosts -p wa -k system-locale\\n-w /etc/issue -p wa -k system-locale"),
    ("audit-identity", "6.2.3.8", "4.1.3.8", "Changes to users and groups are audited",
     [r"-w\s+/etc/passwd\s+-p\s+wa", r"-w\s+/etc/shadow\s+-p\s+wa", r"-w\s+/etc/group\s+-p\s+wa", r"-w\s+/etc/gshadow\s+-p\s+wa"],
     "-w /etc/group -p wa -k identity\\n-w /etc/passwd -p wa -k identity\\n-w /etc/gshadow -p wa -k identity\\n-w /etc/shadow -p wa -k identity\\n-w /etc/security/opasswd -p wa -k identity"),
    ("audit-perm-mod", "6.2.3.9", "4.1.3.9", "Permission changes are audited", [r"-a\s+.*-S\s+\S*\bchmod\b", r"-a\s+.*-S\s+\S*\bchown\b", r"-a\s+.*-S\s+\S*\bsetxattr\b"],
     "-a always,exit -F arch=b64 -S chmod,fchmod,fchmodat -F auid>=1000 -F auid!=unset -k perm_mod\\n-a always,exit -F arch=b64 -S chown,fchown,lchown,fchownat -F auid>=1000 -F auid!=unset -k perm_mod\\n-a always,exit -F arch=b64 -S setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr -F auid>=1000 -F auid!=unset -k perm_mod"),
    ("audit-logins", "6.2.3.12", "4.1.3.12", "Login and logout events are audited", [r"-w\s+/var/log/lastlog\s+-p\s+wa", r"-w\s+/var/run/faillock/?\s+-p\s+wa"],
     "-w /var/log/lastlog -p wa -k logins\\n-w /var/run/faillock -p wa -k logins"),
    ("audit-session", "6.2.3.11", "4.1.3.11", "Session initiation is audited", [r"-w\s+/var/run/utmp\s+-p\s+wa", r"-w\s+/var/log/wtmp\s+-p\s+wa", r"-w\s+/var/log/btmp\s+-p\s+wa"],
     "-w /var/run/utmp -p wa -k session\\n-w /var/log/wtmp -p wa -k session\\n-w /var/log/btmp -p wa -k session"),
    ("audit-mac-policy", "6.2.3.14", "4.1.3.14", "Changes to the AppArmor policy are audited", [r"-w\s+/etc/apparmor/?\s+-p\s+wa", r"-w\s+/etc/apparmor\.d/?\s+-p\s+wa"],
     "-w /etc/apparmor/ -p wa -k MAC-policy\\n-w /etc/apparmor.d/ -p wa -k MAC-policy"),
    ("audit-modules", "6.2.3.19", "4.1.3.19", "Kernel module loading and unloading is audited", [r"-a\s+.*-S\s+\S*\b(init_module|finit_module)\b", r"-a\s+.*-S\s+\S*\bdelete_module\b"],
     "-a always,exit -F arch=b64 -S init_module,finit_module,delete_module,create_module,query_module -F auid>=1000 -F auid!=unset -k kernel_modules"),
    ("audit-immutable", "6.2.3.20", "4.1.3.20", "The audit configuration is immutable (-e 2)", [r"-e\s+2\s*$"],
     "-e 2"),
]
for key, c12, c11, title, patterns, lines in AUDIT_RULES:
    add(key=key, cis12=c12, cis11=c11, family="audit", severity="LOW",
        title=title,
        description="A /etc/audit/rules.d/*.rules file has: " + "; ".join(lines.split("\\n")) +
                    " (not applicable without /etc/audit/rules.d).",
        rationale="Without these rules the audit trail does not show who changed what.",
        remediation=f"printf '{lines}\\n' >> /etc/audit/rules.d/50-{key}.rules && augenrules --load",
        rule=("all", [f"d:/etc/audit/rules.d -> r:\\.rules$ -> r:^\\s*{p}" for p in patterns]))
add(key="aide-installed", cis12="6.3.1", cis11="1.3.1", family="integrity", severity="MEDIUM",
    title="AIDE is installed",
    description="The aide package is installed.",
    rationale="File integrity checking detects unauthorized changes to system files.",
    remediation="apt-get install -y aide aide-common && aideinit && mv /var/lib/aide/aide.db.new /var/lib/aide/aide.db",
    rule=package_present("aide"))

# ---------------------------------------------------------------- 7 file permissions and accounts
PERMS = [
    ("/etc/passwd", "644", "root", "root", "7.1.1", "6.1.1", "file_perms", "MEDIUM"),
    ("/etc/passwd-", "644", "root", "root", "7.1.2", "6.1.2", "file_perms", "MEDIUM"),
    ("/etc/group", "644", "root", "root", "7.1.3", "6.1.3", "file_perms", "MEDIUM"),
    ("/etc/group-", "644", "root", "root", "7.1.4", "6.1.4", "file_perms", "MEDIUM"),
    ("/etc/shadow", "640", "root", "root|shadow", "7.1.5", "6.1.5", "secrets_perms", "HIGH"),
    ("/etc/shadow-", "640", "root", "root|shadow", "7.1.6", "6.1.6", "secrets_perms", "HIGH"),
    ("/etc/gshadow", "640", "root", "root|shadow", "7.1.7", "6.1.7", "secrets_perms", "HIGH"),
    ("/etc/gshadow-", "640", "root", "root|shadow", "7.1.8", "6.1.8", "secrets_perms", "HIGH"),
    ("/etc/shells", "644", "root", "root", "7.1.9", None, "file_perms", "LOW"),
    ("/etc/security/opasswd", "600", "root", "root", "7.1.10", None, "secrets_perms", "MEDIUM"),
]
for path, mode, owner, group, c12, c11, fam, sev in PERMS:
    slug = path.strip("/").replace("/", "-").replace("-", "-").rstrip("-") + ("-backup" if path.endswith("-") else "")
    add(key=f"perms-{slug}", cis12=c12, cis11=c11, family=fam, severity=sev, host=True,
        title=f"{path} is owned by {owner}:{group.replace('|', ' or ')} and mode 0{mode} or stricter",
        description=f"find on {path} (needs a command: host only; passes when the path is absent).",
        rationale="Account databases readable or writable beyond their owners expose hashes or let accounts be forged.",
        remediation=f"chown {owner}:{group.split('|')[-1]} {path} && chmod {'u-x,go-wx' if mode == '644' else 'u-x,g-wx,o-rwx' if mode == '640' else 'u-x,go-rwx'} {path}",
        rule=host_stat(path, mode, owner, group))
add(key="world-writable-system-files", cis12="7.1.11", cis11="6.1.9", family="file_perms", severity="HIGH", host=True,
    title="No world-writable files in /etc, /usr, /bin, /sbin or /boot",
    description="find -xdev -type f -perm -0002 over the system directories (host only).",
    rationale="A world-writable system file can be changed by any local user, often into root.",
    remediation="find /etc /usr /bin /sbin /boot -xdev -type f -perm -0002 -exec chmod o-w {} +",
    rule=("all", [r"not c:find /etc /usr /bin /sbin /boot -xdev -type f -perm -0002 -> r:^/"]))
add(key="unowned-system-files", cis12="7.1.12", cis11="6.1.10", family="file_perms", severity="LOW", host=True,
    title="No files without a known owner or group in /etc, /usr, /var or /home",
    description="find -xdev ( -nouser -o -nogroup ) over those directories (host only).",
    rationale="Files of deleted accounts are inherited by whoever gets that UID next.",
    remediation="find /etc /usr /var /home -xdev \\( -nouser -o -nogroup \\) -exec chown root:root {} +  (after review)",
    rule=("all", [r"not c:find /etc /usr /var /home -xdev ( -nouser -o -nogroup ) -> r:^/"]))
add(key="passwd-shadowed", cis12="7.2.1", cis11="6.2.1", family="passwords_set", severity="HIGH",
    title="Every account's password is in /etc/shadow",
    description="Every /etc/passwd password field is 'x'.",
    rationale="/etc/passwd is world-readable: a hash there can be cracked by any user.",
    remediation="pwconv  # moves every hash from /etc/passwd into /etc/shadow",
    rule=("all", [r"not f:/etc/passwd -> r:^[^:#]+:(?!x:)[^:]*:"]))
add(key="shadow-no-empty", cis12="7.2.2", cis11="6.2.2", family="passwords_set", severity="CRITICAL",
    title="No account has an empty password",
    description="No /etc/shadow entry has an empty password field.",
    rationale="An account with an empty password can be logged into by anyone.",
    remediation="passwd -l NAME for each account listed (then set a password if it must be usable)",
    rule=("all", [r"not f:/etc/shadow -> r:^[^:]+::"]))
add(key="shadow-group-empty", cis12="7.2.4", cis11="6.2.4", family="accounts", severity="HIGH",
    title="The shadow group has no members",
    description="The shadow group (GID 42 on Debian) lists no members in /etc/group and is no user's primary group.",
    rationale="Members of shadow can read every password hash.",
    remediation="sed -ri 's/^(shadow:[^:]*:[^:]*:).*/\\1/' /etc/group  and  usermod -g NEWGROUP NAME for users whose primary group is shadow",
    rule=("all", [r"not f:/etc/group -> r:^shadow:[^:]*:[^:]*:\S+",
                  r"not f:/etc/passwd -> r:^[^:]+:[^:]*:\d+:42:"]))
