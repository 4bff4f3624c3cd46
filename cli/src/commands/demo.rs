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
    sudo hindsight demo                     # record the intrusion scenario, query it, replay rules\n  \
    hindsight demo --no-record              # use the committed recording instead (no root needed)\n  \
    hindsight demo -o /tmp/my-demo          # leave the recording in /tmp/my-demo")]
pub struct Args {
    /// Where to leave the new recording (replaced if it is an earlier demo recording).
    #[arg(short, long, default_value = "demo-recording", value_parser = crate::path::recording())]
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
    /// Bold and dim escapes, unless `NO_COLOR` is set or stdout is not a terminal.
    color: bool,
    root: PathBuf,
    step: usize,
    /// The prebuilt reproducer, passed to the scenario as `HINDSIGHT_PHANTOM`.
    phantom: Option<PathBuf>,
}

impl Demo {
    fn section(&mut self, title: &str) {
        self.step += 1;
        let title = format!("━━ {}. {title}", self.step);
        println!("\n{}", self.bold(&title));
    }

    fn bold(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn dim(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[2m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Prints `$ hindsight ARGS` as a user would type it.
    fn show_command(&self, args: &[&str]) {
        let shown: Vec<String> = args.iter().map(|a| shell_word(a)).collect();
        println!("{}", self.dim(&format!("$ hindsight {}", shown.join(" "))));
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.args(args).current_dir(&self.root);
        if let Some(phantom) = &self.phantom {
            cmd.env("HINDSIGHT_PHANTOM", phantom);
        }
        cmd
    }

    /// Runs `hindsight ARGS`, showing the command; returns its exit code.
    fn run(&self, args: &[&str]) -> anyhow::Result<i32> {
        self.show_command(args);
        let status = self
            .command(args)
            .status()
            .with_context(|| format!("running {}", self.exe.display()))?;
        Ok(status.code().unwrap_or(2))
    }

    /// Runs `hindsight ARGS` and returns its stdout (exit 0 or 1); its
    /// warnings and notes go to the demo's stderr.
    fn capture(&self, args: &[&str]) -> anyhow::Result<String> {
        self.capture_with(args, true)
    }

    /// Like [`Self::capture`], for a second run of a command already shown:
    /// its stderr is kept back (the notes were printed the first time) and
    /// shown only when it fails.
    fn capture_again(&self, args: &[&str]) -> anyhow::Result<String> {
        self.capture_with(args, false)
    }

    fn capture_with(&self, args: &[&str], show_stderr: bool) -> anyhow::Result<String> {
        let stderr = if show_stderr {
            std::process::Stdio::inherit()
        } else {
            std::process::Stdio::piped()
        };
        let out = self
            .command(args)
            .stderr(stderr)
            .output()
            .with_context(|| format!("running {}", self.exe.display()))?;
        match out.status.code() {
            Some(0 | 1) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
            code => {
                eprint!("{}", String::from_utf8_lossy(&out.stderr));
                bail!(
                    "`hindsight {}` failed with exit code {}",
                    args.join(" "),
                    code.unwrap_or(2)
                )
            }
        }
    }

    /// Runs `hindsight ARGS`, showing the command and at most `head` lines of
    /// its output plus its last line (the summary), so a long answer stays
    /// readable; says how many lines it left out.
    fn run_short(&self, args: &[&str], head: usize) -> anyhow::Result<()> {
        self.show_command(args);
        let out = self.capture(args)?;
        let lines: Vec<&str> = out.lines().collect();
        if lines.len() <= head + 2 {
            for line in &lines {
                println!("{line}");
            }
        } else {
            for line in &lines[..head] {
                println!("{line}");
            }
            let left = lines.len() - head - 1;
            println!(
                "{}",
                self.dim(&format!(
                    "  … {left} more lines (run the command above to see them all)"
                ))
            );
            println!("{}", lines[lines.len() - 1]);
        }
        Ok(())
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
        color: std::env::var_os("NO_COLOR").is_none()
            && std::io::IsTerminal::is_terminal(&std::io::stdout()),
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
    println!(
        "\nRows where user memory could not be read at entry (-14: the page was not faulted in yet,\n\
         so a monitor reading it saw nothing) against rows where it named something else (0):"
    );
    demo.must(&[
        "query",
        &recording,
        "SELECT user_read_err, count(*) AS rows FROM toctou GROUP BY user_read_err ORDER BY user_read_err",
    ])?;
    println!("\nThe rows where user memory was readable and still not what the kernel used:");
    demo.must(&[
        "query",
        &recording,
        "SELECT pid, exe, syscall, user_value, kernel_value, kernel_source FROM toctou \
         WHERE user_read_err = 0 ORDER BY seq",
    ])?;

    demo.section("Rules that fired (Hindsight rules + Falco's stable rules)");
    let rules = [
        "replay",
        &recording,
        "--rules",
        "rules/hindsight/default.yaml",
        "--rules",
        "rules/falco/falco_rules.yaml",
    ];
    demo.run_short(&rules, 30)?;

    demo.section("The processes involved, as a tree");
    let mut jsonl = rules.to_vec();
    jsonl.extend(["--format", "jsonl"]);
    let verdicts = demo.capture_again(&jsonl)?;
    let processes = demo.capture(&[
        "query",
        &recording,
        "--format",
        "jsonl",
        "SELECT pid, parent_pid, command_line FROM processes",
    ])?;
    for line in process_tree(&verdicts, &processes)? {
        println!("{line}");
    }

    demo.section("What enforcement would have blocked");
    demo.run_short(
        &[
            "replay",
            &recording,
            "--rules",
            "rules/hindsight/default.yaml",
            "--simulate-enforcement",
        ],
        25,
    )?;

    let recording = shell_word(&recording);
    let next = format!(
        "━━ Next (the recording stays in {recording})\n  \
         hindsight query {recording}                      an interactive SQL shell\n  \
         hindsight replay {recording} --rules FILE        your own rules\n  \
         hindsight diff {recording} --old A.yaml --new B.yaml   what a rule change does\n  \
         sudo hindsight record -o rec -- COMMAND          record anything\n  \
         The guide: book/ (mdbook serve book); this demo step by step: book/src/walkthrough.md"
    );
    println!("\n{}", demo.bold(&next));
    Ok(ExitCode::SUCCESS)
}

/// One process of the tree: parent, command line and the rules it tripped.
#[derive(Default)]
struct TreeNode {
    parent: Option<i64>,
    command_line: String,
    rules: Vec<String>,
}

/// Draws the processes that tripped a rule and their ancestors as a tree,
/// from `replay --format jsonl` verdicts and the `processes` view as JSON lines.
fn process_tree(verdicts: &str, processes: &str) -> anyhow::Result<Vec<String>> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut nodes: BTreeMap<i64, TreeNode> = BTreeMap::new();
    for line in processes.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line).context("reading processes")?;
        let Some(pid) = row["pid"].as_i64() else {
            continue;
        };
        let node = nodes.entry(pid).or_default();
        node.parent = row["parent_pid"].as_i64();
        node.command_line = row["command_line"].as_str().unwrap_or("?").to_string();
    }
    let mut flagged = BTreeSet::new();
    for line in verdicts.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line).context("reading verdicts")?;
        let (Some(rule), Some(pid)) = (row["rule"].as_str(), row["pid"].as_i64()) else {
            continue;
        };
        let node = nodes.entry(pid).or_default();
        if !node.rules.iter().any(|r| r == rule) {
            node.rules.push(rule.to_string());
        }
        flagged.insert(pid);
    }
    // Keep the flagged processes and every ancestor the recording saw.
    let mut keep = BTreeSet::new();
    for &pid in &flagged {
        let mut cur = Some(pid);
        while let Some(p) = cur {
            if !keep.insert(p) {
                break;
            }
            cur = nodes
                .get(&p)
                .and_then(|n| n.parent)
                .filter(|pp| nodes.contains_key(pp));
        }
    }
    let mut children: BTreeMap<Option<i64>, Vec<i64>> = BTreeMap::new();
    for &pid in &keep {
        let parent = nodes[&pid].parent.filter(|pp| keep.contains(pp));
        children.entry(parent).or_default().push(pid);
    }
    let mut out = Vec::new();
    fn draw(
        pid: i64,
        prefix: &str,
        last: bool,
        top: bool,
        nodes: &BTreeMap<i64, TreeNode>,
        children: &BTreeMap<Option<i64>, Vec<i64>>,
        out: &mut Vec<String>,
    ) {
        let node = &nodes[&pid];
        let mut cmd: String = node.command_line.chars().take(70).collect();
        if node.command_line.chars().count() > 70 {
            cmd.push('…');
        }
        let branch = if top {
            ""
        } else if last {
            "└─ "
        } else {
            "├─ "
        };
        let rules = if node.rules.is_empty() {
            String::new()
        } else {
            format!("  ◀ {}", node.rules.join(", "))
        };
        out.push(format!("{prefix}{branch}{cmd} [pid {pid}]{rules}"));
        let below = if top {
            prefix.to_string()
        } else if last {
            format!("{prefix}   ")
        } else {
            format!("{prefix}│  ")
        };
        if let Some(kids) = children.get(&Some(pid)) {
            for (i, &kid) in kids.iter().enumerate() {
                draw(
                    kid,
                    &below,
                    i + 1 == kids.len(),
                    false,
                    nodes,
                    children,
                    out,
                );
            }
        }
    }
    for &root in children.get(&None).map(Vec::as_slice).unwrap_or(&[]) {
        draw(root, "", true, true, &nodes, &children, &mut out);
    }
    if out.is_empty() {
        out.push("(no rule fired)".to_string());
    }
    Ok(out)
}

