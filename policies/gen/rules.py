"""Rule builders: each returns (condition, [rules]) in the Wazuh SCA grammar.

Every pattern is PCRE2 (the policies set `regex_type: pcre2`). File rules read
only inside the checked root; builders named host_* use `c:` commands or the
live /proc and are not applicable on a rootfs or image.
"""

SSHD = "/etc/ssh/sshd_config"
SSHD_D = "/etc/ssh/sshd_config.d"
SYSCTL = "/etc/sysctl.conf"
SYSCTL_D = "/etc/sysctl.d"
MODPROBE_D = "/etc/modprobe.d"
DPKG_INFO = "/var/lib/dpkg/info"


def esc(s):
    """A literal for a PCRE2 pattern."""
    out = []
    for ch in s:
        out.append("\\" + ch if ch in ".^$*+?()[]{}|\\" else ch)
    return "".join(out)


def in_file_or_dropins(main, dropin_dir, content, dropin_name=r"r:\.conf$"):
    """Passes when the main file or a drop-in has a line satisfying `content`."""
    return "any", [f"f:{main} -> {content}", f"d:{dropin_dir} -> {dropin_name} -> {content}"]


def nowhere(main, dropin_dir, content, dropin_name=r"r:\.conf$"):
    """Passes when neither the main file nor a drop-in has such a line
    (not applicable when the main file is missing)."""
    return "all", [f"not f:{main} -> {content}", f"not d:{dropin_dir} -> {dropin_name} -> {content}"]


def sshd_kw(kw):
    return f"(?i:{kw})"


def sshd_set(kw, value_re):
    return in_file_or_dropins(SSHD, SSHD_D, f"r:^\\s*{sshd_kw(kw)}\\s+{value_re}\\s*$")


def sshd_num(kw, op, n, capture=r"(\d+)"):
    return in_file_or_dropins(SSHD, SSHD_D, f"n:^\\s*{sshd_kw(kw)}\\s+{capture}\\s*$ compare {op} {n}")


def sysctl_set(key, value):
    content = f"r:^\\s*{esc(key)}\\s*=\\s*{esc(value)}\\s*$"
    return in_file_or_dropins(SYSCTL, SYSCTL_D, content)


def proc_sys(key):
    return "/proc/sys/" + key.replace(".", "/")


def host_sysctl(pairs):
    """The running kernel's values, read from the live /proc/sys."""
    return "all", [f"f:{proc_sys(k)} -> r:^{esc(v)}$" for k, v in pairs]


def _dpkg_list(pkgs):
    """dpkg keeps PKG.list (or PKG:ARCH.list for Multi-Arch: same packages) per installed package."""
    names = "|".join(esc(p) for p in pkgs)
    return f"d:{DPKG_INFO} -> r:^({names})(:[a-z0-9]+)?\\.list$"


def packages_absent(*pkgs):
    return "all", ["not " + _dpkg_list(pkgs)]


def package_present(*alternatives):
    return "all", [_dpkg_list(alternatives)]


def module_disabled(mod):
    name = esc(mod).replace("_", "[-_]").replace("-", "[-_]")
    return "all", [
        f"d:{MODPROBE_D} -> r:\\.conf$ -> r:^\\s*install\\s+{name}\\s+/(usr/)?bin/(false|true)\\s*$",
        f"d:{MODPROBE_D} -> r:\\.conf$ -> r:^\\s*blacklist\\s+{name}\\s*$",
    ]


def host_module_not_loaded(mod):
    name = mod.replace("-", "_")
    return "all", [f"not f:/proc/modules -> r:^{esc(name)}\\s"]


def fstab_option(mountpoint, option):
    return "all", [f"f:/etc/fstab -> r:^\\s*[^#\\s]\\S*\\s+{esc(mountpoint)}\\s+\\S+\\s+\\S*\\b{option}\\b"]


def fstab_option_if_present(mountpoint, option):
    """No fstab entry for the mount point lacks the option (passes without an entry)."""
    return "all", [f"not f:/etc/fstab -> r:^\\s*[^#\\s]\\S*\\s+{esc(mountpoint)}\\s+\\S+\\s+ && !r:^\\s*\\S+\\s+\\S+\\s+\\S+\\s+\\S*\\b{option}\\b"]


def host_stat(path, mode, owner="root", group="root"):
    """find prints the path when its owner, group or mode is wrong: the rule
    passes when it prints nothing (also when the path does not exist, as there
    is then nothing to protect). `mode` is the most permissive allowed octal
    mode, e.g. "644"; setuid, setgid and sticky bits are never allowed."""
    forbidden = "7" + "".join(str(7 - int(d)) for d in mode)
    groups = " -a ".join(f"! -group {g}" for g in group.split("|"))
    return "all", [f"not c:find {path} -maxdepth 0 ( ! -user {owner} -o ( {groups} ) -o -perm /{forbidden} ) -> r:^/"]


def in_tree(parent, name, content):
    """A file named `name` anywhere under `parent` has a line satisfying
    `content`: fails (rather than being not applicable) when the configuration
    file or drop-in directory is missing, as long as `parent` exists."""
    return "all", [f"d:{parent} -> {name} -> {content}"]
