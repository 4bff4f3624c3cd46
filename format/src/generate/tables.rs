//! Static tables of the synthetic generator: programs, their libraries,
//! files, argv and network peers. Kept apart from the engine so the
//! distributions are easy to read and extend.

/// A program the generator can run.
pub(crate) struct Tool {
    pub name: &'static str,
    pub exe: &'static str,
    /// Shared libraries opened at start-up (after `/etc/ld.so.cache`).
    pub libs: &'static [&'static str],
    /// Files it opens while working (`~` is the user's home, `$$` its pid).
    pub files: &'static [&'static str],
    /// Possible argv vectors (argv[0] included).
    pub argv: &'static [&'static [&'static str]],
    /// Mean number of work steps before it exits.
    pub life: u32,
    /// Chance (per mille) that a work step is a `connect`.
    pub connect_permille: u32,
    /// Programs it may spawn (fork + exec) while working.
    pub children: &'static [&'static str],
}

const LIBC: &str = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const LIBSSL: &[&str] = &[
    LIBC,
    "/usr/lib/x86_64-linux-gnu/libssl.so.3",
    "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
    "/usr/lib/x86_64-linux-gnu/libz.so.1",
];

/// Every program, looked up by name.
pub(crate) const TOOLS: &[Tool] = &[
    Tool {
        name: "bash",
        exe: "/usr/bin/bash",
        libs: &["/usr/lib/x86_64-linux-gnu/libtinfo.so.6", LIBC],
        files: &[
            "~/.bashrc",
            "~/.bash_history",
            "/etc/bash.bashrc",
            "/etc/profile",
            "/dev/tty",
        ],
        argv: &[&["-bash"], &["bash"], &["bash", "-l"]],
        life: 12,
        connect_permille: 0,
        children: &[
            "ls", "ls", "cat", "cat", "grep", "ps", "vim", "git", "curl", "python3", "make", "ssh",
            "tar", "find", "sed", "sudo",
        ],
    },
    Tool {
        name: "sh",
        exe: "/usr/bin/dash",
        libs: &[LIBC],
        files: &["/usr/local/bin/backup.sh", "/etc/default/backup"],
        argv: &[
            &["sh", "-c", "/usr/local/bin/backup.sh"],
            &["sh", "-c", "run-parts /etc/cron.hourly"],
        ],
        life: 4,
        connect_permille: 0,
        children: &["tar", "gzip", "find", "logrotate"],
    },
    Tool {
        name: "ls",
        exe: "/usr/bin/ls",
        libs: &[
            "/usr/lib/x86_64-linux-gnu/libselinux.so.1",
            LIBC,
            "/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0",
        ],
        files: &[
            "/usr/lib/locale/locale-archive",
            "/etc/nsswitch.conf",
            "/etc/passwd",
            "/etc/group",
            ".",
        ],
        argv: &[
            &["ls"],
            &["ls", "-la"],
            &["ls", "-l", "/etc"],
            &["ls", "/var/log"],
            &["ls", "-lh", "/tmp"],
        ],
        life: 6,
        connect_permille: 0,
        children: &[],
    },
    Tool {
        name: "cat",
        exe: "/usr/bin/cat",
        libs: &[LIBC],
        files: &[
            "/usr/lib/locale/locale-archive",
            "/etc/os-release",
            "/etc/hosts",
            "/proc/cpuinfo",
            "~/notes.txt",
            "/var/log/syslog",
            "/etc/passwd",
        ],
        argv: &[
            &["cat", "/etc/os-release"],
            &["cat", "notes.txt"],
            &["cat", "/proc/cpuinfo"],
            &["cat", "/etc/hosts"],
        ],
        life: 3,
        connect_permille: 0,
        children: &[],
    },
    Tool {
        name: "grep",
        exe: "/usr/bin/grep",
        libs: &["/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0", LIBC],
        files: &[
            "/usr/lib/locale/locale-archive",
            "/var/log/syslog",
            "/var/log/auth.log",
            "~/src/app/main.py",
            "~/src/app/util.py",
            "/etc/ssh/sshd_config",
        ],
        argv: &[
            &["grep", "-r", "TODO", "src"],
            &["grep", "Failed", "/var/log/auth.log"],
            &["grep", "-i", "error", "/var/log/syslog"],
        ],
        life: 10,
        connect_permille: 0,
        children: &[],
    },
    Tool {
        name: "ps",
        exe: "/usr/bin/ps",
        libs: &[
            "/usr/lib/x86_64-linux-gnu/libproc2.so.0",
            LIBC,
            "/usr/lib/x86_64-linux-gnu/libsystemd.so.0",
        ],
        files: &[
            "/proc/$$/stat",
            "/proc/$$/status",
            "/proc/$$/cmdline",
            "/proc/uptime",
            "/proc/meminfo",
            "/proc/self/stat",
            "/proc",
        ],
        argv: &[&["ps", "aux"], &["ps", "-ef"], &["ps", "-o", "pid,cmd"]],
        life: 30,
        connect_permille: 0,
        children: &[],
    },
    Tool {
        name: "vim",
        exe: "/usr/bin/vim.basic",
        libs: &[
            "/usr/lib/x86_64-linux-gnu/libtinfo.so.6",
            "/usr/lib/x86_64-linux-gnu/libacl.so.1",
            "/usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0",
            LIBC,
        ],
        files: &[
            "/usr/share/vim/vimrc",
            "/usr/share/vim/vim91/syntax/python.vim",
            "~/.viminfo",
            "~/src/app/main.py",
            "~/src/app/.main.py.swp",
            "~/notes.txt",
        ],
        argv: &[&["vim", "notes.txt"], &["vim", "src/app/main.py"]],
        life: 25,
        connect_permille: 0,
        children: &[],
    },
    Tool {
        name: "git",
        exe: "/usr/bin/git",
        libs: &[
            "/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0",
            "/usr/lib/x86_64-linux-gnu/libz.so.1",
            LIBC,
        ],
        files: &[
            "~/src/app/.git/HEAD",
            "~/src/app/.git/config",
            "~/src/app/.git/index",
            "~/src/app/.git/refs/heads/main",
            "~/src/app/.git/objects/pack/pack-3f2a.idx",
            "~/.gitconfig",
            "~/src/app/main.py",
        ],
        argv: &[
            &["git", "status"],
            &["git", "pull"],
            &["git", "log", "--oneline"],
            &["git", "diff"],
        ],
        life: 30,
        connect_permille: 15,
        children: &["ssh"],
    },
    Tool {
        name: "curl",
        exe: "/usr/bin/curl",
        libs: LIBSSL,
        files: &[
            "/etc/ssl/openssl.cnf",
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/resolv.conf",
            "/etc/hosts",
            "/etc/nsswitch.conf",
            "/tmp/install.sh",
        ],
        argv: &[
            &[
                "curl",
                "-fsSL",
                "https://example.com/install.sh",
                "-o",
                "/tmp/install.sh",
            ],
            &["curl", "-s", "http://10.0.3.12:8080/health"],
            &["curl", "https://api.github.com/repos"],
        ],
        life: 10,
        connect_permille: 200,
        children: &[],
    },
    Tool {
        name: "python3",
        exe: "/usr/bin/python3.12",
        libs: &[
            "/usr/lib/x86_64-linux-gnu/libm.so.6",
            "/usr/lib/x86_64-linux-gnu/libexpat.so.1",
            "/usr/lib/x86_64-linux-gnu/libz.so.1",
            LIBC,
        ],
        files: &[
            "/usr/lib/python3.12/os.py",
            "/usr/lib/python3.12/encodings/__init__.py",
            "/usr/lib/python3.12/__pycache__/os.cpython-312.pyc",
            "/usr/lib/python3.12/json/__init__.py",
            "/usr/lib/python3.12/socket.py",
            "/usr/lib/python3/dist-packages/requests/__init__.py",
            "~/src/app/main.py",
            "~/src/app/util.py",
            "/tmp/app.log",
        ],
        argv: &[
            &["python3", "src/app/main.py"],
            &["python3", "-m", "http.server", "8000"],
            &["python3", "-c", "import json"],
        ],
        life: 60,
        connect_permille: 20,
        children: &[],
    },
    Tool {
        name: "make",
        exe: "/usr/bin/make",
        libs: &[LIBC],
        files: &[
            "~/src/tool/Makefile",
            "~/src/tool/main.c",
            "~/src/tool/util.c",
        ],
        argv: &[&["make"], &["make", "-j2"]],
        life: 8,
        connect_permille: 0,
        children: &["gcc", "gcc"],
    },
    Tool {
        name: "gcc",
        exe: "/usr/bin/x86_64-linux-gnu-gcc-13",
        libs: &[LIBC],
        files: &[
            "/usr/include/stdio.h",
            "/usr/include/stdlib.h",
            "/usr/include/string.h",
            "/usr/include/x86_64-linux-gnu/bits/types.h",
            "/usr/lib/gcc/x86_64-linux-gnu/13/include/stddef.h",
            "~/src/tool/main.c",
            "~/src/tool/util.h",
            "/tmp/ccA1b2c3.s",
            "/tmp/ccA1b2c3.o",
            "~/src/tool/main.o",
        ],
        argv: &[
            &["gcc", "-O2", "-c", "main.c", "-o", "main.o"],
            &["gcc", "-O2", "-c", "util.c", "-o", "util.o"],
            &["gcc", "-o", "tool", "main.o", "util.o"],
        ],
        life: 40,
        connect_permille: 0,
        children: &[],
    },
    Tool {
        name: "ssh",
        exe: "/usr/bin/ssh",
        libs: LIBSSL,
        files: &[
            "/etc/ssh/ssh_config",
            "~/.ssh/config",
            "~/.ssh/known_hosts",
            "~/.ssh/id_ed25519",
        ],
        argv: &[
            &["ssh", "db-1"],
            &["ssh", "git@github.com", "git-upload-pack 'org/app.git'"],
        ],
        life: 15,
        connect_permille: 80,
        children: &[],
    },
    Tool {
        name: "tar",
        exe: "/usr/bin/tar",
        libs: &[
            "/usr/lib/x86_64-linux-gnu/libacl.so.1",
            "/usr/lib/x86_64-linux-gnu/libselinux.so.1",
            LIBC,
        ],
        files: &[
            "/var/backups/etc.tar",
            "/etc/passwd",
            "/etc/group",
            "/etc/hosts",
            "/etc/ssh/sshd_config",
            "/etc/nginx/nginx.conf",
            "/etc/crontab",
        ],
        argv: &[
            &["tar", "-cf", "/var/backups/etc.tar", "/etc"],
            &["tar", "-xzf", "release.tar.gz"],
        ],
        life: 40,
        connect_permille: 0,
        children: &[],
    },
    Tool {
        name: "gzip",
        exe: "/usr/bin/gzip",
        libs: &[LIBC],
        files: &["/var/backups/etc.tar", "/var/backups/etc.tar.gz"],
        argv: &[&["gzip", "-f", "/var/backups/etc.tar"]],
        life: 4,
        connect_permille: 0,
        children: &[],
    },
    Tool {
        name: "find",
        exe: "/usr/bin/find",
        libs: &[
            "/usr/lib/x86_64-linux-gnu/libselinux.so.1",
            "/usr/lib/x86_64-linux-gnu/libm.so.6",
            LIBC,
        ],
        files: &[
            "/tmp",
            "/tmp/systemd-private-2b1c",
            "/var/tmp",
            "/var/log",
            "/var/log/nginx",
            "/var/log/journal",
        ],
        argv: &[
            &["find", "/tmp", "-mtime", "+7"],
            &["find", ".", "-name", "*.py"],
        ],
        life: 30,
        connect_permille: 0,
        children: &[],
    },
    Tool {
        name: "sed",
        exe: "/usr/bin/sed",
        libs: &[
            "/usr/lib/x86_64-linux-gnu/libacl.so.1",
            "/usr/lib/x86_64-linux-gnu/libselinux.so.1",
            LIBC,
        ],
        files: &[
            "/etc/nginx/sites-enabled/default",
            "/etc/nginx/sites-enabled/sedX1y2Z3",
        ],
        argv: &[&[
            "sed",
            "-i",
            "s/80/8080/",
            "/etc/nginx/sites-enabled/default",
        ]],
        life: 4,
        connect_permille: 0,
        children: &[],
    },
    Tool {
        name: "sudo",
        exe: "/usr/bin/sudo",
        libs: &[
            "/usr/lib/x86_64-linux-gnu/libaudit.so.1",
            "/usr/lib/x86_64-linux-gnu/libselinux.so.1",
            "/usr/libexec/sudo/libsudo_util.so.0",
            LIBC,
        ],
        files: &[
            "/etc/sudoers",
            "/etc/sudoers.d/README",
            "/etc/pam.d/sudo",
            "/etc/shadow",
            "/var/log/auth.log",
            "/run/sudo/ts/alice",
        ],
        argv: &[
            &["sudo", "systemctl", "restart", "nginx"],
            &["sudo", "ls", "/root"],
        ],
        life: 12,
        connect_permille: 0,
        children: &["ls"],
    },
    Tool {
        name: "logrotate",
        exe: "/usr/sbin/logrotate",
        libs: &["/usr/lib/x86_64-linux-gnu/libpopt.so.0", LIBC],
        files: &[
            "/etc/logrotate.conf",
            "/var/lib/logrotate/status",
            "/var/log/syslog",
            "/var/log/syslog.1",
            "/var/log/nginx/access.log",
        ],
        argv: &[&["logrotate", "/etc/logrotate.conf"]],
        life: 10,
        connect_permille: 0,
        children: &[],
    },
    // Long-running services (started by systemd; snapshot rows at start).
    Tool {
        name: "sshd",
        exe: "/usr/sbin/sshd",
        libs: LIBSSL,
        files: &[
            "/etc/ssh/sshd_config",
            "/etc/ssh/ssh_host_ed25519_key",
            "/etc/passwd",
            "/etc/shadow",
            "/var/log/auth.log",
            "/run/sshd.pid",
            "/etc/pam.d/sshd",
            "/etc/security/limits.conf",
        ],
        argv: &[&[
            "sshd:",
            "/usr/sbin/sshd",
            "-D",
            "[listener]",
            "0",
            "of",
            "10-100",
            "startups",
        ]],
        life: u32::MAX,
        connect_permille: 0,
        children: &["bash"],
    },
    Tool {
        name: "cron",
        exe: "/usr/sbin/cron",
        libs: &[LIBC],
        files: &[
            "/etc/crontab",
            "/etc/cron.d",
            "/var/spool/cron/crontabs",
            "/etc/localtime",
        ],
        argv: &[&["/usr/sbin/cron", "-f", "-P"]],
        life: u32::MAX,
        connect_permille: 0,
        children: &["sh"],
    },
    Tool {
        name: "systemd-journal",
        exe: "/usr/lib/systemd/systemd-journald",
        libs: &[LIBC],
        files: &[
            "/var/log/journal/5f1d2c3b4a6e4f7c8d9e0a1b2c3d4e5f/system.journal",
            "/proc/$$/cmdline",
            "/proc/$$/status",
            "/proc/$$/cgroup",
            "/run/log/journal",
        ],
        argv: &[&["/usr/lib/systemd/systemd-journald"]],
        life: u32::MAX,
        connect_permille: 0,
        children: &[],
    },
    Tool {
        name: "nginx",
        exe: "/usr/sbin/nginx",
        libs: LIBSSL,
        files: &[
            "/var/www/html/index.html",
            "/var/www/html/static/app.js",
            "/var/www/html/static/style.css",
            "/var/www/html/favicon.ico",
            "/var/log/nginx/access.log",
            "/var/www/html/api/status.json",
        ],
        argv: &[&["nginx:", "worker", "process"]],
        life: u32::MAX,
        connect_permille: 30,
        children: &[],
    },
    Tool {
        name: "postgres",
        exe: "/usr/lib/postgresql/16/bin/postgres",
        libs: LIBSSL,
        files: &[
            "/var/lib/postgresql/16/main/base/16384/16397",
            "/var/lib/postgresql/16/main/base/16384/16401",
            "/var/lib/postgresql/16/main/base/16384/2619",
            "/var/lib/postgresql/16/main/pg_wal/000000010000000000000003",
            "/var/lib/postgresql/16/main/global/pg_control",
            "/var/lib/postgresql/16/main/pg_stat_tmp/global.stat",
        ],
        argv: &[&[
            "postgres:",
            "16/main:",
            "app",
            "appdb",
            "10.0.1.21(50412)",
            "idle",
        ]],
        life: u32::MAX,
        connect_permille: 0,
        children: &[],
    },
    Tool {
        name: "redis-server",
        exe: "/usr/local/bin/redis-server",
        libs: &["/usr/lib/x86_64-linux-gnu/libm.so.6", LIBC],
        files: &[
            "/data/dump.rdb",
            "/data/temp-3012.rdb",
            "/proc/$$/stat",
            "/sys/kernel/mm/transparent_hugepage/enabled",
        ],
        argv: &[&["redis-server", "*:6379"]],
        life: u32::MAX,
        connect_permille: 0,
        children: &[],
    },
];

