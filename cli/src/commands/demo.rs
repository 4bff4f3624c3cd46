//! `hindsight demo`: the whole product on real data in one command.
//!
//! Records the built-in intrusion scenario with the real recorder (as root),
//! then answers forensic questions in SQL and replays rules over it. Every
//! step runs `hindsight` itself and prints the exact command first, so what
//! the demo shows is what a user can type.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

/// Arguments of `hindsight demo`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    sudo hindsight demo                     record the intrusion scenario, query it, replay rules\n  \
    hindsight demo --no-record              use the committed recording instead (no root needed)\n  \
    hindsight demo -o /tmp/my-demo          leave the recording in /tmp/my-demo")]
pub struct Args {
    /// Where to leave the new recording (replaced if it is an earlier demo recording).
    #[arg(short, long, default_value = "demo-recording")]
    pub output: PathBuf,

    /// Do not record: show query and replay on the committed fixture recording.
    /// This is what happens anyway without root.
    #[arg(long)]
    pub no_record: bool,
}

/// The repository root: the demo needs its scenarios, rules and fixtures.
fn repo_root() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for candidate in [cwd.as_path(), built.as_path()] {
        if candidate
            .join("fixtures/scenarios/intrusion/run.sh")
            .is_file()
        {
            return Ok(candidate.canonicalize()?);
        }
    }
    bail!(
        "cannot find the Hindsight repository (fixtures/scenarios/intrusion/run.sh); run the demo from the repository root"
    )
}

struct Demo {
    exe: PathBuf,
    root: PathBuf,
    step: usize,
    /// The prebuilt reproducer, passed to the scenario as `HINDSIGHT_PHANTOM`.
    phantom: Option<PathBuf>,
}

impl Demo {
    fn section(&mut self, title: &str) {
        self.step += 1;
        println!("\n\x1b[1m━━ {}. {title}\x1b[0m", self.step);
    }

    /// Runs `hindsight ARGS`, showing the command; returns its exit code.
    fn run(&self, args: &[&str]) -> anyhow::Result<i32> {
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains(' ') || a.contains('*') || a.contains('\'') {
                    format!("\"{a}\"")
                } else {
                    a.to_string()
                }
            })
            .collect();
        println!("\x1b[2m$ hindsight {}\x1b[0m", shown.join(" "));
        let mut cmd = Command::new(&self.exe);
        cmd.args(args).current_dir(&self.root);
        if let Some(phantom) = &self.phantom {
            cmd.env("HINDSIGHT_PHANTOM", phantom);
        }
        let status = cmd
            .status()
            .with_context(|| format!("running {}", self.exe.display()))?;
        Ok(status.code().unwrap_or(2))
    }

    fn must(&self, args: &[&str]) -> anyhow::Result<()> {
        match self.run(args)? {
            0 | 1 => Ok(()),
            code => bail!(
                "`hindsight {}` failed with exit code {code}",
                args.join(" ")
            ),
        }
    }
}