const QUESTIONS: &[(&str, &str)] = &[
    (
        "Which programs ran from outside the system directories?",
        "SELECT pid, parent_pid, path, left(command_line, 60) AS command_line FROM execs \
         WHERE path NOT LIKE '/usr/%' AND path NOT LIKE '/bin/%' ORDER BY seq",
    ),
    (
        "Who opened /etc/shadow, and what did user memory name?",
        "SELECT pid, exe, syscall, path, path_user, ret FROM files \
         WHERE path = '/etc/shadow' ORDER BY seq",
    ),
    (
        "Which connections were made?",
        "SELECT exe, destination_ip, destination_port, count(*) AS connects, min(ret) AS min_ret \
         FROM network WHERE syscall = 'connect' AND destination_ip IS NOT NULL \
         GROUP BY exe, destination_ip, destination_port ORDER BY min(seq)",
    ),
    (
        "What was written or removed under .ssh, cron or /var/log?",
        "SELECT pid, exe, syscall, path, flags FROM files \
         WHERE (flags LIKE '%O_WRONLY%' OR flags LIKE '%O_RDWR%' OR syscall = 'unlinkat') \
         AND (path LIKE '%/.ssh/%' OR path LIKE '%/cron.d/%' OR path LIKE '/var/log/%') ORDER BY seq",
    ),
];