/// A rarely run program: an admin's one-off command or an intruder's tool.
const fn rare(
    name: &'static str,
    exe: &'static str,
    argv: &'static [&'static [&'static str]],
    files: &'static [&'static str],
) -> Tool {
    Tool {
        name,
        exe,
        libs: &[LIBC],
        files,
        argv,
        life: 3,
        connect_permille: 0,
        children: &[],
    }
}

/// The long tail of a host's executables: programs a shell runs once in a
/// while (every few hundred thousand events, see `Generator::rare_exec`),
/// most common first. Real hosts have such a tail, and "rare executables"
/// finds intruders in it.
#[rustfmt::skip]
pub(crate) const RARE_TOOLS: &[Tool] = &[
    rare("id", "/usr/bin/id", &[&["id"], &["id", "-u"]], &["/etc/passwd", "/etc/group"]),
    rare("uname", "/usr/bin/uname", &[&["uname", "-a"], &["uname", "-r"]], &["/proc/sys/kernel/osrelease"]),
    rare("df", "/usr/bin/df", &[&["df", "-h"]], &["/proc/self/mountinfo"]),
    rare("uptime", "/usr/bin/uptime", &[&["uptime"]], &["/proc/uptime", "/proc/loadavg"]),
    rare("whoami", "/usr/bin/whoami", &[&["whoami"]], &["/etc/passwd"]),
    rare("free", "/usr/bin/free", &[&["free", "-m"]], &["/proc/meminfo"]),
    rare("ip", "/usr/sbin/ip", &[&["ip", "addr"], &["ip", "route"]], &["/etc/iproute2/rt_tables"]),
    rare("ss", "/usr/bin/ss", &[&["ss", "-tlnp"]], &["/proc/net/tcp", "/proc/net/tcp6"]),
    rare("journalctl", "/usr/bin/journalctl", &[&["journalctl", "-u", "nginx"]], &["/var/log/journal"]),
    rare("systemctl", "/usr/bin/systemctl", &[&["systemctl", "status", "nginx"]], &["/run/systemd/private"]),
    rare("dpkg", "/usr/bin/dpkg", &[&["dpkg", "-l"]], &["/var/lib/dpkg/status"]),
    rare("crontab", "/usr/bin/crontab", &[&["crontab", "-l"]], &["/var/spool/cron/crontabs"]),
    rare("lsof", "/usr/bin/lsof", &[&["lsof", "-i"]], &["/proc/net/tcp", "/proc/1/fd"]),
    rare("passwd", "/usr/bin/passwd", &[&["passwd"]], &["/etc/shadow", "/etc/passwd"]),
    rare("useradd", "/usr/sbin/useradd", &[&["useradd", "-m", "deploy"]], &["/etc/passwd", "/etc/shadow", "/etc/group"]),
    rare("strace", "/usr/bin/strace", &[&["strace", "-p", "1302"]], &["/proc/1302/status"]),
    rare("tcpdump", "/usr/bin/tcpdump", &[&["tcpdump", "-i", "eth0"]], &["/etc/services"]),
    rare("nc", "/usr/bin/nc.openbsd", &[&["nc", "-lvp", "4444"]], &["/etc/services"]),
    rare("base64", "/usr/bin/base64", &[&["base64", "-d"]], &["/tmp/x.b64"]),
    rare("chattr", "/usr/bin/chattr", &[&["chattr", "-i", "/etc/passwd"]], &["/etc/passwd"]),
    rare("insmod", "/usr/sbin/insmod", &[&["insmod", "/tmp/rk.ko"]], &["/tmp/rk.ko"]),
    rare("kworker", "/tmp/.X11-unix/.kworkerd", &[&["[kworker/0:1]"]], &["/etc/ld.so.preload", "/tmp/.X11-unix/.cfg"]),
];