/// Runs `hindsight demo`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let root = repo_root()?;
    let mut demo = Demo {
        exe: std::env::current_exe()?,
        root: root.clone(),
        step: 0,
        phantom: None,
    };
    let is_root = unsafe { libc::geteuid() } == 0;
    let can_record = is_root && Path::new("/sys/kernel/btf/vmlinux").exists();
    let recording: String;
    if args.no_record || !can_record {
        if !args.no_record {
            println!(
                "Recording needs root and a kernel with BTF ({}); showing query and replay on the \
                 committed recording of the same scenario instead.",
                if is_root {
                    "no /sys/kernel/btf/vmlinux"
                } else {
                    "you are not root"
                }
            );
        }
        recording = "fixtures/recordings/intrusion".to_string();
    } else {
        demo.section("Record the intrusion scenario with the eBPF recorder");
        println!(
            "fixtures/scenarios/intrusion/run.sh downloads and runs a payload from a loopback web server, \
             opens a reverse shell to a loopback listener, reads /etc/shadow, drops an SSH key and a cron \
             file, clears a log, runs binaries from /dev/shm and from memory, plants a symlink and \
             performs a Phantom Attack."
        );
        let out = if args.output.is_absolute() {
            args.output.clone()
        } else {
            std::env::current_dir()?.join(&args.output)
        };
        if out.join("manifest.json").is_file() {
            std::fs::remove_dir_all(&out).with_context(|| {
                format!("removing the earlier demo recording {}", out.display())
            })?;
        } else if out.exists() {
            bail!(
                "{} exists and is not a recording; choose another folder with -o",
                out.display()
            );
        }
        recording = out.to_string_lossy().into_owned();
        // Build the Phantom-Attack reproducer outside the recording, so the
        // compiler's activity does not clutter it.
        let phantom = root.join("target/phantom");
        let built = Command::new("bash")
            .arg(root.join("fixtures/phantom/build.sh"))
            .arg(&phantom)
            .status()
            .context("building fixtures/phantom (needs gcc)")?;
        if !built.success() {
            bail!("building the Phantom-Attack reproducer with fixtures/phantom/build.sh failed");
        }
        demo.phantom = Some(phantom);
        demo.must(&[
            "record",
            "-o",
            &recording,
            "--",
            "bash",
            "fixtures/scenarios/intrusion/run.sh",
        ])?;
    }

    demo.section("What was recorded");
    demo.must(&["info", &recording])?;

    demo.section("Forensic questions, in SQL");
    for (question, sql) in QUESTIONS {
        println!("\n{question}");
        demo.must(&["query", &recording, sql])?;
    }

    demo.section("The Phantom Attack: what user memory said vs what the kernel opened");
    demo.must(&[
        "query",
        &recording,
        "SELECT process_name, syscall, file_path_user, file_path_user_err, file_path, kernel_source \
         FROM toctou ORDER BY seq",
    ])?;

    demo.section("Rules that fired (Hindsight rules + Falco's stable rules)");
    demo.run(&[
        "replay",
        &recording,
        "--rules",
        "rules/hindsight/default.yaml",
        "--rules",
        "rules/falco/falco_rules.yaml",
    ])?;

    demo.section("What enforcement would have blocked");
    demo.run(&[
        "replay",
        &recording,
        "--rules",
        "rules/hindsight/default.yaml",
        "--simulate-enforcement",
    ])?;

    println!("\n\x1b[1m━━ Next\x1b[0m");
    println!("  hindsight query {recording}                      an interactive SQL shell");
    println!("  hindsight replay {recording} --rules FILE        your own rules");
    println!("  hindsight diff {recording} --old A.yaml --new B.yaml   what a rule change does");
    println!("  sudo hindsight record -o rec -- COMMAND          record anything");
    println!("  The guide: book/ (mdbook serve book)");
    Ok(ExitCode::SUCCESS)
}

const QUESTIONS: &[(&str, &str)] = &[
    (
        "Which processes ran, in order?",
        "SELECT time, process_pid AS pid, process_parent_pid AS ppid, process_executable, \
         process_command_line FROM execs ORDER BY seq",
    ),
    (
        "Who read /etc/shadow?",
        "SELECT time, process_pid AS pid, process_name, file_path, file_path_user, ret \
         FROM files WHERE file_path = '/etc/shadow' ORDER BY seq",
    ),
    (
        "Which connections were made?",
        "SELECT process_name, syscall, destination_ip, destination_port, ret FROM network \
         WHERE syscall = 'connect' ORDER BY seq",
    ),
    (
        "What was written under a home, cron or log directory?",
        "SELECT process_name, file_path, file_flags FROM files \
         WHERE file_flags LIKE '%O_WRONLY%' AND (file_path LIKE '%/.ssh/%' OR file_path LIKE '%cron%' \
         OR file_path LIKE '/var/log/%') ORDER BY seq",
    ),
];