/// `a` as a shell would need it typed: as it is when plain, in double quotes
/// when it has spaces or glob characters (SQL reads better so), as `$'...'`
/// when it holds control characters (a newline shown as `\n`, not printed),
/// else in single quotes (`'` written `'\''`).
fn shell_word(a: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:=,+-@%".contains(c);
    // A leading `=` is expanded by zsh (`=cmd`).
    if !a.is_empty() && !a.starts_with('=') && a.chars().all(plain) {
        a.to_string()
    } else if a.chars().any(|c| c.is_control()) {
        // Shown as `$'...'` (bash, zsh): a newline or escape typed as such.
        let mut out = String::from("$'");
        for c in a.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('\'');
        out
    } else if !a.contains(['"', '$', '`', '\\', '!']) {
        format!("\"{a}\"")
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn words_are_quoted_as_a_shell_needs() {
        assert_eq!(shell_word("rules/x.yaml"), "rules/x.yaml");
        assert_eq!(shell_word("/tmp/demo 1"), "\"/tmp/demo 1\"");
        assert_eq!(shell_word("SELECT 'a'"), "\"SELECT 'a'\"");
        assert_eq!(shell_word("it's $HOME"), "'it'\\''s $HOME'");
        assert_eq!(shell_word(""), "\"\"");
        assert_eq!(shell_word("=x"), "\"=x\"");
        assert_eq!(shell_word("a\nb'"), "$'a\\nb\\''");
    }
}