/// Looks a tool up by name (the tables only name existing tools).
pub(crate) fn tool(name: &str) -> &'static Tool {
    TOOLS.iter().find(|t| t.name == name).unwrap_or(&TOOLS[0])
}

/// Remote peers for outgoing connections: (address, port, weight).
pub(crate) const PEERS: &[(&str, u16, u32)] = &[
    ("93.184.215.14", 443, 6),
    ("140.82.121.4", 443, 4),
    ("140.82.121.3", 22, 3),
    ("10.0.3.12", 8080, 4),
    ("10.0.1.30", 5432, 5),
    ("10.0.1.31", 6379, 3),
    ("151.101.1.69", 443, 2),
    ("185.199.108.133", 443, 2),
    ("2606:4700:4700::1111", 443, 1),
    ("1.1.1.1", 53, 3),
];

/// Clients that connect to local services.
pub(crate) const CLIENTS: &[&str] = &[
    "10.0.1.21",
    "10.0.1.22",
    "10.0.2.7",
    "192.168.10.54",
    "203.0.113.45",
    "198.51.100.23",
    "10.0.1.23",
];

/// Paths used for phantom (TOCTOU) opens: (what user memory said, what the kernel opened).
pub(crate) const PHANTOM_OPENS: &[(&str, &str)] = &[
    ("/tmp/cache.json", "/etc/shadow"),
    ("/home/alice/notes.txt", "/root/.ssh/authorized_keys"),
    ("/tmp/x.log", "/etc/sudoers"),
];

/// Phantom connects: (what user memory said, the real destination).
pub(crate) const PHANTOM_CONNECTS: &[(&str, &str, u16)] = &[
    ("10.0.3.12:8080", "45.137.21.9", 4444),
    ("93.184.215.14:443", "185.220.101.7", 9001),
];
